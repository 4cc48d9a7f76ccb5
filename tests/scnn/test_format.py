"""SCNN compressed-sparse format (sim/scnn_format.py) and golden layer (sim/scnn_golden.py).

Expected values come from hand-worked examples (the module docstring's, checked literally), from a
naive pure-Python encoder that applies the sequential rule element by element, and from a naive
convolution written as the seven nested loops of the paper's Fig. 3.
"""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sparseforge.sim.scnn import format as scnn_format
from sparseforge.sim.scnn import golden as scnn_golden
from sparseforge.sim.scnn import streams as scnn_streams
from sparseforge.sim.scnn.format import Block

# -- naive references -----------------------------------------------------------------------------

def ref_encode(dense, index_bits):
    """The rule as the PPU applies it, one element at a time; trailing placeholders dropped."""
    maxz = (1 << index_bits) - 1
    entries, run = [], 0
    for v in dense:
        if v != 0:
            entries.append((int(v), run))
            run = 0
        elif run == maxz:
            entries.append((0, maxz))
            run = 0
        else:
            run += 1
    while entries and entries[-1][0] == 0:
        entries.pop()
    return entries


def ref_decode(entries, length):
    dense, pos = [0] * length, 0
    for value, zeros in entries:
        pos += zeros
        dense[pos] = value
        pos += 1
    return dense


def entries_of(block):
    return list(zip(block.values.tolist(), block.zeros.tolist()))


def ref_conv_same(act, weights, acc_bits):
    """Fig. 3's loop nest with zero padding ('same' output), Python ints, wrapped at the end."""
    c_n, h, w = act.shape
    k_n, _, r_n, s_n = weights.shape
    pr, ps = (r_n - 1) // 2, (s_n - 1) // 2
    out = np.zeros((k_n, h, w), dtype=object)
    for k in range(k_n):
        for c in range(c_n):
            for y in range(h):
                for x in range(w):
                    for r in range(r_n):
                        for s in range(s_n):
                            yy, xx = y + r - pr, x + s - ps
                            if 0 <= yy < h and 0 <= xx < w:
                                out[k, y, x] += int(act[c, yy, xx]) * int(weights[k, c, r, s])
    half = 1 << (acc_bits - 1)
    return np.vectorize(lambda v: (v + half) % (1 << acc_bits) - half)(out).astype(np.int64)


# -- hand-worked examples -------------------------------------------------------------------------

def test_module_docstring_example():
    doc = scnn_format.__doc__
    dense = [int(v) for v in re.search(r"dense +([-\d ]+)\n", doc).group(1).split()]
    shown = re.findall(r"\((-?\d+),(\d+)\)", re.search(r"entries +(.+)\n", doc).group(1))
    block = scnn_format.encode(dense, 2)
    assert entries_of(block) == [(int(v), int(z)) for v, z in shown]
    assert block.length == len(dense)
    assert scnn_format.decode(block).tolist() == dense


@pytest.mark.parametrize("dense, bits, entries", [
    ([], 4, []),                                     # empty run
    ([0, 0, 0], 4, []),                              # all zeros: no entries at all
    ([3, 0, 0], 4, [(3, 0)]),                        # trailing zeros are implicit
    ([0] * 15 + [9], 4, [(9, 15)]),                  # the longest run one index holds
    ([0] * 16 + [9], 4, [(0, 15), (9, 0)]),          # one more: a placeholder
    ([0] * 40 + [-1], 4, [(0, 15), (0, 15), (-1, 8)]),
    ([1, 0, 2, 0, 0, 3], 1, [(1, 0), (2, 1), (0, 1), (3, 0)]),   # 1-bit indices
    ([5] + [0] * 30, 2, [(5, 0)]),                   # no placeholders after the last value
])
def test_hand_worked_blocks(dense, bits, entries):
    block = scnn_format.encode(dense, bits)
    assert entries_of(block) == entries
    assert scnn_format.decode(block, bits).tolist() == dense


def test_decode_rejects_bad_blocks():
    with pytest.raises(ValueError, match="past the block's length"):
        scnn_format.decode(Block(np.array([1, 2]), np.array([0, 3]), length=4))
    with pytest.raises(ValueError, match="does not fit 2 bits"):
        scnn_format.decode(Block(np.array([1]), np.array([4]), length=9), index_bits=2)
    with pytest.raises(ValueError, match="1-D"):
        scnn_format.encode(np.zeros((2, 2)), 4)
    with pytest.raises(ValueError, match="index_bits"):
        scnn_format.max_zeros(0)


# -- properties -----------------------------------------------------------------------------------

runs = st.lists(st.one_of(st.just(0), st.just(0), st.just(0), st.integers(-32768, 32767)),
                max_size=80)


@settings(max_examples=300, deadline=None)
@given(runs, st.integers(1, 6))
def test_encode_matches_the_sequential_rule_and_round_trips(dense, bits):
    block = scnn_format.encode(dense, bits)
    assert entries_of(block) == ref_encode(dense, bits)
    assert scnn_format.decode(block, bits).tolist() == list(dense)
    assert ref_decode(entries_of(block), len(dense)) == list(dense)
    # Canonical: a block's last entry is a value, every zeros field fits, none is wasted.
    assert block.count == 0 or block.values[-1] != 0
    assert block.count <= len(dense)


@settings(max_examples=100, deadline=None)
@given(st.lists(runs, min_size=1, max_size=6), st.integers(1, 5), st.integers(1, 5))
def test_rows_round_trip(dense_blocks, bits, lanes):
    blocks = [scnn_format.encode(d, bits) for d in dense_blocks]
    parts = [scnn_format.rows_of(b, lanes) for b in blocks]
    for block, (counts, values, zeros) in zip(blocks, parts):
        rows = scnn_format.block_rows(block.count, lanes)
        assert len(counts) == rows == max(1, -(-block.count // lanes))
        assert (counts == block.count).all()
        # Lanes past the count are (0, 0).
        assert not values.reshape(-1)[block.count:].any()
        assert not zeros.reshape(-1)[block.count:].any()
    joined = [np.concatenate([p[n] for p in parts]) for n in range(3)]
    again = scnn_format.blocks_of_rows(*joined, [len(d) for d in dense_blocks])
    assert again == blocks


# -- blocks of a layer ----------------------------------------------------------------------------

def ref_weight_run(weights, kc, g, c):
    """Block ``(g, c)``'s dense run as the paper's R × S × K loop nest writes it: ``r``, then
    ``s``, then ``k`` innermost over ``kc`` channels, zeros past the last output channel."""
    k, _, r_side, s_side = np.shape(weights)
    run = []
    for r in range(r_side):
        for s in range(s_side):
            for kk in range(kc):
                out = g * kc + kk
                run.append(int(weights[out, c, r, s]) if out < k else 0)
    return run


def test_weight_blocks_are_k_innermost_per_group_and_channel():
    # K=3, C=2, 1x2 kernel, kc=2: group 0 = outputs 0, 1; group 1 = output 2 and a zero channel.
    # w[k, c, 0, s] = 1 + 4k + 2c + s.
    w = np.arange(1, 13).reshape(3, 2, 1, 2)
    blocks = scnn_format.weight_blocks(w, kc=2, index_bits=4)
    assert len(blocks) == 2 and all(len(group) == 2 for group in blocks)
    # c=1: s=0 for k=0, 1, then s=1 for k=0, 1.
    assert scnn_format.decode(blocks[0][1]).tolist() == [3, 7, 4, 8]
    # c=0 of the last group: k=2 and its zero padding at s=0, then at s=1 (trailing zero dropped).
    assert entries_of(blocks[1][0]) == [(9, 0), (10, 1)]
    assert scnn_format.decode(blocks[1][0]).tolist() == [9, 0, 10, 0]


def test_padding_of_a_last_group_can_need_placeholders():
    # kc=4, K=5: the last group has one channel, so three padding zeros separate its weights;
    # with 1-bit indices (at most 1 zero) the run of 3 is a placeholder (2 zeros) and a zero.
    w = np.zeros((5, 1, 1, 2), dtype=np.int64)
    w[4, 0, 0] = [6, -2]
    block = scnn_format.weight_blocks(w, kc=4, index_bits=1)[1][0]
    assert block.length == 8
    assert entries_of(block) == [(6, 0), (0, 1), (-2, 1)]


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 9), st.integers(1, 3), st.sampled_from([1, 3, 5]), st.sampled_from([1, 3, 5]),
       st.integers(1, 5), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_weight_blocks_match_the_loop_nest(k, c, r, s, kc, bits, seed):
    rng = np.random.default_rng(seed)
    w = rng.integers(-3, 4, (k, c, r, s)) * (rng.random((k, c, r, s)) < 0.5)
    blocks = scnn_format.weight_blocks(w, kc, bits)
    assert len(blocks) == -(-k // kc)
    for g, group in enumerate(blocks):
        for ch, block in enumerate(group):
            want = ref_weight_run(w, kc, g, ch)
            assert block.length == kc * r * s
            assert scnn_format.decode(block, bits).tolist() == want
            assert entries_of(block) == ref_encode(want, bits)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 3), st.sampled_from([1, 3, 5]), st.sampled_from([1, 3, 5]),
       st.sampled_from([(1, 1), (2, 2), (2, 4), (4, 4), (4, 8), (3, 6)]), st.integers(1, 4),
       st.integers(0, 2**32 - 1))
def test_a_dense_weight_row_is_f_output_channels_at_one_kernel_position(groups, r, s, fkc, bits,
                                                                         seed):
    """The property the order is for: with F dividing kc, row ``j`` of a dense block holds the
    weights of F consecutive output channels at a single (r, s) — so its products with I
    activations go to F·I different accumulators, not to F neighbouring columns of one channel."""
    f, kc = fkc
    rng = np.random.default_rng(seed)
    shape = (groups * kc, 2, r, s)
    # Every weight non-zero and distinct, so a value names its (k, c, r, s).
    ids = rng.permutation(np.prod(shape)) + 1
    w = (ids * rng.choice([-1, 1], ids.size)).reshape(shape)
    where = {int(w[idx]): idx for idx in np.ndindex(shape)}
    for g, group in enumerate(scnn_format.weight_blocks(w, kc, bits)):
        for ch, block in enumerate(group):
            counts, values, zeros = scnn_format.rows_of(block, f)
            assert len(counts) == kc * r * s // f and not zeros.any()
            for row in values:
                ks, cs, rs, ss = zip(*(where[int(v)] for v in row))
                assert set(cs) == {ch} and len(set(zip(rs, ss))) == 1
                assert list(ks) == list(range(ks[0], ks[0] + f))
                assert g * kc <= ks[0] and ks[-1] < (g + 1) * kc


def test_activation_tiles_are_row_major_with_zeros_outside_the_image():
    plane = np.arange(1, 16).reshape(3, 5)                 # H=3, W=5
    tile = scnn_format.act_tile(plane, px=1, py=1, tile_w=3, tile_h=2)
    assert tile.tolist() == [[14, 15, 0], [0, 0, 0]]       # x 3..5, y 2..3
    blocks = scnn_format.tile_blocks(plane[None], 1, 1, 3, 2, index_bits=4)
    assert entries_of(blocks[0]) == [(14, 0), (15, 0)]


# -- golden layer ---------------------------------------------------------------------------------

def test_conv_same_of_an_impulse_is_the_flipped_kernel():
    act = np.zeros((1, 3, 3), dtype=np.int64)
    act[0, 1, 1] = 1
    kernel = np.arange(1, 10).reshape(1, 1, 3, 3)
    out = scnn_golden.conv_same(act, kernel, 24)
    assert out[0].tolist() == kernel[0, 0, ::-1, ::-1].tolist()


@pytest.mark.parametrize("seed", range(6))
def test_conv_same_matches_the_loop_nest(seed):
    rng = np.random.default_rng(seed)
    c, h, w, k = rng.integers(1, 4), rng.integers(1, 6), rng.integers(1, 6), rng.integers(1, 4)
    r, s = rng.choice([1, 3, 5]), rng.choice([1, 3, 5])
    act = rng.integers(-32768, 32768, (c, h, w))
    weights = rng.integers(-32768, 32768, (k, c, r, s))
    acc_bits = int(rng.choice([12, 24, 40]))
    assert np.array_equal(scnn_golden.conv_same(act, weights, acc_bits),
                          ref_conv_same(act, weights, acc_bits))


def test_layer_output_wraps_then_applies_relu():
    # 2 × 200 × 100 = 40000 wraps to 40000 − 65536 = −25536 in 16 bits: ReLU gives 0.
    act = np.full((2, 1, 1), 200)
    weights = np.full((1, 2, 1, 1), 100)
    assert scnn_golden.conv_same(act, weights, 16)[0, 0, 0] == -25536
    assert scnn_golden.layer_output(act, weights, 16)[0, 0, 0] == 0
    assert scnn_golden.layer_output(act, weights, 24)[0, 0, 0] == 40000


def test_conv_same_rejects_even_kernels_and_bad_shapes():
    with pytest.raises(ValueError, match="odd kernel"):
        scnn_golden.conv_same(np.zeros((1, 2, 2)), np.zeros((1, 1, 2, 2)), 24)
    with pytest.raises(ValueError, match="C×H×W"):
        scnn_golden.conv_same(np.zeros((2, 2, 2)), np.zeros((1, 1, 3, 3)), 24)


def test_output_rows_decode_back_to_the_output():
    from sparseforge.gen.config import parse_config
    cfg = parse_config({"arch": "scnn", "pes": {"x": 2, "y": 2}, "tile": {"w": 3, "h": 2},
                        "pe": {"f": 2, "i": 2, "banks": 8}, "kc": 2, "index_bits": 2})
    rng = np.random.default_rng(7)
    out = np.maximum(rng.integers(-5, 5, (3, 4, 5)), 0)
    rows, blocks = scnn_streams.output_rows(cfg, out)
    decoded = [scnn_streams.decode_output_rows(cfg, r, 3) for r in rows]
    assert decoded == blocks
    layer = scnn_streams.Layer(h=4, w=5, c=1, k=3, r=1, s=1)
    assert np.array_equal(scnn_streams.assemble_output(cfg, decoded, layer), out)
