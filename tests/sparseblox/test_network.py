"""Sparse-Blox on the digits CNN (Hotfilter et al., III-A): the batched evaluation Spex drives
against the golden network and an image-by-image chain of the single-map pruning functions."""

import numpy as np
import pytest

from sparseforge.sim import quant
from sparseforge.sim.conv import conv2d, im2col_matrix
from sparseforge.sim.network import data, quantize, train
from sparseforge.sim.sparseblox import BlockCounts, Consumer, prune_im2col, prune_map
from sparseforge.sim.sparseblox.network import NetworkPruning

IMAGES = 12
MAP_BLOCKS = [(8, 1, 8), (8, 1, 8), (8, 2, 4), (8, 2, 4)]     # accel_small's output tiles
COL_BLOCKS = [(8, 8)] * 4


@pytest.fixture(scope="module")
def net():
    qnet, _, _ = train.load_trained()
    d = data.load()
    return qnet, d.test_x[:IMAGES], d.test_y[:IMAGES]


def _reference(qnet, x, form, blocks, raw):
    """Image by image: golden layers (sim.conv.conv2d + the requantization rule) with
    prune_map / prune_im2col between them. Returns classes and per-layer summed counts."""
    classes, counts = [], [BlockCounts()] * len(qnet.layers)
    for img in quantize.quantize_input(qnet, x):
        a, cols = img, None
        for i, layer in enumerate(qnet.layers):
            k = layer.w.shape[0]
            if cols is None:
                acc = conv2d(a, layer.w, pad=layer.pad)
            else:
                acc = (cols @ layer.w.reshape(k, -1).T).T.reshape(k, *a.shape[1:])
            y = quant.requantize(acc, layer.bias, layer.mult, layer.shift, relu=True, axis=0)
            last = i + 1 == len(qnet.layers)
            if last:
                cons = Consumer(10, 2, 2)
            else:
                nxt = qnet.layers[i + 1]
                cons = Consumer(nxt.w.shape[0], nxt.w.shape[2], nxt.w.shape[3], 1, nxt.pad)
            if form == "map":
                p = prune_map(y, blocks[i], raw[i], elems_per_word=8,
                              consumer=None if layer.pool else cons)
                y, c = p.data, p.counts
            a = quant.max_pool2(y) if layer.pool else y
            if form == "map":
                cols = a.reshape(1, -1) if last else im2col_matrix(a, cons.r, cons.s, 1, cons.pad)
            else:
                p = prune_im2col(a, cons, blocks[i], raw[i])
                cols, c = p.data, p.counts
            counts[i] = counts[i] + c
        logits = cols[0] @ qnet.fc_w.T + qnet.fc_b
        classes.append(int(np.argmax(logits)))
    return np.array(classes), counts


@pytest.mark.parametrize("form,blocks", [("map", MAP_BLOCKS), ("im2col", COL_BLOCKS)])
def test_zero_thresholds_are_the_golden_network(net, form, blocks):
    qnet, x, y = net
    res = NetworkPruning(qnet, x, y, form, blocks, elems_per_word=8).run((0, 0, 0, 0))
    classes, _ = quantize.infer(qnet, x)
    assert np.array_equal(res.classes, classes)
    assert res.accuracy == float(np.mean(classes == y))
    assert res.total.blocks_pruned == res.total.blocks_cached == 0
    assert res.total.macs_skipped == res.total.words_not_read == 0


@pytest.mark.parametrize("form,blocks,raw", [
    ("map", MAP_BLOCKS, (1800, 2600, 2000, 1500)),
    ("im2col", COL_BLOCKS, (1800, 2600, 2000, 1500)),
])
def test_batched_equals_image_by_image(net, form, blocks, raw):
    qnet, x, y = net
    ev = NetworkPruning(qnet, x, y, form, blocks, elems_per_word=8)
    res = ev.run(raw)
    classes, counts = _reference(qnet, x, form, blocks, raw)
    assert np.array_equal(res.classes, classes)
    assert res.total.blocks_pruned > 0
    for i, (got, want) in enumerate(zip(res.counts, counts)):
        if form == "map" and qnet.layers[i].pool:
            # Behind the host pool a MAC is skipped only where all four pooled pixels are pruned,
            # which prune_map (no pool) does not count: compare all but the MAC counters.
            got_d = {k: v for k, v in got.to_dict().items() if not k.startswith("macs")}
            want_d = {k: v for k, v in want.to_dict().items() if not k.startswith("macs")}
            assert got_d == want_d, qnet.layers[i].name
        else:
            assert got == want, qnet.layers[i].name
    assert ev(raw) == (res.accuracy, res.total.blocks_pruned, res.total.blocks_total)


def test_pooled_mac_skips_by_hand():
    """One 1×4×4 map, blocks 1×2×4 (two blocks), the top one pruned, pooled to 2×2 and read by a
    1×1 convolution of 3 output channels: the pooled top row (2 pixels) is known zero → 6 MACs;
    with 1×1×4 blocks, pruning row 1 alone leaves every pooled pixel a kept source → 0 skipped."""
    ev = object.__new__(NetworkPruning)
    ev.frac_bits, ev.elems_per_word = 8, 1
    y = np.array([[[[1, 1, 1, 1], [1, 1, 1, 1], [60, 70, 80, 90], [60, 70, 80, 90]]]])
    out, c = ev._prune_map(y, (1, 2, 4), 2 << 8, (1, 2, 2), Consumer(3), True)
    assert out[0, 0, :2].sum() == 0 and c.blocks_pruned == 1 and c.macs_skipped == 6
    assert c.macs_total == 12 and c.words_not_written == c.words_not_read == 8
    y2 = np.array([[[[60, 70, 80, 90], [1, 1, 1, 1], [60, 70, 80, 90], [60, 70, 80, 90]]]])
    out, c = ev._prune_map(y2, (1, 1, 4), 2 << 8, (1, 2, 2), Consumer(3), True)
    assert out[0, 0, 1].sum() == 0 and c.blocks_pruned == 1 and c.macs_skipped == 0


def test_bad_blocks_are_refused(net):
    qnet, x, y = net
    with pytest.raises(ValueError, match="form must be one of"):
        NetworkPruning(qnet, x, y, "rows", MAP_BLOCKS)
    with pytest.raises(ValueError, match="Block of conv2 must be 3 positive integers"):
        NetworkPruning(qnet, x, y, "map", [(8, 1, 8), (8, 0, 8), (8, 2, 4), (8, 2, 4)])
    with pytest.raises(ValueError, match="4 layers but 3 block shapes"):
        NetworkPruning(qnet, x, y, "im2col", COL_BLOCKS[:3])
