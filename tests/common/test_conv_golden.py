"""The golden convolution of the VDBB accelerator (sim/conv.py) against naive Python models.

``conv2d`` is checked against a deliberately naive loop over Python integers (explicit zero
padding, cross-correlation, wrap to ``acc_bits`` at the end); ``requantize`` against values
worked by hand and against exact rational rounding; ``output_size`` and ``im2col_matrix``
against small examples worked by hand.
"""

import random
from fractions import Fraction
from math import floor

import numpy as np
import pytest
from sparseforge.sim.conv import conv2d, im2col_matrix, output_size, requantize

# -- the naive model ------------------------------------------------------------------------------


def naive_conv2d(x, w, stride, pad, acc_bits):
    """K×Ho×Wo nested lists: for every output and every tap, multiply and add, then wrap."""
    c_in, h, wd = len(x), len(x[0]), len(x[0][0])
    k_out, _, r, s = len(w), len(w[0]), len(w[0][0]), len(w[0][0][0])
    # Explicit zero padding on all four sides.
    padded = [[[0] * (wd + 2 * pad) for _ in range(h + 2 * pad)] for _ in range(c_in)]
    for c in range(c_in):
        for y in range(h):
            for xx in range(wd):
                padded[c][y + pad][xx + pad] = int(x[c][y][xx])
    ho = (h + 2 * pad - r) // stride + 1
    wo = (wd + 2 * pad - s) // stride + 1
    modulus, half = 1 << acc_bits, 1 << (acc_bits - 1)
    out = [[[0] * wo for _ in range(ho)] for _ in range(k_out)]
    for k in range(k_out):
        for oy in range(ho):
            for ox in range(wo):
                acc = 0
                for c in range(c_in):
                    for i in range(r):
                        for j in range(s):
                            acc += (padded[c][oy * stride + i][ox * stride + j] *
                                    int(w[k][c][i][j]))
                out[k][oy][ox] = (acc + half) % modulus - half
    return out


def _random_layer(rng, kernel):
    """A random small layer with a ``kernel``×``kernel`` filter that fits its padded input."""
    while True:
        stride = rng.choice((1, 2))
        pad = rng.randint(0, 3)
        h, w = rng.randint(1, 9), rng.randint(1, 9)
        if h + 2 * pad >= kernel and w + 2 * pad >= kernel:
            break
    c = rng.choice((1, 2, 3, 5, 7, 9, 11))           # never a multiple of 8
    k = rng.randint(1, 3)
    return c, h, w, k, stride, pad


def _operands(rng, c, h, w, k, r, s, extreme):
    if extreme:
        return np.full((c, h, w), -128), np.full((k, c, r, s), -128)
    x = np.array([rng.randint(-128, 127) for _ in range(c * h * w)]).reshape(c, h, w)
    wt = np.array([rng.randint(-128, 127) for _ in range(k * c * r * s)]).reshape(k, c, r, s)
    return x, wt


CASES = [(seed, kernel) for kernel in (1, 3, 5, 7) for seed in range(6)]


@pytest.mark.parametrize("acc_bits", [32, 18])
@pytest.mark.parametrize("seed, kernel", CASES)
def test_conv2d_matches_naive_loop(seed, kernel, acc_bits):
    rng = random.Random(1000 * kernel + seed)
    c, h, w, k, stride, pad = _random_layer(rng, kernel)
    extreme = seed == 0                                 # one all −128 case per kernel size
    x, wt = _operands(rng, c, h, w, k, kernel, kernel, extreme)
    got = conv2d(x, wt, stride=stride, pad=pad, acc_bits=acc_bits)
    expected = naive_conv2d(x.tolist(), wt.tolist(), stride, pad, acc_bits)
    assert got.shape == (k, len(expected[0]), len(expected[0][0]))
    assert got.tolist() == expected, (seed, kernel, c, h, w, k, stride, pad, acc_bits)


@pytest.mark.parametrize("seed", range(4))
def test_conv2d_rectangular_kernels(seed):
    rng = random.Random(seed)
    for _ in range(4):
        r, s = rng.choice((1, 2, 3, 5)), rng.choice((1, 3, 4, 7))
        stride, pad = rng.choice((1, 2)), rng.randint(0, 3)
        h = rng.randint(max(1, r - 2 * pad), 8)
        w = rng.randint(max(1, s - 2 * pad), 8)
        c, k = rng.choice((1, 3, 6, 10)), rng.randint(1, 3)
        x, wt = _operands(rng, c, h, w, k, r, s, extreme=False)
        got = conv2d(x, wt, stride=stride, pad=pad, acc_bits=20)
        assert got.tolist() == naive_conv2d(x.tolist(), wt.tolist(), stride, pad, 20), \
            (seed, r, s, stride, pad, h, w, c, k)


def test_conv2d_all_minus_128_wraps_by_hand():
    # 3 channels of a 3×3 kernel, every operand −128: 27 products of 2**14 = 442368.
    x = np.full((3, 3, 3), -128)
    w = np.full((1, 3, 3, 3), -128)
    assert conv2d(x, w, acc_bits=32).tolist() == [[[442368]]]
    # 18 bits: 442368 mod 2**18 = 180224, above 2**17 − 1, so −81920.
    assert conv2d(x, w, acc_bits=18).tolist() == [[[-81920]]]
    # 8 products of 2**14 = 2**17: exactly one past the largest 18-bit value.
    assert conv2d(np.full((8, 1, 1), -128), np.full((1, 8, 1, 1), -128),
                  acc_bits=18).tolist() == [[[-(1 << 17)]]]
    assert conv2d(np.full((7, 1, 1), -128), np.full((1, 7, 1, 1), -128),
                  acc_bits=18).tolist() == [[[7 << 14]]]


def test_conv2d_padding_and_stride_by_hand():
    # 1 channel 3×3 input 1..9, a 3×3 kernel of ones, pad 1, stride 2: the corner windows.
    x = np.arange(1, 10).reshape(1, 3, 3)
    w = np.ones((1, 1, 3, 3), dtype=np.int64)
    # (0,0): 1+2+4+5; (0,1): 2+3+5+6; (1,0): 4+5+7+8; (1,1): 5+6+8+9
    assert conv2d(x, w, stride=2, pad=1).tolist() == [[[12, 16], [24, 28]]]
    # Cross-correlation, not convolution: the kernel is not flipped.
    w = np.zeros((1, 1, 2, 2), dtype=np.int64)
    w[0, 0, 0, 1] = 1                                   # picks the top-right tap
    assert conv2d(x, w).tolist() == [[[2, 3], [5, 6]]]


@pytest.mark.parametrize("x_shape, w_shape", [((3, 4, 4), (2, 2, 3, 3)), ((4, 4), (1, 1, 3, 3)),
                                              ((1, 4, 4), (1, 1, 3))])
def test_conv2d_rejects_mismatched_shapes(x_shape, w_shape):
    with pytest.raises(ValueError, match="C×H×W activations and K×C×R×S weights"):
        conv2d(np.zeros(x_shape), np.zeros(w_shape))


def test_conv2d_rejects_kernel_larger_than_padded_input():
    with pytest.raises(ValueError, match="does not fit"):
        conv2d(np.zeros((1, 2, 5)), np.zeros((1, 1, 3, 3)))
    assert conv2d(np.zeros((1, 2, 5)), np.zeros((1, 1, 3, 3)), pad=1).shape == (1, 2, 5)


# -- requantize ------------------------------------------------------------------------------------

# (acc, shift, relu, expected), worked by hand: round half up (towards +inf), then clamp.
REQUANT_CASES = [
    # shift 0: no rounding term
    (0, 0, False, 0), (3, 0, False, 3), (-3, 0, False, -3), (127, 0, False, 127),
    (128, 0, False, 127), (-128, 0, False, -128), (-129, 0, False, -128),
    # shift 1: halves
    (5, 1, False, 3), (-5, 1, False, -2), (-6, 1, False, -3), (4, 1, False, 2),
    (-4, 1, False, -2), (1, 1, False, 1), (-1, 1, False, 0), (-3, 1, False, -1),
    # shift 2: quarters
    (5, 2, False, 1), (6, 2, False, 2), (7, 2, False, 2), (-6, 2, False, -1),
    (-7, 2, False, -2), (-10, 2, False, -2), (-11, 2, False, -3),
    # saturation
    (255, 1, False, 127), (254, 1, False, 127), (253, 1, False, 127), (252, 1, False, 126),
    (-257, 1, False, -128), (-258, 1, False, -128), (-300, 1, False, -128),
    (2**31 - 1, 0, False, 127), (-2**31, 0, False, -128),
    (2**31 - 1, 24, False, 127), (2**31 - 1, 25, False, 64), (-2**31, 24, False, -128),
    (-2**31, 25, False, -64), (-2**31, 31, False, -1), (2**31 - 1, 31, False, 1),
    (2**30 - 1, 31, False, 0), (2**30, 31, False, 1), (-2**30, 31, False, 0),
    (-2**30 - 1, 31, False, -1),
    # ReLU before the clamp
    (-5, 1, True, 0), (5, 1, True, 3), (-1, 1, True, 0), (-300, 0, True, 0),
    (300, 0, True, 127), (-2**31, 31, True, 0), (0, 0, True, 0), (127, 0, True, 127),
]


@pytest.mark.parametrize("acc, shift, relu, expected", REQUANT_CASES)
def test_requantize_by_hand(acc, shift, relu, expected):
    assert int(requantize(acc, shift, relu)) == expected


def _exact_requantize(acc, shift, relu):
    value = floor(Fraction(acc, 1 << shift) + Fraction(1, 2)) if shift else acc
    if relu:
        value = max(value, 0)
    return min(max(value, -128), 127)


@pytest.mark.parametrize("seed", [0, 1])
def test_requantize_against_exact_rational_rounding(seed):
    rng = random.Random(seed)
    accs = [rng.randint(-2**31, 2**31 - 1) for _ in range(40)]
    accs += [rng.randint(-2000, 2000) for _ in range(40)]
    for shift in range(32):
        for relu in (False, True):
            got = requantize(np.array(accs), shift, relu)
            assert got.dtype == np.int64
            expected = [_exact_requantize(a, shift, relu) for a in accs]
            assert got.tolist() == expected, (seed, shift, relu)


def test_requantize_keeps_shape_and_rejects_negative_shift():
    acc = np.array([[5, -5], [-6, 1000]])
    assert requantize(acc, 1).tolist() == [[3, -2], [-3, 127]]
    with pytest.raises(ValueError, match="non-negative, not -1"):
        requantize(acc, -1)


# -- output_size -----------------------------------------------------------------------------------

# (h, w, r, s, stride, pad, (ho, wo)) by hand from floor((h + 2·pad − r)/stride) + 1.
OUTPUT_SIZES = [
    (224, 224, 3, 3, 1, 1, (224, 224)),      # "same" 3×3
    (224, 224, 7, 7, 2, 3, (112, 112)),      # ResNet stem
    (227, 227, 11, 11, 4, 0, (55, 55)),      # AlexNet conv1
    (5, 5, 3, 3, 2, 0, (2, 2)),
    (5, 7, 1, 1, 2, 0, (3, 4)),
    (6, 6, 3, 3, 2, 1, (3, 3)),
    (1, 1, 1, 1, 1, 0, (1, 1)),
    (1, 1, 3, 3, 1, 1, (1, 1)),
    (4, 9, 5, 3, 1, 0, (0, 7)),              # kernel taller than the input: no output row
    (2, 2, 5, 5, 1, 0, (-2, -2)),
    (8, 3, 2, 3, 2, 2, (6, 3)),
]


@pytest.mark.parametrize("h, w, r, s, stride, pad, expected", OUTPUT_SIZES)
def test_output_size(h, w, r, s, stride, pad, expected):
    assert output_size(h, w, r, s, stride, pad) == expected


# -- im2col_matrix ---------------------------------------------------------------------------------

X_SMALL = np.array([[[1, 2, 3], [4, 5, 6]], [[7, 8, 9], [10, 11, 12]]])    # C=2, H=2, W=3


def test_im2col_matrix_by_hand_no_padding():
    # 2×2 kernel, stride 1: output 1×2; columns (c, i, j), c slowest.
    assert im2col_matrix(X_SMALL, 2, 2).tolist() == [
        [1, 2, 4, 5, 7, 8, 10, 11],
        [2, 3, 5, 6, 8, 9, 11, 12],
    ]


def test_im2col_matrix_by_hand_padding_and_stride():
    # Pad 1, stride 2, 2×2 kernel: output 2×2, windows at padded (0,0), (0,2), (2,0), (2,2).
    assert im2col_matrix(X_SMALL, 2, 2, stride=2, pad=1).tolist() == [
        [0, 0, 0, 1, 0, 0, 0, 7],
        [0, 0, 2, 3, 0, 0, 8, 9],
        [0, 4, 0, 0, 0, 10, 0, 0],
        [5, 6, 0, 0, 11, 12, 0, 0],
    ]


def test_im2col_matrix_times_weights_is_conv2d_by_hand():
    # Weights: channel 0 the 2×2 diagonal, channel 1 −1 at (1, 1).
    w = np.array([[[[1, 0], [0, 1]], [[0, 0], [0, -1]]]])
    # pixel (0,0): 1 + 5 − 11 = −5; pixel (0,1): 2 + 6 − 12 = −4
    assert (im2col_matrix(X_SMALL, 2, 2) @ w.reshape(1, -1).T).T.tolist() == [[-5, -4]]
    assert conv2d(X_SMALL, w).tolist() == [[[-5, -4]]]
    # With pad 1, stride 2: (0,0): 1 − 7 = −6; (0,1): 3 − 9 = −6; (1,0): 0; (1,1): 5
    assert conv2d(X_SMALL, w, stride=2, pad=1).tolist() == [[[-6, -6], [0, 5]]]
    assert (im2col_matrix(X_SMALL, 2, 2, 2, 1) @ w.reshape(1, -1).T).T.tolist() == \
        [[-6, -6, 0, 5]]
