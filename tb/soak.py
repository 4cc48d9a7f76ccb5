"""The soak loop shared by the architectures' soak modules (``tb/<arch>/soak.py``): many random
jobs on one simulator build, each checked against the golden and cycle models.

A soak module defines one ``@cocotb.test`` that builds its bench and calls :func:`soak` with a
``job(rng, index)`` coroutine function: it draws one random job (shape, densities, values, NNZ
where the architecture has one), sets random idle cycles and back-pressure on every stream for
it, runs it and checks it with the regression's own ``check_layer``, and returns whether its
cycles were compared with the cycle model (with pauses on a stream the model assumes at full
rate, only what the pauses cannot change is compared: see each soak module).

The number of jobs is ``$SPARSEFORGE_SOAK_JOBS`` (default :data:`DEFAULT_JOBS`), the seed the
regression's (``$SPARSEFORGE_SEED``, logged). A failed job (a bit or a cycle mismatch, a timeout)
is recorded with its message, the design is reset and the soak goes on; the test fails at the
end if any job did. The summary is written as JSON to ``$SPARSEFORGE_RUN_DIR/soak.json``
(``jobs``, ``failures`` split into ``bit_mismatches``, ``cycle_differences`` and
``other_failures``, ``cycle_checked``,
``paused``, ``sim_cycles``, ``seconds``, the first messages), every :data:`PROGRESS_EVERY` jobs
and at the end, so a caller can show progress.
"""

import json
import os
import time
from pathlib import Path

import cocotb
import numpy as np
from cocotb.triggers import SimTimeoutError, with_timeout
from cocotb.utils import get_sim_time

from .seeds import seed_for

__all__ = ["soak", "JOBS_ENV", "DEFAULT_JOBS", "pauses_for_job"]

JOBS_ENV = "SPARSEFORGE_SOAK_JOBS"
DEFAULT_JOBS = 20
PROGRESS_EVERY = 50
#: Cycles a job may take before it counts as hung (a failure, then a reset).
JOB_LIMIT_CYCLES = 2_000_000
#: Failure messages kept in the summary.
KEPT_MESSAGES = 20


def pauses_for_job(rng, unpaused=0.25):
    """``(pause, backpressure, seed)`` of one job: its sources idle and its sinks back-pressure
    with probabilities drawn from 0.05 to 0.6; a fraction ``unpaused`` of the jobs run without
    any."""
    if rng.random() < unpaused:
        return 0.0, 0.0, 0
    return float(rng.uniform(0.05, 0.6)), float(rng.uniform(0.05, 0.6)), int(rng.integers(1 << 30))


def _kind(message):
    """The summary's bucket of a failed check, from its message: the output data (the checks
    say "mismatches" or "differ"), cycles, or anything else (a counter, the status, a
    timeout)."""
    text = message.lower()
    if "mismatch" in text or "differ" in text:
        return "bit_mismatches"
    return "cycle_differences" if "cycle" in text else "other_failures"


async def soak(dut, bench, job, *, salt, clock_ns):
    """Run ``$SPARSEFORGE_SOAK_JOBS`` jobs of ``job(rng, index)``, which returns ``(cycles
    checked, paused)`` (see the module docstring)."""
    jobs = int(os.environ.get(JOBS_ENV, DEFAULT_JOBS))
    seed = seed_for(dut, salt)
    rng = np.random.default_rng(seed)
    out = Path(os.environ.get("SPARSEFORGE_RUN_DIR", "."))
    summary = {"seed": seed, "jobs": 0, "failures": 0, "bit_mismatches": 0,
               "cycle_differences": 0, "other_failures": 0, "cycle_checked": 0, "paused": 0,
               "sim_cycles": 0, "seconds": 0.0, "messages": []}
    start, start_ns = time.monotonic(), get_sim_time(unit="ns")
    await bench.reset()
    for index in range(jobs):
        task = cocotb.start_soon(job(rng, index))
        try:
            try:
                checked, paused = await with_timeout(task, JOB_LIMIT_CYCLES * clock_ns, "ns")
            except SimTimeoutError:
                task.cancel()
                raise TimeoutError(f"not finished after {JOB_LIMIT_CYCLES} cycles") from None
            summary["cycle_checked"] += int(checked)
            summary["paused"] += int(paused)
        except (AssertionError, TimeoutError, SimTimeoutError) as e:
            message = f"job {index}: {type(e).__name__}: {e}"
            dut._log.error(message)
            summary["failures"] += 1
            summary[_kind(str(e))] += 1
            if len(summary["messages"]) < KEPT_MESSAGES:
                summary["messages"].append(message)
            bench.abandon()
            await bench.reset()
        summary["jobs"] = index + 1
        if (index + 1) % PROGRESS_EVERY == 0 or index + 1 == jobs:
            summary["seconds"] = round(time.monotonic() - start, 1)
            summary["sim_cycles"] = round((get_sim_time(unit="ns") - start_ns) / clock_ns)
            (out / "soak.json").write_text(json.dumps(summary, indent=1) + "\n")
    dut._log.info("soak: %d jobs, %d failed, %d cycle-checked, %d paused, %.0f s", jobs,
                  summary["failures"], summary["cycle_checked"], summary["paused"],
                  time.monotonic() - start)
    assert summary["failures"] == 0, "\n".join(summary["messages"])
