"""The cocotb regression of the generated SparseCore accelerator (``sparsecore_small``: 3 PEs of
4 ALUs at 2/4, two chunks sharing them unevenly) on Icarus and Verilator, through
:mod:`sparseforge.tb.sparsecore.regression`. The other k/m (1/4, 2/8, 4/8) run under Amaranth's
simulator in test_sparsecore_blocks.py and on both simulators in benchmarks/sparsecore_rtl.py."""

import os

import pytest

from sparseforge.gen.sparsecore.presets import preset
from sparseforge.tb import runner

SEED = int(os.environ.get("SPARSEFORGE_SEED", "1"))


@pytest.mark.cocotb
@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_regression(simulator, tmp_path):
    cfg = preset("sparsecore_small")
    log = tmp_path / "sim.log"
    bld = runner.build(cfg, simulator, log=log)
    tests, failures, _ = runner.run_module(bld, "sparseforge.tb.sparsecore.regression",
                                           seed=SEED, log=log, results_dir=tmp_path)
    if failures or tests < 5:
        lines = log.read_text().splitlines()
        failing = [line for line in lines if "FAIL" in line or "Error" in line or "assert" in line]
        pytest.fail(f"{simulator} (seed {SEED}): {failures} of {tests} cocotb tests failed:\n" +
                    "\n".join(failing[-40:] or lines[-40:]))
