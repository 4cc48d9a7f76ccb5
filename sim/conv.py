"""Golden convolution with the accelerator's arithmetic: wrapping accumulators, requantization.

Layouts at this interface are the CLI's: activations C×H×W, weights K×C×R×S, outputs K×Ho×Wo
(cross-correlation with zero padding on all four sides, as CNN frameworks define convolution).
"""

import numpy as np

from .gemm import wrap

__all__ = ["conv2d", "requantize", "fitting_shift", "output_size", "im2col_matrix"]


def output_size(h, w, r, s, stride=1, pad=0):
    """``(Ho, Wo)`` of a convolution: ``floor((h + 2·pad − r) / stride) + 1``."""
    return (h + 2 * pad - r) // stride + 1, (w + 2 * pad - s) // stride + 1


def im2col_matrix(x, r, s, stride=1, pad=0):
    """The IM2COL matrix of ``x`` (C×H×W): rows are output pixels (row-major), columns are
    ``(c, i, j)`` kernel taps, ``c`` slowest — so ``im2col_matrix(x) @ w.reshape(K, -1).T``
    is the convolution."""
    x = np.asarray(x, dtype=np.int64)
    c, h, w = x.shape
    ho, wo = output_size(h, w, r, s, stride, pad)
    padded = np.zeros((c, h + 2 * pad, w + 2 * pad), dtype=np.int64)
    padded[:, pad:pad + h, pad:pad + w] = x
    cols = np.empty((ho * wo, c, r, s), dtype=np.int64)
    for i in range(r):
        for j in range(s):
            rows = slice(i, i + stride * (ho - 1) + 1, stride)
            cols_ = slice(j, j + stride * (wo - 1) + 1, stride)
            window = padded[:, rows, cols_]
            cols[:, :, i, j] = window.reshape(c, ho * wo).T
    return cols.reshape(ho * wo, c * r * s)


def conv2d(x, weights, stride=1, pad=0, acc_bits=32):
    """Convolution of ``x`` (C×H×W) with ``weights`` (K×C×R×S): K×Ho×Wo accumulators.

    Each output is the exact sum of its products wrapped to ``acc_bits`` (the hardware adds
    the products in a different order with wrap-around after every addition; modulo arithmetic
    makes both equal).
    """
    x = np.asarray(x, dtype=np.int64)
    weights = np.asarray(weights, dtype=np.int64)
    if x.ndim != 3 or weights.ndim != 4 or weights.shape[1] != x.shape[0]:
        raise ValueError(f"Convolution needs C×H×W activations and K×C×R×S weights, "
                         f"not {x.shape} and {weights.shape}")
    k, _, r, s = weights.shape
    ho, wo = output_size(x.shape[1], x.shape[2], r, s, stride, pad)
    if ho < 1 or wo < 1:
        raise ValueError(f"A {r}×{s} kernel does not fit a {x.shape[1]}×{x.shape[2]} input "
                         f"with padding {pad}")
    out = im2col_matrix(x, r, s, stride, pad) @ weights.reshape(k, -1).T
    return wrap(out.T.reshape(k, ho, wo), acc_bits)


def fitting_shift(acc, bits=8):
    """The smallest shift (0 … 31, more for accumulators that need it) at which
    :func:`requantize` with ReLU keeps the largest value of ``acc`` below saturation
    (``2**(bits−1) − 1``: 127 by default), for runs that need an INT8 output map without a
    trained scale (and for SCNN's chained layers, at its activation width)."""
    top = int(np.max(acc, initial=0))
    limit = (1 << (bits - 1)) - 1
    return next(s for s in range(max(32, top.bit_length() + 1))
                if (top + ((1 << s) >> 1)) >> s <= limit)


def requantize(acc, shift, relu=False, bits=8):
    """The output stage: ``clamp((acc + (1 << (shift−1))) >> shift, −2**(b−1), 2**(b−1) − 1)``.

    The shift is arithmetic (rounding half up, towards +∞); ``shift = 0`` adds no rounding term.
    ``relu`` applies ``max(0, ·)`` before the clamp. ``b`` = ``bits``: int64 values in −128…127
    with the default ``bits = 8`` (the VDBB accelerator's INT8 outputs); SCNN's PPU saturates
    to its activation width.
    """
    acc = np.asarray(acc, dtype=np.int64)
    if shift < 0:
        raise ValueError(f"Shift must be non-negative, not {shift!r}")
    if bits < 2:
        raise ValueError(f"Output width must be at least 2 bits, not {bits!r}")
    rounded = (acc + ((1 << shift) >> 1)) >> shift
    if relu:
        rounded = np.maximum(rounded, 0)
    return np.clip(rounded, -(1 << (bits - 1)), (1 << (bits - 1)) - 1)
