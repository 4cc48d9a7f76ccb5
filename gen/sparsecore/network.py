"""The digits CNN on a SparseCore config: every convolution with its requantization, ReLU and 2×2
max-pool on chip (*SparseCore*, Section 3: the streaming processor).

Each layer runs as ``sparseforge run`` runs one: its per-channel INT32 bias, multiplier and shift
go to the post-processor's requantization memory, ReLU always, the 2×2 max-pool where the network
pools, and the decoded INT8 output is the next layer's input (the host only decodes it and loads
it again; the classifier runs on the host).

A layer whose weights break the design's k/m (conv1, which every pruning scheme leaves dense, or
a whole network pruned less than the design) is **spread**: its K output channels are laid out
``k`` to every group of ``m``, the other ``m − k`` channels of the group zero (weights, bias and
output), so it meets k/m at ``m/k`` times the channels and the cycles that cost; the host drops
the zero channels. A network pruned to the design's k/m (``--prune km:k/m``) runs conv2–conv4 as
they are.
"""

import numpy as np

from ...sim.sparsecore import cycles as sc_cycles
from ...sim.sparsecore import format as kmf
from .. import run_network
from ..errors import InputError
from . import run as run_sc

__all__ = ["sparsecore_target", "spread"]


def spread(w, bias, mult, shift, k, m):
    """``(w, bias, mult, shift, real)`` of a layer laid out ``k`` channels to every group of
    ``m``: ``K/k · m`` output channels, channel ``j`` at ``real[j] = (j // k) · m + j % k``, the
    others zero (bias 0, multiplier 0, shift 0: their output is 0)."""
    n = w.shape[0]
    real = (np.arange(n) // k) * m + np.arange(n) % k
    wide = np.zeros((n // k * m,) + w.shape[1:], np.int64)
    wide[real] = w
    out = []
    for param in (bias, mult, shift):
        full = np.zeros(n // k * m, np.int64)
        full[real] = np.broadcast_to(np.asarray(param, np.int64), (n,))
        out.append(full)
    return (wide, *out, real)


def sparsecore_target(cfg):
    """The :class:`~.run_network.Target` of SparseCore config ``cfg``."""

    def plan(qnet):
        infos, h = [], 8
        for layer in qnet.layers:
            k, c, r, s = layer.w.shape
            try:
                kmf.check_km(layer.w, cfg.k, cfg.m)
                w, bias, mult, shift = layer.w, layer.bias, layer.mult, layer.shift
                real, factor = np.arange(k), 1
            except ValueError:
                if k % cfg.k:
                    raise InputError(f"--model: layer {layer.name} breaks {cfg.k}/{cfg.m} and "
                                     f"its {k} channels cannot be spread {cfg.k} to a group"
                                     ) from None
                w, bias, mult, shift, real = spread(layer.w, layer.bias, layer.mult,
                                                    layer.shift, cfg.k, cfg.m)
                factor = cfg.m // cfg.k
            shape = sc_cycles.LayerShape(h, h, c, w.shape[0], r, s, 1, layer.pad,
                                         bool(layer.pool))
            try:
                run_sc.check_layer(cfg, shape, "--model")
            except InputError as e:
                raise InputError(f"--model: layer {layer.name} does not fit {cfg.name}: "
                                 f"{str(e).split(': ', 1)[1]}") from None
            infos.append({"name": layer.name, "input": [c, h, h], "k": k, "kernel": [r, s],
                          "macs": h * h * k * c * r * s, "spread": factor,
                          "channels_run": int(w.shape[0]),
                          "pool": "on chip" if layer.pool else False,
                          "_shape": shape, "_w": w, "_bias": bias, "_mult": mult,
                          "_shift": shift, "_real": real})
            h = h // 2 if layer.pool else h
        return infos

    def model_cycles(infos, inputs):
        return [[sc_cycles.layer_cycles(cfg, info["_shape"], act, info["_w"],
                                        dense=False).cycles for act in acts]
                for info, acts in zip(infos, inputs)]

    def run_rtl(qnet, infos, inputs, simulator, progress):
        from ...tb import runner

        arrays = {"images": inputs[0]}
        for i, info in enumerate(infos):
            shape = info["_shape"]
            arrays.update({f"w{i}": info["_w"], f"bias{i}": info["_bias"],
                           f"mult{i}": info["_mult"], f"shift{i}": info["_shift"],
                           f"real{i}": info["_real"],
                           f"layer{i}": np.array([shape.stride, shape.pad, 1, int(shape.pool)])})
        out = runner.run_job(cfg, simulator, "sparseforge.tb.sparsecore.network", arrays,
                             progress=progress,
                             message=f"simulating {len(inputs[0])} images through "
                                     f"{len(infos)} layers on {simulator}")
        return ([out[f"y{i}"] for i in range(len(infos))],
                [out[f"cycles{i}"] for i in range(len(infos))])

    return run_network.Target(
        "sparsecore", cfg.acc_width, plan, model_cycles, run_rtl, schemes=("dense", "km"),
        pooled=True,
        notes={"host_steps": "decoding each layer's compressed output and loading it as the "
                             "next input, the classifier; layers breaking the design's k/m "
                             "run spread k channels to a group of m"})
