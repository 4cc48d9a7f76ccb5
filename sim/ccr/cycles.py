"""Cycle models of the four CCR designs (CCR paper, Sec. IV, Table I): exact for the RTL.

Counting convention (as for every sparseforge accelerator): a pass is started by a register
write; its cycles run from the cycle after the ``start`` write takes effect to the last cycle in
which ``busy`` is high, both included. Loading the buffers before ``start`` and reading OB after
are not counted. A stride-``s`` layer is ``s²`` passes (:func:`.layer.passes`); its cycles are
the sum over its passes, the first of which clears OB.

A pass with K×C×R×S weights on a C×H×W input (``HB × WB`` input blocks, ``NB = HB·WB``) takes

``clear + issue + DRAIN`` cycles:

* **clear**: one cycle per OB word the outputs occupy (:func:`.format.output_words`), unless the
  pass accumulates onto the previous one;
* **issue**: one cycle per scalar × matrix (or Cartesian) step the PU performs, plus one cycle for
  each kernel ``(k, c)`` with nothing to compute (the sequencer's look at an empty entry count):

  - dense (Fig. 7(a)): ``K·C·NB·R·S``, zero weights included;
  - SparseK (Fig. 7(b)): ``Σ_{k,c} NB·nnz(w[k,c])``, or 1 for an all-zero kernel;
  - SparseI (Fig. 7(c)): a non-zero input scalar times each ``P_x × P_y`` tile of the (rotated)
    kernel: ``Σ_{k,c} nnz(x[c])·⌈R/P_x⌉·⌈S/P_y⌉``, or 1 for an all-zero input channel;
  - SparseKI: vectors of ``P_x`` non-zero weights times vectors of ``P_y`` non-zero inputs
    (Cartesian product, weight vectors outer), each of the ``P_x·P_y`` products at its own
    output coordinate (:func:`ki_pair_loads`); OB bank ``(u mod P_x, v mod P_y)`` takes one
    product per cycle, so a pair occupies the PU ``max(1, most products to one bank)`` cycles
    and stalls it for the rest (``bank_conflict_stalls``); an empty kernel or input channel
    costs 1;
* **DRAIN**: the pipeline after the last issue (PU and CCU on the buffers' data, OB read,
  OB write).

SparseI and SparseKI are models of the dataflows described here; their RTL is not built.
"""

from dataclasses import dataclass, field

import numpy as np

from .format import blocks_shape, output_words
from .layer import golden, passes

__all__ = ["DRAIN", "PassCycles", "LayerCycles", "pass_cycles", "layer_cycles",
           "ki_pair_loads", "required_macs"]

#: Cycles after the last issue: PU and CCU (KB/IB data), OB read, OB write.
DRAIN = 3

_VARIANTS = ("dense", "sparse_k", "sparse_i", "sparse_ki")


@dataclass
class PassCycles:
    """Cycles and counts of one pass."""

    clear: int
    issue: int
    drain: int
    macs_performed: int
    ccu_coordinates: int
    bank_conflict_stalls: int = 0

    @property
    def cycles(self):
        return self.clear + self.issue + self.drain


@dataclass
class LayerCycles:
    """Cycles of a layer (the sum of its passes) and the figures ``run`` reports."""

    passes: list = field(default_factory=list)
    macs_dense: int = 0
    macs_required: int = 0
    multipliers: int = 1

    @property
    def cycles(self):
        return sum(p.cycles for p in self.passes)

    @property
    def issue(self):
        return sum(p.issue for p in self.passes)

    @property
    def macs_performed(self):
        return sum(p.macs_performed for p in self.passes)

    @property
    def ccu_coordinates(self):
        return sum(p.ccu_coordinates for p in self.passes)

    @property
    def bank_conflict_stalls(self):
        return sum(p.bank_conflict_stalls for p in self.passes)

    @property
    def ideal_cycles(self):
        """``⌈required MACs / multipliers⌉``: every multiplier busy with useful work."""
        return -(-self.macs_required // self.multipliers)

    @property
    def utilization(self):
        """Required MACs / (multipliers × cycles)."""
        return self.macs_required / (self.multipliers * self.cycles) if self.cycles else 0.0


def ki_pair_loads(wnz, xnz, px, py, x0, y0, ho, wo):
    """Cycles of each (weight vector, input vector) pair of one kernel in SparseKI.

    ``wnz`` are the kernel's non-zero coordinates ``(i, j)`` row-major, ``xnz`` the channel's
    non-zero input coordinates ``(m, n)`` row-major; the product of ``(i, j)`` and ``(m, n)``
    belongs to output ``(m − i − x0, n − j − y0)`` and is dropped outside the window. Returns
    an array of ``max(1, most products to one bank)`` per pair, weight vectors outer.
    """
    wnz = np.asarray(wnz, dtype=np.int64).reshape(-1, 2)
    xnz = np.asarray(xnz, dtype=np.int64).reshape(-1, 2)
    nwv, nxv = -(-len(wnz) // px), -(-len(xnz) // py)
    loads = np.ones((nwv, nxv), dtype=np.int64)
    for a in range(nwv):
        ws = wnz[a * px:(a + 1) * px]
        u = xnz[None, :, 0] - ws[:, None, 0] - x0           # (weights, inputs)
        v = xnz[None, :, 1] - ws[:, None, 1] - y0
        keep = (u >= 0) & (u < ho) & (v >= 0) & (v < wo)
        bank = (u % px) * py + (v % py)
        vec = np.broadcast_to(np.arange(len(xnz)) // py, u.shape)
        key = vec[keep] * (px * py) + bank[keep]
        counts = np.bincount(key, minlength=nxv * px * py).reshape(nxv, px * py)
        loads[a] = np.maximum(1, counts.max(axis=1))
    return loads


def pass_cycles(variant, px, py, x, w, x0, y0, ho, wo, *, accumulate=False):
    """The :class:`PassCycles` of one stride-1 pass (window origin ``(x0, y0)``, ``ho × wo``)."""
    if variant not in _VARIANTS:
        raise ValueError(f"Variant must be one of {', '.join(_VARIANTS)}, not {variant!r}")
    x = np.asarray(x)
    w = np.asarray(w)
    c, h, wd = x.shape
    k, _, r, s = w.shape
    hb, wb = blocks_shape(h, wd, px, py)
    nb = hb * wb
    nw = np.count_nonzero(w.reshape(k, c, -1), axis=2)          # per kernel (k, c)
    nx = np.count_nonzero(x.reshape(c, -1), axis=1)             # per input channel
    stalls = 0
    if variant == "dense":
        issue = k * c * nb * r * s
        macs = k * c * h * wd * r * s
        coords = 0
    elif variant == "sparse_k":
        issue = int(np.where(nw == 0, 1, nb * nw).sum())
        macs = int(nw.sum()) * h * wd
        coords = int((nb * nw).sum())
    elif variant == "sparse_i":
        tiles = -(-r // px) * -(-s // py)
        per = np.where(nx == 0, 1, nx * tiles)
        issue = int(per.sum()) * k
        macs = int(nx.sum()) * k * r * s
        coords = int(nx.sum()) * tiles * k
    else:
        issue = 0
        coords = 0
        xnz = [np.argwhere(x[ci]) for ci in range(c)]
        for kk in range(k):
            for ci in range(c):
                wnz = np.argwhere(w[kk, ci])
                if len(wnz) == 0 or len(xnz[ci]) == 0:
                    issue += 1
                    continue
                loads = ki_pair_loads(wnz, xnz[ci], px, py, x0, y0, ho, wo)
                issue += int(loads.sum())
                stalls += int(loads.sum() - loads.size)
                coords += len(wnz) * len(xnz[ci])
        macs = int((nw * nx[None, :]).sum())
    clear = 0 if accumulate else output_words(k, ho, wo, px, py)
    return PassCycles(clear, issue, DRAIN, macs, coords, stalls)


def required_macs(variant, x, w, win):
    """MACs the layer needs at the density the variant exploits: window taps of the layer
    (dense), with a non-zero weight (SparseK), a non-zero input (SparseI), or both (SparseKI)."""
    x = np.asarray(x)
    w = np.asarray(w)
    xm = np.ones_like(x, dtype=np.int64) if variant in ("dense", "sparse_k") else (x != 0)
    wm = np.ones_like(w, dtype=np.int64) if variant in ("dense", "sparse_i") else (w != 0)
    if variant == "dense":
        c, _, _ = x.shape
        k, _, r, s = w.shape
        return k * c * r * s * win.ho * win.wo
    return int(golden(xm.astype(np.int64), wm.astype(np.int64), win, acc_bits=64).sum())


def layer_cycles(variant, px, py, x, w, win):
    """The :class:`LayerCycles` of a layer: its passes (:func:`.layer.passes`), the first
    clearing OB."""
    x = np.asarray(x, dtype=np.int64)
    w = np.asarray(w, dtype=np.int64)
    k, c, r, s = w.shape
    out = LayerCycles(macs_dense=k * c * r * s * win.ho * win.wo,
                      macs_required=required_macs(variant, x, w, win), multipliers=px * py)
    for n, p in enumerate(passes(x, w, win)):
        out.passes.append(pass_cycles(variant, px, py, p.x, p.w, p.x0, p.y0, win.ho, win.wo,
                                      accumulate=n > 0))
    return out
