"""A CI-sized soak (``make soak`` runs the full one): 20 random jobs on the STA-VDBB engine of the
paper's Fig. 6 (``vdbb_2x8x4_2x2``) on Verilator, through ``benchmarks/soak.py``: shapes, NNZ and
densities change between jobs, streams idle and back-pressure at random; every job bit-exact
against the golden GEMM, the unpaused ones cycle-exact against the cycle model
(:mod:`sparseforge.tb.sta.soak`). The seed is ``$SPARSEFORGE_SEED`` or a fresh one, printed.
"""

import importlib.util
import os
from pathlib import Path

import pytest

from sparseforge.tb import runner

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "soak.py"


def _soak_script():
    spec = importlib.util.spec_from_file_location("soak_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.cocotb
def test_ci_soak_of_the_sta_engine():
    seed = int(os.environ.get("SPARSEFORGE_SEED") or runner.fresh_seed())
    print(f"soak seed {seed}")
    row = _soak_script().run_soak("sta", 20, seed, progress=lambda line: None)
    assert row["design"] == "vdbb_2x8x4_2x2"
    assert row["jobs"] == 20, row
    assert row["failures"] == 0, "\n".join(row["messages"]) + \
        f"\nreproduce: benchmarks/soak.py --arch sta --jobs 20 --seed {seed}"
    assert 0 < row["cycle_checked"] < 20 and row["paused"] == 20 - row["cycle_checked"], row


def test_every_architecture_has_a_soak():
    """Every registered architecture names a soak module the script can run."""
    from sparseforge.gen import registry
    archs = _soak_script().soak_architectures()
    assert list(archs) == list(registry.BUILTIN)
