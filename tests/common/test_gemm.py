"""Golden GEMM (sim/gemm.py) against a naive triple loop over Python ints with modular wrap."""

import numpy as np
import pytest
from sparseforge.sim import gemm as g


def ref_wrap(x, bits):
    """Two's-complement reduction of a Python int (arbitrary precision, no NumPy)."""
    half = 1 << (bits - 1)
    return (x + half) % (1 << bits) - half


def ref_gemm(act, weights, bits):
    m, k, n = len(act), len(weights), len(weights[0]) if weights else 0
    out = []
    for i in range(m):
        row = []
        for j in range(n):
            total = 0
            for p in range(k):
                total += act[i][p] * weights[p][j]
            row.append(ref_wrap(total, bits))
        out.append(row)
    return out


# -- wrap and int_range ---------------------------------------------------------------------------

@pytest.mark.parametrize("bits", [1, 2, 8, 16, 18, 32, 48, 63])
def test_wrap_edges(bits):
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    cases = {
        0: 0, -1: ref_wrap(-1, bits), hi: hi, lo: lo,
        hi + 1: lo, lo - 1: hi, (1 << bits) if bits < 63 else 0: 0,
    }
    for x, want in cases.items():
        assert int(g.wrap(x, bits)) == want, (x, bits)
        assert int(g.wrap(x, bits)) == ref_wrap(x, bits), (x, bits)


@pytest.mark.parametrize("bits", [16, 18, 32])
def test_wrap_arrays(bits):
    rng = np.random.default_rng(bits)
    x = rng.integers(-(1 << 40), 1 << 40, size=(5, 7), dtype=np.int64)
    got = g.wrap(x, bits)
    assert got.shape == (5, 7)
    assert got.tolist() == [[ref_wrap(int(v), bits) for v in row] for row in x.tolist()]


def test_wrap_64_is_identity():
    x = np.array([np.iinfo(np.int64).min, -1, 0, 1, np.iinfo(np.int64).max], dtype=np.int64)
    assert g.wrap(x, 64).tolist() == x.tolist()


@pytest.mark.parametrize("bits", [33, 48, 62, 63])
def test_gemm_wide_accumulators(bits):
    # widths.acc may be anything up to 64 in a config; the model must handle every width quietly
    act = np.full((1, 4), -128)
    weights = np.full((4, 1), -128)
    assert g.gemm(act, weights, acc_bits=bits).tolist() == [[65536]]


def test_wrap_hand_values():
    assert g.wrap(32768, 16) == -32768
    assert g.wrap(16384 * 3, 16) == -16384
    assert g.wrap(131072, 18) == -131072
    assert g.wrap(1 << 31, 32) == -(1 << 31)
    assert g.wrap(-(1 << 31) - 1, 32) == (1 << 31) - 1
    assert g.wrap(255, 8) == -1
    assert g.wrap(128, 8) == -128


@pytest.mark.parametrize("bits, lo, hi", [(1, -1, 0), (2, -2, 1), (8, -128, 127),
                                          (16, -32768, 32767), (18, -131072, 131071),
                                          (32, -2147483648, 2147483647)])
def test_int_range(bits, lo, hi):
    assert g.int_range(bits) == (lo, hi)


# -- gemm -----------------------------------------------------------------------------------------

SHAPES = [(1, 1, 1), (7, 24, 9), (3, 5, 2), (1, 13, 1), (8, 1, 8), (4, 64, 3)]


@pytest.mark.parametrize("bits", [16, 18, 32])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("seed", [0, 1])
def test_gemm_random(seed, shape, bits):
    m, k, n = shape
    rng = np.random.default_rng(seed)
    act = rng.integers(-128, 128, size=(m, k))
    weights = rng.integers(-128, 128, size=(k, n))
    got = g.gemm(act, weights, acc_bits=bits)
    assert got.shape == (m, n)
    assert got.tolist() == ref_gemm(act.tolist(), weights.tolist(), bits)


@pytest.mark.parametrize("seed", [3, 4])
def test_gemm_int8_inputs_and_extremes(seed):
    # int8 operands: the model must not multiply in int8; extremes appear often
    rng = np.random.default_rng(seed)
    choice = np.array([-128, 127, 0, -1, 1], dtype=np.int8)
    act = rng.choice(choice, size=(5, 40))
    weights = rng.choice(choice, size=(40, 6))
    for bits in (16, 18, 32):
        assert g.gemm(act, weights, bits).tolist() == \
            ref_gemm(act.tolist(), weights.tolist(), bits), (seed, bits)


# (K, acc bits, expected single output) for all -128 activations times all -128 weights:
# the exact sum is 16384·K, wrapped by hand
EXTREME = [
    (1, 16, 16384),
    (2, 16, -32768),            # 32768 = 2^15 wraps to the lowest value
    (3, 16, -16384),            # 49152 - 65536
    (4, 16, 0),                 # 65536
    (5, 16, 16384),
    (7, 18, 114688),
    (8, 18, -131072),           # 131072 = 2^17
    (9, 18, -114688),           # 147456 - 262144
    (16, 18, 0),
    (131071, 32, 2147467264),   # 2^31 - 16384
    (131072, 32, -2147483648),  # 2^31
    (131073, 32, -2147467264),
]


@pytest.mark.parametrize("k, bits, expected", EXTREME)
def test_gemm_all_minus_128(k, bits, expected):
    act = np.full((2, k), -128, dtype=np.int8)
    weights = np.full((k, 3), -128, dtype=np.int8)
    got = g.gemm(act, weights, acc_bits=bits)
    assert got.tolist() == [[expected] * 3] * 2
    assert expected == ref_wrap(16384 * k, bits)


def test_gemm_mixed_extremes_wrap():
    # -128·127 = -16256 per term; 3 terms = -48768 -> +16768 in 16 bits
    act = [[-128, -128, -128]]
    weights = [[127], [127], [127]]
    assert g.gemm(act, weights, 16).tolist() == [[16768]]
    assert g.gemm(act, weights, 32).tolist() == [[-48768]]
    # 127·127 = 16129; 3 terms = 48387 -> 48387 - 65536 = -17149
    assert g.gemm([[127] * 3], [[127]] * 3, 16).tolist() == [[-17149]]


def test_gemm_degenerate():
    assert g.gemm([[0] * 5] * 3, [[0] * 2] * 5).tolist() == [[0, 0]] * 3
    assert g.gemm([[-3]], [[4]]).tolist() == [[-12]]
    # identity
    eye = np.eye(4, dtype=np.int64)
    a = np.arange(-8, 8).reshape(4, 4)
    assert g.gemm(a, eye).tolist() == a.tolist()
    # K = 0: empty sums are zero
    assert g.gemm(np.zeros((2, 0)), np.zeros((0, 3))).tolist() == [[0, 0, 0]] * 2


def test_gemm_default_is_32_bits():
    k = 131072
    act = np.full((1, k), -128)
    weights = np.full((k, 1), -128)
    assert g.gemm(act, weights).tolist() == [[-(1 << 31)]]


@pytest.mark.parametrize("act_shape, w_shape", [
    ((3, 4), (5, 2)),       # K mismatch
    ((4,), (4, 2)),         # 1-D activations
    ((3, 4), (4,)),         # 1-D weights
    ((2, 3, 4), (4, 2)),    # 3-D
    ((3, 4), (4, 2, 1)),
    ((3, 4), (3, 4)),
])
def test_gemm_shape_errors(act_shape, w_shape):
    with pytest.raises(ValueError):
        g.gemm(np.zeros(act_shape), np.zeros(w_shape))
