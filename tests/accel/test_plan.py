"""The VDBB accelerator's layer plan, SRAM layouts and read counts (sim/accel_plan.py), and the
ideal-cycle figure of sim/accel_cycles.py.

Expected values are worked by hand from the module's documented rules, or computed by
independent brute force: a naive convolution loop, the bank formula ``(p + cb) mod banks`` written
out here, a walk of the DBB masks of the unpacked weight words, and an enumeration of every
window position or IM2COL element for the read counts.
"""

import random

import numpy as np
import pytest
from sparseforge.gen.config import parse_config
from sparseforge.gen.presets import load_preset, presets
from sparseforge.hdl.sta.layouts import weight_word_layout
from sparseforge.sim.accel.cycles import (
    END_LATENCY,
    START_LATENCY,
    layer_cycles,
    layer_ideal_cycles,
)
from sparseforge.sim.accel.plan import (
    LayerPlan,
    PlanError,
    act_sram_reads,
    act_sram_reads_no_im2col,
    choose_patch,
    gemm_view,
    pack_act_words,
    plan_layer,
    prune_conv_weights,
    raster_fits,
    unpack_out_words,
    weight_words,
    window_taps,
)
from sparseforge.sim.sta.cycles import sta_job_cycles
from sparseforge.tb.packing import Packer

SMALL = load_preset("accel_small")            # 2x8x4_4x2 VDBB: 8-pixel tiles, 8 columns, B = 8
NOIM2C = load_preset("accel_small_noim2c")


def _accel(array=None, sram=None, im2col=True):
    raw = {"arch": "accel", "name": "t",
           "array": array or {"kind": "vdbb", "tpe": {"a": 2, "b": 8, "c": 4},
                              "array": {"m": 4, "n": 2}},
           "im2col": im2col}
    if sram is not None:
        raw["sram"] = sram
    return parse_config(raw)


# accel_small's array with 2 KB SRAMs: activation halves of 16 banks × 8 rows, weight halves of
# 64 words of 128 bits.
TINY = _accel(sram={"act_kb": 2, "weight_kb": 2})
# B = 4 and a 2x2 array of 2x4x2 TPEs: 4-pixel tiles, 4 columns, 8 banks.
B4 = _accel({"kind": "vdbb", "tpe": {"a": 2, "b": 4, "c": 2}, "array": {"m": 2, "n": 2}})
# A dense (sta) and a fixed-DBB array, for the weight words.
DENSE = _accel({"kind": "sta", "tpe": {"a": 2, "b": 8, "c": 4}, "array": {"m": 2, "n": 2}})
DBB = _accel({"kind": "dbb", "tpe": {"a": 2, "b": 8, "c": 4}, "array": {"m": 2, "n": 2},
              "dbb_macs": 3})


def test_tiny_config_is_what_the_tests_assume():
    assert (TINY.act_banks, TINY.act_bank_depth, TINY.weight_half_words) == (16, 8, 64)
    assert (SMALL.act_banks, SMALL.act_bank_depth, SMALL.window_rows, SMALL.window_cols) == \
        (16, 512, 9, 15)
    assert (B4.block, B4.array.tile_rows, B4.array.tile_cols, B4.act_banks) == (4, 4, 4, 8)


# -- naive models ---------------------------------------------------------------------------------

def naive_conv(x, w, stride, pad):
    """Exact K×Ho×Wo convolution (cross-correlation, zero padding) over Python ints."""
    c_in, h, wd = x.shape
    k_out, _, r, s = w.shape
    ho, wo = (h + 2 * pad - r) // stride + 1, (wd + 2 * pad - s) // stride + 1
    out = [[[0] * wo for _ in range(ho)] for _ in range(k_out)]
    xl, wl = x.tolist(), w.tolist()
    for k in range(k_out):
        for oy in range(ho):
            for ox in range(wo):
                acc = 0
                for c in range(c_in):
                    for i in range(r):
                        y = oy * stride + i - pad
                        if not 0 <= y < h:
                            continue
                        for j in range(s):
                            xx = ox * stride + j - pad
                            if 0 <= xx < wd:
                                acc += xl[c][y][xx] * wl[k][c][i][j]
                out[k][oy][ox] = acc
    return out


def random_dbb_weights(rng, k, c, r, s, nnz, block):
    """K×C×R×S weights with at most ``nnz`` non-zeros in each block of ``block`` channels of each
    (k, r, s); non-zeros drawn from −128…127 without 0, −128 included on purpose."""
    w = np.zeros((k, c, r, s), dtype=np.int64)
    for kk in range(k):
        for i in range(r):
            for j in range(s):
                for cb in range(-(-c // block)):
                    chans = list(range(cb * block, min(c, (cb + 1) * block)))
                    for ch in rng.sample(chans, rng.randint(0, min(nnz, len(chans)))):
                        w[kk, ch, i, j] = rng.choice([-128, 127, rng.randint(-127, -1),
                                                      rng.randint(1, 126)])
    return w


def random_map(rng, c, h, w):
    return np.array([rng.randint(-128, 127) for _ in range(c * h * w)],
                    dtype=np.int64).reshape(c, h, w)


# -- plan_layer: validation -----------------------------------------------------------------------

GOOD = dict(h=8, w=8, c=8, k=8, r=3, s=3, stride=1, pad=1)

# (id, overrides, text the message must contain)
BAD_LAYERS = [
    ("H-0", dict(h=0), "H = 0"),
    ("H-4096", dict(h=4096), "H = 4096"),
    ("W-0", dict(w=0), "W = 0"),
    ("W-4096", dict(w=4096), "W = 4096"),
    ("C-0", dict(c=0), "C = 0"),
    ("C-8192", dict(c=8192), "C = 8192"),
    ("K-0", dict(k=0), "K = 0"),
    ("K-8192", dict(k=8192), "K = 8192"),
    ("R-0", dict(r=0), "R = 0"),
    ("R-16", dict(r=16), "R = 16"),
    ("S-0", dict(s=0), "S = 0"),
    ("S-16", dict(s=16), "S = 16"),
    ("pad-negative", dict(pad=-1), "pad = -1"),
    ("pad-8", dict(pad=8), "pad = 8"),
    ("stride-3", dict(stride=3), "stride = 3"),
    ("stride-0", dict(stride=0), "stride = 0"),
    ("nnz-0", dict(nnz=0), "nnz = 0"),
    ("nnz-above-B", dict(nnz=9), "nnz = 9"),
    ("kernel-taller-than-padded-input", dict(h=2, w=5, pad=0), "3x3 kernel does not fit a 2x5"),
    ("kernel-wider-than-padded-input", dict(h=5, w=1, r=1, s=5, pad=1),
     "1x5 kernel does not fit a 5x1"),
    # Refused only when the direct reader is ruled out (it would take the layer otherwise).
    ("no-patch-fits-the-window", dict(h=16, w=16, r=11, s=11, pad=0, direct=False),
     "kernel 11x11 stride 1"),
]


@pytest.mark.parametrize("overrides, text", [pytest.param(o, t, id=i) for i, o, t in BAD_LAYERS])
def test_plan_layer_rejects_bad_layers(overrides, text):
    with pytest.raises(PlanError) as info:
        plan_layer(SMALL, **{**GOOD, **overrides})
    message = str(info.value)
    assert text in message
    assert "\n" not in message
    assert isinstance(info.value, ValueError)


def test_plan_layer_range_messages_name_the_limits():
    with pytest.raises(PlanError, match=r"^H = 4096 is not allowed; expected 1 to 4095$"):
        plan_layer(SMALL, **{**GOOD, "h": 4096})
    with pytest.raises(PlanError, match=r"^nnz = 9 is not allowed; expected 1 to 8$"):
        plan_layer(SMALL, **GOOD, nnz=9)
    with pytest.raises(PlanError, match=r"^stride = 3 is not allowed; expected 1 or 2$"):
        plan_layer(SMALL, **{**GOOD, "stride": 3})
    with pytest.raises(PlanError, match=r"with pad 0$"):
        plan_layer(SMALL, **{**GOOD, "h": 2, "pad": 0})
    with pytest.raises(PlanError, match=r"9x15-word buffer and 16 banks$"):
        plan_layer(SMALL, **{**GOOD, "r": 11, "s": 11, "h": 16, "w": 16}, direct=False)


def test_plan_layer_accepts_the_limits():
    # A kernel exactly as large as the padded input, the largest stride and pad, nnz 1 and B.
    assert plan_layer(SMALL, h=1, w=1, c=1, k=1, r=3, s=3, stride=1, pad=1).ho == 1
    assert plan_layer(SMALL, h=5, w=5, c=1, k=1, r=5, s=5).wo == 1
    assert plan_layer(SMALL, **GOOD, nnz=1).nnz == 1
    assert plan_layer(SMALL, **GOOD, nnz=8).nnz == 8
    assert plan_layer(SMALL, **GOOD).nnz == 8            # default: the array's max
    assert plan_layer(SMALL, **{**GOOD, "pad": 7}).pad == 7
    assert plan_layer(SMALL, **{**GOOD, "stride": 2}).ho == 4
    # dbb: any density up to B (past its bound of 3 a block takes ⌈nnz/3⌉ steps).
    assert plan_layer(DBB, **GOOD).nnz == 8
    assert plan_layer(DBB, **GOOD, nnz=4).steps_per_block == 2
    with pytest.raises(PlanError, match="nnz = 9 is not allowed; expected 1 to 8"):
        plan_layer(DBB, **GOOD, nnz=9)


def test_plan_layer_rejects_too_long_a_reduction():
    big = _accel(im2col={"window": [64, 64]}, sram={"act_kb": 1 << 16, "weight_kb": 1 << 16})
    with pytest.raises(PlanError, match=r"R·S·C = 13·13·8191 is too long a reduction"):
        plan_layer(big, h=13, w=13, c=8191, k=8, r=13, s=13, check_sram=False)
    assert plan_layer(big, h=11, w=11, c=8191, k=8, r=11, s=11, check_sram=False).gemm_k == \
        11 * 11 * 1024 * 8


def test_plan_layer_input_map_too_large_for_sram():
    # 8×16 pixels: 128 / 16 banks = 8 rows per bank, exactly the depth; 8×17 needs 9.
    assert plan_layer(TINY, h=8, w=16, c=8, k=8, r=1, s=1, stride=2).ifm_bank_rows == 8
    with pytest.raises(PlanError) as info:
        plan_layer(TINY, h=8, w=17, c=8, k=8, r=1, s=1, stride=2)
    message = str(info.value)
    assert "input map (8x17x8) needs 9 rows per bank" in message
    assert "has 8 (1 KB)" in message and "\n" not in message
    assert plan_layer(TINY, h=8, w=17, c=8, k=8, r=1, s=1, stride=2,
                      check_sram=False).ifm_bank_rows == 9


def test_plan_layer_output_map_too_large_for_sram():
    # 6×6 outputs, 8 channels as INT32: ⌈36/16⌉ = 3 bank rows × 4 words = 12 > 8.
    with pytest.raises(PlanError) as info:
        plan_layer(TINY, h=6, w=6, c=8, k=8, r=3, s=3, pad=1)
    message = str(info.value)
    assert "INT32 output map (6x6x8) needs 12 rows per bank" in message
    assert "has 8 (1 KB)" in message and "\n" not in message
    # 4×4 outputs: one bank row × 4 words fits.
    assert plan_layer(TINY, h=4, w=4, c=8, k=8, r=3, s=3, pad=1,
                      nnz=7).ofm_bank_rows(int8=False) == 4
    plan = plan_layer(TINY, h=6, w=6, c=8, k=8, r=3, s=3, pad=1, check_sram=False)
    assert (plan.ho, plan.wo, plan.ofm_bank_rows(int8=False), plan.ofm_bank_rows()) == \
        (6, 6, 12, 3)
    # accel_small: a 56×56×8 "same" layer needs ⌈3136/16⌉·4 = 784 rows of 512.
    with pytest.raises(PlanError, match=r"\(56x56x8\) needs 784 rows per bank; .* has 512 "
                                        r"\(64 KB\)"):
        plan_layer(SMALL, h=56, w=56, c=8, k=8, r=3, s=3, pad=1)


def test_plan_layer_weights_too_large_for_sram():
    # The weights may use both 64-word halves. One column tile of 3·3·4 blocks, each a mask and
    # nnz values (2 slots a word): 36·9 = 324 slots = 162 words at 8/8 > 128; 36·7 = 252 slots
    # = 126 words at 6/8 fit. 3·3·2 blocks at 8/8, 81 words, need both halves and fit.
    with pytest.raises(PlanError) as info:
        plan_layer(TINY, h=4, w=4, c=32, k=8, r=3, s=3, pad=1, nnz=8)
    message = str(info.value)
    assert "need 162 words (2.5 KB at 8/8)" in message
    assert "holds 128 (2 KB, both halves)" in message and "\n" not in message
    assert plan_layer(TINY, h=4, w=4, c=32, k=8, r=3, s=3, pad=1,
                      nnz=6).weight_word_count == 126
    assert plan_layer(TINY, h=4, w=4, c=16, k=8, r=3, s=3, pad=1,
                      nnz=8).weight_word_count == 81
    plan = plan_layer(TINY, h=4, w=4, c=16, k=8, r=3, s=3, pad=1, nnz=8, check_sram=False)
    assert plan.weight_word_count == 81
    # The bits the paper's block format gives: 8·NNZ + 8 per block and column, here 8 columns.
    assert plan.weight_bits == 81 * 128 >= 18 * 8 * (8 * 8 + 8)


def test_check_sram_false_gives_the_same_plan():
    layer = dict(h=6, w=6, c=8, k=8, r=3, s=3, pad=1)
    plan = plan_layer(TINY, **layer, check_sram=False)
    big = plan_layer(SMALL, **layer)
    assert (plan.ph, plan.pw, plan.tiles, plan.gemm_k) == (big.ph, big.pw, big.tiles, big.gemm_k)
    # It does not relax the other checks.
    with pytest.raises(PlanError, match="stride = 3"):
        plan_layer(TINY, **{**layer, "stride": 3}, check_sram=False)


def test_layer_plan_derived_values_by_hand():
    # 14×14×20 → 12 channels, 3×3 "same", 3/8 density on accel_small (patch 2×4).
    p = plan_layer(SMALL, h=14, w=14, c=20, k=12, r=3, s=3, stride=1, pad=1, nnz=3,
                   raster=False)
    assert (p.ph, p.pw, p.ho, p.wo) == (2, 4, 14, 14)
    assert (p.cb_in, p.cb_out) == (3, 2)
    assert (p.tiles_y, p.tiles_x, p.row_tiles, p.col_tiles, p.tiles) == (7, 4, 28, 2, 56)
    assert p.gemm_k == 9 * 3 * 8
    # 27 blocks of a mask and 3 values = 108 slots = 54 words of 2 slots a column tile.
    assert (p.steps_per_block, p.tile_slots, p.tile_words, p.weight_word_count) == \
        (3, 108, 54, 108)
    assert p.window == (4, 6)
    assert p.macs == 14 * 14 * 12 * 20 * 9
    assert (p.ifm_bank_rows, p.ofm_bank_rows(), p.ofm_bank_rows(int8=False)) == (39, 26, 104)
    # Ideal: 56 tiles × 27 blocks × 3 steps.
    assert layer_ideal_cycles(p) == 56 * 27 * 3
    # Start (7: the start write accepted, its pulse, latch, derive, start the units, last row
    # landing, window full with its first row latched) + the first window's 4 rows + the engine
    # + done (1).
    assert (START_LATENCY, END_LATENCY) == (7, 1)
    assert layer_cycles(p) == 7 + 4 + sta_job_cycles(SMALL.array, 56, 216, 3) + 1
    q = plan_layer(NOIM2C, h=14, w=14, c=20, k=12, r=3, s=3, stride=1, pad=1, nnz=3,
                   raster=False)
    assert (q.ph, q.pw, q.tiles) == (1, 8, 14 * 2 * 2)
    # Without IM2COL: the same 7 (the reader's read and buffer stand in for the window).
    assert layer_cycles(q) == 7 + sta_job_cycles(SMALL.array, 56, 216, 3) + 1


def test_raster_plan_by_hand():
    """14×14 "same" 3×3 on accel_small (8-pixel tiles, 16 banks): the 196 output pixels in raster
    order fill ⌈196/8⌉ = 25 tiles (the 2×4 patches take 7·4 = 28, the 1×8 rows 14·2 = 28), so
    the plan's default takes the raster mapping, through the direct reader; a tile of 8
    consecutive pixels reads 8 consecutive input pixels (W = Wo: no gap at a row end)."""
    p = plan_layer(SMALL, h=14, w=14, c=20, k=12, r=3, s=3, stride=1, pad=1, nnz=3)
    assert p.raster and p.mapping == "raster" and p.reader == "direct" and p.direct
    assert (p.ph, p.pw, p.tiles_y, p.tiles_x, p.row_tiles, p.tiles) == (1, 8, 1, 25, 25, 50)
    assert layer_cycles(p) == 7 + sta_job_cycles(SMALL.array, 50, 216, 3) + 1
    q = plan_layer(NOIM2C, h=14, w=14, c=20, k=12, r=3, s=3, stride=1, pad=1, nnz=3)
    assert q.raster and q.tiles == 50 and layer_cycles(q) == layer_cycles(p)
    # 16 × 16 / 8 = 32 tiles either way: the patch mapping (and IM2COL) stays.
    assert not plan_layer(SMALL, h=16, w=16, c=8, k=8, r=3, s=3, pad=1).raster
    # 1×1 stride 2 on an 8×8 map (4×4 out, W − Wo = 4): a tile of 8 pixels crosses one row end
    # and spans 2·(7 + 4) + 1 = 23 input pixels > 16 banks: never raster.
    assert not raster_fits(SMALL, 8, 8, 1, 1, 2, 0)
    assert not plan_layer(SMALL, h=8, w=8, c=8, k=8, r=1, s=1, stride=2).raster
    with pytest.raises(PlanError, match="raster = True is not allowed"):
        plan_layer(SMALL, h=8, w=8, c=8, k=8, r=1, s=1, stride=2, raster=True)
    # A 3×3 kernel without padding: W − Wo = 2, so a tile crossing n row ends spans
    # 7 + 2n + 1 pixels; on a 4-wide output a tile crosses up to 2: 12 ≤ 16 banks.
    assert raster_fits(SMALL, 6, 6, 3, 3, 1, 0)
    # Padding wider than the kernel's reach (Wo > W): lanes would read out of order.
    assert not raster_fits(SMALL, 6, 6, 1, 1, 1, 1)
    blox = parse_config({"arch": "accel", "name": "t", "array": {
        "kind": "vdbb", "tpe": {"a": 2, "b": 8, "c": 4}, "array": {"m": 4, "n": 2}},
        "sparseblox": {"capacity": 16}})
    with pytest.raises(PlanError, match="raster = True is not allowed on a Sparse-Blox"):
        plan_layer(blox, 14, 14, 8, 8, 3, 3, 1, 1, raster=True)
    assert not plan_layer(blox, 14, 14, 8, 8, 3, 3, 1, 1).raster


# -- choose_patch ----------------------------------------------------------------------------------

# (id, config, r, s, stride, nnz, patch) worked by hand on accel_small (8-pixel tiles, a 9×15
# window buffer, 16 banks). Costs are window words (rows × cols), ties to fewer rows.
PATCHES = [
    # 3×3 s1: 1×8 → 3×10 = 30, 2×4 → 4×6 = 24, 4×2 → 6×4 = 24 (more rows), 8×1 → 10 rows > 9
    ("3x3-s1", SMALL, 3, 3, 1, 8, (2, 4)),
    ("3x3-s1-nnz1", SMALL, 3, 3, 1, 1, (2, 4)),           # 4 rows ≤ 9 taps × 1 step
    # 1×1 s2: 1×8 → 1×15 = 15, 2×4 → 3×7 = 21, 4×2 → 7×3 = 21, 8×1 → 15 rows > 9
    ("1x1-s2", SMALL, 1, 1, 2, 8, (1, 8)),
    # 1×1 s1: 1×8 → 8 words ties 2×4 → 8; fewer rows wins
    ("1x1-s1", SMALL, 1, 1, 1, 8, (1, 8)),
    # 3×1 s1 at nnz 1: only 3 cycles per window, so at most 3 rows: 1×8 (3×8); at nnz 2 six
    # rows are allowed and 2×4 (4×4 = 16) beats 1×8 (3×8 = 24). Patches taller than wide
    # (4×2, 8×1) are not supported by the IM2COL unit.
    ("3x1-s1-nnz1", SMALL, 3, 1, 1, 1, (1, 8)),
    ("3x1-s1-nnz2", SMALL, 3, 1, 1, 2, (2, 4)),
    # 7×7 s2: 1×8 → 21 cols > 15; 2×4 → 9×13 fits; 4×2 → 13 rows > 9
    ("7x7-s2", SMALL, 7, 7, 2, 8, (2, 4)),
    # 11×11: every window is at least 11 rows > 9
    ("11x11", SMALL, 11, 11, 1, 8, None),
    # Without IM2COL: one patch row of tile_rows pixels, whatever the kernel.
    ("noim2c-3x3", NOIM2C, 3, 3, 1, 8, (1, 8)),
    ("noim2c-11x11-s2", NOIM2C, 11, 11, 2, 1, (1, 8)),     # a row spans 15 pixels ≤ 16 banks
    ("noim2c-8-banks-s2", _accel(sram={"act_banks": 8}, im2col=False), 1, 1, 2, 8, None),
    ("noim2c-8-banks-s1", _accel(sram={"act_banks": 8}, im2col=False), 1, 1, 1, 8, (1, 8)),
    # B = 4, 4-pixel tiles: 3×3 s1 → 1×4: 3×6 = 18, 2×2: 4×4 = 16
    ("b4-3x3-s1", B4, 3, 3, 1, 4, (2, 2)),
]


@pytest.mark.parametrize("cfg, r, s, stride, nnz, expected",
                         [pytest.param(*case[1:], id=case[0]) for case in PATCHES])
def test_choose_patch_by_hand(cfg, r, s, stride, nnz, expected):
    assert choose_patch(cfg, r, s, stride, nnz) == expected


@pytest.mark.parametrize("name", ["accel_small", "accel_paper"])
def test_chosen_patch_fits_and_is_never_slower_than_the_engine(name):
    cfg = load_preset(name)
    rows = cfg.array.tile_rows
    for r in range(1, 12):
        for s in range(1, 12):
            for stride in (1, 2):
                for nnz in (1, 2, 5, cfg.array.max_nnz):
                    patch = choose_patch(cfg, r, s, stride, nnz)
                    if patch is None:
                        continue
                    ph, pw = patch
                    wh, ww = (ph - 1) * stride + r, (pw - 1) * stride + s
                    assert ph * pw == rows
                    assert wh <= cfg.window_rows and ww <= cfg.window_cols, (r, s, stride, patch)
                    assert ww <= cfg.act_banks
                    assert wh <= r * s * cfg.array.steps_per_block(nnz), (r, s, stride, nnz)


# -- SRAM images ----------------------------------------------------------------------------------

def test_pack_act_words_by_hand():
    # 2 channels of a 1×2 map, B = 8: channel e of a block is byte e, little-endian.
    x = np.array([[[1, -2]], [[3, 4]]])
    assert pack_act_words(x, 8) == [0x0301, 0x04FE]
    # 10 channels, B = 8: two blocks per pixel; channels 8, 9 open the second word.
    x = np.zeros((10, 1, 1), dtype=np.int64)
    x[0, 0, 0], x[7, 0, 0], x[8, 0, 0], x[9, 0, 0] = -128, 127, -1, 5
    assert pack_act_words(x, 8) == [0x7F << 56 | 0x80, 0x05FF]
    # B = 4, 1 channel, 1×3 map: pixel-major order.
    assert pack_act_words(np.array([[[1, 2, 3]]]), 4) == [1, 2, 3]


def test_unpack_out_words_by_hand():
    assert unpack_out_words([0x0301, 0x04FE], 2, 1, 2, 8).tolist() == [[[1, -2]], [[3, 4]]]
    # INT32: 3 channels of a 1×1 map, B = 8 → 4 words per pixel, B/4 = 2 channels per word.
    words = [0xFFFFFFFF | (0x7FFFFFFF << 32), 0x80000000, 0, 0]
    assert unpack_out_words(words, 3, 1, 1, 8, int8=False).tolist() == \
        [[[-1]], [[2**31 - 1]], [[-2**31]]]
    with pytest.raises(ValueError, match="Expected 2 words, not 3"):
        unpack_out_words([0, 0, 0], 2, 1, 2, 8)


@pytest.mark.parametrize("seed", range(5))
def test_pack_unpack_round_trip(seed):
    rng = random.Random(seed)
    for block in (4, 8, 16):
        c, h, w = rng.randint(1, 3 * block), rng.randint(1, 6), rng.randint(1, 6)
        x = random_map(rng, c, h, w)
        words = pack_act_words(x, block)
        assert len(words) == h * w * -(-c // block)
        assert all(0 <= word < 1 << (8 * block) for word in words)
        assert unpack_out_words(words, c, h, w, block).tolist() == x.tolist(), (seed, block)


def _bank(p, cb, banks):
    return (p + cb) % banks


def _row(p, cb, blocks, banks, base=0):
    return base + (p // banks) * blocks + cb


@pytest.mark.parametrize("seed", range(4))
def test_skewed_bank_layout(seed):
    """For random maps: every word has its own (bank, row) within the plan's bank rows; the
    in-image words of a window row of one channel block are in distinct banks; a result row's
    words, and any run of up to ``banks`` channel blocks of one pixel, are in distinct banks."""
    rng = random.Random(seed)
    for cfg in (SMALL, B4, NOIM2C):
        banks = cfg.act_banks
        r = rng.choice((1, 3, 5))
        stride, pad = rng.choice((1, 2)), rng.randint(0, r // 2)
        h, w = rng.randint(r, 20), rng.randint(r, 20)
        c, k = rng.randint(1, 5 * cfg.block), rng.randint(1, 40)
        plan = plan_layer(cfg, h, w, c, k, r, r, stride, pad, check_sram=False)
        blocks = plan.cb_in
        places = {(_bank(p, cb, banks), _row(p, cb, blocks, banks))
                  for p in range(h * w) for cb in range(blocks)}
        assert len(places) == h * w * blocks
        assert max(row for _, row in places) + 1 == plan.ifm_bank_rows
        wh, ww = plan.window if cfg.im2col else (1, (cfg.array.tile_rows - 1) * stride + 1)
        for ty in range(plan.tiles_y):
            for tx in range(plan.tiles_x):
                y0 = ty * plan.ph * stride - pad
                x0 = tx * plan.pw * stride - pad
                for i in range(wh):
                    if not 0 <= y0 + i < h:
                        continue
                    pixels = [(y0 + i) * w + x0 + j for j in range(ww) if 0 <= x0 + j < w]
                    for cb in range(blocks):
                        used = [_bank(p, cb, banks) for p in pixels]
                        assert len(set(used)) == len(used), (cfg.name, plan, i, cb)
        for p in range(h * w):
            for first in range(blocks):
                run = [_bank(p, cb, banks) for cb in range(first, min(blocks, first + banks))]
                assert len(set(run)) == len(run)
        # A result row writes out_blocks_per_row INT8 words or 4× as many INT32 words.
        for words in (cfg.out_blocks_per_row, 4 * cfg.out_blocks_per_row):
            for p in range(plan.ho * plan.wo):
                used = [_bank(p, t, banks) for t in range(words)]
                assert len(set(used)) == words


# Layers for gemm_view and the weight words: (config, h, w, c, k, r, s, stride, pad, nnz).
LAYERS = [
    (SMALL, 6, 7, 11, 10, 3, 3, 1, 1, 3),
    (SMALL, 9, 5, 8, 8, 1, 1, 2, 0, 8),
    (SMALL, 7, 9, 3, 17, 5, 5, 2, 2, 1),
    (SMALL, 5, 5, 20, 4, 3, 1, 1, 0, 2),
    (NOIM2C, 6, 6, 9, 9, 3, 3, 1, 1, 4),
    (B4, 5, 6, 6, 5, 3, 3, 2, 1, 2),
    (B4, 3, 4, 1, 3, 2, 3, 1, 1, 4),
    (DENSE, 5, 5, 10, 9, 3, 3, 1, 1, 8),
    (DBB, 6, 5, 12, 9, 3, 3, 1, 0, 3),
]


@pytest.mark.parametrize("index", range(len(LAYERS)))
def test_gemm_view_is_the_convolution(index):
    cfg, h, w, c, k, r, s, stride, pad, nnz = LAYERS[index]
    rng = random.Random(index)
    plan = plan_layer(cfg, h, w, c, k, r, s, stride, pad, nnz)
    x = random_map(rng, c, h, w)
    wt = random_dbb_weights(rng, k, c, r, s, c, cfg.block)       # dense: any values
    act, wm = gemm_view(plan, x, wt)
    rows, cols = cfg.array.tile_rows, cfg.array.tile_cols
    assert act.shape == (plan.row_tiles * rows, plan.gemm_k)
    assert wm.shape == (plan.gemm_k, plan.col_tiles * cols)
    result = act @ wm
    expected = naive_conv(x, wt, stride, pad)
    got = [[[None] * plan.wo for _ in range(plan.ho)] for _ in range(k)]
    row = 0
    if plan.raster:         # row p = oy·Wo + ox, then zero rows to the end of the last tile
        for p in range(plan.ho * plan.wo):
            for kk in range(k):
                got[kk][p // plan.wo][p % plan.wo] = int(result[p, kk])
        assert not act[plan.ho * plan.wo:].any()
    for ty in range(plan.tiles_y if not plan.raster else 0):
        for tx in range(plan.tiles_x):
            for py in range(plan.ph):
                for px in range(plan.pw):
                    oy, ox = ty * plan.ph + py, tx * plan.pw + px
                    if oy < plan.ho and ox < plan.wo:
                        for kk in range(k):
                            got[kk][oy][ox] = int(result[row, kk])
                    else:
                        assert not act[row].any()           # rows past the map are zero
                    row += 1
    assert got == expected
    assert not wm[:, k:].any()                               # padding columns are zero


def _decode_weight_words(plan, words):
    """Walk the words in (column tile, cb, r, s) order. Dense arrays: one word a block, its B
    values per column in order. Sparse arrays: each column tile's words from a new word, their
    slots in order; per block and column the mask (⌈B/w⌉ w-bit slots, low bits first) and NNZ
    values scattered to the mask's set bits."""
    cfg = plan.cfg
    array = cfg.array
    packer = Packer(weight_word_layout(array))
    cols, bz, width = array.tile_cols, cfg.block, array.weight_width
    values = packer.unpack_many(words).tolist()
    w = [[[[0] * plan.s for _ in range(plan.r)] for _ in range(plan.cb_in * bz)]
         for _ in range(plan.col_tiles * cols)]
    blocks = [(cb, i, j) for cb in range(plan.cb_in) for i in range(plan.r)
              for j in range(plan.s)]
    if not array.sparse:
        assert len(words) == plan.col_tiles * len(blocks)
        for index, word in enumerate(values):
            q, (cb, i, j) = divmod(index, len(blocks))[0], blocks[index % len(blocks)]
            for col in range(cols):
                for e in range(bz):
                    w[q * cols + col][cb * bz + e][i][j] = word[col * bz + e]
        return w
    mask_slots = -(-bz // width)
    slots = array.lanes + mask_slots
    per_block = plan.nnz + mask_slots
    per_tile = -(-len(blocks) * per_block // slots)
    assert len(words) == plan.col_tiles * per_tile
    for q in range(plan.col_tiles):
        tile = values[q * per_tile:(q + 1) * per_tile]
        for col in range(cols):
            # A word's leaves are [slot][col]: slot s of column col is leaf s·cols + col.
            seq = [word[k * cols + col] for word in tile for k in range(slots)]
            assert not any(seq[len(blocks) * per_block:])          # padding slots are zero
            for n, (cb, i, j) in enumerate(blocks):
                block = seq[n * per_block:(n + 1) * per_block]
                mask = sum(part << (width * k) for k, part in enumerate(block[:mask_slots]))
                positions = [e for e in range(bz) if mask >> e & 1]
                vals = [v - (1 << width) if v >> (width - 1) else v
                        for v in block[mask_slots:]]
                assert len(positions) <= plan.nnz
                assert not any(vals[len(positions):])                # unused slots are zero
                assert all(vals[:len(positions)])                    # the mask marks non-zeros
                for pos, value in zip(positions, vals):
                    w[q * cols + col][cb * bz + pos][i][j] = value
    return w


@pytest.mark.parametrize("index", range(len(LAYERS)))
def test_weight_words_decode_back_to_the_weights(index):
    cfg, h, w, c, k, r, s, stride, pad, nnz = LAYERS[index]
    rng = random.Random(100 + index)
    plan = plan_layer(cfg, h, w, c, k, r, s, stride, pad, nnz)
    bound = nnz if cfg.array.sparse else cfg.block
    wt = random_dbb_weights(rng, k, c, r, s, bound, cfg.block)
    words = weight_words(plan, wt, Packer(weight_word_layout(cfg.array)))
    assert len(words) == plan.weight_word_count
    assert all(0 <= word < 1 << cfg.weight_word_bits for word in words)
    decoded = np.array(_decode_weight_words(plan, words))
    assert decoded[:k, :c].tolist() == wt.tolist()
    assert not decoded[k:].any() and not decoded[:, c:].any()


def test_weight_words_by_hand():
    # B4 (4 columns, B = 4, INT8), a 1×1 layer, 4 channels, 2 kernels, nnz 2: one column tile,
    # one block of 1 mask slot + 2 value slots, in words of 2 slots × 4 columns of 8 bits.
    # Column 0 keeps channels 1 and 3 (mask 0b1010), column 1 channel 0 only.
    plan = plan_layer(B4, 1, 1, 4, 2, 1, 1, nnz=2)
    w = np.zeros((2, 4, 1, 1), dtype=np.int64)
    w[0, 1], w[0, 3], w[1, 0] = -5, 7, 100
    packer = Packer(weight_word_layout(B4.array))
    # Slot k of column c is bits 32k + 8c; columns 2 and 3 are zero (no weights there).
    masks = 0b1010 | 0b0001 << 8
    first_values = (-5 & 0xFF) | 100 << 8
    second_values = 7
    assert weight_words(plan, w, packer) == [masks | first_values << 32, second_values]
    assert (plan.tile_slots, plan.tile_words, plan.weight_word_count) == (3, 2, 2)


def test_prune_conv_weights_blocks_along_channels():
    # K=1, C=6, 1×2 kernel, B = 4, nnz 2: blocks are channels 0-3 and 4-5 per kernel position.
    w = np.zeros((1, 6, 1, 2), dtype=np.int64)
    w[0, :, 0, 0] = [1, -9, 3, 9, 5, -6]
    w[0, :, 0, 1] = [2, 2, 2, 2, 0, 0]
    got = prune_conv_weights(w, 2, 4)
    assert got[0, :, 0, 0].tolist() == [0, -9, 0, 9, 5, -6]      # |−9| = |9|: both kept
    assert got[0, :, 0, 1].tolist() == [2, 2, 0, 0, 0, 0]        # ties to the lower channel


# -- activation SRAM reads -------------------------------------------------------------------------

def brute_reads_im2col(plan):
    """Every in-image word of every window position some output pixel of the patch uses through
    some kernel tap, for every patch, channel block and column tile."""
    wh, ww = plan.window
    count = 0
    for ty in range(plan.tiles_y):
        for tx in range(plan.tiles_x):
            y0 = ty * plan.ph * plan.stride - plan.pad
            x0 = tx * plan.pw * plan.stride - plan.pad
            for i in range(wh):
                for j in range(ww):
                    used_row = any(py * plan.stride + a == i
                                   for py in range(plan.ph) for a in range(plan.r))
                    used_col = any(px * plan.stride + b == j
                                   for px in range(plan.pw) for b in range(plan.s))
                    inside = 0 <= y0 + i < plan.h and 0 <= x0 + j < plan.w
                    count += used_row and used_col and inside
    return count * plan.cb_in * plan.col_tiles


def brute_reads_no_im2col(plan):
    """Every in-image IM2COL element of every real output pixel, per channel block and column
    tile."""
    count = 0
    for oy in range(plan.ho):
        for ox in range(plan.wo):
            for i in range(plan.r):
                for j in range(plan.s):
                    y, x = oy * plan.stride - plan.pad + i, ox * plan.stride - plan.pad + j
                    count += 0 <= y < plan.h and 0 <= x < plan.w
    return count * plan.cb_in * plan.col_tiles


def test_window_taps_by_hand():
    assert window_taps(5, 1, 2) == [0, 2, 4]
    assert window_taps(5, 3, 2) == [0, 1, 2, 3, 4]
    assert window_taps(4, 1, 1) == [0, 1, 2, 3]


@pytest.mark.parametrize("seed", range(8))
def test_act_sram_reads_against_brute_force(seed):
    rng = random.Random(seed)
    for cfg in (SMALL, B4, NOIM2C):
        for _ in range(4):
            r, s = rng.choice((1, 2, 3, 5)), rng.choice((1, 3, 5))
            stride, pad = rng.choice((1, 2)), rng.randint(0, 3)
            h = rng.randint(max(1, r - 2 * pad), 13)
            w = rng.randint(max(1, s - 2 * pad), 13)
            c, k = rng.randint(1, 20), rng.randint(1, 20)
            plan = plan_layer(cfg, h, w, c, k, r, s, stride, pad, check_sram=False)
            layer = (cfg.name, h, w, c, k, r, s, stride, pad)
            direct = brute_reads_no_im2col(plan)
            assert act_sram_reads_no_im2col(plan) == direct, layer
            if plan.uses_im2col:
                assert act_sram_reads(plan) == brute_reads_im2col(plan), layer
            else:
                assert act_sram_reads(plan) == direct, layer


def test_act_sram_reads_by_hand():
    # 4×4×8 map, 3×3 "same", 8 kernels on accel_small (patch 2×4, window 4×6): two windows,
    # rows −1…2 and 1…4 by columns −1…4: 3 in-image rows × 4 columns each = 24 words.
    plan = plan_layer(SMALL, 4, 4, 8, 8, 3, 3, 1, 1)
    assert act_sram_reads(plan) == 24
    # Direct: corners see 4 taps, edge pixels 6, the 4 inner pixels 9: 16 + 48 + 36 = 100.
    assert act_sram_reads_no_im2col(plan) == 100
    # Twice the channels and twice the column tiles: 4× the reads.
    plan = plan_layer(SMALL, 4, 4, 16, 9, 3, 3, 1, 1)
    assert (act_sram_reads(plan), act_sram_reads_no_im2col(plan)) == (96, 400)


@pytest.mark.parametrize("size", [5, 8, 13, 14, 16, 28])
def test_im2col_magnifies_3x3_reads_at_least_2_5x(size):
    # "Same" 3×3 stride-1 layers on accel_small: a 4×6 window feeds 2×4 pixels of 9 taps, 3× in
    # the interior (the paper's Fig. 8); border patches lose less than 0.5 of it.
    plan = plan_layer(SMALL, size, size, 16, 16, 3, 3, 1, 1, raster=False)
    ratio = act_sram_reads_no_im2col(plan) / act_sram_reads(plan)
    assert ratio >= 2.5, (size, ratio)


def test_accel_presets_are_in_the_preset_table():
    assert {"accel_small", "accel_small_noim2c", "accel_paper"} <= set(presets())
    assert isinstance(plan_layer(SMALL, **GOOD), LayerPlan)


# -- the direct reader of an IM2COL design ---------------------------------------------------------

def test_a_layer_whose_window_does_not_fit_runs_through_the_direct_reader():
    """11×11 fits no IM2COL window of accel_small (every window has ≥ 11 rows, the buffer 9), so
    the plan sends it to the direct reader: one patch row of 8 pixels, every element read, and the
    cycles of the same layer on the same array without IM2COL (no window to fill first)."""
    p = plan_layer(SMALL, h=20, w=19, c=9, k=10, r=11, s=11, stride=1, pad=5, nnz=2)
    q = plan_layer(NOIM2C, h=20, w=19, c=9, k=10, r=11, s=11, stride=1, pad=5, nnz=2)
    assert p.direct and p.reader == "direct" and (p.ph, p.pw) == (1, 8) == (q.ph, q.pw)
    assert act_sram_reads(p) == act_sram_reads_no_im2col(p) == act_sram_reads(q)
    assert layer_cycles(p) == layer_cycles(q) == \
        START_LATENCY + sta_job_cycles(SMALL.array, p.tiles, p.gemm_k, 2) + END_LATENCY
    with pytest.raises(PlanError, match="IM2COL window"):
        plan_layer(SMALL, h=20, w=19, c=9, k=10, r=11, s=11, stride=1, pad=5, nnz=2,
                   direct=False)


def test_direct_reader_on_request_and_its_limit():
    p = plan_layer(SMALL, h=7, w=9, c=11, k=13, r=3, s=3, stride=1, pad=1, nnz=4, direct=True)
    assert p.direct and (p.ph, p.pw) == (1, 8) and p.reader == "direct"
    fitting = plan_layer(SMALL, h=7, w=9, c=11, k=13, r=3, s=3, stride=1, pad=1, nnz=4,
                         raster=False)
    assert not fitting.direct and fitting.reader == "im2col"
    assert act_sram_reads(p) == act_sram_reads_no_im2col(fitting) > act_sram_reads(fitting)
    # 8 banks: a row of 8 output pixels at stride 2 spans 15 input pixels, so no direct reader.
    eight = _accel(sram={"act_banks": 8})
    with pytest.raises(PlanError, match="banks"):
        plan_layer(eight, h=20, w=20, c=8, k=8, r=11, s=11, stride=2, pad=0, nnz=2)
    # Designs without IM2COL read directly whatever is asked.
    assert plan_layer(NOIM2C, 7, 9, 11, 13, 3, 3, 1, 1, 4).reader == "direct"
