"""Running a sweep on Dask distributed: the jobs a spec needs, the missing ones computed.

By default an embedded :class:`distributed.LocalCluster` of one single-threaded worker process per
core (synthesis and simulation are single-threaded and hold the GIL); with ``scheduler`` an
existing cluster (``tcp://host:8786``; one started by ``dask scheduler`` / ``dask worker`` or by
``dask-jobqueue`` on a batch system), whose workers must have the same sparseforge installed.
Each finished job is stored at once (:class:`~.store.ResultStore`), so an interrupted sweep
resumes where it stopped. A failing job is recorded with its one-line error; the sweep goes on.
"""

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from .jobs import SYNTH_FLOWS, Job, execute
from .store import ResultStore

__all__ = ["SweepRun", "jobs_of", "run_sweep"]


@dataclass
class SweepRun:
    """What a sweep did: its points, every job's outcome by key, and the counts."""

    points: list
    outcomes: dict        # (point index, kind) → outcome
    computed: int
    reused: int
    failed: int


def jobs_of(spec, points):
    """``{(point index, kind): Job}`` for every metric's job, synthesis shared across workloads."""
    table = {}
    for point in points:
        for kind in spec.kinds:
            workload = () if kind in SYNTH_FLOWS else point.workload
            table[point.index, kind] = Job(kind, point.raw, workload)
    return table


def _cluster(workers, scheduler):
    """A Dask client: to ``scheduler`` if given, else to a new local cluster."""
    import logging

    from dask.distributed import Client, LocalCluster
    for name in ("distributed", "distributed.worker", "distributed.nanny", "distributed.scheduler",
                 "distributed.core", "distributed.http.proxy"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if scheduler is not None:
        try:
            return Client(scheduler, timeout="15s"), None
        except (OSError, TimeoutError, ValueError) as e:
            raise InputError(f"--scheduler: cannot reach {scheduler!r} ({e}); expected the "
                             "address of a running Dask scheduler, e.g. tcp://host:8786") from None
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=logging.ERROR)
    return Client(cluster), cluster


def run_sweep(spec, out_dir, *, workers=None, scheduler=None, retry_failed=False,
              show_progress=True):
    """Compute the jobs of ``spec`` missing from ``out_dir/results``; a :class:`SweepRun`.

    Parameters
    ----------
    workers : int, optional
        Worker processes of the local cluster (default: the number of cores).
    scheduler : str, optional
        Address of an existing Dask scheduler; ``workers`` is then ignored.
    retry_failed : bool
        Recompute jobs whose stored outcome is a failure.
    """
    points = spec.points()
    jobs = jobs_of(spec, points)
    store = ResultStore(Path(out_dir) / "results")
    unique = {job.key: job for job in jobs.values()}
    outcomes = {}
    todo = []
    for key, job in unique.items():
        stored = store.get(key)
        if stored is not None and (stored["ok"] or not retry_failed):
            outcomes[key] = stored
        else:
            todo.append(job)
    reused = len(outcomes)
    if todo:
        from tqdm import tqdm
        client, cluster = _cluster(workers or os.cpu_count() or 1, scheduler)
        bar = tqdm(total=len(todo), desc="sweep", unit="job", file=sys.stderr,
                   disable=not show_progress, dynamic_ncols=True)
        try:
            from dask.distributed import as_completed
            futures = client.map(execute, todo, key=[f"sweep-{job.kind}-{job.key}"
                                                     for job in todo], pure=False)
            by_future = dict(zip(futures, todo))
            for future in as_completed(futures):
                job = by_future[future]
                try:
                    outcome = future.result()
                except Exception as e:          # a worker lost or killed: record, go on
                    outcome = {"ok": False, "error": f"worker failed: {type(e).__name__}: {e}",
                               "seconds": None, "argv": None}
                store.put(job.key, job, outcome)
                outcomes[job.key] = outcome
                bar.update(1)
                if not outcome["ok"]:
                    bar.write(f"sweep: {job.kind} of point failed: {outcome['error']}",
                              file=sys.stderr)
        finally:
            bar.close()
            client.close()
            if cluster is not None:
                cluster.close()
    failed = sum(1 for o in outcomes.values() if not o["ok"])
    return SweepRun(points, {index: outcomes[job.key] for index, job in jobs.items()},
                    computed=len(todo), reused=reused, failed=failed)
