"""``sparseforge sweep``: its options and what it prints."""

import os
from pathlib import Path

from ..errors import InputError
from ..report import Progress, dump_json, table
from .engine import run_sweep
from .report import write_outputs
from .spec import METRICS, load_spec

__all__ = ["add_arguments", "cmd_sweep", "DESCRIPTION", "EPILOG"]

DESCRIPTION = ("Sweep a design space on Dask: every combination of the spec's axes is generated, "
               "synthesized and/or run, each result stored as it finishes under a key of its full "
               "config and tool versions, so a re-run or an interrupted run computes only what is "
               "missing. Writes DIR/sweep.csv, sweep.jsonl, summary.json and Pareto plots.")

EPILOG = """\
a spec (YAML):
  base: {arch: sta, kind: vdbb, tpe: {a: 2, b: 8, c: 4}, array: {m: 2, n: 2}}  # or a preset name
  axes:                      # any config key, dotted; or workload.<run option>
    array.m: [1, 2]
    tpe.c: [2, 4]
  metrics: [cells, cycles]
  workload: {gemm: [16, 64, 16], nnz: [2, 8]}   # run options; a list of values is an axis

metrics:
""" + "\n".join(f"  {name:12s} {text}" for name, (_, text) in METRICS.items()) + """

on a cluster: start 'dask scheduler' on one machine and 'dask worker tcp://HOST:8786' on the
others (each with sparseforge installed), then 'sparseforge sweep SPEC -o DIR --scheduler
tcp://HOST:8786'; dask-jobqueue starts workers through Slurm, PBS or SGE the same way.
"""


def _workers(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise InputError(f"--workers: {text!r} is not allowed; expected a positive number of "
                         "worker processes")
    return value


def add_arguments(p):
    p.add_argument("spec", metavar="SPEC", help="the sweep's YAML spec (see below)")
    p.add_argument("-o", "--out", required=True, metavar="DIR",
                   help="output folder: results/ (one file per job, reused by later runs), "
                        "sweep.csv, sweep.jsonl, summary.json, pareto_*.png")
    p.add_argument("--workers", type=str, metavar="N",
                   help=f"worker processes of the local cluster (default: cores, here "
                        f"{os.cpu_count()})")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="use a running Dask scheduler (tcp://host:8786) instead of a local "
                        "cluster")
    p.add_argument("--retry-failed", action="store_true",
                   help="recompute jobs whose stored outcome is a failure")
    p.add_argument("--json", action="store_true", help="machine-readable output (the summary)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def cmd_sweep(args):
    workers = None if args.workers is None else _workers(args.workers)
    if workers is not None and args.scheduler is not None:
        raise InputError("--workers: not allowed with --scheduler (the cluster has its workers)")
    spec = load_spec(args.spec)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out: {args.out!r} is a file; expected a folder")
    out.mkdir(parents=True, exist_ok=True)
    progress = Progress(not args.quiet and not args.json)
    points = spec.points()
    progress(f"sweep: {len(points)} points × metrics {', '.join(spec.metrics)} -> {out}/")
    run = run_sweep(spec, out, workers=workers, scheduler=args.scheduler,
                    retry_failed=args.retry_failed, show_progress=not args.quiet and not args.json)
    summary = write_outputs(spec, run, out)
    if args.json:
        dump_json(summary)
        return 0
    rows = summary["rows"]
    columns = [c for c in rows[0] if c not in ("seconds",)] if rows else []
    print(table([[row.get(c, "") for c in columns] for row in rows], columns))
    print(f"{len(rows)} points: {run.computed} jobs computed, {run.reused} reused, "
          f"{run.failed} failed -> {out / 'sweep.csv'}")
    for plot in summary["plots"]:
        print(f"Pareto plot: {plot}")
    return 0
