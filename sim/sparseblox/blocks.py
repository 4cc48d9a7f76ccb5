"""Blockwise activation pruning: the one definition of Sparse-Blox (Hotfilter et al., III, Fig. 2).

An activation tensor is cut into blocks of a fixed shape from its origin; blocks at the far edges
are partial and hold ``n_valid`` real elements (the authors pad with NaN and take ``nanmean``, so
padding never counts). A block is *below threshold* when

    ``|sum of its signed values| · 2**frac_bits  <  raw · n_valid``

— the authors' ``|mean| < t`` without a divider, for ``t = raw / 2**frac_bits``
(:class:`~.threshold.ThresholdFormat`). The comparison is strict, so ``t = 0`` prunes nothing and a
block whose ``|mean|`` equals ``t`` stays. The test is on the mean of the *signed* values, not on
the mean of their magnitudes: a block of large values of both signs may be pruned. A pruned block
is all zeros from then on.

A block already all-zero is below every positive threshold; hardware records it like any other
pruned block, but it is counted as *already zero*, not as *created* (the authors count created
blocks as zero blocks after pruning minus zero blocks before; after a ReLU, where all values are
non-negative, their ``mean == 0`` test and our all-zero test agree).
"""

import numpy as np

__all__ = ["block_grid", "block_stats", "below_threshold", "expand_blocks"]


def block_grid(shape, block):
    """The number of blocks along each axis: ``ceil(shape / block)``."""
    if len(shape) != len(block):
        raise ValueError(f"Block shape {tuple(block)} must have one extent per axis of the "
                         f"tensor {tuple(shape)}")
    for b in block:
        if not isinstance(b, (int, np.integer)) or b < 1:
            raise ValueError(f"Block extents must be positive integers, not {tuple(block)!r}")
    return tuple(-(-n // b) for n, b in zip(shape, block))


def _blocked(x, block):
    """``x`` zero-padded to whole blocks and reshaped to ``(g0, b0, g1, b1, ...)``."""
    grid = block_grid(x.shape, block)
    padded = np.zeros(tuple(g * b for g, b in zip(grid, block)), dtype=x.dtype)
    padded[tuple(slice(0, n) for n in x.shape)] = x
    split = []
    for g, b in zip(grid, block):
        split += [g, b]
    return padded.reshape(split), grid


def block_stats(x, block):
    """Per block of ``x``: the exact signed sum, ``n_valid`` and the count of non-zero elements.

    Returns three int64 arrays of the block grid's shape, indexed like the blocks (block ``(i, j)``
    covers ``x[i·b0 : (i+1)·b0, j·b1 : (j+1)·b1]``).
    """
    x = np.asarray(x, dtype=np.int64)
    blocked, grid = _blocked(x, block)
    inner = tuple(range(1, 2 * len(grid), 2))
    sums = blocked.sum(axis=inner)
    nonzero = (blocked != 0).sum(axis=inner)
    valid = np.ones((), dtype=np.int64)
    for axis, (n, b) in enumerate(zip(x.shape, block)):
        extent = np.minimum(b, n - b * np.arange(-(-n // b))).astype(np.int64)
        shape = [1] * len(grid)
        shape[axis] = len(extent)
        valid = valid * extent.reshape(shape)
    return sums, np.broadcast_to(valid, grid).copy(), nonzero


def below_threshold(sums, n_valid, raw, frac_bits):
    """``|sums| · 2**frac_bits < raw · n_valid``, elementwise (the decision, exact in integers)."""
    sums = np.asarray(sums, dtype=np.int64)
    n_valid = np.asarray(n_valid, dtype=np.int64)
    return (np.abs(sums) << np.int64(frac_bits)) < np.int64(raw) * n_valid


def expand_blocks(flags, block, shape):
    """A per-block boolean grid spread to a per-element mask of ``shape``."""
    mask = np.asarray(flags, dtype=bool)
    for axis, b in enumerate(block):
        mask = np.repeat(mask, b, axis=axis)
    return mask[tuple(slice(0, n) for n in shape)]
