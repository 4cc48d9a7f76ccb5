"""Soak every architecture: thousands of random jobs on Verilator, each checked against the models.

    .venv/bin/python benchmarks/soak.py [--arch ARCH ...] [--jobs 10000] [--seed S]
                                        [--out benchmarks/results/soak] [--json]

For each architecture (all registered ones with a soak module, or those named) the script builds
its first regression design (``regression_designs`` in ``gen/<arch>/__init__.py``, or
``--design``) once for Verilator and runs its soak module (``tb/<arch>/soak.py``, the loop of
:mod:`sparseforge.tb.soak`) with ``--jobs`` jobs in one simulation: random shapes, densities and
values, NNZ changing between jobs where the architecture has one, random idle cycles and
back-pressure on every stream and AXI channel; every job bit-exact against the golden model and
its cycles checked against the cycle model (all of them where the pauses cannot change the count,
the computing part or the unpaused jobs where they can: each soak module says which). The seed is
printed (a fresh one unless ``--seed``); progress is printed as the jobs run. One JSON file per
architecture goes to ``--out``: the design, seed, jobs, failures (bit mismatches, cycle
differences, others), cycle-checked and paused jobs, simulated cycles, run and build seconds.
Exit status 0 when every job passed, 1 when a job failed or a tool did.
"""

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

from sparseforge.gen import registry
from sparseforge.gen.config import parse_config
from sparseforge.gen.errors import ToolFailure
from sparseforge.tb import runner
from sparseforge.tb.soak import JOBS_ENV

DEFAULT_JOBS = 10_000
FIELDS = ("jobs", "failures", "bit_mismatches", "cycle_differences", "other_failures",
          "cycle_checked", "paused", "sim_cycles")


def soak_architectures():
    """``{name: Architecture}`` of the registered architectures that have a soak module."""
    return {name: arch for name, arch in registry.architectures().items() if arch.soak}


def run_soak(arch_name, jobs, seed, *, design=None, progress=print, every=10.0):
    """Soak one architecture; return its result row (a dict, see the module docstring).

    Raises
    ------
    ToolFailure
        The build failed, or the simulation ended without a summary.
    """
    arch = registry.get(arch_name)
    design = design or next(iter(arch.regression_designs))
    raw = arch.regression_designs[design][0]
    cfg = parse_config({**raw, "name": design})
    with tempfile.TemporaryDirectory(prefix="sparseforge-soak-") as tmp:
        tmp = Path(tmp)
        start = time.monotonic()
        bld = runner.build(cfg, "verilator", progress=progress, log=tmp / "build.log")
        built = time.monotonic()
        summary_path = tmp / "soak.json"
        outcome = {}

        def simulate():
            try:
                outcome["result"] = runner.run_module(
                    bld, arch.soak, seed=seed, log=tmp / "sim.log", results_dir=tmp,
                    extra_env={JOBS_ENV: str(jobs), "SPARSEFORGE_RUN_DIR": str(tmp)})
            except ToolFailure as e:
                outcome["error"] = e

        thread = threading.Thread(target=simulate)
        thread.start()
        while thread.is_alive():
            thread.join(every)
            if thread.is_alive() and summary_path.exists():
                done = json.loads(summary_path.read_text())
                progress(f"{arch_name}: {done['jobs']:,}/{jobs:,} jobs, {done['failures']} "
                         f"failed, {time.monotonic() - built:.0f} s")
        if "error" in outcome or not summary_path.exists():
            kept = runner.toolchain.keep_log(tmp / "sim.log", f"{design}-soak")
            raise ToolFailure(f"the Verilator soak of {design}", kept)
        summary = json.loads(summary_path.read_text())
        if summary["failures"]:
            summary["log"] = str(runner.toolchain.keep_log(tmp / "sim.log", f"{design}-soak"))
    row = {"arch": arch_name, "design": design, "simulator": "verilator", "seed": seed,
           **{k: summary[k] for k in FIELDS}, "messages": summary["messages"],
           "run_seconds": round(time.monotonic() - built, 1),
           "build_seconds": round(built - start, 1)}
    if "log" in summary:
        row["log"] = summary["log"]
    return row


def table(rows):
    """A Markdown table of result rows."""
    lines = ["| arch | design | jobs | failures | bit mismatches | cycle differences | "
             "cycle-checked | paused | simulated cycles | run time |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['arch']} | {r['design']} | {r['jobs']:,} | {r['failures']} | "
                     f"{r['bit_mismatches']} | {r['cycle_differences']} | "
                     f"{r['cycle_checked']:,} | {r['paused']:,} | {r['sim_cycles']:,} | "
                     f"{r['run_seconds']:.0f} s |")
    return "\n".join(lines)


def main(argv=None):
    archs = soak_architectures()
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="example: benchmarks/soak.py --arch scnn --jobs 500 --seed 7 (the full soak: "
               "make soak)")
    ap.add_argument("--arch", action="append", choices=sorted(archs),
                    help="architecture to soak (repeatable; default: all, one after another)")
    ap.add_argument("--jobs", type=int, default=DEFAULT_JOBS,
                    help=f"random jobs per architecture (default {DEFAULT_JOBS:,})")
    ap.add_argument("--seed", type=int, help="seed (default: a fresh one, printed)")
    ap.add_argument("--design", help="regression design to soak (with one --arch; default: "
                                     "the architecture's first)")
    ap.add_argument("--out", default="benchmarks/results/soak",
                    help="directory of the per-architecture JSON results")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON, not a table")
    args = ap.parse_args(argv)
    if args.jobs < 1:
        ap.error(f"--jobs: {args.jobs} is not allowed; expected at least 1")
    names = args.arch or list(archs)
    if args.design is not None:
        if len(names) != 1:
            ap.error("--design: needs exactly one --arch")
        designs = registry.get(names[0]).regression_designs
        if args.design not in designs:
            ap.error(f"--design: {args.design!r} is not allowed; expected one of "
                     f"{', '.join(designs)}")
    seed = args.seed if args.seed is not None else runner.fresh_seed()

    # The simulator's output is redirected to its log at the file-descriptor level while it
    # runs, stderr included; progress goes to a copy of the terminal's stderr.
    terminal = os.fdopen(os.dup(2), "w")

    def say(line):
        print(line, file=terminal, flush=True)

    say(f"soak seed {seed}: {args.jobs:,} jobs each on {', '.join(names)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in names:
        try:
            row = run_soak(name, args.jobs, seed, design=args.design, progress=say)
        except ToolFailure as e:
            say(f"sparseforge: {e}")
            return 1
        rows.append(row)
        (out / f"{name}.json").write_text(json.dumps(row, indent=1) + "\n")
        say(f"{name}: {row['jobs']:,} jobs, {row['failures']} failed, {row['run_seconds']:.0f} s "
            f"(reproduce: benchmarks/soak.py --arch {name} --jobs {args.jobs} --seed {seed})")
    print(json.dumps(rows, indent=1) if args.json else table(rows))
    return 1 if any(r["failures"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
