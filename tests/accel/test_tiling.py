"""Time tiling of layers larger than the SRAMs (sim/accel/tiling.py) and its cycle model.

The tiles' rows, words and bytes are worked by hand from the module's documented rules on a 2 KB
design; each job's cycles come from the per-job model (:func:`layer_cycles`, checked exact against
the RTL by the regression, which also runs tiled layers); the schedule's cost is recomputed here
from the rule (one DMA channel, weights loaded during the previous job); the choice is checked
against an enumeration of every candidate tiling; and the tiles' operands reassemble the golden
convolution of the whole layer.
"""

import json
import subprocess
import sys

import numpy as np
import pytest
from sparseforge.gen.config import parse_config
from sparseforge.sim import conv
from sparseforge.sim.accel.cycles import dma_cycles, layer_cycles
from sparseforge.sim.accel.plan import PlanError, plan_layer
from sparseforge.sim.accel.tiling import (
    assemble_output,
    fewest_pieces,
    split,
    tile_layer,
    tile_operands,
)


def _accel(array=None, sram=None):
    return parse_config({"arch": "accel", "name": "t", "im2col": True,
                         "array": array or {"kind": "vdbb", "tpe": {"a": 2, "b": 8, "c": 4},
                                            "array": {"m": 4, "n": 2}},
                         "sram": sram or {"act_kb": 2, "weight_kb": 2}})


# accel_small's array (8-pixel tiles, 8 columns, B = 8) with 2 KB SRAMs: activation halves of 16
# banks × 8 rows (128 words of 8 bytes), weight halves of 64 words of 16 bytes (2 slots a column).
TINY = _accel()
# B = 4, 4-pixel tiles of 4 columns, 8 banks, 1 KB + 1 KB.
B4 = _accel({"kind": "vdbb", "tpe": {"a": 2, "b": 4, "c": 2}, "array": {"m": 2, "n": 2}},
            {"act_kb": 1, "weight_kb": 1, "act_banks": 8})


def test_tiny_design_is_what_the_hand_counts_assume():
    assert (TINY.act_banks, TINY.act_bank_depth, TINY.weight_half_words) == (16, 8, 64)
    assert (TINY.word_bits, TINY.weight_word_bits) == (64, 128)


def test_split_and_fewest_pieces():
    assert split(8, 3) == [(0, 3), (3, 3), (6, 2)]
    assert split(7, 7) == [(i, 1) for i in range(7)]
    assert fewest_pieces(8) == [1, 2, 3, 4, 8]
    assert fewest_pieces(1) == [1]


def test_dma_cycles_one_word_a_cycle_at_most():
    assert dma_cycles(0, 8, 8) == 0
    assert dma_cycles(10, 8, 8) == 10
    assert dma_cycles(10, 8, 16) == 10            # the stream takes a word a cycle
    assert dma_cycles(10, 8, 3) == 27             # ⌈80/3⌉
    assert dma_cycles(3, 16, 8) == 6


def test_a_layer_that_fits_is_one_tile_and_moves_nothing():
    tiled = tile_layer(TINY, 6, 6, 8, 8, 3, 3, 1, 1, 2, int8_out=True)
    plan = plan_layer(TINY, 6, 6, 8, 8, 3, 3, 1, 1, 2, int8_out=True)
    assert tiled.fits_sram and tiled.time_tiles == 1
    assert tiled.reload_bytes == tiled.reload_cycles == 0
    assert tiled.cycles == layer_cycles(plan)


def test_row_bands_by_hand():
    """8×10×8 → 8, 3×3 pad 1, INT32 out: the output needs ⌈80/16⌉·4 = 20 rows per bank (8 fit),
    the input 5. A band of hb rows writes ⌈10·hb/16⌉·4 rows: hb ≤ 3, so 3 bands (3, 3, 2) at
    least. Each band reads (hb + 2) rows of the 12-wide padded map, pad 0."""
    tiled = tile_layer(TINY, 8, 10, 8, 8, 3, 3, 1, 1, 2, tiling=(3, 1, "bands"))
    assert not tiled.fits_sram and tiled.time_tiles == 3
    assert [(t.oy, t.rows, t.in_rows) for t in tiled.tiles] == [
        (0, 3, (0, 5)), (3, 3, (3, 8)), (6, 2, (6, 10))]
    for t, h in zip(tiled.tiles, (5, 5, 4)):
        assert (t.plan.h, t.plan.w, t.plan.pad, t.plan.k) == (h, 12, 0, 8)
    assert [t.act_words for t in tiled.tiles] == [60, 60, 48]
    assert [t.out_words for t in tiled.tiles] == [120, 120, 80]
    assert [t.weight_words for t in tiled.tiles] == [0, 0, 0]       # one group: resident
    moved = 60 + 60 + 48 + 120 + 120 + 80
    assert tiled.reload_bytes == 8 * moved
    assert tiled.reload_cycles == moved                            # 8 bytes a cycle
    jobs = 2 * layer_cycles(plan_layer(TINY, 5, 12, 8, 8, 3, 3, 1, 0, 2, check_sram=False)) + \
        layer_cycles(plan_layer(TINY, 4, 12, 8, 8, 3, 3, 1, 0, 2, check_sram=False))
    assert tiled.cycles == jobs + moved
    slow = tile_layer(TINY, 8, 10, 8, 8, 3, 3, 1, 1, 2, tiling=(3, 1, "bands"), dma_bytes=2)
    assert slow.reload_cycles == 4 * moved                         # 8-byte words, 2 a cycle
    with pytest.raises(PlanError, match="does not fit"):
        tile_layer(TINY, 8, 10, 8, 8, 3, 3, 1, 1, 2, tiling=(2, 1, "bands"))   # 4-row bands


def test_channel_groups_by_hand():
    """4×4×64 → 24, 1×1, at 8/8: a column tile's weights are 8 blocks × 9 slots = 72 slots a
    column, 36 words. The layer fits the SRAMs with its 108 weight words in both 64-word halves,
    but then they cannot load during the previous layer (216 cycles at 8 bytes a cycle); as
    three groups the first group's weights are loaded before the layer, into the other half,
    and the others during the previous job, all hidden, so the plan takes three groups. The
    input (16 pixels × 8 blocks) stays resident. The whole INT8 output map (16 pixels × 3
    blocks, ⌈16/16⌉·3 = 3 rows per bank of 8) fits a half, so each group writes its block of
    every pixel there and nothing is read back; as INT32 (12 rows per bank) each group's map
    (16 pixels × 4 words) is read back."""
    one = tile_layer(TINY, 4, 4, 64, 24, 1, 1, 1, 0, 8, int8_out=True, tiling=(1, 1, "bands"))
    assert one.fits_sram and [t.weight_words for t in one.tiles] == [108]
    assert one.reload_cycles == 216
    tiled = tile_layer(TINY, 4, 4, 64, 24, 1, 1, 1, 0, 8, int8_out=True)
    assert tiled.fits_sram and tiled.time_tiles == 3
    assert (tiled.bands, tiled.groups, tiled.time_tiles) == (1, 3, 3) and tiled.in_place
    assert [(t.k0, t.plan.k, t.in_rows) for t in tiled.tiles] == [
        (0, 8, None), (8, 8, None), (16, 8, None)]
    assert [t.act_words for t in tiled.tiles] == [0, 0, 0]
    assert [t.weight_words for t in tiled.tiles] == [0, 36, 36]
    assert [t.out_words for t in tiled.tiles] == [0, 0, 0]
    assert tiled.reload_bytes == 2 * 36 * 16
    job = layer_cycles(plan_layer(TINY, 4, 4, 64, 8, 1, 1, 1, 0, 8, int8_out=True))
    assert job > 36 * 16 // 8                     # 72 cycles of weights: hidden by the job
    assert tiled.reload_cycles == 0
    assert tiled.cycles == 3 * job
    slow = tile_layer(TINY, 4, 4, 64, 24, 1, 1, 1, 0, 8, int8_out=True, dma_bytes=1,
                      tiling=(1, 3, "bands"))
    assert slow.reload_cycles == 2 * max(0, 36 * 16 - job)
    wide = tile_layer(TINY, 4, 4, 64, 24, 1, 1, 1, 0, 8, tiling=(1, 3, "bands"))
    assert not wide.fits_sram and not wide.in_place
    assert [t.out_words for t in wide.tiles] == [64, 64, 64]
    assert wide.reload_cycles == 3 * 64


def test_weights_in_both_halves_load_between_jobs():
    """4×4×64 → 48 at 8/8 as two groups of three column tiles: each group's 108 weight words
    use both 64-word halves, so neither group's load overlaps a job (the first one's not the
    previous layer's either): 108 × 16 bytes at 8 a cycle, 216 cycles, each. As six groups of
    36 words each load but the first hides under the job before it. Its whole weights, 216
    words, exceed the 128 of both halves."""
    two = tile_layer(TINY, 4, 4, 64, 48, 1, 1, 1, 0, 8, int8_out=True, tiling=(1, 2, "bands"))
    assert [t.plan.weight_word_count for t in two.tiles] == [108, 108]
    assert [t.weight_words for t in two.tiles] == [108, 108] and two.in_place
    assert two.reload_cycles == 2 * 216
    job = layer_cycles(two.tiles[0].plan)
    assert two.cycles == 2 * job + 2 * 216
    six = tile_layer(TINY, 4, 4, 64, 48, 1, 1, 1, 0, 8, int8_out=True, tiling=(1, 6, "bands"))
    small = layer_cycles(six.tiles[0].plan)
    assert small > 36 * 16 // 8 and six.reload_cycles == 0 and six.cycles == 6 * small
    assert not two.fits_sram


def test_bands_write_in_place_when_the_whole_map_fits():
    """The 8×10×8 → 8 layer of test_row_bands_by_hand with INT8 output fits (5 rows per bank);
    forced into three bands, each writes its rows at pixel oy·10 of the whole map: only the
    bands' inputs move."""
    tiled = tile_layer(TINY, 8, 10, 8, 8, 3, 3, 1, 1, 2, int8_out=True, tiling=(3, 1, "bands"))
    assert tiled.fits_sram and tiled.in_place and tiled.time_tiles == 3
    assert [t.out_words for t in tiled.tiles] == [0, 0, 0]
    assert [t.act_words for t in tiled.tiles] == [60, 60, 48]
    assert tiled.reload_cycles == 60 + 60 + 48


def test_loop_orders_by_hand():
    """The same layer with 8 rows in 2 bands and 3 groups: bands outer loads each band once
    and weights at every tile but the first; groups outer loads each group's weights once and
    the band at every tile."""
    def loads(order):
        tiled = tile_layer(TINY, 8, 4, 64, 24, 1, 1, 1, 0, 8, int8_out=True,
                           tiling=(2, 3, order))
        return ([bool(t.act_words) for t in tiled.tiles],
                [bool(t.weight_words) for t in tiled.tiles], [t.k0 for t in tiled.tiles])
    assert loads("bands") == ([True, False, False, True, False, False],
                              [False, True, True, True, True, True], [0, 8, 16, 0, 8, 16])
    assert loads("groups") == ([True] * 6, [False, False, True, False, True, False],
                               [0, 0, 8, 8, 16, 16])


def _schedule_cycles(tiled, cfg):
    """The schedule rule restated: jobs back to back on one DMA channel; before a tile its input,
    then the part of its weights the previous job did not hide; after it, its output."""
    act_bytes, weight_bytes = -(-cfg.word_bits // 8), -(-cfg.weight_word_bits // 8)
    total, previous = 0, 0
    for t in tiled.tiles:
        job = layer_cycles(t.plan)
        both = t.plan.weight_word_count > cfg.weight_half_words     # no double buffer
        act = -(-t.act_words * act_bytes // tiled.dma_bytes)
        weights = -(-t.weight_words * weight_bytes // tiled.dma_bytes)
        out = -(-t.out_words * act_bytes // tiled.dma_bytes)
        hidden = 0 if both else previous
        total += job + max(act, t.act_words) + max(0, max(weights, t.weight_words) - hidden) \
            + max(out, t.out_words)
        previous = 0 if both else job
    return total


LAYERS = [
    # cfg, (h, w, c, k, r, s, stride, pad), nnz, int8_out, dma
    (TINY, (8, 10, 8, 8, 3, 3, 1, 1), 2, False, 8),
    (TINY, (8, 4, 64, 24, 1, 1, 1, 0), 8, True, 1),
    (TINY, (9, 7, 24, 20, 3, 3, 2, 1), 3, False, 4),
    (TINY, (12, 6, 16, 40, 3, 3, 1, 1), 4, True, 2),
    (B4, (10, 9, 6, 10, 3, 3, 1, 1), 4, False, 8),
    (B4, (7, 11, 20, 12, 1, 1, 2, 0), 2, False, 1),
]


@pytest.mark.parametrize("cfg, layer, nnz, int8_out, dma", LAYERS)
def test_choice_is_the_cheapest_of_every_candidate(cfg, layer, nnz, int8_out, dma):
    chosen = tile_layer(cfg, *layer, nnz, int8_out=int8_out, dma_bytes=dma)
    whole = plan_layer(cfg, *layer, nnz, check_sram=False)
    costs = {}
    for nb in fewest_pieces(whole.ho):
        for ng in fewest_pieces(whole.col_tiles):
            for order in (("bands", "groups") if nb > 1 and ng > 1 else ("bands",)):
                try:
                    tiled = tile_layer(cfg, *layer, nnz, int8_out=int8_out, dma_bytes=dma,
                                       tiling=(nb, ng, order))
                except PlanError:
                    continue
                costs[nb, ng, order] = (_schedule_cycles(tiled, cfg), tiled.time_tiles)
    assert costs, "no tiling fits: the case is not a tiling case"
    best = min(costs.values())
    assert (chosen.cycles, chosen.time_tiles) == best
    assert _schedule_cycles(chosen, cfg) == chosen.cycles
    assert chosen.time_tiles > 1 and not chosen.fits_sram


@pytest.mark.parametrize("cfg, layer, nnz, int8_out, dma", LAYERS)
def test_tiles_reassemble_the_golden_convolution(cfg, layer, nnz, int8_out, dma):
    seed = sum(layer) * 7 + nnz
    rng = np.random.default_rng(seed)
    h, w, c, k, r, s, stride, pad = layer
    x = rng.integers(-128, 128, (c, h, w))
    wt = rng.integers(-128, 128, (k, c, r, s))
    want = conv.conv2d(x, wt, stride, pad, 32)
    for tiling in (None, (2, 2, "groups"), (3, 1, "bands")):
        try:
            tiled = tile_layer(cfg, *layer, nnz, int8_out=int8_out, dma_bytes=dma,
                               tiling=tiling)
        except PlanError:
            continue
        parts = []
        for tile, (xt, wtt) in zip(tiled.tiles, tile_operands(tiled, x, wt)):
            p = tile.plan
            assert xt.shape == (p.c, p.h, p.w) and wtt.shape == (p.k, p.c, p.r, p.s)
            parts.append(conv.conv2d(xt, wtt, p.stride, p.pad, 32))
        assert np.array_equal(assemble_output(tiled, parts), want), (seed, tiling)


def test_a_reduction_too_long_for_one_tile_is_refused():
    """3×3 over 64 channels at 8/8: one column tile's weights are 72 blocks × 9 slots / 2 = 324
    words, more than a 64-word half; only partial sums across jobs could split it."""
    with pytest.raises(PlanError, match="324 words.*partial sums"):
        tile_layer(TINY, 6, 6, 64, 8, 3, 3, 1, 1, 8)


def test_bad_dma_and_tiling_are_refused():
    with pytest.raises(PlanError, match="dma_bytes = 0"):
        tile_layer(TINY, 6, 6, 8, 8, 3, 3, 1, 1, 2, dma_bytes=0)
    with pytest.raises(PlanError, match="tiling"):
        tile_layer(TINY, 8, 10, 8, 8, 3, 3, 1, 1, 2, tiling=(9, 1, "bands"))


def sparseforge(*args):
    return subprocess.run([sys.executable, "-m", "sparseforge.gen.cli", *map(str, args)],
                          capture_output=True, text=True)


def test_cli_model_only_reports_the_tiles():
    """res5a_branch2c on accel_paper at 8/8: 1,179,648 weight bytes, more than a 256 KB weight
    half, so it runs as output-channel groups."""
    result = sparseforge("run", "accel_paper", "--layer", "resnet50.res5a_branch2c",
                         "--nnz", "8", "--shift", "8", "--model-only", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["fits_sram"] is False and report["time_tiles"] > 1
    assert report["tiling"]["channel_groups"] > 1 and report["reload_bytes"] > 0
    assert report["model_cycles"] == report["job_cycles"] + report["reload_cycles"]
    assert report["dma_bytes_per_cycle"] == 8
    bad = sparseforge("run", "accel_paper", "--layer", "resnet50.res5a_branch2c",
                      "--model-only", "--dma-bytes", "0")
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1 and "--dma-bytes" in bad.stderr


def test_cli_network_totals_count_the_reloads():
    result = sparseforge("run", "accel_paper", "--network", "resnet50", "--nnz", "8",
                         "--model-only", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    rows = report["layers"]
    assert report["total_cycles"] == sum(r["model_cycles"] for r in rows)
    assert report["total_reload_cycles"] == sum(r["reload_cycles"] for r in rows) > 0
    # The 3×3 res5 layers' column tiles need 2,592 weight words: more than a 2,048-word half,
    # so they use both halves and their groups' weights load between the jobs.
    assert report["refused_layers"] == []
    res5 = next(r for r in rows if r["layer"] == "res5a_branch2b")
    assert res5["time_tiles"] > 1 and res5["reload_cycles"] > 0
    for r in rows:
        assert r["model_cycles"] == r["job_cycles"] + r["reload_cycles"]
        # A layer that fits may still run as tiles (weights that would need both halves load
        # during the previous job as groups); one that does not fit never runs as one job.
        assert r["fits_sram"] or r["time_tiles"] != 1
        assert (r["reload_bytes"] > 0) == (r["time_tiles"] not in (None, 1))


def test_cli_rtl_run_of_a_layer_whose_smallest_tiles_do_not_fit_is_refused():
    # 7x7x1024 -> 8, 3x3, at 8/8 on accel_small: one column tile's weights need 5,184 words,
    # more than the weight SRAM's 4,096 (both halves), so even one-row tiles of one column tile
    # do not fit (a layer larger than the SRAMs but tileable runs as time tiles:
    # tests/accel/test_cli.py).
    result = sparseforge("run", "accel_small", "--conv", "7,7,1024,8,3,3,1,1")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--conv" in lines[0] and "even as time tiles" in lines[0], \
        result.stderr


def test_cli_network_rtl_layers_are_checked_before_any_simulation(tmp_path):
    # --rtl-layers runs a layer larger than the SRAMs as its time tiles, but one whose smallest
    # tiles do not fit (res5a_branch2b at 8/8 on accel_small with 32 KB of weights: one column
    # tile's 2,592 words, both halves hold 2,048) is refused before the layers named ahead of it
    # start simulating: one line, exit 2, no RTL run (this test builds none).
    config = tmp_path / "small_weights.yaml"
    config.write_text("arch: accel\n"
                      "array: {kind: vdbb, tpe: {a: 2, b: 8, c: 4}, array: {m: 4, n: 2}}\n"
                      "sram: {act_kb: 128, weight_kb: 32}\n")
    result = sparseforge("run", config, "--network", "resnet50", "--nnz", "8",
                         "--rtl-layers", "res2a_branch2a,res5a_branch2b")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--rtl-layers res5a_branch2b" in lines[0], result.stderr
    assert "simulating" not in result.stderr


def test_fitting_shift_is_the_smallest_that_keeps_the_largest_value():
    assert conv.fitting_shift(np.array([127, -5000])) == 0
    assert conv.fitting_shift(np.array([128])) == 1     # (128 + 1) >> 1 = 64
    assert conv.fitting_shift(np.array([254])) == 1     # (254 + 1) >> 1 = 127
    assert conv.fitting_shift(np.array([255])) == 2     # 128 at shift 1 saturates
    assert conv.fitting_shift(np.zeros((2, 3), dtype=np.int64)) == 0
    for top in (1000, 2 ** 20 + 7, 2 ** 31 - 1):
        s = conv.fitting_shift(np.array([top]))
        assert conv.requantize(np.array([top]), s, True)[0] <= 127
        assert s == 0 or conv.requantize(np.array([top]), s - 1, True)[0] == 127 and \
            (top + ((1 << (s - 1)) >> 1)) >> (s - 1) > 127
