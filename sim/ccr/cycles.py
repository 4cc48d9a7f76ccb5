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
    (Cartesian product; the RTL walks the input vectors outer, and the count does not depend
    on the order), each of the ``P_x·P_y`` products at its own
    output coordinate (:func:`ki_pair_loads`); OB bank ``(u mod P_x, v mod P_y)`` takes one
    product per cycle, so a pair occupies the PU ``max(1, most products to one bank)`` cycles
    and stalls it for the rest (``bank_conflict_stalls``); an empty kernel or input channel
    costs 1;
* **DRAIN**: the pipeline after the last issue (PU and CCU on the buffers' data, OB read,
  OB write).

Besides cycles a pass reports the counts the RTL's statistics registers hold: ``steps`` (PU
steps: scalar × matrix products, or vector pairs in SparseKI; empty kernels are not steps),
``macs_performed`` (products of a real input and a real kernel element, zeros included where the
variant does not skip them), ``ccu_coordinates`` (output coordinates the CCU computed: one per
step in SparseK and SparseI, one per product in SparseKI, none in the dense design, whose
coordinates come from its loop counters) and ``bank_conflict_stalls``.

With SparseKI, the stalls of the last pairs fall after the last issue and lengthen the drain
by as many cycles; they are counted in ``issue`` (a pair's load), so the formula holds as is.
"""

from dataclasses import dataclass, field

import numpy as np

from .format import blocks_shape, output_words
from .layer import passes

__all__ = ["DRAIN", "STATISTICS", "PassCycles", "LayerCycles", "pass_cycles", "layer_cycles",
           "ki_pair_loads", "ki_channel_loads", "required_macs"]

#: Cycles after the last issue: PU and CCU (KB/IB data), OB read, OB write.
DRAIN = 3

#: The RTL's statistics registers (:func:`sparseforge.hdl.ccr.register_map`) and the
#: :class:`PassCycles` attribute each of them equals after a pass.
STATISTICS = {"macs": "macs_performed", "steps": "steps", "coords": "ccu_coordinates",
              "stalls": "bank_conflict_stalls"}

_VARIANTS = ("dense", "sparse_k", "sparse_i", "sparse_ki")


@dataclass
class PassCycles:
    """Cycles and counts of one pass."""

    clear: int
    issue: int
    drain: int
    macs_performed: int
    ccu_coordinates: int
    steps: int
    bank_conflict_stalls: int = 0
    sampled: bool = False

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
    def steps(self):
        return sum(p.steps for p in self.passes)

    @property
    def sampled(self):
        """SparseKI's pair loads were estimated from a sample of channels."""
        return any(p.sampled for p in self.passes)

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


def ki_channel_loads(w_c, xnz, px, py, x0, y0, ho, wo, *, chunk=1 << 22):
    """SparseKI's pair loads of every kernel of one input channel at once (vectorised).

    ``w_c`` is the channel's K×R×S slice of the weights, ``xnz`` its non-zero input
    coordinates row-major. Returns ``(loads, pairs, products)``: the sum over all kernels of
    :func:`ki_pair_loads`, the number of pairs and the number of products.
    """
    xnz = np.asarray(xnz, dtype=np.int64).reshape(-1, 2)
    nx = len(xnz)
    kk, wi, wj = np.nonzero(np.asarray(w_c))
    if nx == 0 or len(kk) == 0:
        return 0, 0, 0
    # Each kernel's non-zeros in vectors of P_x: a global vector number per weight.
    counts = np.bincount(kk, minlength=np.asarray(w_c).shape[0])
    first = np.concatenate([[0], np.cumsum(counts)])[kk]
    vecs_per_kernel = -(-counts // px)
    vec_base = np.concatenate([[0], np.cumsum(vecs_per_kernel)])[kk]
    wvec = vec_base + (np.arange(len(kk)) - first) // px
    nwv = int(vecs_per_kernel.sum())
    nxv = -(-nx // py)
    lanes = px * py
    xvec = (np.arange(nx) // py).astype(np.int32)
    xm = (xnz[:, 0] - x0).astype(np.int32)
    xn = (xnz[:, 1] - y0).astype(np.int32)
    wi, wj, wvec = wi.astype(np.int32), wj.astype(np.int32), wvec.astype(np.int32)
    # P_x and P_y are powers of two: a coordinate's bank is its low bits. A product outside the
    # window goes to an extra bin per pair that the maximum leaves out.
    mx, my, ly = px - 1, py - 1, (py - 1).bit_length()
    bins = lanes + 1
    loads = 0
    # Chunks of whole weight vectors, about `chunk` products each.
    per = max(1, chunk // (nx * px))
    for lo in range(0, nwv, per):
        hi = min(nwv, lo + per)
        sel = (wvec >= lo) & (wvec < hi)
        u = xm[None, :] - wi[sel, None]
        v = xn[None, :] - wj[sel, None]
        out = (u < 0) | (u >= ho) | (v < 0) | (v >= wo)
        bank = ((u & mx) << ly) | (v & my)
        bank[out] = lanes
        bank += ((wvec[sel, None] - lo) * nxv + xvec[None, :]) * bins
        hits = np.bincount(bank.ravel(), minlength=(hi - lo) * nxv * bins)
        loads += int(np.maximum(1, hits.reshape(-1, bins)[:, :lanes].max(axis=1)).sum())
    return loads, nwv * nxv, len(kk) * nx


def pass_cycles(variant, px, py, x, w, x0, y0, ho, wo, *, accumulate=False, sample=None):
    """The :class:`PassCycles` of one stride-1 pass (window origin ``(x0, y0)``, ``ho × wo``).

    ``sample`` (SparseKI only) names input channels whose pair loads are computed exactly; the
    rest are estimated as their mean (``sampled`` is then set). ``None``: every channel, exact.
    """
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
        issue = steps = k * c * nb * r * s
        macs = k * c * h * wd * r * s
        coords = 0
    elif variant == "sparse_k":
        issue = int(np.where(nw == 0, 1, nb * nw).sum())
        macs = int(nw.sum()) * h * wd
        coords = steps = int((nb * nw).sum())
    elif variant == "sparse_i":
        tiles = -(-r // px) * -(-s // py)
        per = np.where(nx == 0, 1, nx * tiles)
        issue = int(per.sum()) * k
        macs = int(nx.sum()) * k * r * s
        coords = steps = int(nx.sum()) * tiles * k
    else:
        # An empty kernel or input channel costs one cycle; a pair its load.
        empty = (nw == 0) | (nx[None, :] == 0)
        issue = int(empty.sum())
        chans = range(c) if sample is None else sorted(set(sample))
        total = pairs = 0
        for ci in chans:
            loads_c, pairs_c, _ = ki_channel_loads(w[:, ci], np.argwhere(x[ci]), px, py, x0, y0,
                                                   ho, wo)
            total += loads_c
            pairs += pairs_c
        if sample is not None:
            scale = c / len(chans)
            total, pairs = round(total * scale), round(pairs * scale)
        issue += total
        stalls = total - pairs
        steps = pairs
        macs = coords = int((nw * nx[None, :]).sum())
    clear = 0 if accumulate else output_words(k, ho, wo, px, py)
    return PassCycles(clear, issue, DRAIN, macs, coords, steps, stalls,
                      sampled=sample is not None and variant == "sparse_ki")


def required_macs(variant, x, w, win):
    """MACs the layer needs at the density the variant exploits: window taps of the layer
    (dense), with a non-zero weight (SparseK), a non-zero input (SparseI), or both (SparseKI).

    Computed as ``Σ_{k,c,i,j} [w ≠ 0] · T[c, i, j]`` where ``T[c, i, j]`` counts the window's
    outputs whose tap ``(i, j)`` reads a (non-zero) input of channel ``c``.
    """
    x = np.asarray(x)
    w = np.asarray(w)
    c, h, wd = x.shape
    k, _, r, s = w.shape
    if variant == "dense":
        return k * c * r * s * win.ho * win.wo
    xm = (x != 0) if variant in ("sparse_i", "sparse_ki") else np.ones(x.shape, dtype=bool)
    wm = (w != 0) if variant in ("sparse_k", "sparse_ki") else np.ones(w.shape, dtype=bool)
    st = win.stride
    top, left = max(0, -win.x0), max(0, -win.y0)
    rows = top + max(h, win.x0 + st * (win.ho - 1) + r)
    cols = left + max(wd, win.y0 + st * (win.wo - 1) + s)
    padded = np.zeros((c, rows, cols), dtype=np.int64)
    padded[:, top:top + h, left:left + wd] = xm
    taps = np.empty((c, r, s), dtype=np.int64)
    for i in range(r):
        for j in range(s):
            a, b = top + win.x0 + i, left + win.y0 + j
            taps[:, i, j] = padded[:, a:a + st * (win.ho - 1) + 1:st,
                                   b:b + st * (win.wo - 1) + 1:st].sum(axis=(1, 2))
    return int(np.einsum("kcij,cij->", wm.astype(np.int64), taps))


def layer_cycles(variant, px, py, x, w, win, *, sample=None):
    """The :class:`LayerCycles` of a layer: its passes (:func:`.layer.passes`), the first
    clearing OB. ``sample``: see :func:`pass_cycles`."""
    x = np.asarray(x, dtype=np.int64)
    w = np.asarray(w, dtype=np.int64)
    k, c, r, s = w.shape
    out = LayerCycles(macs_dense=k * c * r * s * win.ho * win.wo,
                      macs_required=required_macs(variant, x, w, win), multipliers=px * py)
    for n, p in enumerate(passes(x, w, win)):
        out.passes.append(pass_cycles(variant, px, py, p.x, p.w, p.x0, p.y0, win.ho, win.wo,
                                      accumulate=n > 0, sample=sample))
    return out
