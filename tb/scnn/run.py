"""cocotb module behind ``sparseforge run`` on an SCNN config: one layer through the generated RTL.

The CLI writes the operands to ``$SPARSEFORGE_RUN_DIR/inputs.npz`` (``act`` C×H×W, ``weights``
K×C×R×S, and on a design with Sparse-Blox the raw ``threshold``); this module encodes them, runs
the layer without pauses and writes ``outputs.npz`` next to it: each PE's output rows
(``counts_<n>``, ``values_<n>``, ``zeros_<n>``), the measured cycles (``measured_<name>``,
:data:`.bench.CYCLES`) and the registers (``reg_<name>``). Checking against the golden and cycle
models is the CLI's job, so the same figures reach the user whether or not they match.
"""

import os
from pathlib import Path

import cocotb
import numpy as np

from ...gen.config import config_from_env
from ...sim.scnn import streams as scnn_streams
from .bench import ScnnBench


@cocotb.test()
async def run_layer(dut):
    cfg = config_from_env()
    run_dir = Path(os.environ["SPARSEFORGE_RUN_DIR"])
    with np.load(run_dir / "inputs.npz") as inputs:
        act, weights = inputs["act"], inputs["weights"]
        threshold = int(inputs["threshold"]) if "threshold" in inputs else 0
    streams = scnn_streams.layer_streams(cfg, act, weights, threshold)
    bench = ScnnBench(dut, cfg)
    await bench.reset()
    result = await bench.run_layer(streams, threshold=threshold)
    arrays = {f"measured_{name}": value for name, value in result.measured.items()}
    arrays.update({f"reg_{name}": value for name, value in result.registers.items()})
    for n, (counts, values, zeros) in enumerate(result.rows):
        arrays.update({f"counts_{n}": counts, f"values_{n}": values, f"zeros_{n}": zeros})
    np.savez(run_dir / "outputs.npz", **arrays)
