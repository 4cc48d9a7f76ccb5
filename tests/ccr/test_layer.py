"""Windows, stride passes and the cycle models against independent counts (CCR, Sec. IV)."""

import numpy as np
import pytest

from sparseforge.sim.ccr import cycles, format as fmt, layer
from sparseforge.sim.conv import conv2d

SEED = 7321


def _direct(x, w, x0, y0, ho, wo, st):
    c, h, wd = x.shape
    k, _, r, s = w.shape
    out = np.zeros((k, ho, wo), dtype=np.int64)
    for kk in range(k):
        for u in range(ho):
            for v in range(wo):
                for cc in range(c):
                    for i in range(r):
                        for j in range(s):
                            m, n = x0 + st * u + i, y0 + st * v + j
                            if 0 <= m < h and 0 <= n < wd:
                                out[kk, u, v] += w[kk, cc, i, j] * x[cc, m, n]
    return out


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("r", [1, 3, 5])
def test_window_golden_and_passes(mode, stride, r):
    rng = np.random.default_rng(SEED + r)
    x = rng.integers(-9, 10, (2, 7, 6))
    w = rng.integers(-9, 10, (3, 2, r, r))
    win = layer.window(7, 6, r, r, mode=mode, stride=stride)
    ref = _direct(x, w, win.x0, win.y0, win.ho, win.wo, stride)
    assert np.array_equal(layer.golden(x, w, win), ref)
    total = sum(layer.golden(p.x, p.w, layer.Window(p.x0, p.y0, win.ho, win.wo))
                for p in layer.passes(x, w, win))
    assert np.array_equal(total, ref)


def test_window_pad_matches_framework_convolution():
    rng = np.random.default_rng(SEED)
    x, w = rng.integers(-9, 10, (3, 8, 7)), rng.integers(-9, 10, (2, 3, 3, 3))
    for stride, pad in ((1, 1), (2, 1), (2, 0), (3, 2)):
        win = layer.window(8, 7, 3, 3, pad=pad, stride=stride)
        assert np.array_equal(layer.golden(x, w, win), conv2d(x, w, stride, pad, acc_bits=64))


def test_golden_wraps():
    x = np.full((3, 2, 2), -128)
    w = np.full((1, 3, 2, 2), -128)
    win = layer.window(2, 2, 2, 2, mode="valid")
    # 12 · 16384 = 196608 = 2^18 − 65536: an 18-bit accumulator holds −65536.
    assert layer.golden(x, w, win, acc_bits=18)[0, 0, 0] == -65536


def test_window_errors():
    with pytest.raises(ValueError, match="exactly one of mode and pad"):
        layer.window(4, 4, 3, 3)
    with pytest.raises(ValueError, match="Stride must be a positive integer, not 0"):
        layer.window(4, 4, 3, 3, mode="same", stride=0)
    with pytest.raises(ValueError, match="no valid output"):
        layer.window(2, 4, 3, 3, mode="valid")


def test_formats_round_trip():
    rng = np.random.default_rng(SEED)
    x = rng.integers(-9, 10, (2, 5, 3))
    words = fmt.input_blocks(x, 2, 2)
    assert words.shape == (2 * 3 * 2, 4)
    assert words[1].tolist() == [x[0, 0, 2], 0, x[0, 1, 2], 0]         # block (M=0, N=1)
    w = rng.integers(-2, 3, (2, 2, 3, 3))
    counts, entries = fmt.compressed_kernel(w)
    rebuilt = np.zeros_like(w).reshape(4, 3, 3)
    starts = np.concatenate([[0], np.cumsum(counts)])
    for g in range(4):
        for value, i, j in entries[starts[g]:starts[g + 1]]:
            rebuilt[g, i, j] = value
    assert np.array_equal(rebuilt.reshape(w.shape), w)
    y = rng.integers(-9, 10, (3, 5, 3))
    hb, wb = fmt.blocks_shape(5, 3, 2, 2)
    # Output words by the documented bank rule.
    ob = np.zeros((3 * hb * wb, 4), dtype=np.int64)
    for k in range(3):
        for u in range(5):
            for v in range(3):
                ob[k * hb * wb + (u // 2) * wb + v // 2, (u % 2) * 2 + v % 2] = y[k, u, v]
    assert np.array_equal(fmt.output_map(ob, 3, 5, 3, 2, 2), y)


def test_cycle_model_counts_by_enumeration():
    """Issue cycles counted by walking the dataflow loops one step at a time."""
    rng = np.random.default_rng(SEED)
    x = rng.integers(-3, 4, (3, 5, 7)) * (rng.random((3, 5, 7)) < 0.5)
    w = rng.integers(-3, 4, (2, 3, 3, 3)) * (rng.random((2, 3, 3, 3)) < 0.4)
    w[1, 2] = 0                                          # an all-zero kernel
    x[1] = 0                                             # an all-zero channel
    px, py = 2, 4
    nb = 3 * 2
    steps = {"dense": 0, "sparse_k": 0, "sparse_i": 0}
    for k in range(2):
        for c in range(3):
            nzw = [(i, j) for i in range(3) for j in range(3) if w[k, c, i, j]]
            nzx = [(m, n) for m in range(5) for n in range(7) if x[c, m, n]]
            for _block in range(nb):
                for _i in range(9):
                    steps["dense"] += 1
            steps["sparse_k"] += nb * len(nzw) if nzw else 1
            steps["sparse_i"] += len(nzx) * 2 * 1 if nzx else 1      # ⌈3/2⌉·⌈3/4⌉ tiles
    for variant, n in steps.items():
        pc = cycles.pass_cycles(variant, px, py, x, w, -1, -1, 5, 7)
        assert pc.issue == n, variant
        assert pc.clear == 2 * 3 * 2
        assert pc.cycles == pc.clear + n + cycles.DRAIN


def test_sparse_ki_bank_loads_by_enumeration():
    rng = np.random.default_rng(SEED)
    x = rng.integers(-3, 4, (1, 6, 6)) * (rng.random((1, 6, 6)) < 0.6)
    w = rng.integers(-3, 4, (1, 1, 3, 3)) * (rng.random((1, 1, 3, 3)) < 0.7)
    px, py, x0, y0, ho, wo = 2, 2, 0, 0, 4, 4
    wnz = [(i, j) for i in range(3) for j in range(3) if w[0, 0, i, j]]
    xnz = [(m, n) for m in range(6) for n in range(6) if x[0, m, n]]
    total = stalls = 0
    for a in range(0, len(wnz), px):
        for b in range(0, len(xnz), py):
            banks = {}
            for i, j in wnz[a:a + px]:
                for m, n in xnz[b:b + py]:
                    u, v = m - i - x0, n - j - y0
                    if 0 <= u < ho and 0 <= v < wo:
                        banks[(u % px, v % py)] = banks.get((u % px, v % py), 0) + 1
            need = max([1, *banks.values()])
            total += need
            stalls += need - 1
    pc = cycles.pass_cycles("sparse_ki", px, py, x, w, x0, y0, ho, wo)
    assert (pc.issue, pc.bank_conflict_stalls) == (total, stalls)


def test_layer_cycles_sum_passes_first_clears():
    rng = np.random.default_rng(SEED)
    x, w = rng.integers(-3, 4, (2, 7, 7)), rng.integers(-3, 4, (2, 2, 3, 3))
    win = layer.window(7, 7, 3, 3, mode="same", stride=2)
    lc = cycles.layer_cycles("dense", 2, 2, x, w, win)
    assert len(lc.passes) == 4
    assert [p.clear for p in lc.passes] == [fmt.output_words(2, 4, 4, 2, 2), 0, 0, 0]
    assert lc.macs_required == 2 * 2 * 9 * 16
    assert lc.utilization == lc.macs_required / (4 * lc.cycles)


def test_sparse_ki_channel_loads_equal_the_per_kernel_loads():
    """The vectorised loads of a channel's kernels (in small chunks, so several chunks and a
    kernel split across them occur) sum the per-kernel reference."""
    rng = np.random.default_rng(SEED + 1)
    x = rng.integers(-3, 4, (9, 11)) * (rng.random((9, 11)) < 0.5)
    w = rng.integers(-3, 4, (5, 3, 3)) * (rng.random((5, 3, 3)) < 0.6)
    w[2] = 0
    xnz = np.argwhere(x)
    shapes = ((2, 2, -1, -1, 9, 11), (4, 2, 0, 0, 7, 9), (1, 4, -2, -2, 11, 13))
    for px, py, x0, y0, ho, wo in shapes:
        want = [cycles.ki_pair_loads(np.argwhere(w[k]), xnz, px, py, x0, y0, ho, wo)
                for k in range(5) if w[k].any()]
        for chunk in (1, 200, 1 << 22):
            loads, pairs, products = cycles.ki_channel_loads(w, xnz, px, py, x0, y0, ho, wo,
                                                             chunk=chunk)
            assert loads == sum(int(a.sum()) for a in want)
            assert pairs == sum(a.size for a in want)
            assert products == np.count_nonzero(w) * len(xnz)


@pytest.mark.parametrize("variant", ["dense", "sparse_k", "sparse_i", "sparse_ki"])
@pytest.mark.parametrize("mode, stride", [("same", 1), ("full", 2), ("valid", 2)])
def test_required_macs_count_the_golden_of_the_masks(variant, mode, stride):
    """Useful MACs: the layer's golden on 0/1 masks of the operands the variant skips zeros of
    (ones elsewhere) sums one per useful product."""
    rng = np.random.default_rng(SEED + 2)
    x = rng.integers(-3, 4, (3, 7, 6)) * (rng.random((3, 7, 6)) < 0.6)
    w = rng.integers(-3, 4, (2, 3, 3, 3)) * (rng.random((2, 3, 3, 3)) < 0.5)
    win = layer.window(7, 6, 3, 3, mode=mode, stride=stride)
    xm = (x != 0) if variant in ("sparse_i", "sparse_ki") else np.ones_like(x)
    wm = (w != 0) if variant in ("sparse_k", "sparse_ki") else np.ones_like(w)
    want = int(layer.golden(xm.astype(np.int64), wm.astype(np.int64), win, acc_bits=64).sum())
    if variant == "dense":
        want = 2 * 3 * 9 * win.ho * win.wo
    assert cycles.required_macs(variant, x, w, win) == want


def test_compressed_formats_decode_to_the_operands():
    """Every buffer of every design decodes back to the operands by the documented rules."""
    rng = np.random.default_rng(SEED + 3)
    x = rng.integers(-9, 10, (3, 5, 4)) * (rng.random((3, 5, 4)) < 0.5)
    x[1] = 0
    w = rng.integers(-9, 10, (2, 3, 3, 3)) * (rng.random((2, 3, 3, 3)) < 0.5)
    w[0, 2] = 0
    px, py = 2, 4
    # Compressed IB, SparseI: one entry per word, channel counts.
    buf = fmt.buffers("sparse_i", px, py, x, w)
    got = np.zeros_like(x)
    ch = np.repeat(np.arange(3), buf.ib_counts)
    for c, (value, m, n) in zip(ch, buf.ib):
        got[c, m, n] = value
    assert np.array_equal(got, x) and np.all(buf.ib[:, 0] != 0)
    # Tiles, SparseI: lane p·Py + q of tile (a, b) is w[.., a·Px + Px−1−p, b·Py + Py−1−q].
    tr, ts = 2, 1
    got = np.zeros((2, 3, tr * px, ts * py), dtype=np.int64)
    for g, tile in enumerate(buf.kb.reshape(2 * 3, tr, ts, px * py)):
        for a in range(tr):
            for b in range(ts):
                for p in range(px):
                    for q in range(py):
                        got[g // 3, g % 3, a * px + px - 1 - p, b * py + py - 1 - q] = \
                            tile[a, b, p * py + q]
    assert np.array_equal(got[:, :, :3, :3], w) and not got[:, :, 3:].any()
    # Vectors, SparseKI: words of P_y inputs and P_x weights, zero-padded, counts in words.
    buf = fmt.buffers("sparse_ki", px, py, x, w)
    assert buf.ib_counts.tolist() == [-(-np.count_nonzero(x[c]) // py) for c in range(3)]
    assert buf.kb_counts.tolist() == [-(-np.count_nonzero(w[k, c]) // px)
                                      for k in range(2) for c in range(3)]
    got = np.zeros_like(x)
    ch = np.repeat(np.arange(3), buf.ib_counts)
    for c, word in zip(ch, buf.ib):
        for value, m, n in word:
            got[c, m, n] += value
    assert np.array_equal(got, x)
    got = np.zeros_like(w)
    g = np.repeat(np.arange(6), buf.kb_counts)
    for kc, word in zip(g, buf.kb):
        for value, i, j in word:
            got[kc // 3, kc % 3, i, j] += value
    assert np.array_equal(got, w)
    for variant in ("dense", "sparse_k", "sparse_i", "sparse_ki"):
        buf = fmt.buffers(variant, px, py, x, w)
        use = fmt.usage(variant, px, py, x, w, 5, 4)
        assert (use["ib"], use["kb"]) == (len(buf.ib), len(buf.kb)), variant


def test_network_layer_model_is_the_layer_model_per_group():
    """A grouped layer's model is its groups' layer models on the same seeded masks; SparseKI
    above the product budget is sampled (and flagged), below it exact."""
    from sparseforge.sim import workloads
    from sparseforge.sim.ccr import network

    lay = workloads.ConvLayer("t", 6, 5, 4, 6, 3, 3, stride=2, pad=1, groups=2)
    variants = ("dense", "sparse_k", "sparse_i", "sparse_ki")
    got = network.layer_model(variants, 2, 2, lay, 0.5, 0.7, np.random.default_rng(3))
    rng = np.random.default_rng(3)
    win = layer.window(6, 5, 3, 3, pad=1, stride=2)
    want = {v: 0 for v in variants}
    for _ in range(2):
        x = network.masks(rng, (2, 6, 5), 0.7)
        w = network.masks(rng, (3, 2, 3, 3), 0.5)
        assert np.count_nonzero(x) == 42 and np.count_nonzero(w) == 27
        for v in variants:
            want[v] += cycles.layer_cycles(v, 2, 2, x, w, win).cycles
    assert {v: got.cycles[v].cycles for v in variants} == want
    assert got.macs == lay.macs and not got.cycles["sparse_ki"].sampled
    small = network.layer_model(("sparse_ki",), 2, 2, lay, 0.5, 0.7,
                                np.random.default_rng(3), budget=10)
    assert small.cycles["sparse_ki"].sampled
