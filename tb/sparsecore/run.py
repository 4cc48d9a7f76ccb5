"""cocotb module behind ``sparseforge run`` on a SparseCore config: one layer through the RTL.

The caller writes ``$SPARSEFORGE_RUN_DIR/inputs.npz``: ``act`` (C×H×W), ``weights`` (K×C×R×S,
meeting k/m), ``bias``, ``mult``, ``shift`` (per output channel) and ``layer`` (``stride, pad,
relu, pool``), and optionally ``dense_acts`` (1: every activation an entry, zeros too, as a
dense array reads them); this module runs the layer without pauses and writes ``outputs.npz``
beside it: the output beats (``chunk``, ``y``, ``x``, ``count``, ``c`` and ``value`` per lane),
the measured ``cycles`` and the registers (``reg_<name>``). Checking is the caller's job.
"""

import json
import os
from pathlib import Path

import cocotb
import numpy as np

from ...gen.config import parse_config
from ...sim.sparsecore.cycles import LayerShape
from .bench import SparseCoreBench


@cocotb.test()
async def run_layer(dut):
    cfg = parse_config(json.loads(os.environ["SPARSEFORGE_CONFIG"]))
    run_dir = Path(os.environ["SPARSEFORGE_RUN_DIR"])
    with np.load(run_dir / "inputs.npz") as inputs:
        arrays = {name: inputs[name] for name in inputs.files}
    act, w = arrays["act"], arrays["weights"]
    stride, pad, relu, pool = (int(v) for v in arrays["layer"])
    shape = LayerShape(act.shape[1], act.shape[2], act.shape[0], w.shape[0], w.shape[2],
                       w.shape[3], stride, pad, bool(pool))
    bench = SparseCoreBench(dut, cfg)
    await bench.reset()
    res = await bench.run_layer(shape, act, w, arrays["bias"], arrays["mult"], arrays["shift"],
                                relu=bool(relu),
                                dense_acts=bool(arrays.get("dense_acts", 0)))
    n = len(res.beats)
    lanes_c = np.zeros((n, cfg.chunk), dtype=np.int64)
    lanes_v = np.zeros((n, cfg.chunk), dtype=np.int64)
    for i, (_chunk, _y, _x, lanes) in enumerate(res.beats):
        for j, (c, v) in enumerate(lanes):
            lanes_c[i, j], lanes_v[i, j] = c, v
    out = {"cycles": res.cycles, "chunk": [b[0] for b in res.beats],
           "y": [b[1] for b in res.beats], "x": [b[2] for b in res.beats],
           "count": [len(b[3]) for b in res.beats], "c": lanes_c, "value": lanes_v}
    out.update({f"reg_{name}": value for name, value in res.registers.items()})
    np.savez(run_dir / "outputs.npz", **{k: np.asarray(v, dtype=np.int64) for k, v in
                                          out.items()})
