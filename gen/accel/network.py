"""The digits CNN on the VDBB accelerator: layer plans, cycle model and the RTL run.

Each convolution runs as one accelerator layer at the NNZ its weights need (the most non-zeros in
any block of B input channels; 1 for the one-channel first layer), requantized on chip with its
per-channel bias, multiplier and shift and ReLU (``quant = 1``); layers chain in the activation
SRAM, and the 2×2 max-pools are host steps (see :mod:`sparseforge.tb.accel.network`).

On a design with Sparse-Blox, ``--thresholds FILE`` makes a layer prune its output map
(:func:`sparseforge.sim.accel.blox.prune_output`: the output stage's blocks, the design's cache).
The next layer reads a pruned map on chip (its pruned words are not written; their pruned-word
flags make the reader take them as zeros without an SRAM read); a pooled one is read back through
the cache (pruned blocks as zeros), pooled and loaded by the host, as any pooled map.
"""

import numpy as np

from ...sim.accel import blox as accel_blox
from ...sim.accel import cycles as accel_cycles
from ...sim.accel import plan as accel_plan
from ...sim.sta import dbb
from ..errors import InputError
from ..run_network import Target

__all__ = ["accel_target"]


def _input_sizes(qnet, h=8):
    sizes = []
    for layer in qnet.layers:
        sizes.append(h)
        h = h // 2 if layer.pool else h
    return sizes


def _skips(infos, i):
    """Layer ``i`` runs with ``blox_skip``: it reads the previous layer's pruned map on chip (that
    layer prunes and does not pool) and its engine may drop blocks
    (:func:`~sparseforge.sim.accel.blox.skip_allowed`)."""
    if i == 0:
        return False
    prev = infos[i - 1]
    return (prev.get("threshold_raw") is not None and not prev["pool"] and
            accel_blox.skip_allowed(infos[i]["_plan"]))


def accel_target(cfg):
    """The :class:`~.run_network.Target` of accelerator config ``cfg``."""
    from ...hdl.accel.quant_table import quant_rows

    def plan(qnet):
        infos, used, rows = [], [0, 0], 0
        for layer, h in zip(qnet.layers, _input_sizes(qnet)):
            k, c, r, s = layer.w.shape
            blocks = dbb.block_count(c, cfg.block)
            nnz = max(1, max(int(np.count_nonzero(layer.w[:, b * cfg.block:(b + 1) * cfg.block]
                                                  .transpose(0, 2, 3, 1), axis=-1).max())
                             for b in range(blocks)))
            try:
                p = accel_plan.plan_layer(cfg, h, h, c, k, r, s, 1, layer.pad, nnz,
                                          int8_out=True)
            except accel_plan.PlanError as e:
                raise InputError(f"--model: layer {layer.name} does not fit {cfg.name}: {e}") \
                    from None
            # Weights stay loaded for every image: each layer in the first SRAM half with room.
            half = next((h for h in (0, 1)
                         if used[h] + p.weight_word_count <= cfg.weight_half_words), None)
            if half is None:
                raise InputError(f"--model: the network's weights need {sum(used)} + "
                                 f"{p.weight_word_count} words ({layer.name}); the two weight "
                                 f"SRAM halves of {cfg.name} hold {cfg.weight_half_words} each")
            place = (half, used[half])
            used[half] += p.weight_word_count
            rows += p.col_tiles
            infos.append({"name": layer.name, "input": [c, h, h], "k": k, "kernel": [r, s],
                          "nnz": nnz, "block": cfg.block, "patch": [p.ph, p.pw],
                          "mapping": p.mapping,
                          "macs": p.macs, "pool": "host" if layer.pool else False,
                          "weights_at": list(place), "_plan": p})
        if not cfg.quant_channels:
            raise InputError(f"--model: {cfg.name} has no requantization table "
                             "(sram.quant_channels: 0); the network needs per-channel "
                             "parameters")
        if rows > quant_rows(cfg):
            raise InputError(f"--model: the network's requantization parameters need {rows} "
                             f"rows; the table of {cfg.name} has {quant_rows(cfg)}")
        return infos

    def model_cycles(infos, inputs):
        n = len(inputs[0])
        cycles = []
        for i, info in enumerate(infos):
            p = info["_plan"]
            prunes = info.get("threshold_raw") is not None
            plain = accel_cycles.layer_cycles(p)
            if not _skips(infos, i):
                cycles.append([accel_blox.blox_layer_cycles(p) if prunes else plain] * n)
                if prunes:
                    info["_blox_extra"] = {"steps_dropped": 0, "macs_skipped": 0,
                                           "cycles_saved": -(cycles[-1][0] - plain) * n}
                continue
            prev = infos[i - 1]["_plan"]
            per_image, dropped = [], 0
            for cached in infos[i - 1]["_cached"]:
                words = accel_blox.pruned_words(prev, cached)
                per_image.append(accel_blox.skip_layer_cycles(p, words, prunes))
                dropped += accel_blox.skip_schedule(p, words)[1]
            cycles.append(per_image)
            info["_blox_extra"] = {"steps_dropped": dropped,
                                   "macs_skipped": accel_blox.macs_skipped(p, dropped),
                                   "cycles_saved": plain * n - sum(per_image)}
        return cycles

    def prune(info, y, raw, acc=None):
        result = accel_blox.prune_output(info["_plan"], y, raw)
        info.setdefault("_cached", []).append(result.cached)
        return result


    def run_rtl(qnet, infos, inputs, simulator, progress):
        from ...tb import runner

        arrays = {"images": inputs[0]}
        for i, (layer, info) in enumerate(zip(qnet.layers, infos)):
            p = info["_plan"]
            arrays.update({
                f"w{i}": layer.w, f"bias{i}": layer.bias, f"mult{i}": layer.mult,
                f"shift{i}": layer.shift, f"pool{i}": np.int64(layer.pool),
                f"place{i}": np.array(info["weights_at"]),
                f"blox{i}": np.int64(-1 if info.get("threshold_raw") is None
                                     else info["threshold_raw"]),
                f"skip{i}": np.int64(_skips(infos, i)),
                f"layer{i}": np.array([p.h, p.w, p.c, p.k, p.r, p.s, p.stride, p.pad, p.nnz,
                                       p.ph, p.pw, int(p.direct), int(p.raster)])})
        out = runner.run_job(cfg, simulator, "sparseforge.tb.accel.network", arrays,
                             progress=progress,
                             message=f"simulating {len(inputs[0])} images through "
                                     f"{len(infos)} layers on {simulator}")
        counters = []
        for i, info in enumerate(infos):
            row = {name: out[f"{key}{i}"] for name, key in (
                ("cached", "cached"), ("refused", "refused"), ("steps_dropped", "skips"))
                if f"{key}{i}" in out}
            counters.append(row or None)


        return ([out[f"y{i}"] for i in range(len(infos))],
                [out[f"cycles{i}"] for i in range(len(infos))], counters)

    blox = cfg.sparseblox is not None
    return Target("accel", cfg.array.acc_width, plan, model_cycles, run_rtl,
                  notes={"host_steps": "2x2 max-pool after conv2 and conv3 (read back, pool, "
                                        "load), the classifier"
                                        + ("; with --thresholds, a pruned map the next layer "
                                           "reads on chip (pruned words as zeros, from their "
                                           "flags), a pooled one read back through the cache"
                                           if blox else "")},
                  prune=prune if blox else None,
                  blox_format=cfg.sparseblox.fmt.name if blox else None)
