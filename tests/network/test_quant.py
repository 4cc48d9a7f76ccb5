"""The shared requantization rule (sim/quant.py) against hand-worked cases and a Python-int model.

Hand-worked cases are computed on paper in the comments; the naive model applies the rule of the
module docstring to one Python int at a time.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sparseforge.sim import conv, quant


def _naive(acc, bias, mult, shift, relu):
    t = (acc + bias) * mult
    y = (t + (1 << (shift - 1))) >> shift if shift else t
    y = min(127, max(-128, y))
    return max(0, y) if relu else y


@pytest.mark.parametrize("acc, bias, mult, shift, relu, expected", [
    (100, 0, 1, 3, False, 13),        # 12.5 rounds half up to 13
    (-100, 0, 1, 3, False, -12),      # -12.5 rounds half up to -12
    (-101, 0, 1, 3, False, -13),      # -12.625 -> -13
    (99, 0, 1, 3, False, 12),         # 12.375 -> 12
    (10, -3, 3, 1, False, 11),        # (7·3)/2 = 10.5 -> 11
    (10, -13, 3, 1, False, -4),       # (-3·3)/2 = -4.5 -> -4
    (1000, 0, 1, 0, False, 127),      # no shift, clamped high
    (-1000, 0, 1, 0, False, -128),    # clamped low
    (-1000, 0, 1, 0, True, 0),        # ReLU after the clamp
    (5, 2, 20000, 14, True, 9),       # 7·20000 = 140000; /16384 = 8.545 -> 9
    (300, 0, 32768, 16, False, 127),  # 300·0.5 = 150 -> clamp 127
    # extremes: (2**31-1 + 2**31-1)·65535 = 281470681612290; + 2**46 = 351839425789954;
    # >> 47 = 2 (351839425789954 / 140737488355328 = 2.4999...)
    (2**31 - 1, 2**31 - 1, 65535, 47, False, 2),
    # (-2**31 - 2**31)·65535 = -281470681743360; + 2**46 = -211101937565696; >> 47 = -2
    (-2**31, -2**31, 65535, 47, False, -2),
])
def test_hand_worked(acc, bias, mult, shift, relu, expected):
    assert quant.requantize(np.array([acc]), bias, mult, shift, relu)[0] == expected
    assert _naive(acc, bias, mult, shift, relu) == expected


@given(st.lists(st.integers(-2**31, 2**31 - 1), min_size=1, max_size=8),
       st.integers(-2**31, 2**31 - 1), st.integers(1, 65535), st.integers(0, 47), st.booleans())
def test_matches_the_naive_rule(accs, bias, mult, shift, relu):
    got = quant.requantize(np.array(accs), bias, mult, shift, relu)
    assert got.tolist() == [_naive(a, bias, mult, shift, relu) for a in accs]


def test_per_channel_parameters_follow_the_axis():
    acc = np.array([[[10, -10]], [[10, -10]]])          # K=2, 1×2 maps
    got = quant.requantize(acc, bias=[0, 6], mult=[1, 2], shift=[0, 2], axis=0)
    # channel 0: 10, -10; channel 1: (16·2+2)>>2 = 8, (-4·2+2)>>2 = -2
    assert got.tolist() == [[[10, -10]], [[8, -2]]]
    # A scalar bias with per-channel multipliers: channel 1 is (10·2+2)>>2 = 5 (5.0) and
    # (-9·2+2)>>2 = -4 (-4.5 half up).
    acc = np.array([[[10, -9]], [[10, -9]]])
    got = quant.requantize(acc, bias=0, mult=[1, 2], shift=[0, 2], axis=0)
    assert got.tolist() == [[[10, -9]], [[5, -4]]]


@given(st.lists(st.integers(-2**31, 2**31 - 1), min_size=1, max_size=8), st.integers(0, 31),
       st.booleans())
def test_accelerator_requantize_is_the_rule_with_bias_0_mult_1(accs, shift, relu):
    """sim/conv.requantize (ReLU before the clamp) equals the rule with bias 0 and mult 1."""
    assert conv.requantize(np.array(accs), shift, relu).tolist() == \
        quant.requantize(np.array(accs), 0, 1, shift, relu).tolist()


@pytest.mark.parametrize("real, mult, shift", [
    (0.5, 32768, 16), (1.0, 32768, 15), (0.75, 49152, 16), (3.0, 49152, 14),
    (65535.0, 65535, 0),
    (2.0 ** -40, 128, 47),           # the shift stops at 47: 2**-40 · 2**47 = 128
])
def test_quantize_multiplier_hand_worked(real, mult, shift):
    assert quant.quantize_multiplier(real) == (mult, shift)


@given(st.floats(1e-9, 60000.0))
def test_quantize_multiplier_is_close(real):
    mult, shift = quant.quantize_multiplier(real)
    assert 1 <= mult <= 65535 and 0 <= shift <= 47
    assert abs(mult / 2 ** shift - real) <= 0.5 / 2 ** shift


@pytest.mark.parametrize("real", [0.0, -1.0, 65535.5, 1e6])
def test_quantize_multiplier_rejects(real):
    with pytest.raises(ValueError, match="positive|too large"):
        quant.quantize_multiplier(real)


@pytest.mark.parametrize("bias, mult, shift, match", [
    (2**31, 1, 0, "Bias must be an INT32"), (0, 0, 0, "Multiplier must be 1 to 65535"),
    (0, 65536, 0, "Multiplier"), (0, 1, 48, "Shift must be 0 to 47"), (0, 1, -1, "Shift"),
])
def test_bad_parameters(bias, mult, shift, match):
    with pytest.raises(ValueError, match=match):
        quant.requantize(np.array([1]), bias, mult, shift)


def test_max_pool2_hand_worked():
    x = np.array([[[1, -2, 3], [4, 0, -6], [7, 8, 9]]])   # odd row and column dropped
    assert quant.max_pool2(x).tolist() == [[[4]]]
    x = np.arange(16).reshape(1, 4, 4) * np.array([1, -1, 1, -1])
    # rows 0-1: [[0,-1],[4,-5]] max 4, [[2,-3],[6,-7]] max 6; rows 2-3: 12, 14
    assert quant.max_pool2(x).tolist() == [[[4, 6], [12, 14]]]
