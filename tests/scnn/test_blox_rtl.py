"""Sparse-Blox in SCNN's PPU, on the generated Verilog (cocotb, tb/scnn/blox_cases.py).

A small design — 2×1 PEs of 2×2 multipliers on 5×5 tiles (2×2 blocks of 4×4 per tile, partial at
the tile's right and bottom edges), 3×3 kernels — with a 6-position sparse-block cache per PE, so
a three-channel layer fills it. Every pruned layer is compared with the golden model of the
pruned layer, its cycles with the cycle model and its block counters with the model's (see the
cocotb module's docstring).

In the suite it runs on Icarus (about 10 s: the suite's time budget); the same cases pass on
Verilator, whose build of this design takes about 45 s: ``SPARSEFORGE_SCNN_BLOX_SIM=verilator``.
"""

import os

import pytest
from sparseforge.gen.config import parse_config
from sparseforge.tb import runner

DESIGN = {"arch": "scnn", "name": "scnn_blox_test", "pes": {"x": 2, "y": 1},
          "pe": {"f": 2, "i": 2}, "kc": 2, "tile": {"w": 5, "h": 5}, "kernel_max": 3,
          "index_bits": 2, "widths": {"act": 8, "weight": 8, "acc": 16},
          "rams": {"iaram": 64, "oaram": 128, "weights": 128, "out_channels": 4},
          "sparseblox": {"capacity": 6, "position_bits": 5, "threshold": "Q16.4"}}


@pytest.mark.cocotb
def test_blox_rtl(tmp_path):
    cfg = parse_config(DESIGN)
    log = tmp_path / "sim.log"
    simulator = os.environ.get("SPARSEFORGE_SCNN_BLOX_SIM", "icarus")
    bld = runner.build(cfg, simulator, log=log)
    seed = runner.fresh_seed()
    print(f"scnn_blox_test on {simulator}: seed {seed}")
    tests, failures, _ = runner.run_module(bld, "sparseforge.tb.scnn.blox_cases", seed=seed,
                                           log=log, results_dir=tmp_path)
    if failures or tests < 1:
        lines = log.read_text().splitlines()
        pytest.fail(f"seed {seed}: {failures} of {tests} cocotb tests failed\n" +
                    "\n".join([x for x in lines if "FAIL" in x or "assert" in x.lower()][-30:]
                              or lines[-40:]))
