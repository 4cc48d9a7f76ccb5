"""MAC and data-volume reduction of CCR-1, CCR-2 and CCR-3 (CCR paper, Sec. III-D, Fig. 6).

MACs are counted in 'full' mode as the paper does: a sub-convolution of an ``H_l × W_l`` map with
an ``R_l × S_l`` kernel costs ``H_l·W_l·R_l·S_l`` MACs, and only the effective (non-zero)
sub-convolutions are computed. Split into 1×1 triplets (the decomposition the hardware uses), a
layer of C×H×W activations and K×C×R×S weights costs

* dense: ``K·C·H·W·R·S``;
* CCR-1: ``Σ_{k,c} nnz(w[k,c])·H·W``;
* CCR-2: ``Σ_c nnz(x[c])·K·R·S``;
* CCR-3: ``Σ_{k,c} nnz(x[c])·nnz(w[k,c])``.

Data volume counts the input map and kernel elements each scheme stores: dense stores both
whole, CCR-1 only the kernels' non-zeros, CCR-2 only the input's, CCR-3 both compressed. In bits
each stored compressed element also carries its coordinates (:func:`data_bits`).
"""

import math

import numpy as np

from .rule import nonzero

__all__ = ["SCHEMES", "macs_ccr1", "macs_ccr2", "macs_ccr3", "layer_macs", "layer_data",
           "data_bits", "expected_reduction", "reduction"]

SCHEMES = ("dense", "ccr1", "ccr2", "ccr3")


def macs_ccr1(h, w, kernel_triplets):
    """MACs of the effective sub-convolutions of CCR-1: ``Σ H·W·R_l·S_l``."""
    return sum(h * w * t.shape[0] * t.shape[1] for t in nonzero(kernel_triplets))


def macs_ccr2(imap_triplets, r, s):
    """MACs of the effective sub-convolutions of CCR-2: ``Σ H_l·W_l·R·S``."""
    return sum(t.shape[0] * t.shape[1] * r * s for t in nonzero(imap_triplets))


def macs_ccr3(imap_triplets, kernel_triplets):
    """MACs of the effective sub-convolutions of CCR-3: ``Σ_j Σ_i H_j·W_j·R_i·S_i``."""
    return sum(ti.shape[0] * ti.shape[1] * tk.shape[0] * tk.shape[1]
               for ti in nonzero(imap_triplets) for tk in nonzero(kernel_triplets))


def _operands(x, w):
    x = np.asarray(x)
    w = np.asarray(w)
    if x.ndim != 3 or w.ndim != 4 or w.shape[1] != x.shape[0]:
        raise ValueError(f"Reduction needs C×H×W activations and K×C×R×S weights, "
                         f"not {x.shape} and {w.shape}")
    return x, w


def layer_macs(x, w):
    """MACs of a layer by each scheme, 1×1 triplets: ``{scheme: int}``."""
    x, w = _operands(x, w)
    k, c, r, s = w.shape
    h, wd = x.shape[1:]
    nx = np.count_nonzero(x.reshape(c, -1), axis=1)             # per input channel
    nw = np.count_nonzero(w.reshape(k, c, -1), axis=2)          # per (k, c) kernel
    return {"dense": k * c * h * wd * r * s, "ccr1": int(nw.sum()) * h * wd,
            "ccr2": int(nx.sum()) * k * r * s, "ccr3": int((nw * nx[None, :]).sum())}


def layer_data(x, w):
    """Elements of input map and kernels each scheme stores: ``{scheme: int}``."""
    x, w = _operands(x, w)
    nx, nw = int(np.count_nonzero(x)), int(np.count_nonzero(w))
    return {"dense": x.size + w.size, "ccr1": x.size + nw, "ccr2": nx + w.size,
            "ccr3": nx + nw}


def data_bits(x, w, value_bits=8):
    """Bits each scheme stores: a compressed kernel element carries its ``(i, j)`` in the kernel
    (``⌈log2 R⌉ + ⌈log2 S⌉`` bits), a compressed input element its ``(m, n)`` in the map."""
    x, w = _operands(x, w)
    _, _, r, s = w.shape
    h, wd = x.shape[1:]
    kb = value_bits + _bits(r) + _bits(s)
    ib = value_bits + _bits(h) + _bits(wd)
    nx, nw = int(np.count_nonzero(x)), int(np.count_nonzero(w))
    return {"dense": (x.size + w.size) * value_bits, "ccr1": x.size * value_bits + nw * kb,
            "ccr2": nx * ib + w.size * value_bits, "ccr3": nx * ib + nw * kb}


def _bits(n):
    return max(1, math.ceil(math.log2(n))) if n > 1 else 0


def reduction(counts):
    """``{scheme: 1 − count / dense}`` for the sparse schemes of a count table."""
    return {name: 1 - counts[name] / counts["dense"] for name in SCHEMES[1:]}


def expected_reduction(layer, weight_density, act_density):
    """Expected MAC and data-volume reductions of a layer (:class:`~..workloads.ConvLayer`) whose
    weights and input activations are non-zero independently with the given densities.

    Returns ``{"macs": {scheme: reduction}, "data": {scheme: reduction}}``.
    """
    for name, d in (("weight_density", weight_density), ("act_density", act_density)):
        if not 0 <= d <= 1:
            raise ValueError(f"{name} must be from 0 to 1, not {d!r}")
    xs = layer.c * layer.h * layer.w
    ws = layer.weights
    data = {"dense": xs + ws, "ccr1": xs + weight_density * ws, "ccr2": act_density * xs + ws,
            "ccr3": act_density * xs + weight_density * ws}
    return {"macs": {"ccr1": 1 - weight_density, "ccr2": 1 - act_density,
                     "ccr3": 1 - weight_density * act_density},
            "data": reduction(data)}
