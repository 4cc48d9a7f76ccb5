"""Sparse-Blox in the VDBB accelerator, on the generated Verilog (cocotb, tb/accel/blox_cases.py).

A small design — a 2×4×2_2×4 VDBB array (4-pixel tiles of 8 channels: two 4-channel blocks per
tile, so the pruner decides two blocks per tile) with small SRAMs — and a 12-position sparse-block
cache, so a layer of 96 blocks fills it. It compiles in a fraction of accel_small's time (the
same tests pass on accel_small's array: run them with ``SPARSEFORGE_BLOX_DESIGN=accel_test``).
Every pruned map is compared with the golden model of the pruned layer and every layer's cycles
with the cycle model (see the cocotb module's docstring). On Verilator the array's MACs are
pipelined (mux and product registered: results two cycles later, dropped blocks unchanged), on
Icarus they are not; each simulator builds its own design anyway.
"""

import os

import pytest
from sparseforge.gen.accel import _blox_test_design, _test_design
from sparseforge.gen.config import parse_config
from sparseforge.gen.lint import lint_verilog
from sparseforge.tb import runner

DESIGN = _blox_test_design(_test_design(True) if os.environ.get("SPARSEFORGE_BLOX_DESIGN")
                           == "accel_test" else None)
PIPELINED = {**DESIGN, "array": {**DESIGN["array"], "pipeline": {"mux": True, "product": True}}}


@pytest.mark.cocotb
@pytest.mark.parametrize("simulator, testcase", [
    ("verilator", None),
    ("icarus", "one_pruning_layer"),
])
def test_blox_rtl(simulator, testcase, tmp_path):
    cfg = parse_config(PIPELINED if simulator == "verilator" else DESIGN)
    log = tmp_path / "sim.log"
    bld = runner.build(cfg, simulator, log=log)
    if simulator == "verilator":
        lint = lint_verilog(bld.verilog_path, cfg.name)
        assert lint.ok, "\n".join(lint.warnings)
    seed = runner.fresh_seed()
    print(f"accel_blox_test on {simulator}: seed {seed}")
    tests, failures, _ = runner.run_module(bld, "sparseforge.tb.accel.blox_cases", seed=seed,
                                           log=log, results_dir=tmp_path, testcase=testcase)
    if failures or tests < 1:
        lines = log.read_text().splitlines()
        pytest.fail(f"seed {seed}: {failures} of {tests} cocotb tests failed\n" +
                    "\n".join([x for x in lines if "FAIL" in x or "assert" in x.lower()][-30:]
                              or lines[-40:]))
