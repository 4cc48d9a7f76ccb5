"""The benchmark results committed under ``benchmarks/results/``, for the expensive rows.

Synthesis of the paper-sized designs and the long RTL regressions take minutes to hours; a full
reproduction reads what the benchmark scripts measured and committed, and its report names the
file and the command that regenerates it. The folder is found beside the package in a source
checkout (the project is installed editable from it).
"""

import json
from pathlib import Path

from .rows import Source

__all__ = ["RESULTS", "COMMANDS", "load", "source"]

#: ``benchmarks/results`` of the checkout this package lives in.
RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"

_PY = ".venv/bin/python benchmarks/"

#: How each committed result is regenerated, from the repository root.
COMMANDS = {
    "sta_figures": _PY + "sta_figures.py --json benchmarks/results/sta_figures.json",
    "sta_fig12": _PY + "sta_fig12.py --json benchmarks/results/sta_fig12.json "
                 "--plot benchmarks/results/sta_fig12.png",
    "sta_density": _PY + "sta_density.py --json benchmarks/results/sta_density.json",
    "network_accuracy": _PY + "network_accuracy.py",
    "energy_figures": _PY + "energy_figures.py --part fig12",
    "scnn_density": _PY + "scnn_density.py --json benchmarks/results/scnn_density.json",
    "scnn_googlenet": _PY + "scnn_googlenet.py --json benchmarks/results/scnn_googlenet.json "
                      "--plot benchmarks/results/scnn_googlenet.png",
    "scnn_vgg16": _PY + "scnn_vgg16.py --json benchmarks/results/scnn_vgg16.json",
    "scnn_area": _PY + "scnn_area.py --json benchmarks/results/scnn_area.json",
    "sparseblox_spex": _PY + "sparseblox_figures.py",
    "sparseblox_area": _PY + "sparseblox_area.py --json benchmarks/results/sparseblox_area.json",
    "ccr_figures": _PY + "ccr_figures.py --json benchmarks/results/ccr_figures.json",
    "ccr_rtl": _PY + "ccr_rtl.py",
    "sparsecore_area": _PY + "sparsecore_area.py",
    "sparsecore_rtl": _PY + "sparsecore_rtl.py",
    "sparsecore_energy": _PY + "sparsecore_energy.py",
    "ccr_energy": _PY + "ccr_energy.py",
    "scnn_energy": _PY + "scnn_energy.py",
}


def load(name):
    """The committed ``benchmarks/results/<name>.json``, or ``None`` when this checkout has
    none (an installed package without the benchmarks, or a result not yet measured)."""
    path = RESULTS / f"{name}.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def source(name, what):
    """A :class:`Source` naming the committed result ``name`` and its command."""
    return Source(what, f"benchmarks/results/{name}.json", COMMANDS[name])
