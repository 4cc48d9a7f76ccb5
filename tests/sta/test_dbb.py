"""DBB sparse format (sim/dbb.py): prune, violations, encode, decode.

Expected values come from small hand-worked blocks and from a naive pure-Python reference that
walks each line along the blocking axis with Python ints.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sparseforge.sim.sta import dbb

# -- naive reference ------------------------------------------------------------------------------

def _lines(w, axis):
    """Yield (index-of-other-axes, line as Python ints) for every line of ``w`` along ``axis``."""
    w = np.asarray(w)
    others = w.shape[:axis] + w.shape[axis + 1:]
    for idx in np.ndindex(*others):
        line = [int(w[idx[:axis] + (i,) + idx[axis:]]) for i in range(w.shape[axis])]
        yield idx, line


def _blocks_of(line, block):
    return [line[s:s + block] for s in range(0, len(line), block)]


def ref_prune_line(line, nnz, block):
    out = []
    for blk in _blocks_of(line, block):
        ranked = sorted(range(len(blk)), key=lambda i: (-abs(blk[i]), i))
        keep = set(ranked[:nnz])
        out += [v if i in keep else 0 for i, v in enumerate(blk)]
    return out


def ref_prune(w, nnz, block, axis):
    w = np.asarray(w)
    out = np.zeros_like(w)
    for idx, line in _lines(w, axis):
        for i, v in enumerate(ref_prune_line(line, nnz, block)):
            out[idx[:axis] + (i,) + idx[axis:]] = v
    return out


def ref_violations(w, nnz, block, axis):
    count = 0
    for _, line in _lines(w, axis):
        for blk in _blocks_of(line, block):
            if sum(1 for v in blk if v != 0) > nnz:
                count += 1
    return count


def ref_encode_line(line, nnz, block):
    """[(values padded to nnz, mask)] per block."""
    out = []
    for blk in _blocks_of(line, block):
        nonzero = [v for v in blk if v != 0]
        mask = 0
        for i, v in enumerate(blk):
            if v != 0:
                mask |= 1 << i
        out.append((nonzero + [0] * (nnz - len(nonzero)), mask))
    return out


# -- strategies -----------------------------------------------------------------------------------

@st.composite
def blocked_arrays(draw, max_dims=3):
    """(w int array, block, axis) with small odd shapes; values biased to 0 and the int8 ends."""
    ndim = draw(st.integers(1, max_dims))
    shape = tuple(draw(st.lists(st.integers(1, 7), min_size=ndim, max_size=ndim)))
    axis = draw(st.integers(0, ndim - 1))
    block = draw(st.integers(1, 16))
    # make the blocking axis long enough for several blocks (and often a partial one)
    length = draw(st.integers(1, 3 * block + 2))
    shape = shape[:axis] + (length,) + shape[axis + 1:]
    size = int(np.prod(shape))
    element = st.one_of(st.just(0), st.just(0), st.sampled_from([-128, 127, 1, -1]),
                        st.integers(-128, 127))
    values = draw(st.lists(element, min_size=size, max_size=size))
    dtype = draw(st.sampled_from([np.int8, np.int16, np.int64]))
    return np.array(values, dtype=dtype).reshape(shape), block, axis


# -- prune ----------------------------------------------------------------------------------------

# (block values, nnz, block size, expected) worked by hand
PRUNE_CASES = [
    ([3, -3, 3, 0], 2, 4, [3, -3, 0, 0]),          # tie on |w| = 3: lower positions win
    ([3, -3, 3, 0], 1, 4, [3, 0, 0, 0]),
    ([0, 3, -3, 3], 2, 4, [0, 3, -3, 0]),
    ([1, -5, 2, 5], 2, 4, [0, -5, 0, 5]),
    ([1, -5, 2, 5], 3, 4, [0, -5, 2, 5]),
    ([-128, 127, 0, 1], 1, 4, [-128, 0, 0, 0]),    # |-128| > 127 even in int8
    ([127, -128, 0, 1], 2, 4, [127, -128, 0, 0]),
    ([0, 0, 0, 0], 1, 4, [0, 0, 0, 0]),             # all zero
    ([0, 0, 0, 0], 4, 4, [0, 0, 0, 0]),
    ([4, -3, 2, -1], 4, 4, [4, -3, 2, -1]),         # fully dense, nnz = block
    ([7], 1, 1, [7]),                               # block of one
    ([-2, 2, -2], 1, 1, [-2, 2, -2]),
    ([0, 0, 5, 1, 0, 0, 1, 2], 1, 4, [0, 0, 5, 0, 0, 0, 0, 2]),   # two blocks
    ([1, 2, 3, 4, 5, 6, 0], 2, 4, [0, 0, 3, 4, 5, 6, 0]),         # last partial block [5, 6, 0]
    ([1, 2, 3, 4, 5, 6, 0], 1, 4, [0, 0, 0, 4, 0, 6, 0]),
    ([2, -2, 2], 1, 4, [2, 0, 0]),                                # one partial block, tie
    ([1, 1, 1, 1, 1, 1, 1, 1, 1], 2, 8, [1, 1, 0, 0, 0, 0, 0, 0, 1]),
]


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64])
@pytest.mark.parametrize("line, nnz, block, expected", PRUNE_CASES)
def test_prune_hand_cases(line, nnz, block, expected, dtype):
    w = np.array(line, dtype=dtype)
    before = w.copy()
    got = dbb.prune(w, nnz, block)
    assert got.dtype == dtype
    assert got.shape == w.shape
    assert got.tolist() == expected
    assert np.array_equal(w, before)                # the input is left alone


def test_prune_2d_along_each_axis():
    w = np.array([[3, 0, -1],
                  [-3, 2, -1],
                  [1, 0, 5],
                  [0, 2, 5]])
    # axis 0 (a K×N GEMM weight: blocks along K, per column), block 2, nnz 1
    assert dbb.prune(w, 1, 2, axis=0).tolist() == [[3, 0, -1],
                                                   [0, 2, 0],
                                                   [1, 0, 5],
                                                   [0, 2, 0]]
    # axis 1, block 2, nnz 1: row blocks [a, b] and the partial [c]
    assert dbb.prune(w, 1, 2, axis=1).tolist() == [[3, 0, -1],
                                                   [-3, 0, -1],
                                                   [1, 0, 5],
                                                   [0, 2, 5]]


def test_prune_conv_weight_hand_case():
    # K×C×R×S = 1×5×1×2, blocks of 4 along C with nnz 1: each (k, r, s) column is pruned alone
    w = np.zeros((1, 5, 1, 2), dtype=np.int8)
    w[0, :, 0, 0] = [1, -2, 2, 0, 9]
    w[0, :, 0, 1] = [0, 0, 0, -7, -8]
    got = dbb.prune(w, 1, 4, axis=1)
    assert got[0, :, 0, 0].tolist() == [0, -2, 0, 0, 9]
    assert got[0, :, 0, 1].tolist() == [0, 0, 0, -7, -8]


@given(blocked_arrays(), st.data())
def test_prune_matches_reference(case, data):
    w, block, axis = case
    nnz = data.draw(st.integers(1, block))
    got = dbb.prune(w, nnz, block, axis=axis)
    assert got.dtype == w.dtype
    assert got.shape == w.shape
    assert np.array_equal(got, ref_prune(w, nnz, block, axis))
    assert ref_violations(got, nnz, block, axis) == 0
    assert np.array_equal(dbb.prune(got, nnz, block, axis=axis), got)     # idempotent


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_prune_conv_weight_random(seed):
    rng = np.random.default_rng(seed)
    w = rng.integers(-128, 128, size=(3, 11, 3, 2), dtype=np.int64).astype(np.int8)
    w[rng.random(w.shape) < 0.3] = 0
    for block, nnz in [(4, 2), (8, 3), (8, 8), (3, 1)]:
        got = dbb.prune(w, nnz, block, axis=1)
        assert np.array_equal(got, ref_prune(w, nnz, block, 1)), (seed, block, nnz)
        for k in range(3):
            for r in range(3):
                for s in range(2):
                    column = [int(v) for v in got[k, :, r, s]]
                    for start in range(0, 11, block):
                        assert sum(v != 0 for v in column[start:start + block]) <= nnz


@pytest.mark.parametrize("nnz, block", [(0, 4), (5, 4), (-1, 4), (2, 1)])
def test_prune_bad_nnz(nnz, block):
    with pytest.raises(ValueError):
        dbb.prune(np.ones(8, dtype=np.int8), nnz, block)


# -- violations -----------------------------------------------------------------------------------

@pytest.mark.parametrize("nnz, expected", [(0, 3), (1, 2), (2, 1), (3, 0), (4, 0)])
def test_violations_hand_case(nnz, expected):
    # blocks of 4: [1, 1, 0, 0] (2 nz), [1, 0, 0, 0] (1 nz), partial [1, 1, 1] (3 nz)
    w = np.array([1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 1])
    assert dbb.violations(w, nnz, 4) == expected


def test_violations_counts_blocks_not_elements():
    w = np.array([[5, 5, 5, 5], [5, 5, 5, 5]])     # along axis 1, block 4: two full blocks
    assert dbb.violations(w, 1, 4, axis=1) == 2
    assert dbb.violations(w, 1, 2, axis=1) == 4
    assert dbb.violations(np.zeros((3, 9)), 1, 4, axis=1) == 0


@given(blocked_arrays(), st.data())
def test_violations_matches_reference(case, data):
    w, block, axis = case
    nnz = data.draw(st.integers(0, block))
    assert dbb.violations(w, nnz, block, axis=axis) == ref_violations(w, nnz, block, axis)


def test_block_count():
    assert [dbb.block_count(n, 4) for n in range(1, 10)] == [1, 1, 1, 1, 2, 2, 2, 2, 3]
    assert dbb.block_count(7, 1) == 7
    assert dbb.block_count(16, 16) == 1


# -- encode / decode ------------------------------------------------------------------------------

# (line, nnz, block, [values per block], [mask per block]) worked by hand
ENCODE_CASES = [
    ([0, 5, 0, -7], 2, 4, [[5, -7]], [0b1010]),
    ([0, 0, 0, 0], 2, 4, [[0, 0]], [0]),
    ([0, 0, 9, 0], 2, 4, [[9, 0]], [0b0100]),
    ([9], 1, 1, [[9]], [1]),
    ([0], 1, 1, [[0]], [0]),
    ([1, 2, 3, 4], 4, 4, [[1, 2, 3, 4]], [0b1111]),
    ([-128, 0, 127, 0, 0, 0, 0, 0, 0, -1], 2, 4, [[-128, 127], [0, 0], [-1, 0]],
     [0b0101, 0, 0b10]),                                     # partial last block [0, -1]
    ([0, 0, 4], 2, 4, [[4, 0]], [0b100]),                    # one partial block
    ([3] * 16, 16, 16, [[3] * 16], [0xFFFF]),
    ([0] * 15 + [-3], 1, 16, [[-3]], [0x8000]),
    ([1, 0, 0, 2], 3, 4, [[1, 2, 0]], [0b1001]),
]


@pytest.mark.parametrize("line, nnz, block, values, masks", ENCODE_CASES)
def test_encode_hand_cases(line, nnz, block, values, masks):
    w = np.array(line, dtype=np.int8)
    got_values, got_masks = dbb.encode(w, nnz, block)
    assert got_values.tolist() == values
    assert got_masks.tolist() == masks
    assert got_masks.dtype == np.int64
    back = dbb.decode(got_values, got_masks, block, len(line))
    assert back.tolist() == line


def test_encode_2d_axis_layout():
    # K×N = 5×2 weight blocked along K (axis 0) by 4: values (N, blocks, nnz), masks (N, blocks)
    w = np.array([[0, 1],
                  [2, 0],
                  [0, 0],
                  [3, 4],
                  [0, 5]])
    values, masks = dbb.encode(w, 2, 4, axis=0)
    assert values.tolist() == [[[2, 3], [0, 0]], [[1, 4], [5, 0]]]
    assert masks.tolist() == [[0b1010, 0], [0b1001, 0b1]]
    assert np.array_equal(dbb.decode(values, masks, 4, 5, axis=0), w)


@given(blocked_arrays(), st.data())
def test_encode_decode_round_trip(case, data):
    w, block, axis = case
    nnz = data.draw(st.integers(1, block + 2))
    w = ref_prune(w, min(nnz, block), block, axis)          # meet the bound first
    values, masks = dbb.encode(w, nnz, block, axis=axis)
    nblocks = -(-w.shape[axis] // block)
    others = w.shape[:axis] + w.shape[axis + 1:]
    assert values.shape == others + (nblocks, nnz)
    assert masks.shape == others + (nblocks,)
    for idx, line in _lines(w, axis):
        expected = ref_encode_line(line, nnz, block)
        assert [values[idx + (b,)].tolist() for b in range(nblocks)] == [v for v, _ in expected]
        assert [int(masks[idx + (b,)]) for b in range(nblocks)] == [mk for _, mk in expected]
    back = dbb.decode(values, masks, block, w.shape[axis], axis=axis)
    assert back.shape == w.shape
    assert back.dtype == w.dtype
    assert np.array_equal(back, w)


@pytest.mark.parametrize("line, nnz, block", [
    ([1, 2, 3, 0], 2, 4),
    ([1, 0, 0, 0, 1, 1], 1, 4),       # the partial last block breaks the bound
    ([5], 0, 1),
    ([1, 1], 1, 2),
])
def test_encode_raises_on_violation(line, nnz, block):
    with pytest.raises(ValueError):
        dbb.encode(np.array(line), nnz, block)


def test_encode_all_zero_with_no_slots():
    values, masks = dbb.encode(np.zeros(6, dtype=np.int8), 0, 4)
    assert values.shape == (2, 0)
    assert masks.tolist() == [0, 0]
    assert dbb.decode(values, masks, 4, 6).tolist() == [0] * 6


@pytest.mark.parametrize("values, mask, block, length, expected", [
    ([5, 6, 7], 0b0001, 4, 4, [5, 0, 0, 0]),     # slots past the single set bit are dropped
    ([5, 6], 0b0000, 4, 4, [0, 0, 0, 0]),
    ([5, 6, 7], 0b1010, 4, 4, [0, 5, 0, 6]),
    ([5, 6], 0b1100, 4, 3, [0, 0, 5]),            # length trims the padded tail
    ([-128, 127], 0b11, 2, 2, [-128, 127]),
    ([1, 2, 3, 4, 5], 0b1111, 4, 4, [1, 2, 3, 4]),
])
def test_decode_hand_cases(values, mask, block, length, expected):
    got = dbb.decode(np.array([values], dtype=np.int16), np.array([mask]), block, length)
    assert got.tolist() == expected
    assert got.dtype == np.int16


def test_decode_along_axis_1():
    # two rows, blocks of 2 along axis 1, length 3
    values = np.array([[[7], [8]], [[0], [9]]])
    masks = np.array([[0b10, 0b01], [0b00, 0b01]])
    got = dbb.decode(values, masks, 2, 3, axis=1)
    assert got.tolist() == [[0, 7, 8], [0, 0, 9]]
