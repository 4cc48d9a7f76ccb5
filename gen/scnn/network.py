"""The digits CNN on an SCNN config: the layers with their bias as an input channel.

SCNN computes ``relu(Σ act · w)`` and has no bias or requantizer, so each layer runs with one more
input channel whose activations are all 1 and whose centre-tap weight is the channel's INT32 bias
(it must fit the weight width); its decoded output is then ``relu(acc + bias)``, which the host
requantizes (multiplier and shift, bias 0, ReLU: equal to the rule on ``acc + bias``), pools and
loads as the next input (see :mod:`sparseforge.tb.scnn.network`).
"""

import numpy as np

from ...sim.gemm import int_range, wrap
from ...sim.scnn import blox as scnn_blox
from ...sim.sparseblox import PruneResult

from ...sim.scnn import cycles as scnn_cycles
from ...sim.scnn import streams as scnn_streams
from .. import run_network
from ..errors import InputError
from . import run as run_scnn

__all__ = ["scnn_target", "augmented_weights"]


def augmented_weights(layer):
    """K×(C+1)×R×S: the layer's weights and its bias at the centre tap of channel C."""
    k, c, r, s = layer.w.shape
    w = np.zeros((k, c + 1, r, s), np.int64)
    w[:, :c] = layer.w
    w[:, c, r // 2, s // 2] = layer.bias
    return w


def _ones(act):
    return np.concatenate([act, np.ones((1,) + act.shape[1:], np.int64)])


def scnn_target(cfg):
    """The :class:`~.run_network.Target` of SCNN config ``cfg``."""
    from ...sim.workloads import ConvLayer

    def plan(qnet):
        infos, h = [], 8
        lo, hi = int_range(cfg.weight_width)
        for layer in qnet.layers:
            k, c, r, s = layer.w.shape
            if not (lo <= layer.bias.min() and layer.bias.max() <= hi):
                raise InputError(f"--model: layer {layer.name}'s biases do not fit "
                                 f"{cfg.weight_width}-bit weights of {cfg.name}")
            conv = ConvLayer(layer.name, h, h, c + 1, k, r, s, 1, layer.pad)
            try:
                run_scnn.check_layer(cfg, conv, "--model")
            except InputError as e:
                raise InputError(f"--model: layer {layer.name} does not fit {cfg.name}: "
                                 f"{str(e).split(': ', 1)[1]}") from None
            infos.append({"name": layer.name, "input": [c, h, h], "k": k, "kernel": [r, s],
                          "bias_channel": True, "macs": h * h * k * c * r * s,
                          "pool": "host" if layer.pool else False,
                          "_w": augmented_weights(layer),
                          "_bias": np.asarray(layer.bias, np.int64)})
            h = h // 2 if layer.pool else h
        return infos

    def model_cycles(infos, inputs):
        cycles = []
        for info, acts in zip(infos, inputs):
            per_image = []
            for act in acts:
                streams = scnn_streams.layer_streams(cfg, _ones(act), info["_w"],
                                                     info.get("threshold_raw") or 0)
                try:
                    run_scnn.check_rams(cfg, streams)
                except InputError as e:
                    raise InputError(f"--model: layer {info['name']} does not fit "
                                     f"{cfg.name}: {str(e).split(': ', 1)[1]}") from None
                per_image.append(scnn_cycles.layer_cycles(cfg, streams).cycles)
            cycles.append(per_image)
        return cycles

    def reference(qnet, infos, inputs):
        # What the PPUs compress: with a threshold, the cached blocks zeroed.
        return [np.stack([scnn_streams.golden(cfg, _ones(act), info["_w"],
                                              info.get("threshold_raw") or 0) for act in acts])
                for info, acts in zip(infos, inputs)]


    def prune(info, y, raw, acc):
        """The PPU's pruning of the decoded output ``relu(acc + bias)`` (accumulator-wide, 4×4
        blocks of each PE's tile, Q24.8 thresholds): the INT8 map the host requantizes from it
        is zero where a block was cached."""
        out = np.maximum(wrap(acc + info["_bias"][:, None, None], cfg.acc_width), 0)
        result = scnn_blox.prune_tiles(cfg, out, raw)
        return PruneResult(np.where(result.data == out, y, 0), result.cached, result.counts)

    def run_rtl(qnet, infos, inputs, simulator, progress):
        from ...tb import runner

        arrays = {"images": inputs[0]}
        for i, (layer, info) in enumerate(zip(qnet.layers, infos)):
            arrays.update({f"w{i}": info["_w"], f"mult{i}": layer.mult,
                           f"shift{i}": layer.shift, f"pool{i}": np.int64(layer.pool),
                           f"blox{i}": np.int64(info.get("threshold_raw") or 0)})
        out = runner.run_job(cfg, simulator, "sparseforge.tb.scnn.network", arrays,
                             progress=progress,
                             message=f"simulating {len(inputs[0])} images through "
                                     f"{len(infos)} layers on {simulator}")
        counters = [{"cached": out[f"cached{i}"], "refused": out[f"refused{i}"]}
                    if info.get("threshold_raw") is not None and f"cached{i}" in out else None
                    for i, info in enumerate(infos)]
        return ([out[f"y{i}"] for i in range(len(infos))],
                [out[f"cycles{i}"] for i in range(len(infos))], counters)

    blox = cfg.sparseblox is not None
    return run_network.Target(
        "scnn", cfg.acc_width, plan, model_cycles, run_rtl, reference=reference,
        notes={"host_steps": "requantization (multiplier, shift), 2x2 max-pool after conv2 and "
                             "conv3, the classifier; biases enter as an input channel of ones"
                             + ("; with --thresholds, each layer's PPU prunes 4x4 blocks of "
                                "relu(acc + bias) before compression (Q24.8 thresholds on "
                                "the accumulator scale), so the host requantizes zeros there"
                                if blox else "")},
        prune=prune if blox else None,
        blox_format=cfg.sparseblox.fmt.name if blox else None)
