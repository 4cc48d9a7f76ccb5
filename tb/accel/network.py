"""cocotb module behind ``sparseforge run --model`` on an accelerator config: a whole network.

The CLI writes ``$SPARSEFORGE_RUN_DIR/inputs.npz``: ``images`` (N×C×H×W INT8), and for each
convolution ``i`` its INT8 weights ``w<i>`` (K×C×R×S), per-channel ``bias<i>``, ``mult<i>``,
``shift<i>``, ``layer<i>`` = [h, w, c, k, r, s, stride, pad, nnz, ph, pw, direct, raster],
``pool<i>`` and ``place<i>`` = [weight SRAM half, first word], ``blox<i>`` (the raw
Sparse-Blox threshold of a pruning layer, -1 for none) and ``skip<i>`` (1: run with
``blox_skip``, the engine dropping the steps whose words are all pruned).

Every layer's weights go into the weight SRAM where ``place<i>`` says, and every layer's parameters
into the quantization table one after another, once. Then, image by image, the image is loaded into
activation half 0 and the layers run with ``quant = 1`` and ReLU, each reading the map the previous
one wrote in the other half: layers chain on chip. After a layer that pools, the host reads its map
back, max-pools it 2×2 and loads the result as the next input (a host step; the output stage does
not pool). A pruning layer's map that is not pooled stays where it is and the next layer reads it on
chip: the words of its pruned blocks were never written, and their pruned-word flags make the reader
take them as zeros (:mod:`sparseforge.hdl.accel.blox_flags`). A pooled one is read back through the
sparse-block cache (pruned blocks as zeros), pooled and loaded, as any pooled map. Every layer's map
is also read back (reading does not disturb it), so the CLI can compare each layer with the golden
network. ``outputs.npz``: ``y<i>`` (N×K×Ho×Wo INT8, before pooling), ``cycles<i>`` (N, the
accelerator's ``cycles`` register) and, for pruning layers, ``cached<i>`` and ``refused<i>`` (N, the
Sparse-Blox counters), for skipping ones ``skips<i>`` (N, ``blox_skips``).
"""

import os
from pathlib import Path

import cocotb
import numpy as np

from ...gen.config import config_from_env
from ...sim import quant
from ...sim.accel import plan as accel_plan
from .bench import AccelBench


def _layers(inputs, cfg):
    layers = []
    i = 0
    while f"w{i}" in inputs:
        h, wd, c, k, r, s, stride, pad, nnz, ph, pw, direct, raster = (
            int(v) for v in inputs[f"layer{i}"])
        layers.append({
            "plan": accel_plan.LayerPlan(cfg, h, wd, c, k, r, s, stride, pad, nnz, ph, pw,
                                         direct=bool(direct), raster=bool(raster)),
            "w": inputs[f"w{i}"], "bias": inputs[f"bias{i}"], "mult": inputs[f"mult{i}"],
            "shift": inputs[f"shift{i}"], "pool": bool(inputs[f"pool{i}"]),
            "place": tuple(int(v) for v in inputs[f"place{i}"]),
            "blox": None if int(inputs.get(f"blox{i}", -1)) < 0 else int(inputs[f"blox{i}"]),
            "skip": bool(int(inputs.get(f"skip{i}", 0)))})
        i += 1
    return layers


async def load_quant_table(bench, channels, first_row):
    """Write per-channel ``(bias, mult, shift)`` into the table from row ``first_row``: channel
    ``k`` at row ``first_row + k div tile_cols``, lane ``k mod tile_cols``."""
    lanes = bench.cfg.array.tile_cols
    for k, (bias, mult, shift) in enumerate(channels):
        await bench.configure(qt_row=first_row + k // lanes, qt_lane=k % lanes,
                              qt_bias=int(bias) & 0xFFFFFFFF, qt_mult=int(mult),
                              qt_shift=int(shift))
        await bench.write("qt_write", 1)


@cocotb.test()
async def run_network(dut):
    cfg = config_from_env()
    run_dir = Path(os.environ["SPARSEFORGE_RUN_DIR"])
    with np.load(run_dir / "inputs.npz") as f:
        inputs = {name: f[name] for name in f.files}
    layers = _layers(inputs, cfg)
    images = inputs["images"]
    bench = AccelBench(dut, cfg)
    await bench.reset()

    q_row = 0
    for layer in layers:
        plan = layer["plan"]
        words = accel_plan.weight_words(plan, layer["w"], bench.weight_packer)
        await bench.load_weights(words, *layer["place"])
        await load_quant_table(bench, zip(layer["bias"], layer["mult"], layer["shift"]), q_row)
        layer["q_row"] = q_row
        q_row += plan.col_tiles

    outputs = {f"y{i}": [] for i in range(len(layers))}
    outputs.update({f"cycles{i}": [] for i in range(len(layers))})
    for i, layer in enumerate(layers):
        if layer["blox"] is not None:
            outputs.update({f"cached{i}": [], f"refused{i}": []})
        if layer["skip"]:
            outputs[f"skips{i}"] = []
    for image in images:
        half = 0
        await bench.load_act(image, half, 0)
        for i, layer in enumerate(layers):
            plan = layer["plan"]
            await bench.configure(quant=1, quant_base=layer["q_row"])
            pruning = layer["blox"] is not None
            run = await bench.run_layer(plan, ifm=(half, 0), ofm=(1 - half, 0),
                                        weights=layer["place"], int8_out=True, relu=True,
                                        blox=layer["blox"], skip=layer["skip"])
            assert not run.error, f"the accelerator refused layer {i}"
            half = 1 - half
            y = await bench.read_output(plan, half, 0, True, blox=pruning)
            outputs[f"y{i}"].append(y)
            outputs[f"cycles{i}"].append(run.cycles)
            if pruning:
                outputs[f"cached{i}"].append(run.cached)
                outputs[f"refused{i}"].append(run.refused)
            if layer["skip"]:
                outputs[f"skips{i}"].append(run.skips)

            if layer["pool"] and i + 1 < len(layers):
                await bench.load_act(quant.max_pool2(y), 1 - half, 0)
                half = 1 - half
    np.savez(run_dir / "outputs.npz", **{k: np.array(v) for k, v in outputs.items()})
