# amaranth: UnusedElaboratable=no
"""The accelerator's activation readers and output stage under Amaranth's simulator.

Each unit runs alone between real SRAM banks (:class:`~sparseforge.hdl.accel.sram.SramBank`) and
a testbench, with the layer descriptor set from the NumPy plan (:mod:`sparseforge.sim.accel.plan`)
as the sequencer would derive it:

* the IM2COL magnifier (hdl/accel/im2col.py) and the direct reader (hdl/accel/direct_reader.py)
  read an input map stored by the documented SRAM layout and must emit exactly the engine's
  activation beats of :func:`~sparseforge.sim.accel.plan.gemm_view` (column tiles outer, patches,
  then blocks), under random back-pressure on their output, and count the SRAM reads of
  :func:`~sparseforge.sim.accel.plan.act_sram_reads` (and ``…_no_im2col``); the direct reader
  also with the raster mapping (tiles of consecutive output pixels across rows, strides 1 and 2);
* the output stage (hdl/accel/output_stage.py) takes random result rows in the engine's order,
  with idle cycles between them, and must write the output map the plan's layout describes — INT32
  accumulators or requantized INT8 (:func:`~sparseforge.sim.conv.requantize`) — and nothing else,
  with patches and with the raster mapping, one row a beat or two (``drain.rows: 2``, the second
  through the banks' second write port).
"""

import random

import numpy as np
import pytest
from amaranth import Elaboratable, Module
from amaranth.sim import Simulator
from sparseforge.gen.config import parse_config
from sparseforge.hdl.accel.direct_reader import DirectReader
from sparseforge.hdl.accel.im2col import Im2colMagnifier
from sparseforge.hdl.accel.output_stage import OutputStage
from sparseforge.hdl.accel.sram import SramBank
from sparseforge.hdl.sta.layouts import act_beat_layout, result_beat_layout
from sparseforge.sim.accel import plan as accel_plan
from sparseforge.sim.conv import requantize
from sparseforge.sim.gemm import wrap
from sparseforge.tb.packing import Packer


def _accel(im2col, array=None, sram=None):
    return parse_config({
        "arch": "accel", "name": "t", "im2col": im2col,
        "array": array or {"kind": "vdbb", "tpe": {"a": 2, "b": 4, "c": 2},
                           "array": {"m": 2, "n": 2}},
        "sram": sram or {"act_kb": 2, "act_banks": 8}})


# B = 4, 4-pixel tiles of 4 channels, 8 banks of 32 rows (1 KB of 32-bit words per half).
WITH_IM2COL = _accel(True)
WITHOUT_IM2COL = _accel(False)
# The same with 64 rows per bank, for the INT32 output maps.
STAGE_IM2COL = _accel(True, sram={"act_kb": 4, "act_banks": 8})
STAGE_DIRECT = _accel(False, sram={"act_kb": 4, "act_banks": 8})
# Two result rows a cycle (drain rows 2): the same array and SRAM, and 6-pixel tiles (M = 3).
_TWO = {"kind": "vdbb", "tpe": {"a": 2, "b": 4, "c": 2}, "array": {"m": 2, "n": 2},
        "drain": {"rows": 2}}
STAGE_TWO = _accel(True, array=_TWO, sram={"act_kb": 4, "act_banks": 8})
STAGE_TWO_DIRECT = _accel(False, array=_TWO, sram={"act_kb": 4, "act_banks": 8})
STAGE_TWO_SIX = _accel(True, array={**_TWO, "array": {"m": 3, "n": 2}},
                       sram={"act_kb": 8, "act_banks": 16})
# 32 banks: room for stride-2 raster tiles (a 4-pixel tile of a 3-wide map spans 19 pixels).
WIDE_DIRECT = _accel(False, sram={"act_kb": 8, "act_banks": 32})


class _Bank(SramBank):
    """An SramBank whose memory the testbench can read and preload."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        self.memory = m.submodules.mem
        return m


class _Harness(Elaboratable):
    """A unit wired to one activation SRAM half: its read ports or its write ports."""

    def __init__(self, cfg, unit, reads):
        self.unit = unit
        self.reads = reads
        self.two = not reads and cfg.array.drain_rows == 2
        self.banks = [_Bank(cfg.word_bits, cfg.act_bank_depth, 2 if self.two else 1)
                      for _ in range(cfg.act_banks)]

    def elaborate(self, platform):
        m = Module()
        m.submodules.unit = unit = self.unit
        for b, bank in enumerate(self.banks):
            m.submodules[f"bank{b}"] = bank
            if self.reads:
                m.d.comb += [bank.rd.addr.eq(unit.rd_addr[b]), bank.rd.en.eq(unit.rd_en[b]),
                             unit.rd_data[b].eq(bank.rd.data)]
            else:
                m.d.comb += [bank.wr.addr.eq(unit.wr_addr[b]), bank.wr.data.eq(unit.wr_data[b]),
                             bank.wr.en.eq(unit.wr_en[b])]
                if self.two:
                    m.d.comb += [bank.wr2.addr.eq(unit.wr2_addr[b]),
                                 bank.wr2.data.eq(unit.wr2_data[b]),
                                 bank.wr2.en.eq(unit.wr2_en[b])]
        return m


def descriptor(plan, *, ifm_base=0, ofm_base=0, int8_out=False, relu=False, shift=0,
               into=None):
    """The derived layer descriptor of ``plan``, field by field, as the sequencer computes it;
    ``into``: ``(channel blocks a pixel, first block, first pixel)`` of a larger output map the
    layer writes into (None: its own)."""
    ofm_cbs, ofm_cb0, ofm_pixel0 = into or (plan.cb_out, 0, 0)
    wh, ww = plan.window
    return {"h": plan.h, "w": plan.w, "ho": plan.ho, "wo": plan.wo, "cb_in": plan.cb_in,
            "cb_out": plan.cb_out, "r": plan.r, "s": plan.s, "stride2": int(plan.stride == 2),
            "pad": plan.pad, "ph": plan.ph, "pw": plan.pw, "wh": wh, "ww": ww,
            "tiles_y": plan.tiles_y, "tiles_x": plan.tiles_x, "col_tiles": plan.col_tiles,
            "hw": plan.ho * plan.wo, "raster": int(plan.raster),
            "nnz": plan.nnz, "tile_slots": plan.tile_slots, "ifm_base": ifm_base,
            "ofm_base": ofm_base, "w_base": 0, "int8_out": int(int8_out), "relu": int(relu),
            "shift": shift, "ofm_cbs": ofm_cbs, "ofm_cb0": ofm_cb0, "ofm_pixel0": ofm_pixel0}


def place(cfg, p, word, base, per_pixel):
    """(bank, row) of word ``word`` of pixel ``p``: the layout of sim/accel/plan.py."""
    banks = cfg.act_banks
    return (p + word) % banks, base + (p // banks) * per_pixel + word


# -- the activation readers ----------------------------------------------------------------------

# (h, w, c, k, r, s, stride, pad): odd sizes, C not a multiple of B, K over two column tiles.
# Each with back-pressure; the first also with an always-ready consumer.
READER_LAYERS = [
    ((5, 6, 6, 6, 3, 3, 1, 1), 0.0),
    ((3, 7, 10, 4, 1, 1, 1, 0), 0.0),        # one-beat windows at NNZ 1: no gap between them
    ((5, 6, 6, 6, 3, 3, 1, 1), 0.5),
    ((7, 5, 3, 4, 1, 1, 2, 0), 0.5),
    ((6, 5, 5, 3, 5, 5, 1, 2), 0.5),
    ((7, 6, 4, 5, 3, 3, 2, 1), 0.5),
]


def run_reader(cfg, plan, x, *, pressure, seed, base=3):
    """Run a reader over ``plan``; return (beats as a (n, rows, B) array, reads, the cycle of
    each beat counted from the one after ``start``)."""
    reader_cls = Im2colMagnifier if plan.uses_im2col else DirectReader
    unit = reader_cls(cfg)
    dut = _Harness(cfg, unit, reads=True)
    rng = random.Random(seed)
    packer = Packer(act_beat_layout(cfg.array))
    words = accel_plan.pack_act_words(x, cfg.block)
    expected = plan.tiles * plan.r * plan.s * plan.cb_in
    beats, when, result = [], [], {}

    async def bench(ctx):
        for n, word in enumerate(words):
            bank, row = place(cfg, n // plan.cb_in, n % plan.cb_in, base, plan.cb_in)
            ctx.set(dut.banks[bank].memory.data[row], word)
        for name, value in descriptor(plan, ifm_base=base).items():
            ctx.set(getattr(unit.layer, name), value)
        ctx.set(unit.windows, plan.tiles * plan.cb_in)
        ctx.set(unit.start, 1)
        await ctx.tick()
        ctx.set(unit.start, 0)
        cycles = 0
        while len(beats) < expected:
            ctx.set(unit.act.ready, rng.random() >= pressure)
            *_, valid, ready, payload = await ctx.tick().sample(
                unit.act.valid, unit.act.ready, unit.act.payload.as_value())
            cycles += 1
            assert cycles < 50 * expected + 200, f"{len(beats)} of {expected} beats"
            if valid and ready:
                beats.append(payload)
                when.append(cycles)
        ctx.set(unit.act.ready, 1)
        for _ in range(4):                          # nothing more comes out
            await ctx.tick()
            assert not ctx.get(unit.act.valid)
        assert not ctx.get(unit.busy)
        result.update(reads=ctx.get(unit.reads))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    got = packer.unpack_many(beats).reshape(len(beats), cfg.array.tile_rows, cfg.block)
    return got, result["reads"], when


def expected_beats(plan, x):
    """The engine's activation beats of the layer, from the plan's GEMM view: per column tile,
    per patch, per block ``(cb, r, s)``, the block's B channels of each of the tile's pixels;
    and a mask of the beat rows that are real output pixels (the others are don't-care: the
    output stage drops their results)."""
    cfg = plan.cfg
    act, _ = accel_plan.gemm_view(plan, x, np.zeros((plan.k, plan.c, plan.r, plan.s)))
    rows, bz = cfg.array.tile_rows, cfg.block
    blocks = act.shape[1] // bz
    per_patch = act.reshape(plan.row_tiles, rows, blocks, bz).transpose(0, 2, 1, 3)
    real = np.zeros((plan.row_tiles, rows), dtype=bool)
    for t in range(plan.row_tiles):
        ty, tx = divmod(t, plan.tiles_x)
        for i in range(rows):
            py, px = divmod(i, plan.pw)
            if plan.raster:                 # pixel t·rows + i in raster order
                real[t, i] = t * rows + i < plan.ho * plan.wo
            else:
                real[t, i] = ty * plan.ph + py < plan.ho and tx * plan.pw + px < plan.wo
    real = np.broadcast_to(real[:, None, :, None], per_patch.shape)
    return (np.concatenate([per_patch.reshape(-1, rows, bz)] * plan.col_tiles),
            np.concatenate([real.reshape(-1, rows, bz)] * plan.col_tiles))


@pytest.mark.parametrize("im2col", [True, False], ids=["im2col", "direct"])
@pytest.mark.parametrize("layer, pressure", READER_LAYERS,
                         ids=[f"{'x'.join(map(str, v))}-p{p}" for v, p in READER_LAYERS])
def test_reader_emits_the_plans_beats(layer, pressure, im2col):
    cfg = WITH_IM2COL if im2col else WITHOUT_IM2COL
    h, w, c, k, r, s, stride, pad = layer
    plan = accel_plan.plan_layer(cfg, h, w, c, k, r, s, stride, pad, nnz=2, raster=False)
    check_reader(plan, pressure, hash((layer, im2col, pressure)) & 0xFFFF)


def check_reader(plan, pressure, seed):
    """The reader of ``plan`` emits its GEMM view's beats, reads the model's words and, with an
    always-ready consumer, a beat a cycle from the model's first cycle."""
    cfg, im2col = plan.cfg, plan.uses_im2col
    x = np.random.default_rng(seed).integers(-128, 128, (plan.c, plan.h, plan.w))
    got, reads, when = run_reader(cfg, plan, x, pressure=pressure, seed=seed)
    want, real = expected_beats(plan, x)
    assert got.shape == want.shape
    bad = np.argwhere((got != want) & real)
    assert bad.size == 0, f"seed {seed}: {len(bad)} wrong elements, first at beat {bad[0]}"
    model = (accel_plan.act_sram_reads(plan) if im2col
             else accel_plan.act_sram_reads_no_im2col(plan))
    assert reads == model, f"{reads} SRAM reads, the model counts {model}"
    if not pressure:
        # With an always-ready consumer both emit a beat every cycle once the first is out
        # (the plan's patch keeps window fills no longer than R·S beats), the first in the same
        # cycle relative to start as the accelerator's cycle model has it: the direct reader's
        # after a read and its buffer, the IM2COL unit's after the first window's rows too.
        first = 3 + (plan.window[0] if im2col else 0)
        assert when == list(range(first, first + len(want)))


# Raster tiles (consecutive output pixels across rows): 1×1 and 3×3 layers whose tiles cross one
# or more row ends, a 1-wide map, padding at both ends, and stride 2 with the rows' gap.
RASTER_LAYERS = [
    (WITHOUT_IM2COL, (3, 5, 6, 5, 1, 1, 1, 0), 0.0),
    (WITHOUT_IM2COL, (5, 3, 5, 6, 3, 3, 1, 1), 0.5),
    (WITHOUT_IM2COL, (6, 1, 4, 4, 1, 1, 1, 0), 0.5),
    (WITH_IM2COL, (4, 3, 6, 4, 3, 3, 1, 1), 0.0),
    (WIDE_DIRECT, (6, 6, 5, 4, 1, 1, 2, 0), 0.5),
    (WIDE_DIRECT, (7, 5, 4, 4, 3, 3, 2, 1), 0.0),
]


@pytest.mark.parametrize("cfg, layer, pressure", RASTER_LAYERS,
                         ids=[f"{'x'.join(map(str, v))}-b{c.act_banks}-p{p}"
                              for c, v, p in RASTER_LAYERS])
def test_direct_reader_raster(cfg, layer, pressure):
    h, w, c, k, r, s, stride, pad = layer
    plan = accel_plan.plan_layer(cfg, h, w, c, k, r, s, stride, pad, nnz=2, raster=True)
    assert plan.raster and not plan.uses_im2col
    check_reader(plan, pressure, hash((layer, cfg.act_banks, pressure)) & 0xFFFF)


def test_raster_refused_where_a_tile_spans_too_many_banks():
    """Stride 2 on 8 banks: a 4-pixel raster tile of a 3-wide map spans 19 input pixels."""
    with pytest.raises(accel_plan.PlanError, match="raster = True is not allowed"):
        accel_plan.plan_layer(WITHOUT_IM2COL, 6, 6, 4, 4, 1, 1, 2, 0, raster=True)
    assert accel_plan.plan_layer(WIDE_DIRECT, 6, 6, 4, 4, 1, 1, 2, 0, raster=True).raster


# -- the output stage ----------------------------------------------------------------------------

# (config, h, w, c, k, r, s, stride, pad): patches 1×4 and 2×2, K with a partial channel block
# and a partial column tile, maps whose sides the patches do not divide.
STAGE_LAYERS = [
    (STAGE_IM2COL, 5, 7, 4, 6, 3, 3, 1, 1, False),
    (STAGE_IM2COL, 6, 3, 4, 3, 1, 1, 1, 0, False),
    (STAGE_DIRECT, 4, 5, 4, 7, 1, 1, 1, 0, False),
    (STAGE_DIRECT, 3, 5, 4, 7, 1, 1, 1, 0, True),    # raster: 15 pixels in 4 tiles
    # Two rows a beat: patches 1×4 and 2×2, raster, and 2×3 patches of 6-pixel tiles, whose
    # beats cross patch rows (pixel (0, 2) with (1, 0)).
    (STAGE_TWO, 5, 7, 4, 6, 3, 3, 1, 1, False),
    (STAGE_TWO, 6, 3, 4, 3, 1, 1, 1, 0, False),
    (STAGE_TWO_DIRECT, 3, 5, 4, 7, 1, 1, 1, 0, True),
    (STAGE_TWO_SIX, 5, 7, 4, 6, 3, 3, 1, 1, False),
]
SENTINEL = 0x5A5A5A5A


@pytest.mark.parametrize("int8_out", [False, True], ids=["int32", "int8"])
@pytest.mark.parametrize("case", STAGE_LAYERS,
                         ids=lambda v: "x".join(map(str, v[1:-1])) + ("-raster" if v[-1] else "")
                         + (f"-rows{v[0].array.drain_rows}x{v[0].array.tile_rows}"
                            if v[0].array.drain_rows > 1 else ""))
def test_output_stage_writes_the_map(case, int8_out):
    check_output_stage(case, int8_out)


@pytest.mark.parametrize("case, int8_out", [(STAGE_LAYERS[0], True), (STAGE_LAYERS[3], True),
                                             (STAGE_LAYERS[5], True), (STAGE_LAYERS[7], False)],
                         ids=["patches-int8", "raster-int8", "two-rows-int8", "two-rows-int32"])
def test_output_stage_writes_into_a_larger_map(case, int8_out):
    """A time tile's output written in place in its whole layer's map: its channel blocks from
    block 1 of pixels of 2 + cb_out blocks, its pixels from pixel 5 on; nothing else written.
    (INT32 on the raster case only: the others' 4 KB SRAMs have no room for such a map.)"""
    check_output_stage(case, int8_out, into=(1, 1, 5))


def check_output_stage(case, int8_out, into=None):
    """Run the output stage over a layer's result rows (idle cycles between them) and compare the
    SRAM banks with the map the rows make (``into``: ``(blocks after the layer's, first block,
    first pixel)`` of a larger map it writes into; None: its own map)."""
    cfg, *layer, raster = case
    h, w, c, k, r, s, stride, pad = layer
    plan = accel_plan.plan_layer(cfg, h, w, c, k, r, s, stride, pad, nnz=4, raster=raster)
    seed = hash((tuple(layer), int8_out)) & 0xFFFF
    rng = random.Random(seed)
    acc = cfg.array.acc_width
    rows = np.array([[rng.choice([-(1 << (acc - 1)), (1 << (acc - 1)) - 1, 0, -1,
                                  rng.randint(-(1 << (acc - 1)), (1 << (acc - 1)) - 1),
                                  rng.randint(-3000, 3000)])
                      for _ in range(cfg.array.tile_cols)]
                     for _ in range(plan.tiles * cfg.array.tile_rows)])
    shift, relu, base = 9, True, 2
    unit = OutputStage(cfg)
    dut = _Harness(cfg, unit, reads=False)
    packer = Packer(result_beat_layout(cfg.array))
    beats = packer.pack_many(rows.reshape(-1, cfg.array.drain_rows * cfg.array.tile_cols))
    memory = {}
    after, cb0, pixel0 = into or (0, 0, 0)
    map_fields = None if into is None else (cb0 + plan.cb_out + after, cb0, pixel0)

    async def bench(ctx):
        for bank in dut.banks:
            for row in range(cfg.act_bank_depth):
                ctx.set(bank.memory.data[row], SENTINEL & ((1 << cfg.word_bits) - 1))
        for name, value in descriptor(plan, ofm_base=base, int8_out=int8_out, relu=relu,
                                      shift=shift, into=map_fields).items():
            ctx.set(getattr(unit.layer, name), value)
        ctx.set(unit.start, 1)
        await ctx.tick()
        ctx.set(unit.start, 0)
        for beat in beats:
            while rng.random() < 0.4:                # idle cycles
                ctx.set(unit.result.valid, 0)
                await ctx.tick()
            ctx.set(unit.result.valid, 1)
            ctx.set(unit.result.payload.as_value(), beat)
            await ctx.tick().until(unit.result.ready)
        ctx.set(unit.result.valid, 0)
        await ctx.tick()
        for b, bank in enumerate(dut.banks):
            for row in range(cfg.act_bank_depth):
                memory[b, row] = ctx.get(bank.memory.data[row])

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()

    # What the rows say: row (q, patch, pixel) holds output channels q·N·C … of that pixel.
    cols, tile_rows = cfg.array.tile_cols, cfg.array.tile_rows
    kpad = plan.col_tiles * cols
    full = np.zeros((kpad, plan.tiles_y * plan.ph, plan.tiles_x * plan.pw), dtype=np.int64)
    if plan.raster:             # row (q, t·rows + i): output pixel t·rows + i in raster order
        pixels = plan.tiles * tile_rows // plan.col_tiles
        flat = rows.reshape(plan.col_tiles, pixels, cols).transpose(0, 2, 1)
        flat = flat.reshape(kpad, pixels)[:, :plan.ho * plan.wo]
        full = flat.reshape(kpad, plan.ho, plan.wo)
    n = 0
    for q in range(plan.col_tiles if not plan.raster else 0):
        for ty in range(plan.tiles_y):
            for tx in range(plan.tiles_x):
                for i in range(tile_rows):
                    py, px = divmod(i, plan.pw)
                    full[q * cols:(q + 1) * cols, ty * plan.ph + py, tx * plan.pw + px] = rows[n]
                    n += 1
    want = full[:plan.k, :plan.ho, :plan.wo]
    want = requantize(want, shift, relu) if int8_out else wrap(want, 32)

    scale = 1 if int8_out else 4
    per_pixel = plan.cb_out * scale
    map_pixel = (cb0 + plan.cb_out + after) * scale
    placed = {place(cfg, pixel0 + p, cb0 * scale + word, base, map_pixel): (p, word)
              for p in range(plan.ho * plan.wo) for word in range(per_pixel)}
    words = [memory[place(cfg, pixel0 + p, cb0 * scale + word, base, map_pixel)]
             for p in range(plan.ho * plan.wo) for word in range(per_pixel)]
    got = accel_plan.unpack_out_words(words, plan.k, plan.ho, plan.wo, cfg.block, int8=int8_out)
    bad = np.argwhere(got != want)
    assert bad.size == 0, f"seed {seed}: {len(bad)} wrong outputs, first at {bad[0]}"
    untouched = [key for key, value in memory.items()
                 if key not in placed and value != SENTINEL & ((1 << cfg.word_bits) - 1)]
    assert untouched == [], f"words written outside the map: {untouched[:4]}"
