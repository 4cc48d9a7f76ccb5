"""How the VDBB accelerator runs a convolution layer: the plan, the SRAM layouts and the counts.

A layer (input H×W×C, K output channels, R×S kernel, stride 1 or 2, zero padding ``pad``) runs as
one GEMM job on the STA engine: output tiles of ``tile_rows`` output pixels — a ``ph × pw`` patch
of the output map — by ``tile_cols`` output channels, column tiles outer, patches row-major inner.
With the **raster mapping** (``raster`` in the plan, through the direct reader) a tile's pixels are
instead ``tile_rows`` consecutive pixels of the output map in raster order (``p = oy·Wo + ox``,
crossing row boundaries), so small maps and 1×1 layers leave fewer pixel slots empty.
The reduction runs over ``(cb, r, s, e)``, channel block ``cb`` slowest and the B channels ``e`` of
a block fastest, so a DBB block never spans two kernel positions (STA paper, Sec. II-A).

SRAM layouts (one definition, used by the loaders, the tests and the CLI):

* Activation SRAM: two halves of ``act_banks`` banks, one word per pixel per channel block (B
  INT8 channels, channel ``cb·B + e`` in byte ``e``). Word ``(p, cb)`` of a feature map with
  ``CB`` blocks per pixel (``p = y·W + x``) lives in bank ``(p + cb) mod banks`` at row
  ``base + (p div banks)·CB + cb``. Consecutive pixels of one block, and consecutive blocks of one
  pixel, are in distinct banks, so the IM2COL unit reads a window row and the output stage writes
  a result row in one cycle each.
* INT32 output maps use the same layout with ``4·CB`` words per pixel: the pixel's 32-bit
  values, channel by channel, little-endian, cut into words of B bytes (word ``4·cb + t`` holds
  channels ``cb·B + t·B/4 … + B/4 − 1`` when B ≥ 4; with B = 1 it holds byte ``t`` of channel
  ``cb``).
* Weight SRAM: two halves of weight words; a word is one word of the engine's weight stream
  (:func:`sparseforge.hdl.sta.layouts.weight_word_layout`): a step's values for the dense kinds,
  compressed DBB blocks for the sparse ones (per column each block's mask once, then its NNZ
  values: 8·NNZ + 8 bits a block for INT8 weights in blocks of 8, the paper's Fig. 2). A layer's
  words are its column tiles in order, each starting a new word, from ``base``.
"""

from dataclasses import dataclass

import numpy as np

from ..conv import output_size
from ..sta import cycles as sta_cycles
from ..sta import dbb
from ..sta import streams as sta_streams
from ..sta.streams import words_per_tile

__all__ = ["LayerPlan", "plan_layer", "choose_patch", "raster_fits", "PlanError", "pack_act_words",
           "unpack_out_words", "weight_words", "act_sram_reads", "act_sram_reads_no_im2col",
           "gemm_view", "window_taps", "prune_conv_weights", "act_word_bytes",
           "weight_word_bytes"]

MAX_PAD = 7
MAX_KERNEL = 15
#: Output tiles of a layer under the raster mapping at most (the tile counters' 12 bits).
MAX_RASTER_TILES = 4095


class PlanError(ValueError):
    """A layer the accelerator cannot run; the message names the field, value and limit."""


def _patches(rows):
    """Output patches of ``rows`` pixels the IM2COL unit supports: flat or square (ph ≤ pw)."""
    return [(ph, rows // ph) for ph in range(1, rows + 1) if rows % ph == 0 and ph * ph <= rows]


@dataclass(frozen=True)
class LayerPlan:
    """A convolution layer mapped onto an accelerator config (see the module docstring)."""

    cfg: object
    h: int
    w: int
    c: int
    k: int
    r: int
    s: int
    stride: int
    pad: int
    nnz: int
    ph: int
    pw: int
    direct: bool = False
    raster: bool = False

    @property
    def array(self):
        return self.cfg.array

    @property
    def uses_im2col(self):
        """The layer's activations go through the IM2COL unit (an IM2COL design, not a layer
        sent to its direct reader)."""
        return self.cfg.im2col and not self.direct and not self.raster

    @property
    def reader(self):
        """``"im2col"`` or ``"direct"``: the activation reader the layer runs through."""
        return "im2col" if self.uses_im2col else "direct"

    @property
    def mapping(self):
        """``"raster"`` (consecutive output pixels in raster order) or ``"patch"`` (a
        ``ph × pw`` piece of the output map)."""
        return "raster" if self.raster else "patch"

    @property
    def ho(self):
        return output_size(self.h, self.w, self.r, self.s, self.stride, self.pad)[0]

    @property
    def wo(self):
        return output_size(self.h, self.w, self.r, self.s, self.stride, self.pad)[1]

    @property
    def cb_in(self):
        return -(-self.c // self.cfg.block)

    @property
    def cb_out(self):
        return -(-self.k // self.cfg.block)

    @property
    def tiles_y(self):
        return 1 if self.raster else -(-self.ho // self.ph)

    @property
    def tiles_x(self):
        """Patches per patch row; with the raster mapping, every output tile (``tiles_y`` is 1)."""
        if self.raster:
            return -(-(self.ho * self.wo) // self.array.tile_rows)
        return -(-self.wo // self.pw)

    @property
    def row_tiles(self):
        return self.tiles_y * self.tiles_x

    @property
    def col_tiles(self):
        return -(-self.k // self.array.tile_cols)

    @property
    def tiles(self):
        """Output tiles of the engine job."""
        return self.row_tiles * self.col_tiles

    @property
    def gemm_k(self):
        """The job's reduction length: R·S·CB·B."""
        return self.r * self.s * self.cb_in * self.cfg.block

    @property
    def steps_per_block(self):
        return self.array.steps_per_block(self.nnz)

    @property
    def tile_slots(self):
        """Weight slots of one column tile: per block NNZ + ``mask_slots`` (sparse kinds) or one
        step."""
        blocks = self.r * self.s * self.cb_in
        return blocks * (self.nnz + self.array.mask_slots) if self.array.sparse else blocks

    @property
    def tile_words(self):
        """Weight words of one column tile (:func:`~sparseforge.sim.sta.streams.words_per_tile`)."""
        return words_per_tile(self.array, self.gemm_k, self.nnz)

    @property
    def window(self):
        """IM2COL window ``(rows, cols)`` in words."""
        return ((self.ph - 1) * self.stride + self.r, (self.pw - 1) * self.stride + self.s)

    @property
    def macs(self):
        """Useful multiply-accumulates of the layer."""
        return self.ho * self.wo * self.k * self.c * self.r * self.s

    def fm_bank_rows(self, pixels, blocks):
        """Bank rows a feature map of ``pixels`` pixels and ``blocks`` words per pixel needs."""
        return -(-pixels // self.cfg.act_banks) * blocks

    @property
    def ifm_bank_rows(self):
        return self.fm_bank_rows(self.h * self.w, self.cb_in)

    def ofm_bank_rows(self, int8=True):
        return self.fm_bank_rows(self.ho * self.wo, self.cb_out * (1 if int8 else 4))

    @property
    def weight_word_count(self):
        return self.col_tiles * self.tile_words

    @property
    def weight_bits(self):
        """Bits of the layer's weights in the weight SRAM (its words, whole)."""
        return self.weight_word_count * self.cfg.weight_word_bits

    @property
    def paper_weight_bits(self):
        """The paper's compressed size of the layer's weights (Fig. 2): per block of B channels
        of each (k, r, s), w·NNZ + B bits (8·NNZ + 8 for INT8 in blocks of 8) for the sparse
        kinds, B·w for the dense ones; no padding of K or of words."""
        array = self.array
        blocks = self.k * self.r * self.s * self.cb_in
        if not array.sparse:
            return blocks * array.block * array.weight_width
        return blocks * (array.weight_width * self.nnz + array.block)

    @property
    def useful_macs(self):
        """The layer's MACs at its density: dense MACs × min(NNZ, C)/min(B, C)."""
        return sta_cycles.useful_macs(self.macs, self.nnz, self.cfg.block, channels=self.c)


def choose_patch(cfg, r, s, stride, nnz):
    """The output patch ``(ph, pw)`` for a layer, or None if none fits.

    A patch is usable when its IM2COL window fits the window buffer and a window row fits the
    banks (one read cycle per row), and when filling a window (one cycle per row) takes no longer
    than the engine spends on it (R·S blocks of ``steps`` cycles) — so the IM2COL unit never makes
    the array wait. Among usable patches the one reading the fewest SRAM words per output pixel
    wins (the squarest window), ties to fewer rows. Without IM2COL the reader fetches one patch
    row per beat, so the patch is a single row of ``tile_rows`` pixels.
    """
    rows = cfg.array.tile_rows
    spb = cfg.array.steps_per_block(nnz)
    if not cfg.im2col:
        span = (rows - 1) * stride + 1
        return (1, rows) if span <= cfg.act_banks else None
    best = None
    for ph, pw in _patches(rows):
        wh, ww = (ph - 1) * stride + r, (pw - 1) * stride + s
        if wh > cfg.window_rows or ww > cfg.window_cols or ww > cfg.act_banks:
            continue
        if wh > r * s * spb:
            continue
        cost = (wh * ww, ph)
        if best is None or cost < best[0]:
            best = (cost, (ph, pw))
    return None if best is None else best[1]


def raster_fits(cfg, h, w, r, s, stride, pad):
    """The raster mapping's reads fit the banks: for every output tile, the input pixels one beat
    reads (tap ``(r, s)`` of its ``tile_rows`` consecutive output pixels) lie within ``act_banks``
    consecutive pixels of the input map, so each is in its own bank and a bank is read at one
    row (the direct reader reads a beat in one cycle).

    Output pixel ``(oy, ox)`` reads input pixel ``st·(oy·W + ox) + const``; a tile whose pixels
    cross ``n`` output-row boundaries spans ``st·((tile_rows − 1) + n·(W − Wo)) + 1`` input
    pixels. Checked over the tiles' actual starting columns.
    """
    rows = cfg.array.tile_rows
    ho, wo = output_size(h, w, r, s, stride, pad)
    pixels = ho * wo
    gap = w - wo
    tiles = -(-pixels // rows)
    if gap < 0 or tiles > MAX_RASTER_TILES:       # lanes out of order, or too many tiles
        return False
    # Tile starts repeat with period wo / gcd(rows, wo) ≤ wo in their column.
    widest = 0
    for t in range(min(tiles, wo)):
        start = t * rows
        crossings = (start % wo + rows - 1) // wo
        widest = max(widest, crossings)
    return stride * ((rows - 1) + widest * gap) + 1 <= cfg.act_banks


def plan_layer(cfg, h, w, c, k, r, s, stride=1, pad=0, nnz=None, patch=None, check_sram=True,
               int8_out=False, direct=None, raster=None):
    """Validate a layer against a config and return its :class:`LayerPlan`.

    The output map must fit an activation SRAM half as INT32 accumulators, or as INT8 values
    with ``int8_out``; the input map the other half; the weights the weight SRAM (a layer whose
    weights need more than a half uses both, so the next layer's weights cannot load during it).

    On an IM2COL design a layer none of whose patches has a window that fits the IM2COL unit
    runs through the design's direct reader instead (``direct`` in the plan: a patch of one row
    of ``tile_rows`` pixels, every element read from SRAM); ``direct=True`` asks for it, and
    ``direct=False`` refuses such a layer. Designs without IM2COL always read directly.

    ``raster=True`` maps the output tiles in raster order through the direct reader (see the
    module docstring; :func:`raster_fits` must hold, and not on a Sparse-Blox design, whose
    pruner decides blocks of a patch); ``raster=None`` takes it when it needs fewer output tiles
    than the patch mapping (so fewer cycles: the engine's time per tile is the same, and the
    direct reader has no first window to fill), and with ``patch`` or ``direct`` given keeps
    the patch mapping; ``raster=False`` never takes it.

    ``check_sram=False`` plans a layer even if its maps or weights exceed the SRAMs (the whole
    layer of :func:`~sparseforge.sim.accel.tiling.tile_layer`, which runs it as time tiles).

    Raises
    ------
    PlanError
        A dimension out of range, a kernel that does not fit, a stride other than 1 or 2, an NNZ
        the array does not support, no usable IM2COL patch, or SRAMs too small (naming sizes).
    """
    array = cfg.array
    nnz = array.max_nnz if nnz is None else nnz
    for field, value, lo, hi in (("H", h, 1, 4095), ("W", w, 1, 4095), ("C", c, 1, 8191),
                                 ("K", k, 1, 8191), ("R", r, 1, MAX_KERNEL),
                                 ("S", s, 1, MAX_KERNEL), ("pad", pad, 0, MAX_PAD)):
        if not lo <= value <= hi:
            raise PlanError(f"{field} = {value} is not allowed; expected {lo} to {hi}")
    if stride not in (1, 2):
        raise PlanError(f"stride = {stride} is not allowed; expected 1 or 2")
    if not 1 <= nnz <= array.max_nnz:
        raise PlanError(f"nnz = {nnz} is not allowed; expected 1 to {array.max_nnz}")
    ho, wo = output_size(h, w, r, s, stride, pad)
    if ho < 1 or wo < 1:
        raise PlanError(f"a {r}x{s} kernel does not fit a {h}x{w} input with pad {pad}")
    span = (array.tile_rows - 1) * stride + 1
    if raster:
        if cfg.sparseblox is not None:
            raise PlanError("raster = True is not allowed on a Sparse-Blox design; expected "
                            "false (its pruner decides blocks of a patch)")
        if patch not in (None, (1, array.tile_rows)):
            raise PlanError(f"patch = {patch} is not allowed with raster; expected "
                            f"(1, {array.tile_rows})")
        if direct is False and cfg.im2col:
            raise PlanError("direct = False is not allowed with raster; expected true or none "
                            "(the raster mapping reads through the direct reader)")
        if not raster_fits(cfg, h, w, r, s, stride, pad):
            raise PlanError(f"raster = True is not allowed for a {h}x{w} input and a {ho}x{wo} "
                            f"output map: a tile of {array.tile_rows} consecutive output pixels "
                            f"must read input pixels less than {cfg.act_banks} apart (the banks "
                            f"read in one cycle), W >= Wo, and at most {MAX_RASTER_TILES} tiles; "
                            "expected false")
        plan = LayerPlan(cfg, h, w, c, k, r, s, stride, pad, nnz, 1, array.tile_rows,
                         direct=cfg.im2col, raster=True)
        return _check_plan(plan, check_sram, int8_out)
    if (raster is None and patch is None and direct is None and cfg.sparseblox is None and
            raster_fits(cfg, h, w, r, s, stride, pad)):
        try:
            patched = plan_layer(cfg, h, w, c, k, r, s, stride, pad, nnz, check_sram=False,
                                 raster=False)
        except PlanError:
            patched = None
        if patched is None or -(-(ho * wo) // array.tile_rows) < patched.row_tiles:
            return plan_layer(cfg, h, w, c, k, r, s, stride, pad, nnz, check_sram=check_sram,
                              int8_out=int8_out, raster=True)
    if direct and cfg.im2col:
        if patch not in (None, (1, array.tile_rows)):
            raise PlanError(f"patch = {patch} is not allowed for the direct reader; expected "
                            f"(1, {array.tile_rows})")
        patch = (1, array.tile_rows) if span <= cfg.act_banks else None
    elif patch is None and cfg.im2col:
        patch = choose_patch(cfg, r, s, stride, nnz)
        if patch is None and direct is None and span <= cfg.act_banks:
            patch, direct = (1, array.tile_rows), True
    elif patch is None:
        patch = choose_patch(cfg, r, s, stride, nnz)
    if patch is None:
        if cfg.im2col and not direct:
            raise PlanError(f"kernel {r}x{s} stride {stride}: no output patch of "
                            f"{array.tile_rows} pixels has an IM2COL window that fits the "
                            f"{cfg.window_rows}x{cfg.window_cols}-word buffer and "
                            f"{cfg.act_banks} banks")
        else:
            raise PlanError(f"stride {stride}: a row of {array.tile_rows} output pixels spans "
                            f"{(array.tile_rows - 1) * stride + 1} input pixels, more than the "
                            f"{cfg.act_banks} banks read in one cycle")
    elif patch not in _patches(array.tile_rows) or (not cfg.im2col and patch[0] != 1):
        raise PlanError(f"patch = {patch} is not allowed; expected one of "
                        f"{_patches(array.tile_rows) if cfg.im2col else [(1, array.tile_rows)]}")
    plan = LayerPlan(cfg, h, w, c, k, r, s, stride, pad, nnz, *patch,
                     direct=bool(direct) and cfg.im2col)
    return _check_plan(plan, check_sram, int8_out)


def _check_plan(plan, check_sram, int8_out):
    """The reduction and SRAM limits of :func:`plan_layer`; returns ``plan``."""
    cfg, h, w, c, k, r, s, nnz = (plan.cfg, plan.h, plan.w, plan.c, plan.k, plan.r, plan.s,
                                  plan.nnz)
    ho, wo = plan.ho, plan.wo
    if plan.gemm_k >= 1 << 20:
        raise PlanError(f"R·S·C = {r}·{s}·{c} is too long a reduction (limit 2**20)")
    if not check_sram:
        return plan
    depth = cfg.act_bank_depth
    if plan.ifm_bank_rows > depth:
        raise PlanError(f"the input map ({h}x{w}x{c}) needs {plan.ifm_bank_rows} rows per bank; "
                        f"an activation SRAM half has {depth} ({cfg.act_kb / 2:g} KB)")
    if plan.ofm_bank_rows(int8=int8_out) > depth:
        kind = "INT8" if int8_out else "INT32"
        raise PlanError(f"the {kind} output map ({ho}x{wo}x{k}) needs "
                        f"{plan.ofm_bank_rows(int8=int8_out)} rows per bank; an activation SRAM "
                        f"half has {depth} ({cfg.act_kb / 2:g} KB)")
    if plan.weight_word_count > 2 * cfg.weight_half_words:
        kb = plan.weight_word_count * cfg.weight_word_bits / 8 / 1024
        raise PlanError(f"the layer's weights need {plan.weight_word_count} words ({kb:.1f} KB "
                        f"at {nnz}/{cfg.block}); the weight SRAM holds "
                        f"{2 * cfg.weight_half_words} ({cfg.weight_kb:g} KB, both halves)")
    return plan


def act_word_bytes(cfg):
    """Bytes of an activation word on the streams (``tdata``: the word in whole bytes)."""
    return -(-cfg.word_bits // 8)


def weight_word_bytes(cfg):
    """Bytes of a weight word on ``s_axis_w`` (the word in whole bytes)."""
    return -(-cfg.weight_word_bits // 8)


# -- SRAM images -----------------------------------------------------------------------------

def pack_act_words(x, block):
    """Words of a C×H×W map in load order (pixel-major, channel block inner): int bytes."""
    x = np.asarray(x, dtype=np.int64)
    c, h, w = x.shape
    cb = -(-c // block)
    padded = np.zeros((cb * block, h, w), dtype=np.int64)
    padded[:c] = x
    # (h, w, cb, e) → words of `block` bytes, little-endian: channel e in byte e
    per_pixel = padded.reshape(cb, block, h, w).transpose(2, 3, 0, 1)
    raw = (per_pixel & 0xFF).astype(np.uint8).reshape(h * w * cb, block)
    return [int.from_bytes(row.tobytes(), "little") for row in raw]


def unpack_out_words(words, k, ho, wo, block, int8=True):
    """The K×Ho×Wo output map from the words read back (load order)."""
    cb = -(-k // block)
    per_pixel = cb * (1 if int8 else 4)
    if len(words) != ho * wo * per_pixel:
        raise ValueError(f"Expected {ho * wo * per_pixel} words, not {len(words)}")
    data = b"".join(int(word).to_bytes(block, "little") for word in words)
    if int8:
        values = np.frombuffer(data, dtype=np.int8).astype(np.int64)
    else:
        values = np.frombuffer(data, dtype="<i4").astype(np.int64)
    values = values.reshape(ho, wo, cb * block)[:, :, :k]
    return values.transpose(2, 0, 1)


def gemm_view(plan, x, weights):
    """The layer as the engine sees it: ``(act, w)`` with ``act @ w`` = the output tiles.

    ``act`` has one row per patch pixel (patches row-major, pixels of a patch row-major, pixels
    beyond the output map included as zero rows; with the raster mapping, the output pixels in
    raster order, the last tile padded with zero rows) and one column per ``(cb, r, s, e)``; ``w``
    has one column per output channel (K padded to whole column tiles).
    """
    cfg, bz = plan.cfg, plan.cfg.block
    x = np.asarray(x, dtype=np.int64)
    weights = np.asarray(weights, dtype=np.int64)
    cin = plan.cb_in * bz
    xp = np.zeros((cin, plan.h + 2 * plan.pad, plan.w + 2 * plan.pad), dtype=np.int64)
    xp[:plan.c, plan.pad:plan.pad + plan.h, plan.pad:plan.pad + plan.w] = x
    rows = plan.row_tiles * cfg.array.tile_rows
    act = np.zeros((rows, plan.cb_in, plan.r, plan.s, bz), dtype=np.int64)
    if plan.raster:
        pixels = [divmod(p, plan.wo) for p in range(plan.ho * plan.wo)]
    else:
        pixels = [(ty * plan.ph + py, tx * plan.pw + px)
                  for ty in range(plan.tiles_y) for tx in range(plan.tiles_x)
                  for py in range(plan.ph) for px in range(plan.pw)]
    for row, (oy, ox) in enumerate(pixels):
        if oy < plan.ho and ox < plan.wo:
            y0, x0 = oy * plan.stride, ox * plan.stride
            patch = xp[:, y0:y0 + plan.r, x0:x0 + plan.s]     # (cin, r, s)
            act[row] = patch.reshape(plan.cb_in, bz, plan.r, plan.s).transpose(0, 2, 3, 1)
    kpad = plan.col_tiles * cfg.array.tile_cols
    w = np.zeros((kpad, plan.cb_in, bz, plan.r, plan.s), dtype=np.int64)
    wfull = np.zeros((plan.k, cin, plan.r, plan.s), dtype=np.int64)
    wfull[:, :plan.c] = weights
    w[:plan.k] = wfull.reshape(plan.k, plan.cb_in, bz, plan.r, plan.s)
    w = w.transpose(1, 3, 4, 2, 0).reshape(-1, kpad)                   # (cb, r, s, e) × K
    return act.reshape(rows, -1), w


def weight_words(plan, weights, packer):
    """The layer's weight SRAM image: packed words, column tiles in order.

    ``packer`` is the weight-word packer of the engine (:class:`sparseforge.tb.packing.Packer`
    over ``weight_word_layout``); passing it in keeps this module free of Amaranth.
    """
    cfg = plan.cfg
    x_dummy = np.zeros((plan.c, plan.h, plan.w), dtype=np.int64)
    _, w = gemm_view(plan, x_dummy, weights)
    # One row tile of zero activations: the streams then hold each column tile's weights once.
    act = np.zeros((cfg.array.tile_rows, w.shape[0]), dtype=np.int64)
    streams = sta_streams.engine_streams(cfg.array, act, w, plan.nnz)
    return packer.pack_many(streams.weight_leaves())


# -- SRAM read counts ------------------------------------------------------------------------

def _in_range(start, count, limit):
    """How many of ``start … start+count−1`` lie in ``[0, limit)``."""
    return max(0, min(start + count, limit) - max(start, 0))


def window_taps(size, kernel, stride):
    """Window positions some kernel tap uses: ``j`` with ``j mod stride < kernel`` (all of them
    unless a 1-wide kernel strides by 2)."""
    return [j for j in range(size) if j % stride < kernel]


def act_sram_reads(plan):
    """Activation words the layer reads: with IM2COL, every in-image word of every window at a
    position some tap uses; without, every in-image element of the beats of real output pixels."""
    if not plan.uses_im2col:
        return act_sram_reads_no_im2col(plan)
    wh, ww = plan.window
    rows = window_taps(wh, plan.r, plan.stride)
    cols = window_taps(ww, plan.s, plan.stride)
    per_cb = 0
    for ty in range(plan.tiles_y):
        y0 = ty * plan.ph * plan.stride - plan.pad
        in_rows = sum(1 for i in rows if 0 <= y0 + i < plan.h)
        for tx in range(plan.tiles_x):
            x0 = tx * plan.pw * plan.stride - plan.pad
            per_cb += in_rows * sum(1 for j in cols if 0 <= x0 + j < plan.w)
    return per_cb * plan.cb_in * plan.col_tiles


def act_sram_reads_no_im2col(plan):
    """Reads if every IM2COL element of every real output pixel came from SRAM (zero padding is
    not read), for every column tile, as the accelerator re-streams activations per column tile."""
    count = 0
    for oy in range(plan.ho):
        rows = _in_range(oy * plan.stride - plan.pad, plan.r, plan.h)
        for ox in range(plan.wo):
            count += rows * _in_range(ox * plan.stride - plan.pad, plan.s, plan.w)
    return count * plan.cb_in * plan.col_tiles


def prune_conv_weights(weights, nnz, block):
    """DBB pruning of K×C×R×S weights along C, per (k, r, s) (the paper's depthwise blocking)."""
    return dbb.prune(weights, nnz, block, axis=1)
