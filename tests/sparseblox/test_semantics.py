"""Sparse-Blox semantics (Hotfilter et al., III): hand-worked cases and a naive reference model."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparseforge.sim.sparseblox import (
    BlockCounts, Consumer, SparseBlockCacheModel, ThresholdFormat, block_stats, prune_im2col,
    prune_map)


def t_raw(value):
    return ThresholdFormat(8, 8).to_raw(value)


# -- hand-worked cases from the issue -------------------------------------------------------------

def test_signed_block_pruned_on_mean_not_on_magnitude():
    # Block (1 channel × 2 × 2): 100, -100, 3, -1. sum = 2, |mean| = 0.5 < 1; mean |x| = 51 > 1.
    x = np.array([[[100, -100], [3, -1]]])
    res = prune_map(x, (1, 2, 2), t_raw(1.0))
    assert res.data.tolist() == [[[0, 0], [0, 0]]]
    assert res.counts.blocks_pruned == 1 and res.counts.blocks_zero_before == 0


def test_equality_is_not_pruned():
    x = np.array([[[2, 2], [2, 2]]])              # |mean| = 2 exactly
    assert prune_map(x, (1, 2, 2), t_raw(2.0)).counts.blocks_cached == 0
    # One code above 2.0 (2 + 1/256) prunes it.
    assert prune_map(x, (1, 2, 2), t_raw(2.0) + 1).counts.blocks_cached == 1


def test_partial_edge_block_uses_its_real_elements():
    # 1×3×3 map in 2×2 blocks: the right edge block holds 2 elements (3, 3): |mean| = 3, not the
    # 1.5 a zero-padded 4-element block would give. At t = 2 it stays; at t = 3.5 it goes.
    x = np.array([[[9, 9, 3], [9, 9, 3], [9, 9, 9]]])
    keep = prune_map(x, (1, 2, 2), t_raw(2.0))
    assert keep.cached.tolist() == [[[False, False], [False, False]]]
    _, n_valid, _ = block_stats(x, (1, 2, 2))
    assert n_valid.tolist() == [[[4, 2], [2, 1]]]
    gone = prune_map(x, (1, 2, 2), t_raw(3.5))
    assert gone.cached.tolist() == [[[False, True], [False, False]]]
    assert gone.data.tolist() == [[[9, 9, 0], [9, 9, 0], [9, 9, 9]]]
    assert gone.counts.words_not_written == 2 and gone.counts.words_total == 9


def test_zero_threshold_prunes_nothing_not_even_zero_blocks():
    x = np.zeros((2, 4, 4), dtype=np.int64)
    x[1, 0, 0] = 1
    res = prune_map(x, (1, 2, 2), 0)
    assert res.counts == BlockCounts(blocks_total=8, blocks_zero_before=7, words_total=32)
    assert (res.data == x).all()
    res = prune_im2col(x, Consumer(3, 3, 3, pad=1), (4, 4), 0)
    assert res.counts.blocks_cached == 0 and res.counts.macs_skipped == 0


def test_already_zero_blocks_are_cached_but_not_created():
    x = np.array([[[0, 0, 5, 5]]])                # blocks of 1×1×2: (0, 0) zero, (5, 5) not
    res = prune_map(x, (1, 1, 2), t_raw(0.5))
    assert (res.counts.blocks_zero_before, res.counts.blocks_pruned,
            res.counts.blocks_cached) == (1, 0, 1)


def test_im2col_form_prunes_rows_of_the_matrix_not_the_map():
    # 1×2×2 map, 1×1 consumer: the im2col matrix is the 4 pixels as rows × 1 column.
    x = np.array([[[1, 1], [7, 7]]])
    res = prune_im2col(x, Consumer(k=5), (2, 1), t_raw(1.5))
    assert res.data[:, 0].tolist() == [0, 0, 7, 7]
    assert res.counts.macs_skipped == 5 * 2 and res.counts.macs_total == 5 * 4
    assert res.counts.words_not_read == 2 and res.counts.words_not_written == 0


def test_map_form_counts_consumer_macs_from_the_taps_that_read_a_pixel():
    # 2×2 map read by a 3×3, pad-1 consumer: each pixel feeds 4 taps (hand count), 36 taps total.
    x = np.array([[[1, 0], [0, 0]], [[50, 50], [50, 50]]])
    assert Consumer(1, 3, 3, pad=1).uses(2, 2).tolist() == [[4, 4], [4, 4]]
    res = prune_map(x, (1, 2, 2), t_raw(1.0), consumer=Consumer(k=2, r=3, s=3, pad=1))
    assert res.counts.macs_total == 2 * 2 * 2 * 2 * 9
    assert res.counts.macs_skipped == 2 * 4 * 4        # channel 0's 4 pixels, 4 taps, 2 outputs


def test_words_pack_channels_per_word():
    x = np.ones((5, 3, 3), dtype=np.int64)        # channel blocks of 4: 4 + 1 channels
    res = prune_map(x, (4, 2, 2), t_raw(2.0), elems_per_word=4)
    # Per pixel one word per channel block: 9 pixels × 2 channel blocks.
    assert res.counts.words_total == 18 and res.counts.words_not_written == 18


# -- the cache: capacity and full behaviour -------------------------------------------------------

def test_full_cache_stores_blocks_normally():
    x = np.array([[[0, 0, 1, 9, 1, 1, 1, 2]]])    # 4 blocks of 2, three below t = 1.6
    res = prune_map(x, (1, 1, 2), t_raw(1.6), capacity=2)
    assert res.cached.reshape(-1).tolist() == [True, False, True, False]
    assert res.counts.blocks_refused == 1
    assert res.data.reshape(-1).tolist() == [0, 0, 1, 9, 0, 0, 1, 2]


def test_full_cache_in_production_order():
    x = np.array([[[0, 0, 1, 9, 1, 1, 0, 0]]])
    res = prune_map(x, (1, 1, 2), t_raw(1.6), capacity=1, order=[3, 2, 1, 0])
    assert res.cached.reshape(-1).tolist() == [False, False, False, True]


def test_cache_model_contract():
    cache = SparseBlockCacheModel(2, position_bits=4)
    assert [cache.insert(p, b) for p, b in [(1, True), (2, False), (4, True), (7, True)]] \
        == [True, False, True, False]
    assert cache.full and not cache.lookup(1)        # lookups see the previous layer
    cache.swap()
    assert [cache.lookup(p) for p in range(8)] == [p in (1, 4) for p in range(8)]
    assert cache.count == 0 and cache.insert(0, True)
    with pytest.raises(ValueError, match="must increase"):
        cache.insert(0, True)
    with pytest.raises(ValueError, match="fit 4 bits"):
        cache.insert(16, True)
    with pytest.raises(ValueError, match="capacity must be a positive integer, not 0"):
        SparseBlockCacheModel(0)


# -- threshold format -----------------------------------------------------------------------------

def test_threshold_format():
    fmt = ThresholdFormat.parse("Q8.8")
    assert (fmt.bits, fmt.max_raw, fmt.to_raw(1.5), fmt.to_value(384)) == (16, 65535, 384, 1.5)
    assert fmt.to_raw(1 / 512) == 0 and fmt.to_raw(3 / 512) == 2      # ties to even
    with pytest.raises(ValueError, match=r"outside Q8.8 \(0 to 255.996\)"):
        fmt.to_raw(256)
    with pytest.raises(ValueError, match="written Q<int>.<frac>, not 'Q8'"):
        ThresholdFormat.parse("Q8")
    with pytest.raises(ValueError, match="integer from 0 to 65535, not -1"):
        fmt.to_value(-1)


# -- against a naive model: per block, a Fraction mean compared with a Fraction threshold ----------

def naive_map(x, block, t):
    c, h, w = x.shape
    out = x.copy()
    pruned = 0
    for c0 in range(0, c, block[0]):
        for y0 in range(0, h, block[1]):
            for x0 in range(0, w, block[2]):
                blk = x[c0:c0 + block[0], y0:y0 + block[1], x0:x0 + block[2]]
                if abs(Fraction(int(blk.sum()), blk.size)) < t:
                    out[c0:c0 + block[0], y0:y0 + block[1], x0:x0 + block[2]] = 0
                    pruned += bool(blk.any())
    return out, pruned


@settings(max_examples=60, deadline=None)
@given(st.tuples(st.integers(1, 5), st.integers(1, 7), st.integers(1, 7)),
       st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 4)),
       st.integers(0, 2 ** 10), st.integers(0, 2 ** 32 - 1))
def test_prune_map_matches_naive_model(shape, block, raw, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, size=shape) * (rng.random(shape) < 0.5)
    res = prune_map(x, block, raw)
    ref, created = naive_map(x, block, Fraction(raw, 256))
    assert (res.data == ref).all()
    assert res.counts.blocks_pruned == created


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 3), st.integers(3, 6), st.integers(1, 3), st.integers(0, 1),
       st.tuples(st.integers(1, 5), st.integers(1, 5)), st.integers(0, 2 ** 10),
       st.integers(0, 2 ** 32 - 1))
def test_prune_im2col_matches_naive_model(c, hw, r, pad, block, raw, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 128, size=(c, hw, hw)) * (rng.random((c, hw, hw)) < 0.4)
    res = prune_im2col(x, Consumer(2, r, r, pad=pad), block, raw)
    # Naive: build the matrix by hand, block it with explicit loops.
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    ho = hw + 2 * pad - r + 1
    rows = [[xp[ch, oy + i, ox + j] for ch in range(c) for i in range(r) for j in range(r)]
            for oy in range(ho) for ox in range(ho)]
    ref, _ = naive_map(np.array(rows)[None], (1, *block), Fraction(raw, 256))
    assert (res.data == ref[0]).all()
