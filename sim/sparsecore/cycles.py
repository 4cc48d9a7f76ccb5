"""Exact cycle model of SparseCore: PE work units and the dynamic global scheduler
(*SparseCore*, Section 3: "end-to-end global scheduling and dynamic assignment of work units").

Counting convention. ``cycles`` run from the first cycle the scheduler may grant (the cycle after
``start``) to the cycle the last PE has finished its last unit, plus one cycle in which the
scheduler sees every PE idle; loading weights and activations before ``start`` is not counted.

**Work units.** The output is cut into bands of ``band_rows`` output rows spanning the full width,
and the output depth into chunks of ``D = (alus / k) · m`` channels. A unit is a (band, chunk)
pair. PE ``p`` holds the weights of chunk ``p mod nchunks`` for the whole layer (weight-local);
the scheduler hands the bands of a chunk to whichever PE of that chunk is free.

**Scheduler.** In every cycle it grants at most one unit: to the lowest-numbered idle PE whose chunk
still has bands left, the next band of that chunk in order. A PE granted in cycle ``g`` works in
cycles ``g+1 … g+U`` (``U`` its unit's cycles) and can be granted again in cycle ``g+U+1``.

**A unit** (:func:`unit_cycles`) costs, in order:

* ``SETUP_CYCLES`` to compute the band's input window and clear the accumulation buffer's row
  flags;
* per (input row ``iy`` of the window, channel segment ``q``) pair, ``PAIR_CYCLES`` to fetch its
  pointer; then, when the list is not empty and some kernel row ``r`` maps ``iy`` into the band,
  per entry ``max(1, n_r · n_s(x))`` cycles: one per valid tap ``(r, s)`` (``n_r`` kernel rows
  map row ``iy`` into the band, ``n_s(x)`` kernel columns map column ``x`` into ``0 … Wo−1``
  with the stride), one bubble when none does. Each tap is one ALU cycle: the activation times the
  ``k`` non-zero weights of each of the ``alus / k`` groups of the chunk at ``(c, r, s)``;
* ``DRAIN_CYCLES`` for the last accumulation to be written;
* the post-processor: one accumulation-buffer read per pixel of the band (four per pooled
  pixel), each held for ``D / requant_lanes`` cycles while its lane groups are requantized, and
  ``PP_LATENCY`` cycles to its last output beat (a band with no output pixel, possible only when
  pooling drops a last single row: 2 cycles).
"""

from dataclasses import dataclass

import numpy as np

from . import format as km_format

__all__ = ["LayerShape", "LayerCycles", "layer_cycles", "unit_cycles", "band_compute_cycles",
           "scheduler", "useful_macs", "SETUP_CYCLES", "PAIR_CYCLES", "DRAIN_CYCLES",
           "PP_LATENCY"]

SETUP_CYCLES = 1
PAIR_CYCLES = 2
DRAIN_CYCLES = 1
PP_LATENCY = 3


@dataclass(frozen=True)
class LayerShape:
    """A convolution: input ``c × h × w``, ``k`` outputs, ``r × s`` kernel, stride, padding,
    and whether the output is 2×2-pooled."""

    h: int
    w: int
    c: int
    k: int
    r: int
    s: int
    stride: int = 1
    pad: int = 0
    pool: bool = False

    @property
    def ho(self):
        return (self.h + 2 * self.pad - self.r) // self.stride + 1

    @property
    def wo(self):
        return (self.w + 2 * self.pad - self.s) // self.stride + 1


def _window(shape, oy0, oy1):
    """Input rows ``iy_lo … iy_hi`` feeding output rows ``oy0 … oy1−1``."""
    lo = max(0, oy0 * shape.stride - shape.pad)
    hi = min(shape.h - 1, (oy1 - 1) * shape.stride - shape.pad + shape.r - 1)
    return lo, hi


def row_taps(shape, iy, oy0, oy1):
    """Kernel rows ``r`` that map input row ``iy`` into output rows ``oy0 … oy1−1``."""
    out = []
    for r in range(shape.r):
        t = iy + shape.pad - r
        if t >= 0 and t % shape.stride == 0 and oy0 <= t // shape.stride < oy1:
            out.append(r)
    return out


def col_taps(shape):
    """``n_s(x)`` for every input column ``x``: kernel columns mapping it into ``0 … Wo−1``."""
    n = np.zeros(shape.w, dtype=np.int64)
    for x in range(shape.w):
        for s in range(shape.s):
            t = x + shape.pad - s
            if t >= 0 and t % shape.stride == 0 and t // shape.stride < shape.wo:
                n[x] += 1
    return n


def band_compute_cycles(shape, store, band_rows, band):
    """Compute cycles of band ``band`` (the same for every chunk): setup, pairs, taps, drain.

    Returns ``(cycles, taps)``: cycles of the unit before post-processing, and ALU cycles (taps).
    """
    oy0 = band * band_rows
    oy1 = min(shape.ho, oy0 + band_rows)
    lo, hi = _window(shape, oy0, oy1)
    ns = col_taps(shape)
    cycles, taps = SETUP_CYCLES + DRAIN_CYCLES, 0
    for iy in range(lo, hi + 1):
        nr = len(row_taps(shape, iy, oy0, oy1))
        for q in range(store.segments):
            cycles += PAIR_CYCLES
            if nr == 0 or store.count[iy, q] == 0:
                continue
            x, _, _ = store.row(iy, q)
            t = nr * ns[x]
            cycles += int(np.maximum(t, 1).sum())
            taps += int(t.sum())
    return cycles, taps


def pp_cycles(shape, band_rows, band, steps=1):
    """Post-processor cycles of a band: ``steps`` (``D / requant_lanes``) per read, and
    ``PP_LATENCY``."""
    oy0 = band * band_rows
    rows = min(shape.ho, oy0 + band_rows) - oy0
    reads = 4 * (rows // 2) * (shape.wo // 2) if shape.pool else rows * shape.wo
    return reads * steps + PP_LATENCY if reads else 2


def unit_cycles(shape, store, band_rows, band, steps=1):
    """Cycles ``U`` of a unit of band ``band`` (any chunk)."""
    return (band_compute_cycles(shape, store, band_rows, band)[0] +
            pp_cycles(shape, band_rows, band, steps))


def scheduler(unit_costs, pes, nchunks):
    """Replay the global scheduler. ``unit_costs[b]`` is the cost of band ``b`` (any chunk).

    Returns ``(cycles, grants, busy)``: the layer's cycles, the grants as
    ``(cycle, pe, band, chunk)`` in order, and each PE's busy cycles.
    """
    if nchunks > pes:
        raise ValueError(f"A layer of {nchunks} chunks needs at least {nchunks} PEs, "
                         f"not {pes}")
    nbands = len(unit_costs)
    free = [0] * pes
    busy = [0] * pes
    next_band = [0] * nchunks
    grants = []
    t = 0
    while True:
        live = [p for p in range(pes) if next_band[p % nchunks] < nbands]
        if not live:
            break
        ready = [p for p in live if free[p] <= t]
        if not ready:
            t = min(free[p] for p in live)
            continue
        p = ready[0]
        j = p % nchunks
        b = next_band[j]
        next_band[j] += 1
        grants.append((t, p, b, j))
        free[p] = t + unit_costs[b] + 1
        busy[p] += unit_costs[b]
        t += 1
    end = max(free) if grants else 0
    return end + 1, grants, busy


def useful_macs(act, weights, shape):
    """Products with both operands non-zero over the layer (the work the paper counts).

    Per tap ``(c, r, s)``: the non-zero weights there (over K) times the non-zero activations the
    tap meets over the output (the strided window of channel ``c`` shifted by ``(r, s)``), which
    is the count of the convolution of the two non-zero masks without its cost.
    """
    nz_a = np.pad((np.asarray(act) != 0).astype(np.int64),
                  ((0, 0), (shape.pad, shape.pad), (shape.pad, shape.pad)))
    nz_w = np.count_nonzero(np.asarray(weights), axis=0)          # C×R×S
    st, ho, wo = shape.stride, shape.ho, shape.wo
    total = 0
    for r in range(shape.r):
        for s in range(shape.s):
            met = nz_a[:, r:r + st * (ho - 1) + 1:st, s:s + st * (wo - 1) + 1:st].sum(axis=(1, 2))
            total += int(np.dot(nz_w[:, r, s].astype(np.int64), met))
    return total


@dataclass
class LayerCycles:
    """What :func:`layer_cycles` predicts for one layer."""

    cycles: int
    ideal_cycles: int
    useful_macs: int
    alu_cycles: int
    alu_utilization: float
    utilization: float
    work_units: int
    pe_idle_cycles: int
    grants: list
    dense_cycles: int | None = None


def layer_cycles(cfg, shape, act, weights, *, dense=True):
    """Cycles of ``act`` (C×H×W) by ``weights`` (K×C×R×S, meeting ``cfg.k / cfg.m``) on ``cfg``.

    ``dense`` also computes ``dense_cycles``: the same layer on the same array run densely (k = m,
    so each PE's ALUs hold ``alus`` output channels, and every activation, zero or not, is an
    entry), the dense output-stationary baseline.
    """
    store = km_format.compress_acts(act, cfg.chunk)
    steps = cfg.chunk // cfg.requant_lanes
    cycles, grants, busy, taps = _run(shape, store, cfg.chunk, cfg.band_rows, cfg.pes, steps)
    useful = useful_macs(act, weights, shape)
    alus = cfg.pes * cfg.alus_per_pe
    result = LayerCycles(
        cycles=cycles, ideal_cycles=-(-useful // alus), useful_macs=useful,
        alu_cycles=taps * cfg.alus_per_pe, alu_utilization=useful / (alus * cycles),
        utilization=taps * cfg.alus_per_pe / (alus * cycles), work_units=len(grants),
        pe_idle_cycles=cfg.pes * cycles - sum(busy), grants=grants)
    if dense:
        # Every position an entry: a store of an all-non-zero plane has the same list shapes.
        dense_store = km_format.compress_acts(np.ones_like(np.asarray(act)), cfg.alus_per_pe)
        # The dense array's chunk is ``alus`` channels, requantized in as many steps of
        # ``requant_lanes`` (at least one).
        dense_steps = max(1, -(-cfg.alus_per_pe // cfg.requant_lanes))
        result.dense_cycles = _run(shape, dense_store, cfg.alus_per_pe, cfg.band_rows,
                                   cfg.pes, dense_steps)[0]
    return result


def _run(shape, store, chunk, band_rows, pes, steps):
    """Replay a layer. More chunks than PEs (only the dense baseline's wider arrays need it) run
    in passes of ``pes`` chunks, one after the other, weights reloaded between passes (not
    counted)."""
    nbands = -(-shape.ho // band_rows)
    nchunks = -(-shape.k // chunk)
    costs, taps_per_band = [], []
    for b in range(nbands):
        compute, taps = band_compute_cycles(shape, store, band_rows, b)
        costs.append(compute + pp_cycles(shape, band_rows, b, steps))
        taps_per_band.append(taps)
    total, grants, busy = 0, [], [0] * pes
    for first in range(0, nchunks, pes):
        n = min(pes, nchunks - first)
        cyc, g, b = scheduler(costs, pes, n)
        grants += [(t + total, p, band, j + first) for t, p, band, j in g]
        busy = [x + y for x, y in zip(busy, b)]
        total += cyc
    return total, grants, busy, sum(taps_per_band) * nchunks
