"""SparseCore's cycle model over a network's convolution layers (*SparseCore*, Section 4: the
layer's speed-up over dense output-stationary execution, here for every layer of a network).

Each layer (:mod:`sparseforge.sim.workloads`) gets seeded random 0/1 operands: activations with
exactly ``round(density · size)`` non-zeros, weights dense then magnitude-pruned to the given
k/m along K on random magnitudes (values do not change cycles, only which are non-zero). A
grouped layer runs its groups one after the other (their cycles add). The model is
:func:`.cycles.layer_cycles`, exact against the RTL for layers that fit the design; each layer is
modelled as one pass over its whole maps whether or not it fits the design's limits (``fits``
and ``why`` say), as tiling is not modelled.
"""

from dataclasses import dataclass

import numpy as np

from ..workloads import network
from . import format as kmf
from .cycles import LayerShape, layer_cycles

__all__ = ["LayerModel", "layer_operands", "layer_model", "layer_seed", "network_model"]


@dataclass
class LayerModel:
    """One layer's figures, its groups together."""

    name: str
    shape: LayerShape
    groups: int
    macs: int
    useful_macs: int
    cycles: int
    ideal_cycles: int
    dense_cycles: int
    work_units: int
    pe_idle_cycles: int
    alu_cycles: int

    def alu_utilization(self, alus):
        return self.useful_macs / (alus * self.cycles) if self.cycles else 0.0

    def utilization(self, alus):
        return self.alu_cycles / (alus * self.cycles) if self.cycles else 0.0


def _mask(rng, shape, density):
    size = int(np.prod(shape))
    keep = np.zeros(size, dtype=np.int64)
    keep[rng.permutation(size)[:round(density * size)]] = 1
    return keep.reshape(shape)


def layer_operands(conv, act_density, k, m, seed=1):
    """``(shape, [(act, weights) per group])``: the shape of one group of ``conv`` and each
    group's seeded 0/1 operands (module docstring), as :func:`layer_model` draws them.

    Raises
    ------
    ValueError
        If a group's output channels are not a multiple of ``m``.
    """
    cg, kg = conv.c // conv.groups, conv.k // conv.groups
    if kg % m:
        raise ValueError(f"layer {conv.name} has {kg} output channels per group, not a "
                         f"multiple of m = {m}")
    shape = LayerShape(conv.h, conv.w, cg, kg, conv.r, conv.s, conv.stride, conv.pad)
    rng = np.random.default_rng(seed)
    groups = []
    for _ in range(conv.groups):
        act = _mask(rng, (cg, conv.h, conv.w), act_density)
        weights = kmf.prune(rng.integers(1, 1 << 15, (kg, cg, conv.r, conv.s)), k, m)
        groups.append((act, weights))
    return shape, groups


def layer_model(cfg, conv, act_density, k, m, seed=1):
    """:class:`LayerModel` of ``conv`` (a :class:`~sparseforge.sim.workloads.ConvLayer`) on
    ``cfg`` at activation density ``act_density`` and weights pruned to ``k/m``.

    Raises
    ------
    ValueError
        If a group's output channels are not a multiple of ``m``.
    """
    shape, groups = layer_operands(conv, act_density, k, m, seed)
    totals = dict.fromkeys(("useful", "cycles", "ideal", "dense", "units", "idle", "alu"), 0)
    for act, weights in groups:
        res = layer_cycles(cfg, shape, act, weights)
        for key, value in (("useful", res.useful_macs), ("cycles", res.cycles),
                           ("ideal", res.ideal_cycles), ("dense", res.dense_cycles),
                           ("units", res.work_units), ("idle", res.pe_idle_cycles),
                           ("alu", res.alu_cycles)):
            totals[key] += value
    return LayerModel(conv.name, shape, conv.groups, conv.macs, totals["useful"],
                      totals["cycles"], totals["ideal"], totals["dense"], totals["units"],
                      totals["idle"], totals["alu"])


def layer_seed(seed, index):
    """The seed of a network's layer ``index`` (so a layer's figures do not depend on the
    others)."""
    return (seed, index)


def network_model(cfg, net, act_density, k, m, seed=1):
    """:class:`LayerModel` of every convolution layer of ``net``, each layer seeded by
    :func:`layer_seed` from ``seed`` and its index."""
    return [layer_model(cfg, conv, act_density, k, m, seed=layer_seed(seed, i))
            for i, conv in enumerate(network(net))]
