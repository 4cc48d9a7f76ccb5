"""Design-space sweeps: ``sparseforge sweep SPEC.yaml -o DIR`` on Dask distributed.

:mod:`.spec` reads a spec (base design, axes, workload, metrics) into points; :mod:`.jobs` turns
each point's metrics into jobs that call the ``sparseforge`` command in-process; :mod:`.engine`
runs the missing jobs on a local or remote Dask cluster and stores each result as it finishes
(:mod:`.store`); :mod:`.report` writes the table and the Pareto plots.
"""

from .engine import run_sweep
from .report import write_outputs
from .spec import METRICS, load_spec, parse_spec

__all__ = ["METRICS", "load_spec", "parse_spec", "run_sweep", "write_outputs"]
