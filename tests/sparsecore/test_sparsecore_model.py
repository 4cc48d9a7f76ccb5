"""SparseCore's NumPy models against hand-worked values and naive loops: k/m format and pruning,
compressed activations, requantization and pooling, the golden layer and the cycle model."""

import numpy as np
import pytest

from sparseforge.gen.errors import ConfigError
from sparseforge.gen.sparsecore.config import parse_sparsecore
from sparseforge.sim.sparsecore import cycles, golden
from sparseforge.sim.sparsecore import format as kmf

SEED = 11


def rng(extra=0):
    print(f"seed {SEED + extra}")
    return np.random.default_rng(SEED + extra)


# -- k/m weights ---------------------------------------------------------------------------------

def test_prune_keeps_k_largest_ties_to_lower_position():
    # One (c, r, s), K = 8, m = 4: groups [3, -5, 5, 1] and [0, 0, 2, -2].
    w = np.array([3, -5, 5, 1, 0, 0, 2, -2]).reshape(8, 1, 1, 1)
    got = kmf.prune(w, 2, 4).ravel().tolist()
    assert got == [0, -5, 5, 0, 0, 0, 2, -2]
    assert kmf.prune(w, 1, 4).ravel().tolist() == [0, -5, 0, 0, 0, 0, 2, 0]


@pytest.mark.parametrize("k, m", [(1, 4), (2, 4), (2, 8), (4, 8), (1, 2), (8, 8)])
def test_prune_meets_km_and_iterative_equals_one_shot(k, m):
    w = rng(k * 10 + m).integers(-128, 128, (2 * m, 3, 3, 2))
    pruned = kmf.prune(w, k, m)
    assert kmf.km_violations(pruned, k, m) == 0
    kmf.check_km(pruned, k, m)
    # Every kept weight is the original; every group holds at most k.
    assert np.all((pruned == 0) | (pruned == w))
    final, steps = kmf.prune_iterative(w, k, m)
    assert np.array_equal(final, pruned)
    assert len(steps) == m - k
    for n, step in enumerate(steps):
        assert kmf.km_violations(step, m - 1 - n, m) == 0


def test_check_km_says_which_group_in_one_line():
    w = np.zeros((8, 2, 1, 1), dtype=np.int64)
    w[4:7, 1, 0, 0] = 1                                   # 3 non-zeros in channels 4..7, c = 1
    with pytest.raises(ValueError) as info:
        kmf.check_km(w, 2, 4)
    msg = str(info.value)
    assert "\n" not in msg
    assert "output channels 4..7 at (c=1, r=0, s=0) hold 3 non-zeros" in msg
    assert "--prune" in msg


@pytest.mark.parametrize("bad", [dict(k=0, m=4), dict(k=5, m=4), dict(k=1, m=3), dict(k=1, m=1)])
def test_km_arguments_rejected(bad):
    with pytest.raises(ValueError):
        kmf.prune(np.zeros((4, 1, 1, 1)), **bad)


def test_k_must_divide_into_groups():
    with pytest.raises(ValueError, match="multiple of m"):
        kmf.compress_weights(np.zeros((6, 1, 1, 1)), 2, 4)


def test_compressed_weights_by_hand():
    # Group 0 [0, 7, 0, -1] -> slots (1, 7), (3, -1); group 1 [0, 0, 0, 4] -> (0, 0), (3, 4).
    w = np.array([0, 7, 0, -1, 0, 0, 0, 4]).reshape(8, 1, 1, 1)
    values, positions = kmf.compress_weights(w, 2, 4)
    assert values.shape == (2, 1, 1, 1, 2)
    assert values[:, 0, 0, 0].tolist() == [[7, -1], [0, 4]]
    assert positions[:, 0, 0, 0].tolist() == [[1, 3], [0, 3]]
    assert kmf.pos_bits(4) == 2 and kmf.pos_bits(8) == 3


@pytest.mark.parametrize("k, m", [(1, 4), (2, 4), (2, 8), (4, 8)])
def test_compressed_weights_round_trip(k, m):
    w = kmf.prune(rng(m).integers(-128, 128, (3 * m, 5, 3, 3)), k, m)
    w[0] = 0                                              # groups with fewer than k non-zeros
    values, positions = kmf.compress_weights(w, k, m)
    assert np.all(np.diff(positions, axis=-1) > 0) and positions.max() < m
    assert np.array_equal(kmf.decompress_weights(values, positions, m), w)


# -- compressed activations ----------------------------------------------------------------------

def test_compressed_acts_by_hand():
    act = np.zeros((3, 2, 3), dtype=np.int64)             # C = 3, H = 2, W = 3; segments of 2
    act[1, 0, 2] = 5
    act[0, 0, 2] = -3
    act[0, 0, 0] = 1
    act[2, 1, 1] = 9
    store = kmf.compress_acts(act, 2)
    assert store.segments == 2
    x, c, v = store.row(0, 0)
    assert (x.tolist(), c.tolist(), v.tolist()) == ([0, 2, 2], [0, 0, 1], [1, -3, 5])
    assert store.count.tolist() == [[3, 0], [0, 1]]
    assert store.start.tolist() == [[0, 3], [3, 3]]
    x, c, v = store.row(1, 1)
    assert (x.tolist(), c.tolist(), v.tolist()) == ([1], [0], [9])


@pytest.mark.parametrize("density", [0.0, 0.1, 0.5, 1.0])
def test_compressed_acts_round_trip(density):
    r = rng(int(density * 10))
    act = r.integers(-128, 128, (7, 5, 6)) * (r.random((7, 5, 6)) < density)
    store = kmf.compress_acts(act, 4)
    assert np.array_equal(kmf.decompress_acts(store), act)
    assert store.entries == np.count_nonzero(act)


# -- post-processing ----------------------------------------------------------------------------

def test_requantize_by_hand():
    acc = np.array([[10], [-10], [5], [-5], [1000], [3]])
    bias = [0, 0, 0, 0, 0, -5]
    mult = [1, 1, 1, 1, 3, 1]
    shift = [2, 2, 1, 1, 0, 0]
    # 10/4 = 2.5 -> 3; -10/4 = -2.5 -> -2 (half up); 5/2 -> 3; -5/2 -> -2; 3000 -> 127; -2.
    assert golden.requantize(acc, bias, mult, shift).ravel().tolist() == [3, -2, 3, -2, 127, -2]
    assert golden.requantize(acc, bias, mult, shift, relu=True).ravel().tolist() == \
        [3, 0, 3, 0, 127, 0]
    # Extreme: INT32 min plus a negative bias times the largest mult, shift 31.
    big = golden.requantize(np.array([[-(1 << 31)]]), [-(1 << 31)], [65535], [31])
    assert big.item() == -128


def test_requantize_rejects_out_of_range():
    with pytest.raises(ValueError, match="shift"):
        golden.requantize(np.zeros((1, 1)), 0, 1, 32)
    with pytest.raises(ValueError, match="mult"):
        golden.requantize(np.zeros((1, 1)), 0, -1, 0)


def test_maxpool_by_hand():
    x = np.arange(15).reshape(1, 3, 5)
    assert golden.maxpool2(x).tolist() == [[[6, 8]]]


def test_golden_layer_against_naive_loops():
    r = rng(3)
    act = r.integers(-128, 128, (3, 6, 7)) * (r.random((3, 6, 7)) < 0.6)
    w = kmf.prune(r.integers(-128, 128, (4, 3, 3, 3)), 2, 4)
    bias, mult, shift = r.integers(-500, 500, 4), r.integers(0, 1 << 16, 4), r.integers(0, 32, 4)
    got = golden.layer_output(act, w, bias, mult, shift, stride=2, pad=1, relu=True, pool=True)
    ho, wo = (6 + 2 - 3) // 2 + 1, (7 + 2 - 3) // 2 + 1
    y = np.zeros((4, ho, wo), dtype=np.int64)
    for k in range(4):
        for oy in range(ho):
            for ox in range(wo):
                acc = 0
                for c in range(3):
                    for i in range(3):
                        for j in range(3):
                            iy, ix = 2 * oy - 1 + i, 2 * ox - 1 + j
                            if 0 <= iy < 6 and 0 <= ix < 7:
                                acc += int(act[c, iy, ix]) * int(w[k, c, i, j])
                v = (acc + int(bias[k])) * int(mult[k])
                v = (v + (1 << (int(shift[k]) - 1) if shift[k] else 0)) >> int(shift[k])
                y[k, oy, ox] = max(0, min(127, max(-128, v)))
    expect = np.array([[[y[k, 2 * a:2 * a + 2, 2 * b:2 * b + 2].max() for b in range(wo // 2)]
                        for a in range(ho // 2)] for k in range(4)])
    assert np.array_equal(got, expect)


# -- cycle model ---------------------------------------------------------------------------------

def test_band_cycles_by_hand():
    # 1 channel, 3×4 input, 3×3 kernel, pad 1: Wo = 4. Band of 1 row (oy = 1): rows 0..2 map via
    # r = 2, 1, 0. Column taps n_s = [2, 3, 3, 2]. Entries: row 0 x = 0, row 2 x = 1 and x = 3.
    act = np.zeros((1, 3, 4), dtype=np.int64)
    act[0, 0, 0] = 1
    act[0, 2, 1] = 2
    act[0, 2, 3] = 3
    shape = cycles.LayerShape(3, 4, 1, 4, 3, 3, 1, 1)
    store = kmf.compress_acts(act, 4)
    got, taps = cycles.band_compute_cycles(shape, store, 1, 1)
    # setup 1 + drain 1 + 3 pairs × 2 + taps (2) + (3 + 2).
    assert (got, taps) == (1 + 1 + 6 + 2 + 5, 7)
    assert cycles.pp_cycles(shape, 1, 1) == 4 + cycles.PP_LATENCY
    assert cycles.pp_cycles(shape, 1, 1, steps=4) == 16 + cycles.PP_LATENCY
    pooled = cycles.LayerShape(3, 4, 1, 4, 3, 3, 1, 1, pool=True)
    assert cycles.pp_cycles(pooled, 2, 1) == 2                  # one row left: nothing to pool


def test_scheduler_by_hand():
    # 3 PEs, 2 chunks: PEs 0 and 2 hold chunk 0, PE 1 chunk 1. Bands cost 5, 1, 1.
    total, grants, busy = cycles.scheduler([5, 1, 1], 3, 2)
    assert grants[:3] == [(0, 0, 0, 0), (1, 1, 0, 1), (2, 2, 1, 0)]
    # PE 1 is free again at 1 + 5 + 1 = 7; PE 2 at 2 + 1 + 1 = 4 takes band 2 of chunk 0.
    assert grants[3:] == [(4, 2, 2, 0), (7, 1, 1, 1), (9, 1, 2, 1)]
    assert total == 9 + 1 + 1 + 1
    assert busy == [5, 7, 2]


def test_scheduler_needs_a_pe_per_chunk():
    with pytest.raises(ValueError, match="at least 3 PEs"):
        cycles.scheduler([1], 2, 3)


@pytest.mark.parametrize("h, w, r, s, stride, pad", [
    (4, 4, 3, 3, 1, 1), (7, 6, 3, 3, 2, 1), (9, 8, 3, 2, 2, 0), (9, 9, 1, 1, 4, 0)])
def test_useful_macs_naive(h, w, r, s, stride, pad):
    g = rng(5)
    act = g.integers(-2, 3, (2, h, w))
    wt = g.integers(-1, 2, (4, 2, r, s))
    shape = cycles.LayerShape(h, w, 2, 4, r, s, stride, pad)
    n = 0
    for k in range(4):
        for oy in range(shape.ho):
            for ox in range(shape.wo):
                for c in range(2):
                    for i in range(r):
                        for j in range(s):
                            iy, ix = oy * stride - pad + i, ox * stride - pad + j
                            if 0 <= iy < h and 0 <= ix < w:
                                n += bool(act[c, iy, ix]) and bool(wt[k, c, i, j])
    assert cycles.useful_macs(act, wt, shape) == n


def test_dense_array_runs_as_its_dense_baseline():
    cfg = parse_sparsecore({"arch": "sparsecore", "pes": 3, "alus_per_pe": 4, "k": 4, "m": 4,
                            "band_rows": 2}, "d")
    act = rng(7).integers(1, 5, (5, 7, 6))
    w = rng(8).integers(1, 5, (8, 5, 3, 3))
    res = cycles.layer_cycles(cfg, cycles.LayerShape(7, 6, 5, 8, 3, 3, 1, 1), act, w)
    assert res.cycles == res.dense_cycles
    assert res.alu_utilization == res.utilization


def test_config_rules():
    with pytest.raises(ConfigError, match="alus_per_pe"):
        parse_sparsecore({"arch": "sparsecore", "pes": 2, "alus_per_pe": 6, "k": 4, "m": 8}, "x")
    with pytest.raises(ConfigError, match="power of two"):
        parse_sparsecore({"arch": "sparsecore", "pes": 2, "m": 6}, "x")
    cfg = parse_sparsecore({"arch": "sparsecore", "pes": 64}, "p")
    assert (cfg.groups, cfg.chunk, cfg.pos_bits) == (8, 32, 2)


def test_more_chunks_than_pes_run_in_passes():
    # The dense baseline of a 3-PE array of 4 ALUs for K = 16: four chunks of 4, two passes.
    act = rng(14).integers(1, 5, (2, 4, 4))
    store = kmf.compress_acts(act, 4)
    shape = cycles.LayerShape(4, 4, 2, 16, 3, 3, 1, 1)
    total, grants, _, _ = cycles._run(shape, store, 4, 2, 3, 1)
    first, _, _ = cycles.scheduler([cycles.unit_cycles(shape, store, 2, b) for b in range(2)], 3,
                                   3)
    second, _, _ = cycles.scheduler([cycles.unit_cycles(shape, store, 2, b) for b in range(2)], 3,
                                    1)
    assert total == first + second
    assert sorted({g[3] for g in grants}) == [0, 1, 2, 3]


def test_run_checks_are_one_line_input_errors():
    from sparseforge.gen.errors import InputError
    from sparseforge.gen.sparsecore.presets import preset
    from sparseforge.gen.sparsecore.run import check_layer, check_weights
    cfg = preset("sparsecore_small")
    bad = [cycles.LayerShape(4, 4, 3, 6, 3, 3, 1, 1),           # K not a multiple of m
           cycles.LayerShape(4, 4, 13, 8, 3, 3, 1, 1),          # C above limits.c
           cycles.LayerShape(4, 4, 3, 8, 3, 3, 3, 1),           # stride 3
           cycles.LayerShape(4, 4, 3, 8, 3, 3, 1, 3)]           # pad ≥ kernel
    for shape in bad:
        with pytest.raises(InputError) as info:
            check_layer(cfg, shape)
        assert "\n" not in str(info.value) and "not allowed" in str(info.value)
    w = np.ones((8, 3, 3, 3), dtype=np.int64)
    with pytest.raises(InputError, match="--weights: weights break 2/4"):
        check_weights(cfg, w)
    assert kmf.km_violations(check_weights(cfg, w, prune=True), 2, 4) == 0
