"""Sparse-Blox on SCNN: the ``sparseblox:`` section, the pruned layer's golden model worked by
hand, the PPU's block-pass cycles, and the accelerator with pruning PPUs under Amaranth's
simulator against the golden model of the pruned layer (Hotfilter et al., III-B)."""

import copy

import numpy as np
import pytest
from sparseforge.gen.config import config_to_dict, parse_config
from sparseforge.gen.errors import ConfigError
from sparseforge.gen.presets import load_preset
from sparseforge.sim.scnn import cycles as scnn_cycles
from sparseforge.sim.scnn import streams as scnn_streams
from sparseforge.sim.scnn.blox import prune_tiles
from sparseforge.sim.scnn.golden import layer_output
from sparseforge.tb.scnn.cases import random_layer
from sparseforge.tb.scnn.pysim import simulate_layer

#: 2×1 PEs of 5×5 tiles: 2×2 blocks per tile (4×4, 1×4, 4×1, 1×1), 3×3 kernels; Q8.4 thresholds
#: (t = raw / 16); 2 channels × 4 blocks = 8 positions per PE.
TINY = {"arch": "scnn", "name": "blox_tiny", "pes": {"x": 2, "y": 1},
        "pe": {"f": 1, "i": 2}, "kc": 2, "tile": {"w": 5, "h": 5}, "kernel_max": 3,
        "index_bits": 2, "widths": {"act": 6, "weight": 4, "acc": 12},
        "rams": {"iaram": 64, "oaram": 64, "weights": 32, "out_channels": 2},
        "sparseblox": {"capacity": 8, "position_bits": 3, "threshold": "Q8.4"}}


def _with(**blox):
    raw = copy.deepcopy(TINY)
    raw["sparseblox"] = {**raw["sparseblox"], **blox}
    return raw


def test_defaults_and_round_trip():
    defaults = parse_config({**TINY, "sparseblox": {}}).sparseblox
    assert (defaults.capacity, defaults.position_bits, defaults.fmt.name) == (1024, 16, "Q24.8")
    cfg = load_preset("scnn_2x2_small_blox")
    blox = cfg.sparseblox
    assert (blox.capacity, blox.position_bits, blox.fmt.name) == (32, 5, "Q24.8")
    assert blox.capacity == cfg.out_channels * cfg.blox_blocks        # it never fills
    assert cfg.blox_grid == (1, 2)                      # 3×5 tiles: one 3×4 and one 3×1 block
    assert parse_config(config_to_dict(cfg)) == cfg
    assert load_preset("scnn_2x2_small").sparseblox is None
    assert parse_config(_with(enable=False)).sparseblox is None
    plain = {k: v for k, v in TINY.items() if k != "sparseblox"}
    assert parse_config(plain).sparseblox is None


@pytest.mark.parametrize("blox, field", [
    ({"cache": 4}, "sparseblox.cache"),
    ({"capacity": 0}, "sparseblox.capacity"),
    ({"capacity": 9}, "sparseblox.capacity"),             # 2**3 positions
    ({"position_bits": 2, "capacity": 4}, "sparseblox.position_bits"),   # 8 need 3 bits
    ({"threshold": "Q25.0"}, "sparseblox.threshold"),     # beyond 24 integer bits
    ({"threshold": "Q24.9"}, "sparseblox.threshold"),     # a 33-bit CSR
    ({"threshold": "Q8"}, "sparseblox.threshold"),
    ({"enable": "yes"}, "sparseblox.enable"),
])
def test_bad_sections(blox, field):
    with pytest.raises(ConfigError) as e:
        parse_config(_with(**blox))
    assert e.value.field == field


def test_registers_and_macros():
    """The threshold and the four counters sit at free offsets, only on designs with
    Sparse-Blox; every PE's cache storage is an SRAM macro of 2 banks × capacity."""
    from sparseforge.hdl.scnn import ScnnAccelerator, register_map

    cfg = parse_config(TINY)
    regs = register_map(cfg)
    offsets = [r.offset for r in regs]
    assert len(set(offsets)) == len(offsets) and max(offsets) < 256
    names = {r.name: r for r in regs}
    assert names["blox_threshold"].width == 12 and names["blox_threshold"].access == "rw"
    assert {"blocks_cached", "blocks_pruned", "blocks_refused", "blocks_zero_before"} <= set(names)
    assert not any(r.name.startswith("blo") for r in register_map(load_preset("scnn_2x2_small")))
    caches = [m for m in ScnnAccelerator.memory_macros(cfg) if "pruner" in m["module"]]
    assert caches == [{"module": f"blox_tiny.pe_{x}_0.ppu.pruner.cache.positions", "words": 16,
                       "width": 3} for x in range(2)]


def test_hand_worked_tiles():
    """Two channels of a 5×7 output on TINY (PE 1's tile is 2 columns wide), t = 2.

    Channel 0, PE 0: block (0, 0) all 2s: |mean| = t, kept (strict); (0, 1) (column 4, rows
    0–3, 4 elements) one 7: 7·16 < 32·4, pruned; (1, 0) (row 4) all zero: cached, counted as
    already zero; (1, 1) a single 3 (one element): 48 ≥ 32, kept. PE 1: block (0, 0) 2 columns
    × 4 rows of 1s: pruned; (0, 1) and (1, 1) lie outside the image (no element: not blocks);
    (1, 0) row 4: a single 9 among 2: 9·16 ≥ 32·2, kept. Channel 1 is all zeros: 6 blocks
    already zero, all cached.
    """
    cfg = parse_config(TINY)
    out = np.zeros((2, 5, 7), dtype=np.int64)
    out[0, :4, :4] = 2
    out[0, 1, 4] = 7
    out[0, 4, 4] = 3
    out[0, :4, 5:7] = 1
    out[0, 4, 6] = 9
    result = prune_tiles(cfg, out, 32)
    pe0, pe1 = result.cached
    assert pe0[0].tolist() == [[False, True], [True, False]]
    assert pe1[0].tolist() == [[True, False], [False, False]]
    assert pe0[1].all() and pe1[1].tolist() == [[True, False], [True, False]]
    c = result.counts
    assert (c.blocks_total, c.blocks_zero_before, c.blocks_pruned, c.blocks_cached,
            c.blocks_refused) == (12, 7, 2, 9, 0)
    want = out.copy()
    want[0, 1, 4] = 0
    want[0, :4, 5:7] = 0
    np.testing.assert_array_equal(result.data, want)
    # Compressed entries (index_bits 2: a run of z zeros takes z // 4 placeholders). PE 0's
    # channel 0: 18 values and one placeholder (the 5 zeros before the 3), 18 after (the 7
    # gone, its neighbours' runs stay under 4). PE 1's channel 0 (tile rows [1 1 0 0 0], the
    # last [0 9 0 0 0]): 9 values and one placeholder before; after, the 9 alone at tile
    # position 21: 5 placeholders and the value, 6.
    assert c.words_not_written == c.words_not_read == (19 - 18) + (10 - 6)
    # t = 0 prunes nothing; a 2-position cache takes PE 0's first two candidates (of 6),
    # (0, 0, 1) and (0, 1, 0), and refuses 4; PE 1 has 3 candidates and refuses 1.
    assert prune_tiles(cfg, out, 0).counts.blocks_cached == 0
    small = prune_tiles(parse_config(_with(capacity=2)), out, 32)
    assert np.argwhere(small.cached[0]).tolist() == [[0, 0, 1], [0, 1, 0]]
    assert small.counts.blocks_refused == 4 + 1


def test_ppu_cycles_with_the_block_pass():
    """Per channel: 2 blocks across × 5 rows fed, 5 cycles to the last verdict; the pass also
    closes the previous channel's block, so a 1×1 kernel has no flush per channel."""
    cfg = parse_config(TINY)
    plain = parse_config({k: v for k, v in TINY.items() if k != "sparseblox"})
    compress = 5 * 3                                      # 5 rows of ⌈5 / I⌉ = 3 cycles
    assert scnn_cycles.ppu_cycles(plain, 2, 3, 3) == 2 * ((5 + 2) + 4 + compress) + 1
    assert scnn_cycles.ppu_cycles(cfg, 2, 3, 3) == 2 * ((5 + 2) + 4 + 15 + compress) + 1
    assert scnn_cycles.ppu_cycles(plain, 2, 1, 1) == 2 * (compress + 1)
    assert scnn_cycles.ppu_cycles(cfg, 2, 1, 1) == 2 * (15 + compress) + 1


def run_pruned(cfg, act, weights, raw):
    """The layer on the Amaranth model at raw threshold ``raw``: the output, the streamed rows,
    the cycles and the block counters against the golden model of the pruned layer."""
    streams = scnn_streams.layer_streams(cfg, act, weights, raw)
    run = simulate_layer(cfg, streams, threshold=raw)
    layer = streams.layer
    pruned = prune_tiles(cfg, layer_output(act, weights, cfg.acc_width), raw)
    blocks = [scnn_streams.decode_output_rows(cfg, rows, layer.k) for rows in run.rows]
    np.testing.assert_array_equal(scnn_streams.assemble_output(cfg, blocks, layer), pruned.data)
    want_rows, _ = scnn_streams.output_rows(cfg, pruned.data)
    for got, expected in zip(run.rows, want_rows):
        for a, b in zip(got, expected):
            np.testing.assert_array_equal(a, b)
    assert run.registers["status"] & 4 == 0, "error flag set"
    model = scnn_cycles.layer_cycles(cfg, streams)
    for name in ("cycles", "load_cycles", "busy_cycles", "drain_cycles"):
        assert run.measured[name] == run.registers[name] == getattr(model, name), name
    for name in ("blocks_cached", "blocks_pruned", "blocks_refused", "blocks_zero_before"):
        assert run.registers[name] == getattr(pruned.counts, name), name
    return pruned


def _layer(seed, k=2):
    cfg = parse_config(TINY)
    return random_layer(cfg, np.random.default_rng(seed), 5, 8, 2, k, 3, 3, 0.7, 0.8)


def _means(cfg, out):
    """Every real block's |mean| × 16 (Q8.4), by hand: tile windows, 4×4 windows in them."""
    means = set()
    for x0 in (0, 5):
        for k in range(out.shape[0]):
            for y in (0, 4):
                for x in (x0, x0 + 4):
                    window = out[k, y:min(y + 4, 5), x:min(x + 4, x0 + 5, out.shape[2])]
                    if window.size:
                        means.add(int(abs(window.sum()) * 16 // window.size))
    return sorted(means)


@pytest.mark.parametrize("case", ["t0", "between", "every", "full"])
def test_pruning_ppus_under_simulation(case):
    """t = 0 prunes nothing; a threshold between two blocks' means prunes some; the largest
    threshold every block (the output is all zeros); a 2-position cache stops pruning after two
    blocks per PE (8 × 5 map: PE 1's tile is 3 columns wide, its right blocks empty)."""
    seed = {"t0": 1, "between": 2, "every": 3, "full": 4}[case]
    print(f"seed {seed}")
    act, weights = _layer(seed, 1 if case == "every" else 2)
    cfg = parse_config(_with(capacity=2) if case == "full" else TINY)
    out = layer_output(act, weights, cfg.acc_width)
    top = cfg.sparseblox.fmt.max_raw
    if case == "t0":
        c = run_pruned(cfg, act, weights, 0).counts
        assert c.blocks_cached == c.blocks_refused == 0
    elif case == "between":
        means = _means(cfg, out)
        raw = (means[len(means) // 2 - 1] + means[len(means) // 2]) // 2 + 1
        c = run_pruned(cfg, act, weights, min(raw, top)).counts
        assert 0 < c.blocks_cached < c.blocks_total
    elif case == "every":
        result = run_pruned(cfg, act, weights, top)
        assert not result.data.any() and result.counts.blocks_cached == 4 + 2
    else:
        c = run_pruned(cfg, act, weights, top).counts
        assert c.blocks_cached == 2 * 2 and c.blocks_refused == (4 + 2) * 2 - 4


def test_edge_blocks_under_simulation():
    """A 1×1 layer whose output is its input, on a 5×7 image: PE 0's corner block is the single
    element (4, 4) = 3, pruned at t = 3.25 (48 < 52), its two other edge blocks are all-zero
    (cached); PE 1's block of 2 columns × 4 rows sums to 26, |mean| = t exactly: kept; its
    bottom block (row 4, 2 elements) 7 and 0: kept (112 ≥ 104)."""
    cfg = parse_config(TINY)
    act = np.zeros((1, 5, 7), dtype=np.int64)
    act[0, :4, :4] = 20
    act[0, 4, 4] = 3
    act[0, :4, 5:7] = [[3, 4], [3, 3], [4, 3], [3, 3]]
    act[0, 4, 5] = 7
    weights = np.ones((1, 1, 1, 1), dtype=np.int64)
    result = run_pruned(cfg, act, weights, 52)
    assert result.cached[0][0].tolist() == [[False, True], [True, True]]
    assert result.cached[1][0].tolist() == [[False, False], [False, False]]
    assert result.data[0, 4, 4] == 0 and result.data[0, :4, 5:7].sum() == 26
    c = result.counts
    assert (c.blocks_total, c.blocks_zero_before, c.blocks_pruned, c.blocks_cached) == \
        (6, 2, 1, 3)


@pytest.mark.parametrize("config, args, words", [
    ("scnn_2x2_small", [], "no Sparse-Blox"),
    ("scnn_2x2_small_blox", ["--threshold", "-1"], "0 to 1.67772e+07"),
    ("scnn_2x2_small_blox", ["--threshold", "2e7"], "0 to 1.67772e+07"),
    ("scnn_2x2_small_blox", ["--network", "vgg16"], "--model and --network"),
    ("scnn_2x2_small_blox", ["--model", "digits_cnn"], "--model and --network"),
])
def test_threshold_input_errors(config, args, words):
    from sparseforge.gen.cli import main_captured

    argv = ["run", config, "--threshold", "1", *args]
    if "--network" not in args and "--model" not in args:
        argv += ["--conv", "10,6,2,3,3,3"]
    status, _, err = main_captured(argv)
    lines = err.strip().splitlines()
    assert status == 2 and len(lines) == 1, err
    assert "--threshold" in lines[0] and words in lines[0], lines


def test_run_threshold_model_only():
    """``run --threshold --model-only --json``: the counts of the golden model, the next layer's
    products fewer by exactly the pruned values' products, and the cycles saved as the sum of
    the two layers' cycle-model differences."""
    import json

    from sparseforge.gen.cli import main_captured
    from sparseforge.gen.scnn.blox_run import next_layer
    from sparseforge.gen.scnn.run import prepare_layer
    from sparseforge.sim.workloads import ConvLayer

    status, out, err = main_captured(["run", "scnn_2x2_small_blox", "--conv", "10,6,2,3,3,3",
                                      "--threshold", "3000000", "--model-only", "--json"])
    assert status == 0, err
    report = json.loads(out)
    assert report["blocks_total"] == 3 * 4 * 2           # K × PEs × blocks per 3×5 tile
    assert 0 < report["blocks_pruned"] <= report["blocks_cached"] <= report["blocks_total"]
    assert report["act_words_saved"] == 2 * report["act_words_not_written"] > 0
    nxt = report["next_layer"]
    assert report["macs_skipped"] == nxt["products_unpruned"] - nxt["products_pruned"] > 0
    # The next layer's products, counted here as SCNN forms them: per input channel, every
    # non-zero activation times every non-zero weight (the Cartesian product, Sec. 3).
    cfg = load_preset("scnn_2x2_small_blox")
    act, weights = prepare_layer(cfg, ConvLayer("x", 10, 6, 2, 3, 3, 3, 1, 1), seed=1)
    pruned = prune_tiles(cfg, layer_output(act, weights, cfg.acc_width),
                         report["threshold_raw"]).data
    a2, w2 = next_layer(cfg, pruned, weights, weight_density=0.5, seed=1)
    products = sum(int((a2[c] != 0).sum()) * int((w2[:, c] != 0).sum()) for c in range(3))
    assert nxt["products_pruned"] == products


def test_block_pruner_against_the_cache_model():
    """The PPU's block pruner alone, under Amaranth's simulator: blocks of 1 to 4 beats with
    random masks, one beat a cycle; each verdict comes BLOX_WAIT cycles after its block's last
    beat, and its pruned / refused / zero bits are those of ``below_threshold`` and the
    sparse-block cache's model (a 3-position cache, so it fills)."""
    import random

    from amaranth.sim import Simulator
    from sparseforge.hdl.scnn.blox import BlockPruner
    from sparseforge.hdl.scnn.ppu import BLOX_WAIT
    from sparseforge.sim.sparseblox import SparseBlockCacheModel, below_threshold

    cfg = parse_config(_with(capacity=3))
    seed = 2                                            # a draw in which every outcome occurs
    print(f"seed {seed}")
    rng = random.Random(seed)
    raw = 40                                            # t = 2.5
    blocks = []
    for position in range(8):
        beats = [([rng.choice([0, 0, 1, 2, 3, 9]) for _ in range(4)],
                  [rng.random() < 0.8 for _ in range(4)]) for _ in range(rng.randint(1, 4))]
        blocks.append((position, beats))
    cache = SparseBlockCacheModel(3, 3)
    want = []
    for position, beats in blocks:
        total = sum(v for values, mask in beats for v, m in zip(values, mask) if m)
        n = sum(m for _, mask in beats for m in mask)
        below = bool(below_threshold(total, n, raw, 4))
        pruned = cache.insert(position, below)
        want.append((pruned, below and not pruned, n > 0 and total == 0))
    assert [sum(column) for column in zip(*want)] == [3, 2, 1]     # every outcome occurs
    dut = BlockPruner(cfg)
    assert dut.latency == BLOX_WAIT
    got, lasts = [], []

    async def feed(ctx):
        ctx.set(dut.threshold, raw)
        cycle = 0
        for position, beats in blocks:
            for k, (values, mask) in enumerate(beats):
                ctx.set(dut.i.valid, 1)
                ctx.set(dut.i.payload, {"values": values, "mask": sum(m << j for j, m in
                                                                      enumerate(mask)),
                                        "last": int(k == len(beats) - 1), "tag": position})
                assert ctx.get(dut.i.ready)
                if k == len(beats) - 1:
                    lasts.append(cycle)
                await ctx.tick()
                cycle += 1
        ctx.set(dut.i.valid, 0)

    async def watch(ctx):
        cycle = 0
        async for _clk, _rst, verdict, pruned, refused, zero in ctx.tick().sample(
                dut.verdict, dut.pruned, dut.refused, dut.zero):
            if verdict:
                got.append(((bool(pruned), bool(refused), bool(zero)), cycle))
            cycle += 1

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(feed)
    sim.add_process(watch)
    sim.run_until(60e-6)
    assert [g for g, _ in got] == want
    assert [c for _, c in got] == [c + BLOX_WAIT for c in lasts]
