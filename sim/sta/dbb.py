"""Density-bound-block (DBB) sparsity: prune, check, encode and decode (STA paper, Fig. 2, Sec. II).

Blocks are ``block`` consecutive elements along one axis (the reduction dimension: K of a K×N GEMM
weight, C of a K×C×R×S convolution weight); a last partial block is allowed. A block meets the
bound when it has at most ``nnz`` non-zeros. Encoded, a block is its non-zero values in ascending
position, zero-padded to ``nnz`` slots, plus a ``block``-bit mask (bit i set: element i non-zero).
"""

import numpy as np

__all__ = ["prune", "violations", "encode", "decode", "block_count"]


def block_count(length, block):
    """Blocks along an axis of ``length`` elements (the last one may be partial)."""
    return -(-length // block)


def _blocked(w, block, axis):
    """View ``w`` as ``(..., nblocks, block)`` along ``axis``, zero-padded; also its length."""
    w = np.moveaxis(np.asarray(w), axis, -1)
    length = w.shape[-1]
    pad = block_count(length, block) * block - length
    padded = np.concatenate([w, np.zeros(w.shape[:-1] + (pad,), dtype=w.dtype)], axis=-1)
    return padded.reshape(w.shape[:-1] + (-1, block)), length


def _unblocked(blocks, length, axis):
    flat = blocks.reshape(blocks.shape[:-2] + (-1,))[..., :length]
    return np.moveaxis(flat, -1, axis)


def prune(w, nnz, block, axis=0):
    """Magnitude pruning: keep the ``nnz`` largest ``|w|`` of each block, ties to the lower index.

    Returns a new array of the same shape and dtype.
    """
    if not 1 <= nnz <= block:
        raise ValueError(f"nnz must be from 1 to {block}, not {nnz!r}")
    blocks, length = _blocked(w, block, axis)
    magnitude = np.abs(blocks.astype(np.int64))
    # Stable sort on -|w| keeps the lower index first among equal magnitudes.
    order = np.argsort(-magnitude, axis=-1, kind="stable")
    keep = np.zeros(blocks.shape, dtype=bool)
    np.put_along_axis(keep, order[..., :nnz], True, axis=-1)
    return _unblocked(np.where(keep, blocks, 0), length, axis).astype(np.asarray(w).dtype)


def violations(w, nnz, block, axis=0):
    """Number of blocks with more than ``nnz`` non-zeros (0 when ``w`` meets the bound)."""
    blocks, _ = _blocked(w, block, axis)
    return int(np.count_nonzero(np.count_nonzero(blocks, axis=-1) > nnz))


def encode(w, nnz, block, axis=0):
    """Encode ``w`` blockwise along ``axis``.

    Returns
    -------
    values : ndarray, shape ``(..., nblocks, nnz)``
        Non-zeros of each block in ascending position, zero-padded; the other axes of ``w`` keep
        their order in front (``axis`` removed).
    masks : ndarray of int64, shape ``(..., nblocks)``

    Raises
    ------
    ValueError
        If a block has more than ``nnz`` non-zeros.
    """
    bad = violations(w, nnz, block, axis)
    if bad:
        raise ValueError(f"{bad} block(s) have more than {nnz} non-zeros")
    blocks, _ = _blocked(w, block, axis)
    nonzero = blocks != 0
    masks = (nonzero.astype(np.int64) << np.arange(block, dtype=np.int64)).sum(axis=-1)
    # Stable sort moves non-zeros to the front in ascending position.
    order = np.argsort(~nonzero, axis=-1, kind="stable")
    packed = np.take_along_axis(np.where(nonzero, blocks, 0), order, axis=-1)
    values = packed[..., :nnz]
    if nnz > block:
        values = np.concatenate(
            [values, np.zeros(values.shape[:-1] + (nnz - block,), dtype=values.dtype)], axis=-1)
    return values, masks


def decode(values, masks, block, length, axis=0):
    """Inverse of :func:`encode`: rebuild the dense array with ``length`` elements along ``axis``.

    Value slot ``s`` of a block lands at the position of the mask's ``s``-th set bit; slots past
    the mask's set bits are dropped.
    """
    values = np.asarray(values)
    masks = np.asarray(masks, dtype=np.int64)
    bits = (masks[..., None] >> np.arange(block, dtype=np.int64)) & 1      # (..., nblocks, block)
    slot = np.cumsum(bits, axis=-1) - 1                                     # slot of each element
    nslots = values.shape[-1]
    take = np.clip(slot, 0, max(nslots - 1, 0))
    gathered = np.take_along_axis(values, take, axis=-1) if nslots else np.zeros_like(bits)
    dense = np.where((bits == 1) & (slot < nslots), gathered, 0).astype(values.dtype)
    return _unblocked(dense, length, axis)
