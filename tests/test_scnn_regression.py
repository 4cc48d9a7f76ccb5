"""The cocotb regression of generated SCNN accelerators, on Icarus and Verilator.

Each design is generated, built for both simulators and run through
:mod:`sparseforge.tb.test_scnn`: every supported kernel (1×1, 3×3, 5×5) at densities from 1.0/1.0
to 0.1/0.1, idle cycles and back-pressure on every stream, all-zero weights, activations and
channels, zero runs far longer than the index range, minimum × minimum products that wrap, a
one-pixel image, a batch reusing loaded weights, and the register bus's error answers — each layer
bit-exact (decoded outputs and the compressed stream), cycle-exact and counter-exact against the
models. Two designs keep the build time down:

* ``scnn_2x2_small``: 2×2 PEs with odd 3×5 tiles, 5×5 kernels (halo 2) and 2-bit indices, so
  halos cross PE boundaries in x, y and diagonally, and runs longer than the index range are
  common;
* ``scnn_pe_t3``: one PE of Table 3 (4×4 multipliers, 32 banks, 16/24-bit arithmetic, 4-bit
  indices) on 4×4 tiles, on Verilator only: Icarus evaluates its wide crossbar buses bit by bit
  and needs over four minutes for the module (the first design covers every case on Icarus).
"""

import os

import pytest

from sparseforge.gen.config import parse_config
from sparseforge.gen.presets import load_preset
from sparseforge.tb import runner

SEED = int(os.environ.get("SPARSEFORGE_SEED", "1"))

DESIGNS = {
    "scnn_2x2_small": load_preset("scnn_2x2_small"),
    "scnn_pe_t3": parse_config({
        "arch": "scnn", "name": "scnn_pe_t3", "pes": {"x": 1, "y": 1},
        "pe": {"f": 4, "i": 4, "banks": 32, "bank_entries": 8}, "kc": 4,
        "tile": {"w": 4, "h": 4}, "kernel_max": 3,
        "rams": {"iaram": 64, "oaram": 64, "weights": 256, "out_channels": 16}}),
}


RUNS = [("scnn_2x2_small", "icarus"), ("scnn_2x2_small", "verilator"),
        ("scnn_pe_t3", "verilator")]


@pytest.mark.cocotb
@pytest.mark.parametrize("design, simulator", RUNS)
def test_regression(design, simulator, tmp_path):
    cfg = DESIGNS[design]
    log = tmp_path / "sim.log"
    bld = runner.build(cfg, simulator, log=log)
    tests, failures, _ = runner.run_module(bld, "sparseforge.tb.test_scnn", seed=SEED, log=log,
                                           results_dir=tmp_path)
    if failures or tests < 5:
        lines = log.read_text().splitlines()
        failing = [line for line in lines if "FAIL" in line or "Error" in line or "assert" in line]
        pytest.fail(f"{design} on {simulator} (seed {SEED}): {failures} of {tests} cocotb tests "
                    "failed:\n" + "\n".join(failing[-40:] or lines[-40:]))
