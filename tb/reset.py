"""Reset in the middle of a job: abandon it at a random cycle, reset, and check nothing survives.

Shared by the architectures' regressions (their ``reset_mid_job`` tests). A trial starts a whole
job (loading, computing, draining and reading back, as the regression's ``check_layer`` runs it)
as a task, asserts ``rst`` a seeded random number of cycles later, and then checks the design came
back as new:

* every register that can be read holds its documented reset value (the register map of
  :func:`sparseforge.gen.regmap.registers_of`, the same table the generated C header publishes:
  ``rw`` registers their ``init``, ``status`` and the counters zero);
* no output beat leaves the design after the reset until a new job is started (no FIFO or
  output stage kept a beat of the abandoned job);
* the next job is bit-exact against the golden model and cycle-exact against the cycle model
  (the regression's own ``check_layer``), and leaves no beat behind it either.

A bench takes part by having ``reset()`` (assert ``rst`` for a few cycles), ``abandon()``
(stop its own helper tasks and forget every queued or half-received beat, as a host forgets a
job it reset), and listing its output streams' valid signals in ``output_valids()``.
"""

import os

import cocotb
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge
from cocotb.utils import get_sim_time

from ..gen.regmap import registers_of

__all__ = ["RESET_TRIALS", "reset_trials", "verilator_test", "reset_positions", "reset_during",
           "check_reset_values", "check_quiet", "timed"]

#: Reset positions tried per run (each in a new job): ``$SPARSEFORGE_RESET_TRIALS``, default 3.
RESET_TRIALS = int(os.environ.get("SPARSEFORGE_RESET_TRIALS", "3"))

#: Cycles after a reset in which no output beat may appear.
QUIET_CYCLES = 16


def reset_positions(rng, span, count=RESET_TRIALS):
    """``count`` seeded reset cycles in a job of ``span`` cycles, each from 1 to 90 % of it (a
    margin for a rerun of the job that starts a few cycles sooner than its first run, e.g. with
    no clearing after reset to wait for)."""
    return [int(c) for c in rng.integers(1, max(2, span - span // 10), count)]


async def timed(job, clock_ns):
    """Await ``job``; return ``(its result, clock cycles it took)``."""
    start = get_sim_time(unit="ns")
    result = await job
    return result, round((get_sim_time(unit="ns") - start) / clock_ns)


async def reset_during(bench, job, cycle, length=3):
    """Start the coroutine ``job``, assert reset ``cycle`` cycles later for ``length`` cycles;
    whether the job was still running then (a job that already finished is reset after its
    end)."""
    dut = bench.dut
    task = cocotb.start_soon(job)
    await ClockCycles(dut.clk, cycle)
    await ReadOnly()
    running = not task.done()
    busy = int(dut.busy.value) if hasattr(dut, "busy") else None
    await RisingEdge(dut.clk)
    if running:
        task.cancel()
    bench.abandon()
    dut.rst.value = 1
    await ClockCycles(dut.clk, length)
    dut.rst.value = 0
    await RisingEdge(dut.clk)
    dut._log.info("reset at cycle %d of the job for %d cycle(s) (%s, busy %s)", cycle, length,
                  "running" if running else "already finished", busy)
    return running


async def check_reset_values(bench, cfg, label):
    """Every readable register of ``cfg``'s map reads its documented reset value."""
    for reg in registers_of(cfg):
        if reg["access"] == "pulse":
            continue
        got = await bench.axil.read_dword(reg["offset"])
        want = reg["reset"] & ((1 << reg["width"]) - 1)
        assert got == want, (f"{label}: register {reg['name']} reads {got:#x} after reset, "
                             f"its reset value is {want:#x}")


async def check_quiet(bench, label, cycles=QUIET_CYCLES):
    """No output stream offers a beat (``valid``) for ``cycles`` cycles."""
    dut = bench.dut
    for _ in range(cycles):
        await RisingEdge(dut.clk)
        await ReadOnly()
        for valid in bench.output_valids():
            assert valid.value == 0, f"{label}: {valid._name} is high with no job running"
    await RisingEdge(dut.clk)


async def reset_trials(bench, cfg, rng, make_job, *, clock_ns, registers=True):
    """The whole reset check: one job to learn how long it takes (``span`` cycles), then
    :data:`RESET_TRIALS` times: the same job again, reset at a seeded random cycle of it
    (:func:`reset_positions`, so always while it runs) for one to three cycles (one must be
    enough: the designs reset synchronously), the checks of the module docstring, and a new
    random job checked against the models.

    ``make_job()`` draws a new random job and returns ``job(label)``, which makes a coroutine
    running that job and checking it against the golden and cycle models (the regression's
    ``check_layer``); without pauses a job takes the same cycles every time it runs.
    ``registers``: the design has a register map to check.
    """
    abandoned = make_job()
    _, span = await timed(abandoned("before any reset"), clock_ns)
    for trial, cycle in enumerate(reset_positions(rng, span), 1):
        length = int(rng.integers(1, 4))
        assert await reset_during(bench, abandoned(f"abandoned job {trial}"), cycle, length), \
            f"the job finished before cycle {cycle} of {span}"
        label = f"reset {trial} at cycle {cycle} of {span} for {length} cycle(s)"
        if registers:
            await check_reset_values(bench, cfg, label)
        await check_quiet(bench, label)
        await make_job()(f"after {label}")
        await check_quiet(bench, f"after {label} and a new job")


def verilator_test():
    """``cocotb.test``, skipped on Icarus: a reset test runs several whole jobs, which Icarus
    simulates tens of times slower than Verilator (the test suite runs it on every regression
    design on Verilator)."""
    return cocotb.test(skip=getattr(cocotb, "SIM_NAME", "") == "Icarus Verilog")
