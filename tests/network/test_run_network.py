"""``--model digits_cnn`` without simulation: option checks and the model-only reports
(gen/run_network.py with the accel and SCNN targets).

The accuracy is checked against the integer golden network run independently
(sim/network/quantize.py), the accelerator's cycles against its per-layer cycle model times the
images, and SCNN's against its cycle model on the golden inputs of two images.
"""

from types import SimpleNamespace

import numpy as np
import pytest

from sparseforge.gen.errors import InputError
from sparseforge.gen.accel.network import accel_target
from sparseforge.gen.scnn.network import augmented_weights, scnn_target
from sparseforge.gen.presets import load_preset
from sparseforge.gen.run_network import check_images, parse_model, parse_prune, run_model
from sparseforge.sim import quant
from sparseforge.sim.accel import cycles as accel_cycles
from sparseforge.sim.accel import plan as accel_plan
from sparseforge.sim.scnn import cycles as scnn_cycles
from sparseforge.sim.scnn import streams as scnn_streams
from sparseforge.sim.network import data, quantize, train



def _args(**kw):
    base = {"model": "digits_cnn", "prune": None, "images": None, "model_only": True,
            "sim": "verilator"}
    return SimpleNamespace(**{**base, **kw})


@pytest.mark.parametrize("call, match", [
    (lambda: parse_model("resnet"), "--model: 'resnet' is not allowed; expected one of "
                                    "digits_cnn"),
    (lambda: parse_prune("vdbb:9/8"), "--prune: vdbb:9/8 is not a VDBB scheme"),
    (lambda: parse_prune("km:5/4"), "--prune: km:5/4 is not a k/m scheme"),
    (lambda: parse_prune("density:0"), "--prune: density:0 is not a density scheme"),
    (lambda: parse_prune("half"), "--prune: Pruning scheme must be"),
    (lambda: parse_prune("km:2/4", ("dense", "density")), "--prune: km:2/4 is not allowed here"),
    (lambda: check_images(0, 450), "--images: 0 is not allowed; expected 1 to 450"),
    (lambda: check_images(451, 450), "--images: 451"),
])
def test_bad_options_are_one_line(call, match):
    with pytest.raises(InputError, match=match) as info:
        call()
    assert "\n" not in str(info.value)


def test_accel_model_only_whole_test_set():
    cfg = load_preset("accel_small")
    report, ok = run_model(cfg, accel_target(cfg), _args(), lambda line: None)
    digits = data.load()
    qnet = train.load_trained()[0]
    assert ok and report["images"] == 450 and "cycles" not in report
    assert report["accuracy_golden"] == quantize.accuracy(qnet, digits.test_x, digits.test_y)
    sizes = [(8, 1, 16, 3, 1), (8, 16, 32, 3, 8), (4, 32, 32, 3, 8), (2, 32, 64, 1, 8)]
    for (h, c, k, r, nnz), name in zip(sizes, ("conv1", "conv2", "conv3", "conv4")):
        plan = accel_plan.plan_layer(cfg, h, h, c, k, r, r, 1, r // 2, nnz, int8_out=True)
        assert report["model_cycles"][name] == 450 * accel_cycles.layer_cycles(plan)
    assert [layer["nnz"] for layer in report["layers"]] == [1, 8, 8, 8]


def test_scnn_model_only_two_images():
    cfg = load_preset("scnn_digits")
    report, ok = run_model(cfg, scnn_target(cfg), _args(images=2), lambda line: None)
    qnet = train.load_trained()[0]
    digits = data.load()
    # Independently: the golden network's layer inputs, each with its ones channel.
    maps = quantize.quantize_input(qnet, digits.test_x[:2])
    expected = 0
    for layer in qnet.layers:
        for act in maps:
            ones = np.concatenate([act, np.ones((1,) + act.shape[1:], np.int64)])
            streams = scnn_streams.layer_streams(cfg, ones, augmented_weights(layer))
            expected += scnn_cycles.layer_cycles(cfg, streams).cycles
        maps, _ = quantize.conv_layer(layer, maps)
    assert ok and report["model_cycles"]["total"] == expected


def test_bias_channel_gives_acc_plus_bias():
    """SCNN's layer with the ones channel equals relu(acc + bias); requantizing it with bias 0
    equals the rule on acc + bias."""
    qnet = train.load_trained()[0]
    cfg = load_preset("scnn_digits")
    layer = qnet.layers[1]
    rng = np.random.default_rng(3)
    act = rng.integers(0, 128, (16, 8, 8))
    ones = np.concatenate([act, np.ones((1, 8, 8), np.int64)])
    got = scnn_streams.golden(cfg, ones, augmented_weights(layer))
    _, acc = quantize.conv_layer(layer, act)
    assert np.array_equal(got, np.maximum(acc + layer.bias[:, None, None], 0))
    assert np.array_equal(quant.requantize(got, 0, layer.mult, layer.shift, relu=True),
                          quant.requantize(acc, layer.bias, layer.mult, layer.shift, relu=True))


def test_dense_does_not_fit_a_small_scnn_weight_buffer():
    cfg = load_preset("scnn_paper_pe")
    with pytest.raises(InputError, match="--model: layer conv2 does not fit scnn_paper_pe: "
                                         "needs 1164 rows"):
        run_model(cfg, scnn_target(cfg), _args(images=1), lambda line: None)
