"""The ``sparseblox:`` section of an accelerator config, ``run --threshold``'s input errors, and the
golden model of a pruned accelerator layer worked by hand (Hotfilter et al., III-B)."""

import copy
import subprocess
import sys

import numpy as np
import pytest
from sparseforge.gen.config import config_to_dict, parse_config
from sparseforge.gen.errors import ConfigError
from sparseforge.gen.presets import load_preset
from sparseforge.sim.accel import blox as accel_blox
from sparseforge.sim.accel import cycles as accel_cycles
from sparseforge.sim.accel import plan as accel_plan

BASE = {"arch": "accel", "name": "b",
        "array": {"kind": "vdbb", "tpe": {"a": 2, "b": 8, "c": 4}, "array": {"m": 4, "n": 2}},
        "sram": {"act_kb": 16, "weight_kb": 16}, "sparseblox": {}}


def _with(**blox):
    raw = copy.deepcopy(BASE)
    raw["sparseblox"] = blox
    return raw


def test_defaults_and_round_trip():
    cfg = parse_config(BASE)
    blox = cfg.sparseblox
    assert (blox.capacity, blox.position_bits, blox.fmt.name) == (1024, 16, "Q8.8")
    assert parse_config(config_to_dict(cfg)) == cfg
    assert parse_config(_with(enable=False)).sparseblox is None
    assert parse_config({k: v for k, v in BASE.items() if k != "sparseblox"}).sparseblox is None
    assert load_preset("accel_small_blox").sparseblox.capacity == 1024
    assert load_preset("accel_small").sparseblox is None


@pytest.mark.parametrize("blox, field", [
    ({"cache": 4}, "sparseblox.cache"),
    ({"capacity": 0}, "sparseblox.capacity"),
    ({"capacity": 300, "position_bits": 8}, "sparseblox.capacity"),
    ({"position_bits": 0}, "sparseblox.position_bits"),
    ({"threshold": "Q8"}, "sparseblox.threshold"),
    ({"threshold": "Q0.8"}, "sparseblox.threshold"),
    ({"threshold": "Q8.17"}, "sparseblox.threshold"),
    ({"enable": "yes"}, "sparseblox.enable"),
])
def test_bad_sections(blox, field):
    with pytest.raises(ConfigError) as e:
        parse_config(_with(**blox))
    assert e.value.field == field


def test_too_many_blocks_per_tile():
    """2-pixel tiles of 16 channels at B = 2: 8 channel blocks a tile, more than its rows."""
    raw = copy.deepcopy(BASE)
    raw["array"] = {"kind": "sta", "tpe": {"a": 1, "b": 2, "c": 8}, "array": {"m": 2, "n": 2}}
    with pytest.raises(ConfigError) as e:
        parse_config(raw)
    assert e.value.field == "array.array.n"


def test_hand_worked_layer():
    """A 9×5×5 map on accel_small's array in 2×4-pixel patches, t = 2.

    Blocks (cb, ty, tx): 8 channels (1 in channel block 1) × rows 0–1, 2–3, 4 × columns 0–3, 4;
    n_valid per block of channel block 0: 64, 16 / 64, 16 / 32, 8; of channel block 1: 8, 2 /
    8, 2 / 4, 1. Position ((cb·3 + ty)·2 + tx) (one channel block per column tile).

    * (0,0,0): 64 values of 2: |mean| = 2 = t, kept (the test is strict);
    * (0,0,1): one 7 among 16: 7·256 < 512·16, pruned (created);
    * (0,1,0): ±5 alternating over channels: signed sum 0, pruned although mean |x| = 5;
    * (1,2,1): a single −3 (a partial block of one element): 3·256 ≥ 512·1, kept;
    * the other 8 blocks are all-zero: below t, cached, counted as already zero.
    """
    cfg = parse_config(BASE)
    plan = accel_plan.plan_layer(cfg, 5, 5, 8, 9, 1, 1, 1, 0, nnz=8, patch=(2, 4))
    assert (plan.tiles_y, plan.tiles_x, plan.cb_out) == (3, 2, 2)
    assert accel_blox.block_positions(plan).tolist() == \
        [[[0, 1], [2, 3], [4, 5]], [[6, 7], [8, 9], [10, 11]]]
    y = np.zeros((9, 5, 5), dtype=np.int64)
    y[:8, 0:2, 0:4] = 2
    y[0, 0, 4] = 7
    y[:8, 2:4, 0:4] = np.where(np.arange(8)[:, None, None] % 2, 5, -5)
    y[8, 4, 4] = -3
    raw = cfg.sparseblox.fmt.to_raw(2.0)
    result = accel_blox.prune_output(plan, y, raw)
    kept = [[0, 0, 0], [1, 2, 1]]
    assert np.argwhere(~result.cached).tolist() == kept
    c = result.counts
    assert (c.blocks_total, c.blocks_zero_before, c.blocks_pruned, c.blocks_cached,
            c.blocks_refused) == (12, 8, 2, 10, 0)
    # Words are valid pixels: channel block 0's cached blocks 2 + 8 + 2 + 4 + 1, channel
    # block 1's 8 + 2 + 8 + 2 + 4.
    assert c.words_not_written == c.words_not_read == 17 + 24
    assert result.data[0, 0, 4] == 0 and result.data[8, 4, 4] == -3
    assert result.data[0, 0, 0] == 2 and not result.data[:8, 2:4, 0:4].any()
    # t = 0 prunes nothing, not even the all-zero blocks.
    assert accel_blox.prune_output(plan, y, 0).counts.blocks_cached == 0
    # A 3-position cache takes the first three candidates in position order (1, 2, 3) and
    # refuses the other seven.
    small = parse_config(_with(capacity=3))
    result = accel_blox.prune_output(
        accel_plan.plan_layer(small, 5, 5, 8, 9, 1, 1, 1, 0, nnz=8, patch=(2, 4)), y, raw)
    assert np.argwhere(result.cached).tolist() == [[0, 0, 1], [0, 1, 0], [0, 1, 1]]
    assert result.counts.blocks_refused == 7


def sparseforge(*args):
    return subprocess.run([sys.executable, "-m", "sparseforge.gen.cli", *map(str, args)],
                          capture_output=True, text=True)


@pytest.mark.parametrize("config, args, words", [
    ("accel_small", ["--shift", "6"], "no Sparse-Blox"),
    ("accel_small_blox", [], "--shift"),
    ("accel_small_blox", ["--shift", "6", "--threshold", "-1"], "0 to 255.996"),
    ("accel_small_blox", ["--shift", "6", "--threshold", "256"], "0 to 255.996"),
    # A layer larger than the SRAMs runs as time tiles on the RTL; pruning is not built there.
    ("accel_small_blox", ["--shift", "6", "--conv", "96,96,64,64,3,3,1,1"], "time tiles"),
])
def test_threshold_input_errors(config, args, words):
    result = sparseforge("run", config, "--conv", "5,5,8,8,3,3", "--threshold", "1", *args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--threshold" in lines[0] and words in lines[0], lines


def test_threshold_refused_with_model():
    result = sparseforge("run", "accel_small_blox", "--model", "digits_cnn", "--threshold", "1")
    assert result.returncode == 2
    assert "--threshold" in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.cocotb
def test_run_threshold_on_the_rtl(tmp_path):
    """``run --conv … --threshold`` on the RTL test's design under Icarus (its build is shared with
    that test's Icarus case): exit 0 (bit-exact, cycles equal to the model), the block counts,
    the cycles the pruner costs and the model's figures for a next layer dropping steps."""
    import json

    import yaml
    from sparseforge.gen.accel import _blox_test_design

    design = _blox_test_design()
    path = tmp_path / "accel_blox_test.yaml"
    path.write_text(yaml.safe_dump(design))
    result = sparseforge("run", path, "--conv", "5,6,9,13,3,3,1,1", "--shift", "7", "--relu",
                         "--threshold", "12", "--sim", "icarus", "--json", "-q")
    assert result.returncode == 0, result.stderr + result.stdout
    report = json.loads(result.stdout)
    cfg = parse_config(design)
    assert report["mismatches"] == 0 and report["blocks_total"] == 3 * 3 * 4
    assert report["rtl_blocks_cached"] == report["blocks_cached"] > 0
    assert report["rtl_blocks_refused"] == report["blocks_refused"]
    # All-zero blocks are below every positive threshold: cached, or refused by a full cache.
    assert report["blocks_cached"] + report["blocks_refused"] >= report["blocks_zero_before"]
    assert report["blocks_pruned"] <= report["blocks_cached"]
    assert report["cycles"] == report["model_cycles_blox"] == \
        report["model_cycles"] + accel_blox.blox_tail(cfg)
    # The next layer (13 → 13, 3×3, pad 1) reads the pruned map and drops steps (model).
    nxt = report["next_layer"]
    assert nxt["conv"] == [5, 6, 13, 13, 3, 3, 1, 1] and nxt["skipping"]
    assert report["macs_skipped"] == nxt["macs_skipped"] == \
        nxt["steps_dropped"] * cfg.array.max_nnz * cfg.array.macs_total
    assert report["cycles_saved"] == \
        nxt["cycles_plain"] - nxt["cycles_skip"] - accel_blox.blox_tail(cfg)
    assert report["act_words_saved"] == 2 * report["act_words_not_written"] > 0


def test_registers_and_macros():
    """The Sparse-Blox registers sit in free offsets of the map, only on designs that have it, and
    the cache's storage is listed with the SRAM macros (2 banks × capacity × position bits)."""
    from sparseforge.hdl.accel import REGISTERS, Accelerator
    from sparseforge.hdl.accel.blox import blox_registers

    cfg = load_preset("accel_small_blox")
    extra = blox_registers(cfg)
    assert [r.name for r in extra] == ["blox", "blox_threshold", "blox_cached", "blox_refused",
                                       "read_blox", "blox_zero_reads", "blox_skip",
                                       "blox_skips"]
    offsets = [r.offset for r in REGISTERS + extra]
    assert len(set(offsets)) == len(offsets) and max(offsets) < 256
    assert next(r for r in extra if r.name == "blox_threshold").width == 16
    assert blox_registers(load_preset("accel_small")) == []
    cache = [m for m in Accelerator.memory_macros(cfg) if "blox_cache" in m["module"]]
    assert cache == [{"module": "accel_small_blox.blox_cache.positions", "words": 2048,
                      "width": 16}]
    assert not any("blox_cache" in m["module"]
                   for m in Accelerator.memory_macros(load_preset("accel_small")))


@pytest.mark.parametrize("h, w, c, k, r, s, stride, pad, direct", [
    (7, 9, 11, 13, 3, 3, 1, 1, False), (9, 11, 10, 9, 3, 3, 2, 1, False),
    (6, 6, 8, 8, 1, 1, 2, 0, False), (7, 9, 11, 13, 3, 3, 1, 1, True),
    (5, 12, 8, 20, 3, 3, 1, 0, True),
])
def test_word_reads_add_up_to_the_read_count(h, w, c, k, r, s, stride, pad, direct):
    """The per-word read counts behind ``zero_reads`` sum to the layer's activation reads
    (``act_sram_reads``, counted window by window without per-word bookkeeping)."""
    cfg = parse_config(BASE)
    plan = accel_plan.plan_layer(cfg, h, w, c, k, r, s, stride, pad, cfg.array.max_nnz,
                                 direct=direct)
    assert plan.direct == direct
    total = int(accel_blox.word_reads(plan).sum()) * plan.cb_in * plan.col_tiles
    assert total == accel_plan.act_sram_reads(plan)


def test_zero_reads_by_hand():
    """A 3×3 map, 3×3 kernel, pad 1, direct reader: the centre pixel is in all 9 output pixels'
    windows, a corner in 4; one column tile per 8 channels of K = 8 → 1 tile."""
    cfg = parse_config(BASE)
    plan = accel_plan.plan_layer(cfg, 3, 3, 8, 8, 3, 3, 1, 1, cfg.array.max_nnz, direct=True)
    assert plan.col_tiles == 1 and plan.cb_in == 1
    pruned = np.zeros((1, 3, 3), dtype=bool)
    pruned[0, 1, 1] = pruned[0, 0, 0] = True
    assert accel_blox.zero_reads(plan, pruned) == 9 + 4
    with pytest.raises(ValueError, match="pruned words"):
        accel_blox.zero_reads(plan, pruned[:, :2])


def test_pruned_words_expand_blocks_to_pixels():
    """A block covers its layer's ph × pw output patch of one channel block; edge blocks are cut
    at the map's edge."""
    cfg = parse_config(BASE)
    plan = accel_plan.plan_layer(cfg, 5, 7, 8, 8, 3, 3, 1, 1, cfg.array.max_nnz, patch=(2, 4))
    cached = np.zeros((plan.cb_out, plan.tiles_y, plan.tiles_x), dtype=bool)
    cached[0, 2, 1] = True                         # rows 4…5 (only 4 exists), columns 4…7 (4…6)
    words = accel_blox.pruned_words(plan, cached)
    assert words.shape == (1, 5, 7)
    want = np.zeros((1, 5, 7), dtype=bool)
    want[0, 4, 4:7] = True
    assert np.array_equal(words, want)


# -- the next layer's engine drops the steps of pruned beats -------------------------------------

def test_drop_cycles_by_hand():
    """A block of NNZ values and a 1-slot mask passes at the slots held plus one 2-slot word a
    cycle (INT8 weights, B = 8), at least one cycle."""
    cfg = parse_config(BASE)
    assert (cfg.array.mask_slots, cfg.array.word_slots) == (1, 2)
    assert [accel_blox.drop_cycles(cfg, nnz, held) for nnz, held in
            ((8, 0), (8, 1), (4, 0), (4, 1), (1, 0), (1, 1))] == [5, 4, 3, 2, 1, 1]


def test_skip_schedule_by_hand():
    """1×1 layer of three channel blocks (one 1×8 patch, one tile, NNZ 4: a running block takes
    4 cycles): blocks 0 and 1 all pruned are dropped in 3 cycles (nothing held) and 2 (one slot
    held after 5 slots); the tile's last block runs even when pruned; a beat with one word kept
    runs. The layer's cycles fall by exactly the tile's."""
    cfg = parse_config(BASE)
    plan = accel_plan.plan_layer(cfg, 1, 8, 24, 8, 1, 1, 1, 0, 4)
    assert (plan.tiles, plan.cb_in, plan.uses_im2col) == (1, 3, True)
    assert accel_blox.skip_allowed(plan)
    pruned = np.zeros((3, 1, 8), dtype=bool)
    assert accel_blox.skip_schedule(plan, pruned) == ([12], 0)
    pruned[:2] = True
    assert accel_blox.skip_schedule(plan, pruned) == ([9], 2)
    assert accel_blox.skip_layer_cycles(plan, pruned) == \
        accel_cycles.layer_cycles(plan) - 3
    pruned[1, 0, 5] = False
    assert accel_blox.skip_schedule(plan, pruned) == ([3 + 4 + 4], 1)
    pruned[:] = False
    pruned[2] = True
    assert accel_blox.skip_schedule(plan, pruned) == ([12], 0)


def test_padding_alone_is_not_dropped():
    """3×3 kernel, pad 1 on a 1-row map, direct reader: beats of kernel rows 0 and 2 read only
    padding (zeros, none pruned) and run; the three of row 1 read pruned words (and padding at
    the left edge) and are dropped: 3 + 4·6 + costs 2, 3, 2 (slots held 1, 0, 1)."""
    cfg = parse_config(BASE)
    plan = accel_plan.plan_layer(cfg, 1, 8, 8, 8, 3, 3, 1, 1, 4, direct=True)
    assert (plan.tiles, plan.reader) == (1, "direct")
    pruned = np.ones((1, 1, 8), dtype=bool)
    flags = accel_blox.beat_zero_flags(plan, pruned)[0, 0, 0]
    assert np.array_equal(flags, [[False] * 3, [True] * 3, [False] * 3])
    assert accel_blox.skip_schedule(plan, pruned) == ([4 * 6 + 2 + 3 + 2], 3)


def test_skip_only_on_sparse_blox_designs():
    """Designs without Sparse-Blox, and dense arrays (whose weight words are one step each, so
    dropping saves nothing), do not drop blocks."""
    plain = load_preset("accel_small")
    dense = dict(BASE, array={"kind": "sta", "tpe": {"a": 2, "b": 8, "c": 4},
                              "array": {"m": 4, "n": 2}})
    for cfg in (plain, parse_config(dense)):
        plan = accel_plan.plan_layer(cfg, 4, 8, 8, 8, 3, 3, 1, 1, cfg.array.max_nnz)
        assert not cfg.blox_skips and not accel_blox.skip_allowed(plan)
        with pytest.raises(ValueError, match="cannot drop"):
            accel_blox.skip_schedule(plan, np.zeros((1, 4, 8), dtype=bool))


def test_engine_model_with_equal_tile_lengths():
    """Per-tile lengths equal to ⌈K/B⌉·NNZ give the engine model's plain count."""
    from sparseforge.sim.sta.cycles import sta_job_cycles
    array = parse_config(BASE).array
    for tiles, k, nnz in ((1, 72, 8), (7, 16, 1), (5, 24, 3)):
        steps = -(-k // array.block) * array.steps_per_block(nnz)
        assert sta_job_cycles(array, tiles, k, nnz, [steps] * tiles) == \
            sta_job_cycles(array, tiles, k, nnz)
