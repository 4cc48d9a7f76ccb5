"""cocotb module behind ``sparseforge run`` on a CCR config: one layer through the generated RTL.

The CLI writes the operands to ``$SPARSEFORGE_RUN_DIR/inputs.npz`` (``x`` C×H×W, ``w`` K×C×R×S,
``window`` ``[x0, y0, ho, wo, stride]``); this module runs the layer's passes without pauses and
writes ``outputs.npz`` next to it: the output ``y`` (K×Ho×Wo), the busy ``cycles`` of each pass
measured by the bench and each pass's registers (``reg_<name>``). Checking against the golden and
cycle models is the CLI's job, so the same figures reach the user whether or not they match.
"""

import os
from pathlib import Path

import cocotb
import numpy as np

from ...gen.config import config_from_env
from ...sim.ccr.layer import Window
from .bench import COUNTERS, CcrBench


@cocotb.test()
async def run_layer(dut):
    cfg = config_from_env()
    run_dir = Path(os.environ["SPARSEFORGE_RUN_DIR"])
    with np.load(run_dir / "inputs.npz") as inputs:
        x, w, window = inputs["x"], inputs["w"], inputs["window"]
    win = Window(*(int(v) for v in window))
    bench = CcrBench(dut, cfg)
    await bench.reset()
    result = await bench.run_layer(x, w, win)
    arrays = {"y": result.out, "cycles": np.array(result.cycles)}
    for name in COUNTERS:
        arrays[f"reg_{name}"] = np.array([r[name] for r in result.registers])
    np.savez(run_dir / "outputs.npz", **arrays)
