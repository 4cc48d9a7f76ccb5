"""``sparseforge run CONFIG --conv ... --threshold T`` on an SCNN config with Sparse-Blox
(Hotfilter et al., III-B): the threshold's check, the next layer that reads the pruned map, and
the report's Sparse-Blox fields.

On SCNN a pruned block's savings are realised by the *next* layer: its values are zeros in the
compressed map the PPUs write, so the map is smaller and the next layer multiplies fewer
non-zeros. The next layer used to measure that reads this layer's output map, saturated to the
activation width (as a host would requantize it; ReLU outputs stay non-negative and a zero stays
zero), has ``K`` output channels and this layer's ``R × S`` kernel, and seeded weights at the run's
weight density (seed + 1). Both layers are counted on the cycle model (which predicts the RTL
exactly, :mod:`sparseforge.sim.scnn.cycles`), once on the design with Sparse-Blox (this layer at
``T``, the next at 0: its PPU's block pass still runs) and once on the same design without it.
"""

from dataclasses import replace

import numpy as np

from ...sim.gemm import int_range
from ...sim.scnn import cycles as scnn_cycles
from ...sim.scnn import streams as scnn_streams
from ...sim.scnn.blox import BLOCK, prune_tiles
from ...sim.scnn.golden import layer_output
from ..sparseblox_section import threshold_raw as section_threshold_raw
from .run import sparse_operand

__all__ = ["threshold_raw", "next_layer", "blox_report"]


def threshold_raw(cfg, args):
    """The raw threshold of ``--threshold`` (:func:`..sparseblox_section.threshold_raw`)."""
    return section_threshold_raw(cfg, args, "scnn_2x2_small_blox")


def next_layer(cfg, out, weights, *, weight_density, seed):
    """``(act, weights)`` of the layer that reads ``out`` (K×H×W; see the module docstring)."""
    k, _, r, s = weights.shape
    _, hi = int_range(cfg.act_width)
    act = np.minimum(np.asarray(out, dtype=np.int64), hi)
    rng = np.random.default_rng(seed + 1)
    return act, sparse_operand(rng, (k, k, r, s), cfg.weight_width, weight_density)


def _cycles(cfg, act, weights, threshold=0):
    streams = scnn_streams.layer_streams(cfg, act, weights, threshold)
    return scnn_cycles.layer_cycles(cfg, streams)


def blox_report(cfg, act, weights, raw, *, weight_density, seed):
    """``(fields, next operands)``: the report's Sparse-Blox fields for this layer at raw
    threshold ``raw`` (model figures; the caller adds the RTL's counters), and the next layer's
    operands on the pruned and unpruned maps ``{"pruned": (act, w), "unpruned": (act, w)}``."""
    fmt = cfg.sparseblox.fmt
    plain = replace(cfg, sparseblox=None)
    out = layer_output(act, weights, cfg.acc_width)
    pruned = prune_tiles(cfg, out, raw)
    counts = pruned.counts
    nxt = {"unpruned": next_layer(cfg, out, weights, weight_density=weight_density, seed=seed),
           "pruned": next_layer(cfg, pruned.data, weights, weight_density=weight_density,
                                seed=seed)}
    this_with = _cycles(cfg, act, weights, raw)
    this_without = _cycles(plain, act, weights)
    next_with = _cycles(cfg, *nxt["pruned"])
    next_without = _cycles(plain, *nxt["unpruned"])
    next_plain_pruned = _cycles(plain, *nxt["pruned"])
    skipped = next_without.products - next_with.products
    without = this_without.cycles + next_without.cycles
    with_blox = this_with.cycles + next_with.cycles
    fields = {
        "threshold": fmt.to_value(raw),
        "threshold_raw": raw,
        "threshold_format": fmt.name,
        "block": [BLOCK, BLOCK],
        "blocks_total": counts.blocks_total,
        "blocks_zero_before": counts.blocks_zero_before,
        "blocks_pruned": counts.blocks_pruned,
        "blocks_cached": counts.blocks_cached,
        "blocks_refused": counts.blocks_refused,
        "act_words_total": counts.words_total,
        "act_words_not_written": counts.words_not_written,
        "act_words_not_read": counts.words_not_read,
        "act_words_saved": counts.act_words_saved,
        "macs_skipped": skipped,
        "next_layer": {"c": int(weights.shape[0]), "k": int(weights.shape[0]),
                       "r": int(weights.shape[2]), "s": int(weights.shape[3]),
                       "products_unpruned": next_without.products,
                       "products_pruned": next_with.products,
                       "cycles_unpruned_without_blox": next_without.cycles,
                       "cycles_pruned_with_blox": next_with.cycles,
                       "cycles_pruned_without_blox": next_plain_pruned.cycles},
        "model_cycles_without_blox": this_without.cycles,
        "cycles_saved": without - with_blox,
    }
    return fields, nxt
