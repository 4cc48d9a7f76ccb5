"""The digits CNN (sim/network): data split, committed weights, retraining, the integer golden
inference against the shared convolution and requantization, and the pruning schemes.

Tolerances: a full retrain (20 epochs, the committed settings, ~10-20 s on one core) must match
the committed float test accuracy within 1.5 points (7 of 450 images): BLAS summation order may
differ between machines, so the weights are not bit-identical.
"""

import numpy as np
import pytest

from sparseforge.sim import conv, quant
from sparseforge.sim.network import data, model, prune, quantize, train


@pytest.fixture(scope="module")
def digits():
    return data.load()


@pytest.fixture(scope="module")
def committed():
    return train.load_trained()


def test_split_is_fixed_and_disjoint(digits):
    assert digits.train_x.shape == (1347, 1, 8, 8) and digits.test_x.shape == (450, 1, 8, 8)
    assert 0.0 <= digits.train_x.min() and digits.train_x.max() == 1.0
    flat = {img.tobytes() + bytes([int(y)]) for img, y in zip(digits.train_x, digits.train_y)}
    # No test image (with its label) is a copy of a training image.
    assert not any(img.tobytes() + bytes([int(y)]) in flat
                   for img, y in zip(digits.test_x, digits.test_y))
    assert set(np.bincount(digits.test_y)) <= set(range(30, 60))   # every class, roughly even
    # The split of the module docstring: the first test image is digit number 1347 of the
    # seeded permutation of the 1,797.
    order = np.random.default_rng(0).permutation(1797)
    from sklearn.datasets import load_digits
    raw = load_digits()
    assert np.array_equal(digits.test_x[0, 0], raw.images[order[1347]] / 16)


def test_committed_weights_are_int8_with_valid_requantization(committed):
    qnet, params, meta = committed
    for layer, spec in zip(qnet.layers, model.LAYERS):
        assert layer.w.shape == (spec.k, spec.c, spec.r, spec.r)
        assert np.abs(layer.w).max() == 127          # per-channel scales reach full range
        quant.check_params(layer.bias, layer.mult, layer.shift)
        assert (layer.mult >= 1 << 15).all()         # normalized multipliers
    assert np.abs(qnet.fc_w).max() == 127
    assert int(meta["epochs"]) == train.EPOCHS and int(meta["seed"]) == train.SEED


def test_committed_accuracies_recompute(committed, digits):
    qnet, params, meta = committed
    assert model.accuracy(params, digits.test_x, digits.test_y) == \
        pytest.approx(float(meta["test_accuracy_float"]))
    assert quantize.accuracy(qnet, digits.test_x, digits.test_y) == \
        pytest.approx(float(meta["test_accuracy_int8"]))
    assert float(meta["test_accuracy_float"]) >= 0.97
    assert float(meta["test_accuracy_int8"]) >= float(meta["test_accuracy_float"]) - 0.01


def test_quantizing_the_committed_floats_gives_the_committed_int8(committed, digits):
    """Weights, biases and shifts again exactly; each layer's output scale to float32 precision
    and its multipliers to one step: the scales come from the peaks of float32 forward passes,
    whose last bits depend on the CPU's BLAS kernels (one conv4 multiplier moves by one step
    between an AVX2 and an AVX-512 machine). The committed INT8 network is the one every
    result uses."""
    qnet, params, _ = committed
    again = quantize.quantize(params, digits.train_x)
    for a, b in zip(again.layers, qnet.layers):
        for field in ("w", "bias", "shift"):
            assert np.array_equal(getattr(a, field), getattr(b, field)), (a.name, field)
        assert a.out_scale == pytest.approx(b.out_scale, rel=1e-6), a.name
        assert np.abs(a.mult - b.mult).max() <= 1, a.name
    assert np.array_equal(again.fc_w, qnet.fc_w) and np.array_equal(again.fc_b, qnet.fc_b)


def test_retraining_reproduces_the_accuracy(committed, digits):
    _, _, meta = committed
    params = train.train_float()
    acc = model.accuracy(params, digits.test_x, digits.test_y)
    assert abs(acc - float(meta["test_accuracy_float"])) <= 0.015


def _naive_output(acc, layer):
    """The rule with ReLU, one Python int at a time (shift >= 1 for every trained channel)."""
    out = np.zeros(acc.shape, np.int64)
    for (k, y, x), a in np.ndenumerate(acc):
        b, mult, shift = int(layer.bias[k]), int(layer.mult[k]), int(layer.shift[k])
        out[k, y, x] = min(127, max(0, ((int(a) + b) * mult + (1 << (shift - 1))) >> shift))
    return out


def test_integer_layers_match_the_shared_golden_convolution(committed, digits):
    """Each layer equals sim/conv.conv2d (wrapping accumulators) then the rule, then the pool."""
    qnet, _, _ = committed
    x = quantize.quantize_input(qnet, digits.test_x[:3])
    for layer in qnet.layers:
        out, acc = quantize.conv_layer(layer, x)
        for n in range(len(x)):
            ref_acc = conv.conv2d(x[n], layer.w, 1, layer.pad, acc_bits=32)
            assert np.array_equal(acc[n], ref_acc)
            ref = _naive_output(ref_acc, layer)
            if layer.pool:
                ref = ref.reshape(ref.shape[0], ref.shape[1] // 2, 2, -1, 2).max(axis=(2, 4))
            assert np.array_equal(out[n], ref)
        x = out
    # 24-bit accumulators (SCNN's) give the same network: no layer's sums come near 2**23.
    assert np.array_equal(quantize.infer(qnet, digits.test_x[:50], 24)[0],
                          quantize.infer(qnet, digits.test_x[:50], 32)[0])


def test_integer_network_tracks_the_float_network(committed, digits):
    qnet, params, _ = committed
    classes, outs = quantize.infer(qnet, digits.test_x)
    agree = np.mean(classes == model.predict(params, digits.test_x))
    assert agree >= 0.98
    assert [o.shape[1:] for o in outs] == [(16, 8, 8), (32, 4, 4), (32, 2, 2), (64, 2, 2)]


@pytest.mark.parametrize("text", ["vdbb:9/8", "vdbb:0/8", "vdbb:3/4", "km:5/4", "km:0/4",
                                  "km:2/3", "density:0", "density:1.5", "density:", "sparse",
                                  "km:2/4x"])
def test_impossible_schemes_are_refused(text):
    with pytest.raises(ValueError, match="expected|must be"):
        prune.parse_scheme(text)


def test_scheme_text_round_trips():
    for text in ("dense", "vdbb:3/8", "km:2/4", "density:0.3"):
        assert str(prune.parse_scheme(text)) == text


def test_vdbb_mask_hand_worked():
    # One kernel position, 8 input channels: keep the 2 largest |w|; |-0.5| = |0.5| ties to the
    # lower channel, so channels 1 and 3 stay; with 1 kept, channel 1.
    block = np.array([0.1, -0.5, 0.3, 0.5, 0, 0, 0.2, -0.05]).reshape(1, 8, 1, 1)
    assert prune.mask(prune.parse_scheme("vdbb:2/8"), block).ravel().tolist() == \
        [0, 1, 0, 1, 0, 0, 0, 0]
    assert prune.mask(prune.parse_scheme("vdbb:1/8"), block).ravel().tolist() == \
        [0, 1, 0, 0, 0, 0, 0, 0]


def test_km_mask_runs_along_the_output_depth():
    # 8 output channels at one (c, r, s): groups {0..3} and {4..7}, 1 of 4 kept in each.
    w = np.array([0.1, 0.9, -0.2, 0.3, -0.7, 0.6, 0.0, 0.5]).reshape(8, 1, 1, 1)
    assert prune.mask(prune.parse_scheme("km:1/4"), w).ravel().tolist() == \
        [0, 1, 0, 0, 1, 0, 0, 0]
    assert prune.mask(prune.parse_scheme("km:2/4"), w).ravel().tolist() == \
        [0, 1, 0, 1, 1, 1, 0, 0]


def test_density_mask_keeps_the_largest():
    w = np.array([0.5, -0.1, 0.3, -0.9, 0.2, 0.0, 0.05, 0.7, -0.4, 0.01]).reshape(10, 1, 1, 1)
    kept = prune.mask(prune.parse_scheme("density:0.3"), w).ravel()
    assert np.flatnonzero(kept).tolist() == [0, 3, 7]     # |-0.9|, 0.7, 0.5


def test_prune_and_finetune_meets_the_scheme(committed, digits):
    """Fast settings (1 epoch per step, 1 of fine-tuning) still give a conforming, accurate net
    (the density scheme's masks are checked by hand above; benchmarks/network_accuracy.py runs
    every scheme at full settings)."""
    _, params, _ = committed
    for text in ("vdbb:2/8", "km:1/4"):
        scheme = prune.parse_scheme(text)
        pruned, masks = prune.prune_and_finetune(params, scheme, digits.train_x,
                                                 digits.train_y, seed=5, finetune_epochs=1)
        assert set(masks) == {f"{n}.w" for n in prune.PRUNED_LAYERS}
        qnet = quantize.quantize(pruned, digits.train_x)
        for layer in qnet.layers[1:]:
            assert prune.conforms(scheme, layer.w), (text, layer.name)
        assert not prune.conforms(scheme, params["conv2.w"])     # the dense weights do not
        assert quantize.accuracy(qnet, digits.test_x, digits.test_y) >= 0.9
