"""What a CCR design does during a pass, counted: the actions its energy model prices (all four
designs of Table I; CCR paper, Sec. IV, Fig. 7).

Counts follow the accelerator's structure (:class:`sparseforge.hdl.ccr.CcrAccelerator`: sequencer,
PU, CCU, crossbar, AccUnit and its OB banks) and the cycle model of :mod:`.cycles`:

``cycle``
    Cycles of the pass (every block's clock and leakage).
``clear``
    OB-clear cycles (each writes zero to a word of every bank).
``step``
    PU steps: a KB word times an IB word, one IB and one KB read each: a weight and its
    coordinates times a ``P_x × P_y`` input block (dense, SparseK), a non-zero input times a
    ``P_x × P_y`` tile of the rotated kernel (SparseI), a vector of ``P_x`` non-zero weights
    times a vector of ``P_y`` non-zero inputs (SparseKI: a pair; the ``steps`` register).
``empty``
    Issue cycles without a step (the sequencer's look at an all-zero kernel, or input channel).
``stall``
    SparseKI: cycles a pair holds the PU beyond its first while the bank arbiter serialises
    products bound for one OB bank (the ``stalls`` register).
``coord``
    SparseKI: output coordinates the CCU computes, one per product of two non-zeros (the
    ``coords`` register; the other variants compute one per step).
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
columns. A SparseI step of input ``(m, n)`` on kernel tile ``(ti, tj)`` puts lane ``(p, q)``
(kernel ``(i, j) = (ti·P_x + P_x − 1 − p, tj·P_y + P_y − 1 − q)``, past R or S a zero of the
tile's padding) at ``(m − i − x0, n − j − y0)``: every lane inside the window updates, so
``ob_update = K · Σ_{c, (m,n): x ≠ 0} A'(m) · B'(n)`` with ``A'(m)`` the ``i < ⌈R/P_x⌉·P_x``
with ``m − i − x0`` in the window. SparseKI updates OB once per product of two non-zeros inside
the window (``Σ_{k,c} Σ_{w[k,c,i,j] ≠ 0} Σ_{x[c,m,n] ≠ 0} [(m − i − x0, n − j − y0) inside]``).
"""

import numpy as np

from .cycles import pass_cycles
from .format import blocks_shape

__all__ = ["VARIANTS", "in_window", "pass_actions"]

#: Variants whose actions are counted here.
VARIANTS = ("dense", "sparse_k", "sparse_i", "sparse_ki")


def in_window(blocks, lanes, taps, origin, size):
    """``A[i]`` for ``i < taps``: lanes ``p`` of blocks ``M`` with ``0 ≤ M·lanes + p − i −
    origin < size``."""
    u = (np.arange(blocks)[:, None] * lanes + np.arange(lanes)[None, :]).ravel()
    out = u[None, :] - np.arange(taps)[:, None] - origin
    return ((out >= 0) & (out < size)).sum(axis=1)


def pass_actions(variant, px, py, x, w, x0, y0, ho, wo, *, cycles=None, accumulate=False,
                 sample=None):
    """Action counts of one stride-1 pass (``cycles``: the measured window; default the cycle
    model's). ``accumulate`` and ``sample`` as for :func:`.cycles.pass_cycles` (a later pass of
    a strided layer clears nothing; SparseKI's sampled estimate of its loads)."""
    if variant not in VARIANTS:
        raise ValueError(f"Variant must be one of {', '.join(VARIANTS)}, not {variant!r}")
    x = np.asarray(x)
    w = np.asarray(w)
    k, c, r, s = w.shape
    model = pass_cycles(variant, px, py, x, w, x0, y0, ho, wo, accumulate=accumulate,
                        sample=sample)
    hb, wb = blocks_shape(x.shape[1], x.shape[2], px, py)
    if variant == "sparse_i":
        updates = k * _sparse_i_updates(x, px, py, r, s, x0, y0, ho, wo)
    elif variant == "sparse_ki":
        updates = _sparse_ki_updates(x, w, x0, y0, ho, wo)
    else:
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
    if variant == "sparse_ki":
        counts.update(stall=model.bank_conflict_stalls, coord=model.ccu_coordinates,
                      empty=model.issue - model.steps - model.bank_conflict_stalls)
    return counts


def _lane_hits(coords, taps, origin, size):
    """Per coordinate ``m``: the ``i < taps`` with ``0 ≤ m − i − origin < size``."""
    out = np.asarray(coords)[:, None] - np.arange(taps)[None, :] - origin
    return ((out >= 0) & (out < size)).sum(axis=1)


def _sparse_i_updates(x, px, py, r, s, x0, y0, ho, wo):
    """OB updates of one output channel in SparseI (module docstring)."""
    c, h, wd = x.shape
    a = _lane_hits(np.arange(h), -(-r // px) * px, x0, ho)
    b = _lane_hits(np.arange(wd), -(-s // py) * py, y0, wo)
    return int(np.einsum("cmn,m,n->", (x != 0).astype(np.int64), a, b))


def _sparse_ki_updates(x, w, x0, y0, ho, wo):
    """OB updates of a SparseKI pass: products of two non-zeros inside the window."""
    c, h, wd = x.shape
    k, _, r, s = w.shape
    # T[c, i, j]: non-zero inputs (m, n) of channel c with (m − i − x0, n − j − y0) inside.
    nz = (x != 0).astype(np.int64)
    taps = np.zeros((c, r, s), dtype=np.int64)
    for i in range(r):
        rows = slice(max(0, x0 + i), max(0, min(h, x0 + i + ho)))
        for j in range(s):
            cols = slice(max(0, y0 + j), max(0, min(wd, y0 + j + wo)))
            taps[:, i, j] = nz[:, rows, cols].sum(axis=(1, 2))
    return int(np.einsum("kcij,cij->", (w != 0).astype(np.int64), taps))
