"""What a CCR design does during a pass, counted: the actions its energy model prices (the dense
baseline and SparseK; CCR paper, Sec. IV, Fig. 7(a)/(b)).

Counts follow the accelerator's structure (:class:`sparseforge.hdl.ccr.CcrAccelerator`: sequencer,
PU, CCU, crossbar, AccUnit and its OB banks) and the cycle model of :mod:`.cycles`:

``cycle``
    Cycles of the pass (every block's clock and leakage).
``clear``
    OB-clear cycles (each writes zero to a word of every bank).
``step``
    PU steps: a KB word (a weight and its coordinates) times an IB word (a ``P_x × P_y`` input
    block); one IB and one KB read each.
``empty``
    Issue cycles without a step (SparseK's look at an all-zero kernel).
``kernel``
    Kernels ``(k, c)`` the sequencer visits: ``K·C``.
``mac``
    Products of a real input and a real kernel element (the ``macs`` register).
``ob_update``
    OB bank updates: the products of a step whose output lies in the window (the crossbar drops
    the others); each reads its bank's word and writes it back.

SRAM accesses, named as the energy hooks' macro groups: ``sram_ib_read`` and ``sram_kb_read``
(= ``step``), ``sram_ob_read`` (= ``ob_update``), ``sram_ob_write`` (= ``ob_update`` + ``clear``
× banks); the buffers are not written while a pass runs.

A step of weight ``(i, j)`` on input block ``(M, N)`` puts lane ``(p, q)``'s product at output
``(M·P_x + p − i − x0, N·P_y + q − j − y0)``; the lanes inside the ``ho × wo`` window are counted
per kernel position, so ``ob_update = Σ_{k,c,i,j} [w ≠ 0] · A(i) · B(j)`` (every position for the
dense design), with ``A(i)`` the in-window lanes of all block rows and ``B(j)`` of all block
columns.
"""

import numpy as np

from .cycles import pass_cycles
from .format import blocks_shape

__all__ = ["VARIANTS", "in_window", "pass_actions"]

#: Variants whose actions are counted here.
VARIANTS = ("dense", "sparse_k")


def in_window(blocks, lanes, taps, origin, size):
    """``A[i]`` for ``i < taps``: lanes ``p`` of blocks ``M`` with ``0 ≤ M·lanes + p − i −
    origin < size``."""
    u = (np.arange(blocks)[:, None] * lanes + np.arange(lanes)[None, :]).ravel()
    out = u[None, :] - np.arange(taps)[:, None] - origin
    return ((out >= 0) & (out < size)).sum(axis=1)


def pass_actions(variant, px, py, x, w, x0, y0, ho, wo, *, cycles=None, accumulate=False):
    """Action counts of one stride-1 pass (``cycles``: the measured window; default the cycle
    model's)."""
    if variant not in VARIANTS:
        raise ValueError(f"Variant must be one of {', '.join(VARIANTS)}, not {variant!r}")
    x = np.asarray(x)
    w = np.asarray(w)
    k, c, r, s = w.shape
    model = pass_cycles(variant, px, py, x, w, x0, y0, ho, wo, accumulate=accumulate)
    hb, wb = blocks_shape(x.shape[1], x.shape[2], px, py)
    a = in_window(hb, px, r, x0, ho)
    b = in_window(wb, py, s, y0, wo)
    taps = np.outer(a, b)
    mask = np.ones(w.shape, dtype=bool) if variant == "dense" else (w != 0)
    updates = int(np.einsum("kcij,ij->", mask.astype(np.int64), taps))
    banks = px * py
    counts = {
        "cycle": model.cycles if cycles is None else cycles,
        "clear": model.clear, "step": model.steps, "empty": model.issue - model.steps,
        "kernel": k * c, "mac": model.macs_performed, "ob_update": updates,
        "sram_ib_read": model.steps, "sram_kb_read": model.steps,
        "sram_ob_read": updates, "sram_ob_write": updates + model.clear * banks,
        "sram_ib_write": 0, "sram_kb_write": 0,
    }
    return counts
