"""The cocotb regression of generated VDBB accelerators, on Icarus and Verilator.

Each design is generated, built and run through :mod:`sparseforge.tb.test_accel`: layers with
1×1, 3×3, 5×5 and 7×7 kernels, strides 1 and 2, with and without padding, odd sizes and channel
counts that are not a multiple of the block (bit-exact, cycles and SRAM reads equal to the
models), idle cycles on every AXI stream and channel, a three-layer chain in SRAM with
requantization and ReLU and the next weights loading during compute, and a refused descriptor.
"""

import os

import pytest

from sparseforge.gen.config import parse_config
from sparseforge.tb import runner

SEED = int(os.environ.get("SPARSEFORGE_SEED", "1"))


def _design(name, im2col):
    """The accel_small preset's array (64 MACs, 8-pixel tiles) with SRAMs just big enough for
    the regression's layers, so the simulators compile fewer SRAM words."""
    return parse_config({"arch": "accel", "name": name,
                         "array": {"kind": "vdbb", "tpe": {"a": 2, "b": 8, "c": 4},
                                   "array": {"m": 4, "n": 2}},
                         "sram": {"act_kb": 16, "weight_kb": 16}, "im2col": im2col})


# Icarus simulates these designs at about a hundred cycles a second, so the no-IM2COL baseline
# (the same array behind a simpler reader) runs on Verilator only.
CASES = [("accel_test", True, "icarus"), ("accel_test", True, "verilator"),
         ("accel_test_noim2c", False, "verilator")]


@pytest.mark.cocotb
@pytest.mark.parametrize("design,im2col,simulator", CASES, ids=[f"{d}-{s}" for d, _, s in CASES])
def test_accel_regression(design, im2col, simulator, tmp_path):
    cfg = _design(design, im2col)
    log = tmp_path / "sim.log"
    bld = runner.build(cfg, simulator, log=log)
    tests, failures, _ = runner.run_module(bld, "sparseforge.tb.test_accel", seed=SEED, log=log,
                                           results_dir=tmp_path)
    if failures or tests < 4:
        lines = log.read_text().splitlines()
        failing = [line for line in lines if "FAIL" in line or "Error" in line or "assert" in line]
        pytest.fail(f"{design} on {simulator} (seed {SEED}): {failures} of {tests} cocotb tests "
                    "failed:\n" + "\n".join(failing[-40:] or lines[-40:]))
