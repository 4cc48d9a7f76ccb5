"""Golden GEMM with the hardware's integer semantics: exact products, accumulators that wrap."""

import numpy as np

__all__ = ["wrap", "gemm", "int_range"]


def int_range(bits):
    """``(lowest, highest)`` of a ``bits``-wide two's-complement integer."""
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def wrap(x, bits):
    """Reduce integers to ``bits``-wide two's complement (what a ``bits``-bit register holds)."""
    x = np.asarray(x, dtype=np.int64)
    if bits >= 64:
        return x
    half = np.int64(1 << (bits - 1))
    return ((x + half) & np.int64((1 << bits) - 1)) - half


def gemm(act, weights, acc_bits=32):
    """``act @ weights`` (M×K by K×N), every output wrapped to ``acc_bits`` bits.

    Accumulating with wrap-around after every addition equals wrapping the exact sum once, since
    both are the sum modulo ``2**acc_bits``; the exact sum is formed in int64, which holds any
    product of two 16-bit operands summed over up to 2**31 terms.
    """
    act = np.asarray(act, dtype=np.int64)
    weights = np.asarray(weights, dtype=np.int64)
    if act.ndim != 2 or weights.ndim != 2 or act.shape[1] != weights.shape[0]:
        raise ValueError(f"GEMM needs M×K and K×N matrices, not {act.shape} and {weights.shape}")
    return wrap(act @ weights, acc_bits)
