"""Golden SCNN layer: 'same' convolution, wrap, ReLU and per-tile compression (SCNN paper, Sec. 3).

The layer SCNN computes is a stride-1 convolution with zero padding that keeps the plane size
('same' output), written as a cross-correlation as CNN frameworks define it::

    out[k, y, x] = Σ_{c, r, s} act[c, y + r − (R−1)/2, x + s − (S−1)/2] · w[k, c, r, s]

for odd R and S, input elements outside the plane being zero. Every product is exact; the sum is
reduced modulo ``2**acc_bits`` to the two's-complement accumulator (wrapping after each addition
and wrapping once at the end give the same value). ReLU then clamps negative accumulators to zero.
A layer that requantizes (the PPU's ``requant`` mode, so that its output can be the next layer's
input on chip) then applies the project's output rule :func:`sparseforge.sim.conv.requantize` with
the layer's shift, saturating to the activation width::

    y = min((relu(acc) + (1 << (shift − 1))) >> shift, 2**(act_bits − 1) − 1)   (no rounding term
                                                                                for shift = 0)

The outputs are compressed per PE tile and output channel with :mod:`.scnn_format`.
"""

import numpy as np

from ..conv import requantize
from ..gemm import wrap

__all__ = ["conv_same", "relu", "layer_output", "requantized"]


def conv_same(act, weights, acc_bits):
    """``K × H × W`` accumulators of the stride-1 'same' convolution of ``act`` (C×H×W) by
    ``weights`` (K×C×R×S, odd R and S), each wrapped to ``acc_bits`` bits."""
    act = np.asarray(act, dtype=np.int64)
    weights = np.asarray(weights, dtype=np.int64)
    if act.ndim != 3 or weights.ndim != 4 or act.shape[0] != weights.shape[1]:
        raise ValueError(f"a convolution needs C×H×W activations and K×C×R×S weights, not "
                         f"{act.shape} and {weights.shape}")
    k, c, r, s = weights.shape
    if r % 2 == 0 or s % 2 == 0:
        raise ValueError(f"a 'same' convolution needs an odd kernel, not {r}×{s}")
    _, h, w = act.shape
    pr, ps = (r - 1) // 2, (s - 1) // 2
    padded = np.zeros((c, h + 2 * pr, w + 2 * ps), dtype=np.int64)
    padded[:, pr:pr + h, ps:ps + w] = act
    out = np.zeros((k, h, w), dtype=np.int64)
    # Sum over kernel positions; each term is an exact (C × H·W)ᵀ (K × C) product in int64.
    for dr in range(r):
        for ds in range(s):
            window = padded[:, dr:dr + h, ds:ds + w].reshape(c, -1)
            out += (weights[:, :, dr, ds] @ window).reshape(k, h, w)
            out = wrap(out, acc_bits)
    return out


def relu(x):
    return np.maximum(np.asarray(x, dtype=np.int64), 0)


def layer_output(act, weights, acc_bits):
    """The decoded layer output: ReLU of the wrapped 'same' convolution, ``K × H × W``."""
    return relu(conv_same(act, weights, acc_bits))


def requantized(output, shift, act_bits):
    """A ReLU output (``layer_output``, after any Sparse-Blox pruning) requantized as the PPU's
    ``requant`` mode writes it: :func:`sparseforge.sim.conv.requantize` with ``shift``, ReLU,
    saturating to ``act_bits`` signed bits (so 0 … 2**(act_bits − 1) − 1)."""
    return requantize(output, shift, relu=True, bits=act_bits)
