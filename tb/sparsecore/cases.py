"""Layers the SparseCore regression and run commands use: random k/m-pruned weights and
activations of a given density, with requantization that keeps most outputs inside INT8."""

import numpy as np

from ...sim.sparsecore import format as kmf

__all__ = ["random_layer"]


def random_layer(cfg, shape, density, seed, *, extreme=False):
    """``(act, weights, bias, mult, shift)`` for ``shape`` on ``cfg`` (weights pruned to k/m).

    ``extreme``: every activation −128 and every kept weight −128 (the largest products)."""
    r = np.random.default_rng(seed)
    act = r.integers(-128, 128, (shape.c, shape.h, shape.w))
    act *= r.random(act.shape) < density
    w = kmf.prune(r.integers(-128, 128, (shape.k, shape.c, shape.r, shape.s)), cfg.k, cfg.m)
    if extreme:
        act = np.full_like(act, -128)
        w = np.where(w != 0, -128, 0)
    bias = r.integers(-3000, 3000, shape.k)
    mult = r.integers(1, 1 << 12, shape.k)
    shift = r.integers(19, 25, shape.k)
    return act, w, bias, mult, shift
