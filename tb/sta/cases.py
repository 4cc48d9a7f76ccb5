"""Test sequences for the STA engine, shared by the cocotb regression and the Amaranth-simulator
tests: the same shapes, densities and operands are run on the generated Verilog and in Python."""


from ...sim.gemm import int_range
from ...sim.sta import dbb

__all__ = ["nnz_choices", "shapes", "random_operands", "wrap_k", "WRAP_STEPS"]

#: Steps per output tile the regression may spend to make the accumulators wrap. Every design
#: whose accumulator wraps within it must be seen to wrap; wider ones (a 32-bit accumulator needs
#: 131,073 products of INT8 minima) check their extreme values without wrap-around.
WRAP_STEPS = 1024


def nnz_choices(cfg):
    """Densities worth testing: every edge of the supported range."""
    if cfg.kind == "vdbb":
        return sorted({1, 2, max(1, cfg.block // 2), cfg.block - 1, cfg.block} - {0})
    if cfg.kind == "dbb":
        # Up to the bound in one step, and denser blocks in ⌈nnz/b⌉ steps (the dense fallback).
        return sorted({1, cfg.dbb_macs, min(cfg.dbb_macs + 1, cfg.block), cfg.block})
    return [cfg.block]


def shapes(cfg):
    """GEMM shapes (M, K, N): odd sizes, one element, one exact tile, partial tiles and blocks."""
    rows, cols, bz = cfg.tile_rows, cfg.tile_cols, cfg.block
    return [
        (7, 24, 9),                              # odd everything
        (1, 1, 1),                               # a single output, K = 1
        (rows, bz, cols),                        # exactly one tile, one block
        (2 * rows + 1, 3 * bz + 1, cols + 1),    # partial tiles, K not a multiple of B
        (5, 2 * bz - 1, 3),
    ]


def random_operands(cfg, rng, m, k, n, nnz, act_density=0.6):
    """Seeded operands at full range: activations with zeros, weights pruned to the NNZ bound."""
    alo, ahi = int_range(cfg.act_width)
    wlo, whi = int_range(cfg.weight_width)
    act = rng.integers(alo, ahi + 1, (m, k))
    act[rng.random((m, k)) >= act_density] = 0
    weights = rng.integers(wlo, whi + 1, (k, n))
    if nnz < cfg.block:
        weights = dbb.prune(weights, nnz, cfg.block, axis=0)
    return act, weights


def wrap_k(cfg):
    """The shortest K (whole blocks) whose sums of minimum × minimum products wrap ``cfg``'s
    accumulator, with weights at the design's full density bound; None when that takes more
    than :data:`WRAP_STEPS` steps per tile.

    Each product is ``lo_act · lo_weight`` = P > 0 and a block holds ``max_nnz`` of them, so
    ``⌊2^(acc−1) / P⌋ + 1`` products (more than the largest accumulator value) wrap.
    """
    product = int_range(cfg.act_width)[0] * int_range(cfg.weight_width)[0]
    terms = (1 << (cfg.acc_width - 1)) // product + 1
    blocks = -(-terms // cfg.max_nnz)
    if blocks * cfg.steps_per_block(cfg.max_nnz) > WRAP_STEPS:
        return None
    return blocks * cfg.block
