"""Test layers for the SCNN accelerator, shared by the cocotb regression and the Amaranth-simulator
tests: the same shapes, densities and operands run on the generated Verilog and in Python."""

import numpy as np

from ...gen.scnn.run import ram_problem
from ...sim.gemm import int_range
from ...sim.scnn.streams import layer_streams

__all__ = ["kernel_sides", "random_layer", "fitting_layer", "sparse", "DENSITIES"]

#: (weight density, activation density) pairs from dense to very sparse.
DENSITIES = [(1.0, 1.0), (0.6, 0.8), (0.4, 0.4), (0.2, 0.3), (0.1, 0.1)]


def kernel_sides(cfg):
    """Odd kernel sides the design supports, 1 … kernel_max."""
    return list(range(1, cfg.kernel_max + 1, 2))


def sparse(rng, shape, lo, hi, density):
    """Integers from ``lo`` to ``hi`` with about ``density`` of them non-zero (zeros elsewhere).

    Non-zero positions are drawn with exactly ``round(density · size)`` of them set, so that the
    densities tested are the densities asked for; values are drawn again until non-zero.
    """
    size = int(np.prod(shape))
    values = rng.integers(lo, hi + 1, size)
    while (values == 0).any():
        values[values == 0] = rng.integers(lo, hi + 1, int((values == 0).sum()))
    keep = np.zeros(size, dtype=bool)
    keep[rng.permutation(size)[:round(density * size)]] = True
    return np.where(keep, values, 0).reshape(shape)


def random_layer(cfg, rng, h, w, c, k, r, s, weight_density=0.5, act_density=0.5):
    """Seeded full-range operands of a layer: ``(act C×H×W, weights K×C×R×S)``."""
    alo, ahi = int_range(cfg.act_width)
    wlo, whi = int_range(cfg.weight_width)
    act = sparse(rng, (c, h, w), alo, ahi, act_density)
    weights = sparse(rng, (k, c, r, s), wlo, whi, weight_density)
    return act, weights


def fitting_layer(cfg, rng, *args, tries=200):
    """:func:`random_layer` drawn again until the layer fits every PE's RAMs, its compressed
    outputs in the OARAM included (which depends on the values: the golden output is what is
    counted). A layer that does not fit makes the accelerator raise its error flag instead."""
    for _ in range(tries):
        act, weights = random_layer(cfg, rng, *args)
        if ram_problem(cfg, layer_streams(cfg, act, weights))[1] is None:
            return act, weights
    raise ValueError(f"no layer {args} fits {cfg.name}'s RAMs in {tries} draws")
