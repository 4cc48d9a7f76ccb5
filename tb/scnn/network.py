"""cocotb module behind ``sparseforge run --model`` on an SCNN config: a whole network.

The CLI writes ``$SPARSEFORGE_RUN_DIR/inputs.npz``: ``images`` (N×C×H×W INT8) and for each
convolution ``i`` its weights with the bias as one more input channel, ``w<i>``
(K×(C+1)×R×S: the bias of channel k at the centre tap of input channel C, whose activations are
all 1), and its per-channel ``mult<i>``, ``shift<i>`` and ``pool<i>``.

SCNN has no requantizer (its PPU applies ReLU and compresses, Sec. 3), so between layers the host
requantizes the decoded outputs — ``relu(acc + bias)`` — with the multiplier and shift (bias 0,
ReLU: the rule of :mod:`sparseforge.sim.quant`), max-pools them where the layer pools and loads the
result as the next layer's input. Image by image, layer by layer, in one simulation; each layer
is loaded (weights included) and run as ``sparseforge run`` runs one. ``outputs.npz``: ``y<i>``
(N×K×H×W, the decoded outputs) and ``cycles<i>`` (N, clock periods ``busy`` was high, measured by
the bench). On a design with Sparse-Blox, ``blox<i>`` is layer ``i``'s raw threshold (0: it
prunes nothing), written to ``blox_threshold``; its PPUs prune 4×4 blocks of the decoded output
before compression, and ``cached<i>``, ``refused<i>`` (N) are the layer's block counters.
"""

import os
from pathlib import Path

import cocotb
import numpy as np

from ...gen.config import config_from_env
from ...sim import quant
from ...sim.scnn import streams as scnn_streams
from .bench import ScnnBench


@cocotb.test()
async def run_network(dut):
    cfg = config_from_env()
    run_dir = Path(os.environ["SPARSEFORGE_RUN_DIR"])
    with np.load(run_dir / "inputs.npz") as f:
        inputs = {name: f[name] for name in f.files}
    count = sum(1 for name in inputs if name.startswith("w"))
    bench = ScnnBench(dut, cfg)
    await bench.reset()
    outputs = {f"{kind}{i}": [] for i in range(count) for kind in ("y", "cycles")}
    for image in inputs["images"]:
        act = np.asarray(image, np.int64)
        for i in range(count):
            ones = np.ones((1,) + act.shape[1:], np.int64)
            threshold = int(inputs.get(f"blox{i}", 0))
            streams = scnn_streams.layer_streams(cfg, np.concatenate([act, ones]),
                                                 inputs[f"w{i}"], threshold)
            result = await bench.run_layer(streams, threshold=threshold)
            if cfg.sparseblox is not None:
                outputs.setdefault(f"cached{i}", []).append(result.registers["blocks_cached"])
                outputs.setdefault(f"refused{i}", []).append(
                    result.registers["blocks_refused"])

            blocks = [scnn_streams.decode_output_rows(cfg, rows, streams.layer.k)
                      for rows in result.rows]
            y = scnn_streams.assemble_output(cfg, blocks, streams.layer)
            outputs[f"y{i}"].append(y)
            outputs[f"cycles{i}"].append(result.cycles)
            act = quant.requantize(y, 0, inputs[f"mult{i}"], inputs[f"shift{i}"], relu=True)
            if inputs[f"pool{i}"]:
                act = quant.max_pool2(act)
    np.savez(run_dir / "outputs.npz", **{k: np.array(v) for k, v in outputs.items()})
