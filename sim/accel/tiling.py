"""Time tiling of a layer larger than the accelerator's SRAMs (STA paper, Sec. IV: the MCU moves
such layers through the SRAMs by DMA): its tiles, their jobs and the data they move.

A layer whose input map, output map or weights do not fit (:func:`~.plan.plan_layer` with
``check_sram``) runs as a sequence of **time tiles**, each an ordinary job of the same design
(an RTL-runnable :class:`~.plan.LayerPlan`), on one piece of the layer:

* **Output-channel groups**: ``ng`` groups of whole column tiles (``N·C`` output channels; the
  last group takes what is left of K), balanced (sizes differ by at most one column tile,
  larger groups first). A group's job has only its channels' weights.
* **Output-row bands**: ``nb`` bands of consecutive output rows, balanced (heights differ by at
  most one, taller bands first). A band's job reads its input rows with their halo (the
  ``(rows − 1)·stride + R`` rows of the zero-padded input its outputs need), loaded by the host
  with the zero padding written out (``W + 2·pad`` wide, the job's ``pad`` 0): the RTL pads
  every side of a job alike, and a middle band has no top or bottom padding. With ``nb = 1`` the
  whole input map is the job's, with its own padding.
* **Input-channel splits are refused**: a job writes its results (the output stage never adds to
  a word already in SRAM), so a reduction cannot be split across jobs. A layer whose tiles of
  one output row by one column tile still do not fit raises :class:`~.plan.PlanError` saying so.

Every tile must fit: its input in an activation half, its output (INT8 or INT32) in the other half,
its weights in the weight SRAM (a job whose weights need more than a half uses both). Tiles run in
one of two **orders**: ``"bands"`` (for each band, every group) or ``"groups"`` (for each group,
every band); with one band or one group the two are the same and ``"bands"`` is reported.

**Data moved** (``reload_bytes``), as the host does it: before a tile, its input band is loaded
unless the previous tile had the same band (with ``nb = 1`` the input map is resident, where the
previous layer left it, as an untiled layer's is), and its group's weights are loaded unless the
previous tile had the same group; the first tile's weights are loaded before the layer starts, into
the other weight half during the previous layer, as an untiled layer's are, and are not counted —
unless they need more than a half: they then use both halves, which the previous layer's job leaves
free only when it ends, so they are counted, for an untiled layer too (a layer that fits the SRAMs
only with its weights in both halves is also a candidate of one tile beside its tilings, whose
groups may each fit a half). **Outputs in place** (``in_place``): when the whole layer's output map
fits an activation half, every tile writes its rows and channels into that map where they belong
(the descriptor's ``ofm_k``, ``ofm_k0`` and ``ofm_pixel0``), so nothing is read back and the map is
left on chip for the next layer, as an untiled layer's is. Otherwise each tile's output is read
back to off-chip memory after its job (the host assembles the layer's output map: a tile's job then
writes a map of its rows and channels only, and the next tiles overwrite it); loading that map for
the next layer is the next layer's input and is not counted, as no layer's input load is. An
untiled layer moves nothing, unless its weights need both halves (above).

**Cycles** (:func:`~.cycles.tiled_layer_cycles`): the tiles' jobs back to back plus the cycles of
the moves at ``dma_bytes`` bytes a cycle (one DMA channel; a transfer of ``n`` words of ``b`` bytes
takes ``max(n, ⌈n·b/dma_bytes⌉)`` cycles, the streams taking one word a cycle). Weight loads
overlap the previous tile's job (the weight SRAM's two halves double-buffer: the loader writes one
half while the job reads the other), so a tile's weight load costs only what the previous job does
not hide, unless either job's weights need both halves (then nothing overlaps); activation loads
and readbacks do not overlap a job (a tile's input and output each take their half as the plan
places them, and the output is whole only when its job ends). The default DMA rate is
:data:`DMA_BYTES`, 8 bytes a cycle (a 64-bit AXI master).

**The choice**: the candidates are every ``(nb, ng, order)`` whose tiles fit, where ``nb`` and
``ng`` are the fewest balanced pieces for some largest piece (:func:`fewest_pieces`: ``⌈Ho/m⌉``
bands for each largest band height ``m``, ``⌈col tiles/m⌉`` groups for each largest group size;
more pieces of the same largest size only add jobs). The plan takes the one with the fewest
total cycles (jobs plus exposed moves), ties to fewer tiles, then fewer bytes moved, then bands
outer. The search visits candidates in order of a lower bound on their cycles (each job's start
and end latencies, first window and output tiles at the ideal steps, plus the activation moves,
exact; weights 0) and stops once the bound exceeds the best cycles found, so it returns the
minimum over every candidate (``tests/accel/test_tiling.py`` enumerates them).
"""

from dataclasses import dataclass, replace

import numpy as np

from ..sta.cycles import sta_ideal_cycles
from . import cycles as accel_cycles
from .plan import LayerPlan, PlanError, act_word_bytes, plan_layer, weight_word_bytes

__all__ = ["TimeTile", "TiledLayer", "tile_layer", "DMA_BYTES", "split", "fewest_pieces",
           "tile_operands", "assemble_output"]

ORDERS = ("bands", "groups")
#: The default DMA rate, bytes a cycle: a 64-bit AXI master, the width of the shipped VDBB
#: designs' ``s_axis_act`` port (one activation word of B = 8 INT8 channels a cycle).
DMA_BYTES = 8


def split(total, parts):
    """``parts`` balanced pieces of ``total``: ``[(start, size)]``, larger pieces first."""
    q, extra = divmod(total, parts)
    pieces, start = [], 0
    for i in range(parts):
        size = q + (1 if i < extra else 0)
        pieces.append((start, size))
        start += size
    return pieces


@dataclass(frozen=True)
class TimeTile:
    """One job of a tiled layer and the moves around it.

    ``oy``/``rows``: its output rows; ``k0``/``plan.k``: its output channels; ``in_rows``: the
    rows of the zero-padded input map it reads (``None``: the whole input map with its padding);
    ``act_words``/``weight_words``: words loaded before it (0: resident); ``out_words``: words
    read back after it (0: left on chip, as an untiled layer's or an ``in_place`` layer's).
    """

    plan: LayerPlan
    oy: int
    rows: int
    k0: int
    in_rows: tuple
    act_words: int
    weight_words: int
    out_words: int


@dataclass(frozen=True)
class TiledLayer:
    """A layer as time tiles (see the module docstring); one tile when it fits the SRAMs."""

    plan: LayerPlan         # the whole layer (its figures: MACs, weights, output size)
    tiles: tuple
    bands: int
    groups: int
    order: str
    dma_bytes: int
    int8_out: bool
    fits_sram: bool         # the layer fits the SRAMs without tiling
    in_place: bool = False  # the tiles write into the whole output map, nothing read back

    @property
    def time_tiles(self):
        return len(self.tiles)

    @property
    def reload_bytes(self):
        cfg = self.plan.cfg
        act, wb = act_word_bytes(cfg), weight_word_bytes(cfg)
        return sum((t.act_words + t.out_words) * act + t.weight_words * wb for t in self.tiles)

    @property
    def cycles(self):
        jobs, moves = accel_cycles.tiled_layer_cycles(self)
        return jobs + moves

    @property
    def reload_cycles(self):
        return accel_cycles.tiled_layer_cycles(self)[1]

    def summary(self):
        """The report fields: ``time_tiles``, ``tiling``, ``reload_bytes``, ``reload_cycles``,
        ``job_cycles`` (the jobs alone), ``dma_bytes_per_cycle`` and ``fits_sram``."""
        jobs, moves = accel_cycles.tiled_layer_cycles(self)
        return {"time_tiles": self.time_tiles,
                "tiling": {"bands": self.bands, "channel_groups": self.groups,
                           "order": self.order, "outputs_in_place": self.in_place},
                "reload_bytes": self.reload_bytes, "reload_cycles": moves, "job_cycles": jobs,
                "dma_bytes_per_cycle": self.dma_bytes, "fits_sram": self.fits_sram}


class _Search:
    """Candidate tilings of one layer, their jobs planned once per shape."""

    def __init__(self, whole, int8_out, dma_bytes, fits):
        self.whole, self.int8_out, self.dma, self.fits = whole, int8_out, dma_bytes, fits
        self.cfg = whole.cfg
        self.in_place = whole.ofm_bank_rows(int8=int8_out) <= self.cfg.act_bank_depth
        self._bands = {}
        self._jobs = {}
        self._shapes = {}
        self._cycles = {}

    def band(self, rows):
        """The plan of a band of ``rows`` output rows (None: the whole input map, its own
        padding) with the layer's K, or None if it cannot run. The mapping and patch do not
        depend on K, so a group's job is this plan with its K."""
        if rows not in self._bands:
            p = self.whole
            if rows is None:
                args = (p.h, p.w, p.c, p.k, p.r, p.s, p.stride, p.pad)
            else:
                args = ((rows - 1) * p.stride + p.r, p.w + 2 * p.pad, p.c, p.k, p.r, p.s,
                        p.stride, 0)
            try:
                self._bands[rows] = plan_layer(self.cfg, *args, p.nnz, check_sram=False)
            except PlanError:
                self._bands[rows] = None
        return self._bands[rows]

    def job(self, rows, kj):
        """The job of a band (``rows``, None: whole map) and ``kj`` output channels, or None."""
        key = (rows, kj)
        if key not in self._jobs:
            band = self.band(rows)
            self._jobs[key] = None if band is None else replace(band, k=kj)
        return self._jobs[key]

    def cycles_of(self, plan):
        """:func:`~.cycles.layer_cycles` of a job, once per job (jobs are cached by shape)."""
        key = id(plan)
        if key not in self._cycles:
            self._cycles[key] = accel_cycles.layer_cycles(plan)
        return self._cycles[key]

    def shape(self, rows, kj):
        """``(job, act_words, weight_words, out_words)`` of a band and group, or None if the
        job cannot run or its input, output or weights do not fit a half (its output: the whole
        map, in place, or its own, read back)."""
        key = (rows, kj)
        if key not in self._shapes:
            job, depth = self.job(rows, kj), self.cfg.act_bank_depth
            if (job is None or job.ifm_bank_rows > depth or
                    job.ofm_bank_rows(int8=self.int8_out) > depth or
                    job.weight_word_count > 2 * self.cfg.weight_half_words):
                self._shapes[key] = None
            else:
                out = 0 if self.in_place else \
                    job.ho * job.wo * job.cb_out * (1 if self.int8_out else 4)
                self._shapes[key] = (job, job.h * job.w * job.cb_in, job.weight_word_count,
                                     out)
        return self._shapes[key]

    def pieces(self, nb, ng):
        """``(bands, groups)``: ``[(oy, rows)]`` and ``[(k0, kj)]`` of a candidate."""
        p, tc = self.whole, self.cfg.array.tile_cols
        return (split(p.ho, nb),
                [(t0 * tc, min(nt * tc, p.k - t0 * tc)) for t0, nt in split(p.col_tiles, ng)])

    def build(self, nb, ng, order):
        """The :class:`TiledLayer` of a candidate, or None if a tile does not fit."""
        p = self.whole
        bands, groups = self.pieces(nb, ng)
        shapes = {(rows, kj): self.shape(None if nb == 1 else rows, kj)
                  for _, rows in bands for _, kj in groups}
        if None in shapes.values():
            return None
        cells = ([(b, g) for b in bands for g in groups] if order == "bands" else
                 [(b, g) for g in groups for b in bands])
        tiles, prev = [], (None, None)
        half = self.cfg.weight_half_words
        for (oy, rows), (k0, kj) in cells:
            job, act, weights, out = shapes[rows, kj]
            in_rows = None if nb == 1 else (oy * p.stride, oy * p.stride + job.h)
            act = act if nb > 1 and (oy, rows) != prev[0] else 0
            if not tiles:       # loaded during the previous layer, unless it needs both halves
                weights = weights if weights > half else 0
            elif (k0, kj) == prev[1]:
                weights = 0
            tiles.append(TimeTile(job, oy, rows, k0, in_rows, act, weights, out))
            prev = ((oy, rows), (k0, kj))
        return TiledLayer(p, tuple(tiles), nb, ng, order if nb > 1 and ng > 1 else "bands",
                          self.dma, self.int8_out, self.fits, self.in_place)

    def lower_bound(self, nb, ng, order):
        """A bound on a candidate's cycles at most its exact ones, or None if a tile does not
        fit: each job's fixed latencies, first window and output tiles at the ideal steps
        (:func:`~sparseforge.sim.sta.cycles.sta_ideal_cycles`, which no job beats), plus the
        activation moves (exact); weight loads count 0."""
        p, cfg = self.whole, self.cfg
        per_tile = sta_ideal_cycles(cfg.array, 1, p.gemm_k, p.nnz)
        fixed = accel_cycles.START_LATENCY + accel_cycles.END_LATENCY
        act, dma = act_word_bytes(cfg), self.dma
        bands, groups = self.pieces(nb, ng)
        bound = 0
        for rows, count in _counts(rows for _, rows in bands):
            band = self.band(None if nb == 1 else rows)
            if band is None:
                return None
            window = band.window[0] if band.uses_im2col else 0
            if nb > 1:
                words = band.h * band.w * band.cb_in
                bound += count * (ng if order == "groups" else 1) * accel_cycles.dma_cycles(
                    words, act, dma)
            for kj, n in _counts(kj for _, kj in groups):
                shape = self.shape(None if nb == 1 else rows, kj)
                if shape is None:
                    return None
                job, _, _, out = shape
                bound += count * n * (fixed + window + job.tiles * per_tile +
                                      accel_cycles.dma_cycles(out, act, dma))
        return bound


def fewest_pieces(total):
    """The piece counts worth trying for ``total`` units: for each largest piece size ``m``, the
    fewest pieces of at most ``m`` units, ``⌈total/m⌉`` (more pieces of the same largest size
    only add jobs)."""
    return sorted({-(-total // m) for m in range(1, total + 1)})


def _counts(values):
    """``[(value, how many)]`` of an iterable, in first-seen order."""
    counts = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return list(counts.items())


def tile_layer(cfg, h, w, c, k, r, s, stride=1, pad=0, nnz=None, *, int8_out=False,
               dma_bytes=None, tiling=None):
    """The layer as time tiles on ``cfg`` (see the module docstring): a :class:`TiledLayer` of
    one tile (the plan :func:`~.plan.plan_layer` chooses) when it fits the SRAMs, else the tiling
    with the fewest cycles.

    ``dma_bytes``: the DMA rate in bytes a cycle (default :data:`DMA_BYTES`). ``tiling``:
    ``(bands, groups, order)`` to take that tiling instead of choosing (a layer that fits may
    be tiled too; ``(1, 1, "bands")`` is the untiled layer).

    Raises
    ------
    PlanError
        What :func:`~.plan.plan_layer` refuses besides SRAM sizes, a ``dma_bytes`` below 1, or a
        layer whose smallest tiles (one output row, one column tile) still do not fit, since
        splitting its reduction would need partial sums across jobs.
    """
    dma = DMA_BYTES if dma_bytes is None else dma_bytes
    if type(dma) is not int or dma < 1:
        raise PlanError(f"dma_bytes = {dma_bytes!r} is not allowed; expected an integer >= 1 "
                        "(bytes a cycle)")
    whole = plan_layer(cfg, h, w, c, k, r, s, stride, pad, nnz, check_sram=False)
    try:
        plan_layer(cfg, h, w, c, k, r, s, stride, pad, nnz, int8_out=int8_out)
        fits = True
    except PlanError:
        if tiling is not None and tuple(tiling[:2]) == (1, 1):
            raise
        fits = False
    spans = whole.weight_word_count > cfg.weight_half_words
    if fits and not spans and (tiling is None or tuple(tiling[:2]) == (1, 1)):
        out = TimeTile(whole, 0, whole.ho, 0, None, 0, 0, 0)
        return TiledLayer(whole, (out,), 1, 1, "bands", dma, int8_out, True)
    search = _Search(whole, int8_out, dma, fits)
    if tiling is not None:
        nb, ng, order = tiling
        if not (1 <= nb <= whole.ho and 1 <= ng <= whole.col_tiles and order in ORDERS):
            raise PlanError(f"tiling = {tiling!r} is not allowed; expected (bands 1 to "
                            f"{whole.ho}, channel groups 1 to {whole.col_tiles}, "
                            f"'bands' or 'groups')")
        tiled = search.build(nb, ng, order)
        if tiled is None:
            raise PlanError(f"tiling = {tiling!r}: a tile does not fit the SRAMs")
        return tiled
    candidates = []
    for nb in fewest_pieces(whole.ho):
        for ng in fewest_pieces(whole.col_tiles):
            if nb == ng == 1 and not fits:
                continue
            for order in (ORDERS if nb > 1 and ng > 1 else ORDERS[:1]):
                bound = search.lower_bound(nb, ng, order)
                if bound is not None:
                    candidates.append((bound, nb, ng, order))
    candidates.sort()
    best = None
    for bound, nb, ng, order in candidates:
        if best is not None and bound > best[0][0]:
            break
        tiled = search.build(nb, ng, order)
        jobs, moves = accel_cycles.tiled_layer_cycles(tiled, search.cycles_of)
        key = (jobs + moves, tiled.time_tiles, tiled.reload_bytes, ORDERS.index(tiled.order))
        if best is None or key < best[0]:
            best = (key, tiled)
    if best is None:
        raise PlanError(_refusal(search, int8_out))
    return best[1]


def tile_operands(tiled, x, w):
    """The operands the host loads for each tile: ``[(x_tile, w_tile)]``, a C×h×w input (the
    band's rows of the zero-padded map, or the whole map for one band) and its group's weights
    (K×C×R×S rows ``k0 … k0 + kj − 1``)."""
    p = tiled.plan
    x = np.asarray(x)
    padded = np.zeros((p.c, p.h + 2 * p.pad, p.w + 2 * p.pad), dtype=x.dtype)
    padded[:, p.pad:p.pad + p.h, p.pad:p.pad + p.w] = x
    out = []
    for tile in tiled.tiles:
        xt = x if tile.in_rows is None else padded[:, tile.in_rows[0]:tile.in_rows[1]]
        out.append((xt, np.asarray(w)[tile.k0:tile.k0 + tile.plan.k]))
    return out


def assemble_output(tiled, outputs):
    """The layer's K×Ho×Wo output map from its tiles' output maps (in tile order)."""
    p = tiled.plan
    first = np.asarray(outputs[0])
    y = np.zeros((p.k, p.ho, p.wo), dtype=first.dtype)
    for tile, part in zip(tiled.tiles, outputs, strict=True):
        y[tile.k0:tile.k0 + tile.plan.k, tile.oy:tile.oy + tile.rows] = part
    return y


def _refusal(search, int8_out):
    """Why a layer's smallest tiles (one output row by one column tile) do not fit."""
    p, cfg = search.whole, search.cfg
    job = search.job(1 if p.ho > 1 else None, min(cfg.array.tile_cols, p.k))
    depth = cfg.act_bank_depth
    if job is None:
        return (f"the layer ({p.h}x{p.w}x{p.c} -> {p.k}) does not fit the SRAMs and its "
                "one-row tiles cannot run")
    need = []
    if job.ifm_bank_rows > depth:
        need.append(f"its input rows need {job.ifm_bank_rows} rows per bank")
    if job.ofm_bank_rows(int8=int8_out) > depth:
        need.append(f"its output row needs {job.ofm_bank_rows(int8=int8_out)} rows per bank")
    if need:
        need[-1] += f" (an activation SRAM half has {depth})"
    if job.weight_word_count > 2 * cfg.weight_half_words:
        need.append(f"one column tile's weights need {job.weight_word_count} words (the weight "
                    f"SRAM holds {2 * cfg.weight_half_words})")
    return (f"the layer ({p.h}x{p.w}x{p.c} -> {p.k}, {p.r}x{p.s}) does not fit the SRAMs even "
            f"as time tiles of one output row by one column tile: {'; '.join(need)}; time tiles "
            "split output rows and output channels only, since splitting the reduction over "
            "R·S·C across jobs needs partial sums the RTL cannot accumulate (the output stage "
            "writes results, never adds to them), and column pieces of a row are not built")
