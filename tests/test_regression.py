"""The cocotb regression of generated STA engines, on Icarus and Verilator.

Each design below is generated, built for both simulators, and run through
:mod:`sparseforge.tb.test_sta_engine`: odd shapes at every density (bit- and cycle-exact), idle
cycles and back-pressure on every stream, degenerate operands, extreme values and accumulator wrap,
and consecutive jobs. The table covers every kind, the paper's Fig. 7 examples, one PE, odd and
non-power-of-two block sizes, and narrow accumulators.
"""

import os

import pytest

from sparseforge.gen.config import parse_config
from sparseforge.gen.presets import load_preset
from sparseforge.tb import runner

SEED = int(os.environ.get("SPARSEFORGE_SEED", "1"))

DESIGNS = {
    # The paper's examples (Fig. 6, 7).
    "vdbb_2x8x4_2x2": load_preset("vdbb_2x8x4_2x2"),
    "dbb_2x4x2_2x2": load_preset("dbb_2x4x2_2x2"),
    "sta_2x4x2_2x2": load_preset("sta_2x4x2_2x2"),
    # A classic SA with an odd shape, gating on, 18-bit accumulators that wrap.
    "sa_3x2_acc18": parse_config({"arch": "sta", "kind": "sa", "array": {"m": 3, "n": 2},
                                  "widths": {"acc": 18}, "name": "sa_3x2_acc18"}),
    # One PE: a VDBB TPE with a non-power-of-two block of 6 and a 3-row, 1-column tile.
    "vdbb_3x6x1_1x1": parse_config({"arch": "sta", "kind": "vdbb", "tpe": {"a": 3, "b": 6, "c": 1},
                                    "array": {"m": 1, "n": 1}, "widths": {"acc": 20},
                                    "name": "vdbb_3x6x1_1x1"}),
    # Fixed DBB with 3 of 8 MACs on a tall array, narrow operands.
    "dbb_1x8x3_3x1": parse_config({"arch": "sta", "kind": "dbb", "tpe": {"a": 1, "b": 8, "c": 3},
                                   "array": {"m": 3, "n": 1}, "dbb_macs": 3,
                                   "widths": {"act": 6, "weight": 5, "acc": 24},
                                   "name": "dbb_1x8x3_3x1"}),
    # Dense STA with B = 3 on a wide array.
    "sta_3x3x2_1x3": parse_config({"arch": "sta", "kind": "sta", "tpe": {"a": 3, "b": 3, "c": 2},
                                   "array": {"m": 1, "n": 3}, "name": "sta_3x3x2_1x3"}),
}


@pytest.mark.cocotb
@pytest.mark.parametrize("simulator", runner.SIMULATORS)
@pytest.mark.parametrize("design", list(DESIGNS))
def test_regression(design, simulator, tmp_path):
    cfg = DESIGNS[design]
    log = tmp_path / "sim.log"
    bld = runner.build(cfg, simulator, log=log)
    tests, failures, _ = runner.run_module(bld, "sparseforge.tb.test_sta_engine", seed=SEED,
                                           log=log, results_dir=tmp_path)
    if failures or tests < 5:
        lines = log.read_text().splitlines()
        failing = [line for line in lines if "FAIL" in line or "Error" in line or "assert" in line]
        pytest.fail(f"{design} on {simulator} (seed {SEED}): {failures} of {tests} cocotb tests "
                    "failed:\n" + "\n".join(failing[-40:] or lines[-40:]))
