"""CCR-1/2/3 against the direct convolution; the paper's worked examples (Sec. II–III)."""

import numpy as np
import pytest

from sparseforge.sim.ccr import examples, reduction, rule
from sparseforge.sim.conv import conv2d

SEED = 20240610


def _direct_full(imap, kernel):
    """Eq. 1 by its definition, element by element (independent of rule.full_conv)."""
    h, w = imap.shape
    r, s = kernel.shape
    out = np.zeros((h + r - 1, w + s - 1), dtype=np.int64)
    for x in range(1 - r, h):
        for y in range(1 - s, w):
            total = 0
            for i in range(r):
                for j in range(s):
                    if 0 <= x + i < h and 0 <= y + j < w:
                        total += kernel[i, j] * imap[x + i, y + j]
            out[x + r - 1, y + s - 1] = total
    return out


def _random_triplets(matrix, rng, overlap=True):
    """A random cover of ``matrix`` by rectangles; with ``overlap``, extra rectangles of random
    values and a last whole-matrix correction so that overlapping parts sum to the matrix."""
    h, w = matrix.shape
    rows = sorted(set(rng.integers(1, h, size=rng.integers(0, h)).tolist()) | {0, h}) if h > 1 \
        else [0, 1]
    parts = []
    for a, b in zip(rows, rows[1:]):
        cols = sorted(set(rng.integers(1, w, size=rng.integers(0, w)).tolist()) | {0, w}) \
            if w > 1 else [0, 1]
        for c, d in zip(cols, cols[1:]):
            parts.append(rule.Triplet(a, c, matrix[a:b, c:d].copy()))
    if overlap:
        extra = []
        for _ in range(2):
            a, c = int(rng.integers(0, h)), int(rng.integers(0, w))
            m = rng.integers(-5, 6, size=(int(rng.integers(1, h - a + 1)),
                                          int(rng.integers(1, w - c + 1))))
            extra.append(rule.Triplet(a, c, m))
        rest = matrix - rule.concatenate(parts + extra, (h, w))
        parts = parts + extra + [rule.Triplet(0, 0, rest)]
    assert np.array_equal(rule.concatenate(parts, (h, w)), matrix)
    return parts


def test_full_conv_is_eq1_and_a_padded_correlation():
    rng = np.random.default_rng(SEED)
    for h, w, r, s in ((4, 4, 3, 3), (5, 3, 2, 4), (1, 1, 1, 1), (3, 6, 5, 1)):
        imap = rng.integers(-9, 10, (h, w))
        kernel = rng.integers(-9, 10, (r, s))
        full = rule.full_conv(imap, kernel)
        assert np.array_equal(full, _direct_full(imap, kernel))
        if r == s:
            ref = conv2d(imap[None], kernel[None, None], pad=r - 1, acc_bits=64)[0]
            assert np.array_equal(full, ref)


@pytest.mark.parametrize("mode", rule.MODES)
def test_crop_modes(mode):
    rng = np.random.default_rng(SEED)
    imap, kernel = rng.integers(-9, 10, (6, 5)), rng.integers(-9, 10, (3, 3))
    out = rule.crop(rule.full_conv(imap, kernel), 3, 3, mode)
    pad = {"full": 2, "same": 1, "valid": 0}[mode]
    assert np.array_equal(out, conv2d(imap[None], kernel[None, None], pad=pad, acc_bits=64)[0])


def test_crop_rejects_unknown_mode():
    with pytest.raises(ValueError, match="Mode must be one of 'full', 'same', 'valid', not 'x'"):
        rule.crop_window(4, 4, 3, 3, "x")


@pytest.mark.parametrize("trial", range(12))
def test_ccr1_ccr2_ccr3_equal_direct_convolution(trial):
    rng = np.random.default_rng(SEED + trial)
    print("seed", SEED + trial)
    h, w = (int(v) for v in rng.integers(1, 7, 2))
    r, s = (int(v) for v in rng.integers(1, 6, 2))
    imap = rng.integers(-9, 10, (h, w)) * (rng.random((h, w)) < 0.6)
    kernel = rng.integers(-9, 10, (r, s)) * (rng.random((r, s)) < 0.6)
    direct = _direct_full(imap, kernel)
    kt, it = _random_triplets(kernel, rng), _random_triplets(imap, rng)
    assert np.array_equal(rule.ccr1(imap, kt, r, s), direct)
    assert np.array_equal(rule.ccr2(it, kernel, h, w), direct)
    assert np.array_equal(rule.ccr3(it, kt, h, w, r, s), direct)
    # Dropping the ineffective (all-zero) sub-matrices changes nothing.
    kt0, it0 = rule.nonzero(rule.tiles(kernel, 2, 1)), rule.nonzero(rule.tiles(imap, 1, 2))
    assert np.array_equal(rule.ccr1(imap, kt0, r, s), direct)
    assert np.array_equal(rule.ccr2(it0, kernel, h, w), direct)
    assert np.array_equal(rule.ccr3(it0, kt0, h, w, r, s), direct)


def test_ccr_multichannel_multifilter():
    rng = np.random.default_rng(SEED)
    x = rng.integers(-9, 10, (3, 5, 6)) * (rng.random((3, 5, 6)) < 0.5)
    wt = rng.integers(-9, 10, (2, 3, 3, 3)) * (rng.random((2, 3, 3, 3)) < 0.5)
    ref = conv2d(x, wt, pad=2, acc_bits=64)
    for k in range(2):
        for how in ("ccr1", "ccr2", "ccr3"):
            out = np.zeros_like(ref[k])
            for c in range(3):
                kt = rule.nonzero(rule.tiles(wt[k, c]))
                it = rule.nonzero(rule.tiles(x[c]))
                out += {"ccr1": lambda: rule.ccr1(x[c], kt, 3, 3),
                        "ccr2": lambda: rule.ccr2(it, wt[k, c], 5, 6),
                        "ccr3": lambda: rule.ccr3(it, kt, 5, 6, 3, 3)}[how]()
            assert np.array_equal(out, ref[k]), how


def test_fig3_offsets_and_macs():
    ex = examples.fig3()
    eff = rule.nonzero(ex.kernel_triplets)
    assert [(t.row, t.col, t.shape) for t in eff] == [(0, 1, (2, 2)), (2, 0, (1, 1))]
    assert [rule.ccr1_offsets(t) for t in eff] == [(-1, -2), (-2, 0)]        # Eq. 6
    assert ex.imap.size * ex.kernel.size == ex.macs_dense == 144
    assert reduction.macs_ccr1(4, 4, ex.kernel_triplets) == ex.macs_effective == 80
    assert round(100 * ex.reduction, 1) == 44.4
    assert np.array_equal(rule.ccr1(ex.imap, eff, 3, 3), _direct_full(ex.imap, ex.kernel))


def test_fig4_fig5_reductions():
    f4, f5 = examples.fig4(), examples.fig5()
    assert len(f4.imap_triplets) == 7 and len(rule.nonzero(f4.imap_triplets)) == 2
    assert reduction.macs_ccr2(f4.imap_triplets, 3, 3) == f4.macs_effective == 90
    assert f4.imap.size * 9 == f4.macs_dense
    assert len(rule.nonzero(f5.imap_triplets)) == 2 and len(rule.nonzero(f5.kernel_triplets)) == 2
    assert reduction.macs_ccr3(f5.imap_triplets, f5.kernel_triplets) == f5.macs_effective == 40
    for ex in (f4, f5):
        assert round(100 * ex.reduction, 1) == 72.2
    assert np.array_equal(rule.ccr2(rule.nonzero(f4.imap_triplets), f4.kernel, 6, 6),
                          _direct_full(f4.imap, f4.kernel))
    assert np.array_equal(rule.ccr3(rule.nonzero(f5.imap_triplets),
                                    rule.nonzero(f5.kernel_triplets), 4, 4, 3, 3),
                          _direct_full(f5.imap, f5.kernel))


def test_layer_macs_and_data_by_counting():
    rng = np.random.default_rng(SEED)
    x = rng.integers(-3, 4, (3, 4, 5)) * (rng.random((3, 4, 5)) < 0.5)
    w = rng.integers(-3, 4, (2, 3, 3, 3)) * (rng.random((2, 3, 3, 3)) < 0.5)
    # Count products with a non-zero operand one by one.
    counts = {"dense": 0, "ccr1": 0, "ccr2": 0, "ccr3": 0}
    for k in range(2):
        for c in range(3):
            for xv in x[c].ravel():
                for wv in w[k, c].ravel():
                    counts["dense"] += 1
                    counts["ccr1"] += wv != 0
                    counts["ccr2"] += xv != 0
                    counts["ccr3"] += (xv != 0) and (wv != 0)
    assert reduction.layer_macs(x, w) == counts
    nx, nw = np.count_nonzero(x), np.count_nonzero(w)
    assert reduction.layer_data(x, w) == {"dense": 60 + 54, "ccr1": 60 + nw, "ccr2": nx + 54,
                                          "ccr3": nx + nw}
    bits = reduction.data_bits(x, w)
    assert bits["ccr1"] == 60 * 8 + nw * (8 + 2 + 2)
    assert bits["ccr3"] == nx * (8 + 2 + 3) + nw * (8 + 2 + 2)


def test_expected_reduction():
    from sparseforge.sim.workloads import layer
    conv = layer("vgg16.conv3_1")
    red = reduction.expected_reduction(conv, 0.5, 0.4)
    assert red["macs"] == {"ccr1": 0.5, "ccr2": pytest.approx(0.6), "ccr3": pytest.approx(0.8)}
    xs, ws = conv.c * conv.h * conv.w, conv.weights
    assert red["data"]["ccr3"] == pytest.approx(1 - (0.4 * xs + 0.5 * ws) / (xs + ws))
    with pytest.raises(ValueError, match="weight_density must be from 0 to 1, not 1.5"):
        reduction.expected_reduction(conv, 1.5, 0.4)
