"""A CNN layer as the CCR hardware runs it: output window, stride phases, golden result.

The hardware (:mod:`sparseforge.hdl.ccr`) convolves at stride 1 in the paper's coordinates: an
input block times a kernel element lands at the output coordinates CCR-1 gives, and only the
outputs inside the layer's window are kept. A layer is described by its **window**: the output
map ``Y[k, u, v] = Σ_{c,i,j} w[k,c,i,j] · x[c, x0 + stride·u + i, y0 + stride·v + j]`` for
``0 ≤ u < Ho``, ``0 ≤ v < Wo`` (zero outside the input), where ``(x0, y0)`` is the window's
origin in full-mode coordinates: ``1 − R`` for 'full', ``0`` for 'valid', ``−pad`` for a framework
convolution with ``pad`` zeros on each side.

**Stride.** A stride-``s`` convolution is split into ``s²`` stride-1 *passes*, one per kernel
phase ``(ψx, ψy)`` (the polyphase decomposition, "the input is read with stride"): pass ψ
convolves the sub-sampled input ``x[c, m0 + s·t, …]`` with the sub-sampled kernel
``w[:, :, ψx::s, ψy::s]`` at stride 1 into the same ``Ho × Wo`` window, the passes accumulating
into the output buffer. Phases with an empty kernel or input are left out.
"""

import math
from dataclasses import dataclass

import numpy as np

from ..gemm import wrap
from .rule import MODES, crop_window

__all__ = ["Window", "Pass", "window", "passes", "golden"]


@dataclass(frozen=True)
class Window:
    """The outputs a layer keeps: origin ``(x0, y0)`` in full-mode coordinates, size, stride."""

    x0: int
    y0: int
    ho: int
    wo: int
    stride: int = 1


@dataclass(frozen=True)
class Pass:
    """One stride-1 pass: activations C×H'×W', weights K×C×R'×S', and the window's origin in the
    pass's own full-mode coordinates."""

    x: np.ndarray
    w: np.ndarray
    x0: int
    y0: int


def window(h, w, r, s, *, mode=None, stride=1, pad=None):
    """The window of a layer given by ``mode`` ('full', 'same', 'valid') or by ``pad``.

    With a stride, 'full' keeps every ``stride``-th output of the full map from its start,
    'valid' likewise from ``0``, and 'same' is TensorFlow's SAME (``⌈H / stride⌉`` outputs, the
    padding split with the smaller half before).

    Raises
    ------
    ValueError
        For both or neither of ``mode`` and ``pad``, an unknown mode, a stride below 1, or a
        window with no output.
    """
    if (mode is None) == (pad is None):
        raise ValueError("Window needs exactly one of mode and pad")
    if not isinstance(stride, int) or stride < 1:
        raise ValueError(f"Stride must be a positive integer, not {stride!r}")
    if pad is not None:
        if not isinstance(pad, int) or pad < 0:
            raise ValueError(f"Pad must be a non-negative integer, not {pad!r}")
        x0, y0 = -pad, -pad
        ho, wo = (h + 2 * pad - r) // stride + 1, (w + 2 * pad - s) // stride + 1
    elif mode == "same" and stride > 1:
        ho, wo = -(-h // stride), -(-w // stride)
        x0 = -(max((ho - 1) * stride + r - h, 0) // 2)
        y0 = -(max((wo - 1) * stride + s - w, 0) // 2)
    elif mode in MODES:
        x0, rows, y0, cols = crop_window(h, w, r, s, mode)
        ho, wo = (rows - 1) // stride + 1, (cols - 1) // stride + 1
    else:
        raise ValueError(f"Mode must be one of {', '.join(map(repr, MODES))}, not {mode!r}")
    if ho < 1 or wo < 1:
        raise ValueError(f"A {r}×{s} kernel has no output on a {h}×{w} input map "
                         f"(window {ho}×{wo})")
    return Window(x0, y0, ho, wo, stride)


def _phase(origin, psi, stride, size):
    """First sub-sampled index ``e`` (input ``origin + psi + stride·e ≥ 0``), the first input
    row ``m0`` and the sub-sampled length."""
    e = math.ceil(-(origin + psi) / stride)
    m0 = origin + psi + stride * e
    return e, m0, max(0, -(-(size - m0) // stride))


def passes(x, w, win):
    """The stride-1 passes of a layer (a single pass, the layer itself, at stride 1)."""
    x = np.asarray(x, dtype=np.int64)
    w = np.asarray(w, dtype=np.int64)
    st = win.stride
    if st == 1:
        return [Pass(x, w, win.x0, win.y0)]
    _, h, wd = x.shape
    out = []
    for px in range(st):
        for py in range(st):
            wp = w[:, :, px::st, py::st]
            ex, mx, hn = _phase(win.x0, px, st, h)
            ey, my, wn = _phase(win.y0, py, st, wd)
            if 0 in wp.shape or hn == 0 or wn == 0:
                continue
            xp = x[:, mx::st, my::st][:, :hn, :wn]
            out.append(Pass(xp, wp, -ex, -ey))
    return out


def golden(x, w, win, acc_bits=32):
    """The layer's outputs K×Ho×Wo, computed directly from the window's definition, each wrapped
    to ``acc_bits`` (modulo arithmetic: the order of additions does not matter)."""
    x = np.asarray(x, dtype=np.int64)
    w = np.asarray(w, dtype=np.int64)
    if x.ndim != 3 or w.ndim != 4 or w.shape[1] != x.shape[0]:
        raise ValueError(f"Convolution needs C×H×W activations and K×C×R×S weights, "
                         f"not {x.shape} and {w.shape}")
    c, h, wd = x.shape
    k, _, r, s = w.shape
    st = win.stride
    # Pad enough on every side that every tap of every output falls inside the array.
    top = max(0, -win.x0)
    left = max(0, -win.y0)
    rows = top + max(h, win.x0 + st * (win.ho - 1) + r)
    cols = left + max(wd, win.y0 + st * (win.wo - 1) + s)
    padded = np.zeros((c, rows, cols), dtype=np.int64)
    padded[:, top:top + h, left:left + wd] = x
    out = np.zeros((k, win.ho, win.wo), dtype=np.int64)
    for i in range(r):
        for j in range(s):
            a, b = top + win.x0 + i, left + win.y0 + j
            taps = padded[:, a:a + st * (win.ho - 1) + 1:st, b:b + st * (win.wo - 1) + 1:st]
            out += np.einsum("kc,cuv->kuv", w[:, :, i, j], taps)
    return wrap(out, acc_bits)
