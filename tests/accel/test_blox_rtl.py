"""Sparse-Blox in the VDBB accelerator, on the generated Verilog (cocotb, tb/accel/blox_cases.py).

A small design (accel_small's array, small SRAMs) with a 12-position sparse-block cache, so one
layer of 24 blocks fills it. Every pruned map is compared with the golden model of the pruned
layer and every layer's cycles with the cycle model (see the cocotb module's docstring).
"""

import pytest
from sparseforge.gen.accel import _test_design
from sparseforge.gen.config import parse_config
from sparseforge.tb import runner

DESIGN = {**_test_design(True), "sparseblox": {"capacity": 12}, "name": "accel_blox_test"}


@pytest.mark.cocotb
@pytest.mark.parametrize("simulator, testcase", [
    ("verilator", None),
    ("icarus", "thresholds_zero_some_all"),
])
def test_blox_rtl(simulator, testcase, tmp_path):
    cfg = parse_config(DESIGN)
    log = tmp_path / "sim.log"
    bld = runner.build(cfg, simulator, log=log)
    seed = runner.fresh_seed()
    print(f"accel_blox_test on {simulator}: seed {seed}")
    tests, failures, _ = runner.run_module(bld, "sparseforge.tb.accel.blox_cases", seed=seed,
                                           log=log, results_dir=tmp_path, testcase=testcase)
    if failures or tests < 1:
        lines = log.read_text().splitlines()
        pytest.fail(f"seed {seed}: {failures} of {tests} cocotb tests failed\n" +
                    "\n".join([x for x in lines if "FAIL" in x or "assert" in x.lower()][-30:]
                              or lines[-40:]))
