"""Golden SparseCore layer: convolution, requantization, ReLU, 2×2 max-pooling, compression
(*SparseCore*, Section 3: "the data is sent through streaming processor for operations like
pooling, normalization, RELU etc., and are eventually compressed").

The streaming post-processor's order, per output channel ``k``:

1. ``acc``: the convolution (cross-correlation, zero padding, stride) with every sum wrapped to
   ``acc_bits`` (:func:`sparseforge.sim.conv.conv2d`);
2. requantization to INT8 (:func:`requantize`), the project's rule shared with the VDBB
   accelerator: ``y = clamp(((acc + bias) · mult + 2^(shift−1)) >> shift, −128, 127)`` for
   ``shift ≥ 1`` (arithmetic shift: rounding half up, towards +∞), ``y = clamp((acc + bias) ·
   mult)`` for ``shift = 0``; per-output-channel INT32 ``bias``, unsigned 16-bit ``mult``,
   ``shift`` 0…31. ``acc + bias`` and the product are exact (no wrap: the hardware computes them
   in 50 bits, enough for any INT32 + INT32 times 16 bits);
3. ReLU (if on) after the clamp;
4. 2×2 max-pooling with stride 2 (if on) after ReLU; an odd last row or column is dropped
   (floor), as frameworks' default pooling does;
5. compression of the INT8 plane with :func:`.format.compress_acts`.
"""

import numpy as np

from ..conv import conv2d
from . import format as km_format

__all__ = ["requantize", "maxpool2", "layer_acc", "layer_output", "layer_store",
           "check_requant_params"]


def check_requant_params(bias, mult, shift, k):
    """Validate per-channel ``bias`` (INT32), ``mult`` (0…65535) and ``shift`` (0…31) for ``k``
    output channels; return them as int64 arrays of length ``k``."""
    out = []
    for name, arr, lo, hi in (("bias", bias, -(1 << 31), (1 << 31) - 1),
                              ("mult", mult, 0, (1 << 16) - 1), ("shift", shift, 0, 31)):
        a = np.broadcast_to(np.asarray(arr, dtype=np.int64), (k,)).copy()
        if a.size and (a.min() < lo or a.max() > hi):
            raise ValueError(f"Requantization {name} must be from {lo} to {hi}, not "
                             f"{int(a.min()) if a.min() < lo else int(a.max())}")
        out.append(a)
    return tuple(out)


def requantize(acc, bias, mult, shift, relu=False):
    """INT8 of ``acc`` (K×…) with per-channel ``bias``, ``mult``, ``shift`` (see module doc)."""
    acc = np.asarray(acc, dtype=np.int64)
    k = acc.shape[0]
    bias, mult, shift = check_requant_params(bias, mult, shift, k)
    shape = (k,) + (1,) * (acc.ndim - 1)
    bias, mult, shift = bias.reshape(shape), mult.reshape(shape), shift.reshape(shape)
    # |(acc + bias) · mult| < 2^33 · 2^16: exact in int64.
    scaled = (acc + bias) * mult
    rounding = np.where(shift > 0, np.left_shift(1, np.maximum(shift - 1, 0)), 0)
    y = np.clip((scaled + rounding) >> shift, -128, 127)
    return np.maximum(y, 0) if relu else y


def maxpool2(x):
    """2×2 max-pooling, stride 2, over the last two axes; odd trailing row/column dropped."""
    x = np.asarray(x, dtype=np.int64)
    h, w = x.shape[-2] // 2, x.shape[-1] // 2
    x = x[..., :2 * h, :2 * w]
    return np.maximum(np.maximum(x[..., 0::2, 0::2], x[..., 0::2, 1::2]),
                      np.maximum(x[..., 1::2, 0::2], x[..., 1::2, 1::2]))


def layer_acc(act, weights, stride=1, pad=0, acc_bits=32):
    """The K×Ho×Wo accumulators of the convolution (wrapped to ``acc_bits``)."""
    return conv2d(act, weights, stride=stride, pad=pad, acc_bits=acc_bits)


def layer_output(act, weights, bias, mult, shift, *, stride=1, pad=0, relu=False, pool=False,
                 acc_bits=32):
    """The decoded INT8 output of a layer: K × Ho × Wo (halved when pooled)."""
    y = requantize(layer_acc(act, weights, stride, pad, acc_bits), bias, mult, shift, relu)
    return maxpool2(y) if pool else y


def layer_store(act, weights, bias, mult, shift, segment, **kw):
    """The golden encoding of the layer's output (what the post-processor writes)."""
    return km_format.compress_acts(layer_output(act, weights, bias, mult, shift, **kw), segment)
