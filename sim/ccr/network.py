"""The CCR cycle models over a network's convolution layers at given densities (CCR paper, Sec. V,
Fig. 8 and 9).

Each layer (:mod:`sparseforge.sim.workloads`) gets seeded random operands whose weights and
activations are non-zero at the given densities, exactly ``round(density · size)`` of each
(values do not change cycles; the operands are 0/1 masks), and its window is the framework
convolution's (``pad`` zeros on each side, ``stride``). A grouped layer runs its groups one
after the other. Every variant's cycle model (:func:`.cycles.layer_cycles`) runs on the same
operands, so variants compare on identical sparsity patterns.

Each layer is modelled as one pass over its whole maps, as if the buffers held it (``fits``
says whether they do for a given design). Tiling a layer that does not fit adds, per tile, the
clear and drain cycles and, for spatial tiles, the halo inputs; these are not modelled.

SparseKI's pair loads cost about one NumPy operation per product; on layers with more than
``budget`` products they are computed exactly on a seeded sample of input channels and the
other channels are estimated as the sample's mean (``LayerCycles.sampled``).
"""

from dataclasses import dataclass, field

import numpy as np

from ..workloads import network
from . import format as fmt
from .actions import pass_actions
from .cycles import LayerCycles, layer_cycles
from .layer import passes, window

__all__ = ["BUDGET", "LayerModel", "sparse", "masks", "layer_model", "network_model"]

#: SparseKI products per layer computed exactly before channels are sampled.
BUDGET = 4_000_000


@dataclass
class LayerModel:
    """One layer under several variants: ``cycles[variant]`` is a :class:`LayerCycles` (the
    groups' passes together), ``usage`` the words of the largest pass per buffer and, when asked
    for, ``actions[variant]`` the energy model's action counts
    (:func:`.actions.pass_actions`) summed over the groups' passes at the model's cycles."""

    name: str
    macs: int
    groups: int
    cycles: dict = field(default_factory=dict)
    usage: dict = field(default_factory=dict)
    actions: dict = field(default_factory=dict)


def sparse(rng, shape, lo, hi, density):
    """Seeded integers from ``lo`` to ``hi``, exactly ``round(density · size)`` of them non-zero
    (the operands of ``sparseforge run`` and of the tests)."""
    size = int(np.prod(shape))
    values = rng.integers(lo, hi + 1, size)
    while (values == 0).any():
        values[values == 0] = rng.integers(lo, hi + 1, int((values == 0).sum()))
    keep = np.zeros(size, dtype=bool)
    keep[rng.permutation(size)[:round(density * size)]] = True
    return np.where(keep, values, 0).reshape(shape)


def masks(rng, shape, density):
    """A 0/1 int64 array with exactly ``round(density · size)`` ones at seeded positions."""
    size = int(np.prod(shape))
    out = np.zeros(size, dtype=np.int64)
    out[rng.permutation(size)[:round(density * size)]] = 1
    return out.reshape(shape)


def _combine(parts, multipliers):
    out = LayerCycles(multipliers=multipliers)
    for part in parts:
        out.passes += part.passes
        out.macs_dense += part.macs_dense
        out.macs_required += part.macs_required
    return out


def _sample(rng, x, w, budget):
    """Input channels whose SparseKI loads are computed exactly (None: all of them)."""
    c = x.shape[0]
    products = int((np.count_nonzero(w.reshape(w.shape[0], c, -1), axis=(0, 2)) *
                    np.count_nonzero(x.reshape(c, -1), axis=1)).sum())
    if products <= budget:
        return None
    n = max(1, -(-c * budget // products))
    return sorted(rng.choice(c, size=min(c, n), replace=False).tolist())


def _add(total, counts):
    for action, n in counts.items():
        total[action] = total.get(action, 0) + n


def layer_model(variants, px, py, layer, weight_density, act_density, rng, *, budget=BUDGET,
                actions=False):
    """The :class:`LayerModel` of a :class:`~sparseforge.sim.workloads.ConvLayer` (with
    ``actions``, its action counts too: every pass of every group, SparseKI's on the cycle
    model's sample)."""
    cpg, kpg = layer.c // layer.groups, layer.k // layer.groups
    win = window(layer.h, layer.w, layer.r, layer.s, pad=layer.pad, stride=layer.stride)
    parts = {v: [] for v in variants}
    counts = {v: {} for v in variants} if actions else {}
    usage = {}
    for _ in range(layer.groups):
        x = masks(rng, (cpg, layer.h, layer.w), act_density)
        w = masks(rng, (kpg, cpg, layer.r, layer.s), weight_density)
        sample = _sample(rng, x, w, budget) if "sparse_ki" in variants else None
        for v in variants:
            parts[v].append(layer_cycles(v, px, py, x, w, win, sample=sample))
        for n, p in enumerate(passes(x, w, win)):
            for v in counts:
                _add(counts[v], pass_actions(v, px, py, p.x, p.w, p.x0, p.y0, win.ho, win.wo,
                                             accumulate=n > 0, sample=sample))
            for v in variants:
                need = fmt.usage(v, px, py, p.x, p.w, win.ho, win.wo)
                got = usage.setdefault(v, {})
                for key, n in need.items():
                    got[key] = max(got.get(key, 0), n)
    return LayerModel(layer.name, layer.macs, layer.groups,
                      {v: _combine(parts[v], px * py) for v in variants}, usage, counts)


def network_model(variants, px, py, net, weight_density, act_density, *, seed=1,
                  budget=BUDGET, layers=None, per_layer=None, actions=False):
    """:class:`LayerModel` of every convolution layer of ``net`` (or of the named ``layers``),
    operands seeded from ``seed``, at ``weight_density`` and ``act_density`` except the layers
    ``per_layer`` maps to their own ``(weight_density, act_density)`` (for example
    :func:`sparseforge.sim.densities.layer_densities`); ``actions``: with their action counts
    (:class:`LayerModel`)."""
    rng = np.random.default_rng(seed)
    per_layer = per_layer or {}
    out = []
    for layer in network(net):
        if layers is None or layer.name in layers:
            wd, ad = per_layer.get(layer.name, (weight_density, act_density))
            out.append(layer_model(variants, px, py, layer, wd, ad, rng, budget=budget,
                                   actions=actions))
    return out
