"""cocotb module behind ``sparseforge run --model`` on a SparseCore config: a whole network.

The CLI writes ``$SPARSEFORGE_RUN_DIR/inputs.npz``: ``images`` (N×C×H×W INT8) and for each
convolution ``i`` its weights meeting the design's k/m, ``w<i>`` (K'×C×R×S), its per-channel
``bias<i>``, ``mult<i>`` and ``shift<i>`` (K'), ``real<i>`` (the indices of the network's channels
among the K', see :func:`sparseforge.gen.sparsecore.network.spread`) and ``layer<i>`` (stride,
pad, relu, pool). Image by image, layer by layer, in one simulation: each layer is loaded and run
as ``sparseforge run`` runs one (requantization, ReLU and pooling on chip); its compressed output
is decoded, checked to be the canonical encoding of the decoded plane, and its ``real`` channels
are the next layer's input. ``outputs.npz``: ``y<i>`` (N×K×Ho×Wo, the decoded outputs of the real
channels, pooled where the layer pools) and ``cycles<i>`` (N, clock periods ``busy`` was high,
measured by the bench).
"""

import os
from pathlib import Path

import cocotb
import numpy as np

from ...gen.config import config_from_env
from ...sim.sparsecore import format as kmf
from ...sim.sparsecore import streams
from ...sim.sparsecore.cycles import LayerShape
from .bench import STATUS_DONE, STATUS_ERROR, SparseCoreBench


@cocotb.test()
async def run_network(dut):
    cfg = config_from_env()
    run_dir = Path(os.environ["SPARSEFORGE_RUN_DIR"])
    with np.load(run_dir / "inputs.npz") as f:
        inputs = {name: f[name] for name in f.files}
    count = sum(1 for name in inputs if name.startswith("layer"))
    bench = SparseCoreBench(dut, cfg)
    await bench.reset()
    outputs = {f"{kind}{i}": [] for i in range(count) for kind in ("y", "cycles")}
    for n, image in enumerate(inputs["images"]):
        act = np.asarray(image, np.int64)
        for i in range(count):
            w = inputs[f"w{i}"]
            stride, pad, relu, pool = (int(v) for v in inputs[f"layer{i}"])
            shape = LayerShape(act.shape[1], act.shape[2], act.shape[0], w.shape[0],
                               w.shape[2], w.shape[3], stride, pad, bool(pool))
            res = await bench.run_layer(shape, act, w, inputs[f"bias{i}"], inputs[f"mult{i}"],
                                        inputs[f"shift{i}"], relu=bool(relu))
            status = res.registers["status"]
            assert status & STATUS_DONE and not status & STATUS_ERROR, \
                f"image {n} layer {i}: status {status:#x}"
            ho, wo = shape.ho // 2 if pool else shape.ho, shape.wo // 2 if pool else shape.wo
            store = streams.collect_output(cfg, res.beats, shape.k, ho, wo)
            plane = kmf.decompress_acts(store)
            assert store == kmf.compress_acts(plane, cfg.chunk), \
                f"image {n} layer {i}: the output lists are not the plane's encoding"
            act = plane[inputs[f"real{i}"]]
            outputs[f"y{i}"].append(act)
            outputs[f"cycles{i}"].append(res.cycles)
    np.savez(run_dir / "outputs.npz", **{k: np.array(v) for k, v in outputs.items()})
