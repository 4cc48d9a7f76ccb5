"""cocotb module behind ``sparseforge run`` on an SCNN config: one layer through the generated RTL,
or two layers chained on chip.

The CLI writes the operands to ``$SPARSEFORGE_RUN_DIR/inputs.npz`` (``act`` C×H×W, ``weights``
K×C×R×S, and on a design with Sparse-Blox the raw ``threshold``; with ``shift`` the layer
requantizes its outputs; with ``weights2`` (K2×K×R×S) a second layer follows, chained on chip:
the first keeps its requantized outputs, the second takes them as its input and streams its raw
outputs); this module encodes them, runs the layers without pauses and writes ``outputs.npz``
next to it: each PE's output rows (``counts_<n>``, ``values_<n>``, ``zeros_<n>``), the measured
cycles (``measured_<name>``, :data:`.bench.CYCLES`) and the registers (``reg_<name>``), those of
the second layer prefixed ``l2_``. Checking against the golden and cycle models is the CLI's
job, so the same figures reach the user whether or not they match.
"""

import os
from pathlib import Path

import cocotb
import numpy as np

from ...gen.config import config_from_env
from ...sim.scnn import streams as scnn_streams
from .bench import ScnnBench


def _arrays(result, prefix=""):
    arrays = {f"{prefix}measured_{name}": value for name, value in result.measured.items()}
    arrays.update({f"{prefix}reg_{name}": value for name, value in result.registers.items()})
    for n, (counts, values, zeros) in enumerate(result.rows):
        arrays.update({f"{prefix}counts_{n}": counts, f"{prefix}values_{n}": values,
                       f"{prefix}zeros_{n}": zeros})
    return arrays


@cocotb.test()
async def run_layer(dut):
    cfg = config_from_env()
    run_dir = Path(os.environ["SPARSEFORGE_RUN_DIR"])
    with np.load(run_dir / "inputs.npz") as inputs:
        act, weights = inputs["act"], inputs["weights"]
        threshold = int(inputs["threshold"]) if "threshold" in inputs else 0
        shift = int(inputs["shift"]) if "shift" in inputs else None
        weights2 = inputs["weights2"] if "weights2" in inputs else None
    streams = scnn_streams.layer_streams(cfg, act, weights, threshold, shift)
    bench = ScnnBench(dut, cfg)
    await bench.reset()
    chained = weights2 is not None
    result = await bench.run_layer(streams, threshold=threshold, shift=shift, keep=chained)
    arrays = _arrays(result)
    if chained:
        # The second layer's streams: its weights; its activation blocks stay unsent (they are
        # on chip) and its expected outputs only tell the bench how many beats to wait for.
        act2 = scnn_streams.golden(cfg, act, weights, threshold, shift)
        result = await bench.run_layer(scnn_streams.layer_streams(cfg, act2, weights2),
                                       chain=True)
        arrays.update(_arrays(result, "l2_"))
    np.savez(run_dir / "outputs.npz", **arrays)
