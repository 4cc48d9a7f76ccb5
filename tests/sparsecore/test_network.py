"""The digits CNN on SparseCore without simulation: spreading a layer over k/m groups, the plan and
the model-only report of ``run --model digits_cnn``, and its input errors.

Expected values: the golden convolution of the unspread layer (:mod:`sparseforge.sim.quant` and
:mod:`sparseforge.sim.conv`, not SparseCore's golden model), the network's golden accuracy from
:mod:`sparseforge.sim.network.quantize`, hand counts of the layers.
"""

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from sparseforge.gen.cli import main
from sparseforge.gen.presets import load_preset
from sparseforge.gen.run_network import run_model
from sparseforge.gen.sparsecore.network import sparsecore_target, spread
from sparseforge.sim import quant
from sparseforge.sim.conv import conv2d
from sparseforge.sim.network import data, quantize, train
from sparseforge.sim.sparsecore import format as kmf
from sparseforge.sim.sparsecore import golden


@pytest.mark.parametrize("k, m", [(2, 4), (1, 4), (2, 8), (4, 8)])
def test_spread_layer_is_the_layer_on_its_real_channels(k, m):
    rng = np.random.default_rng(k * 10 + m)
    w = rng.integers(-128, 128, (8, 3, 3, 3))
    bias = rng.integers(-2000, 2000, 8)
    mult = rng.integers(1, 1 << 16, 8)
    shift = rng.integers(10, 20, 8)
    act = rng.integers(-128, 128, (3, 6, 5))
    wide, wbias, wmult, wshift, real = spread(w, bias, mult, shift, k, m)
    assert wide.shape[0] == 8 // k * m and len(set(real.tolist())) == 8
    kmf.check_km(wide, k, m)                                   # meets k/m: no error
    out = golden.layer_output(act, wide, wbias, wmult, wshift, pad=1, relu=True)
    want = quant.requantize(conv2d(act, w, pad=1), bias, mult, shift, relu=True)
    assert np.array_equal(out[real], want)
    others = np.setdiff1d(np.arange(wide.shape[0]), real)
    assert not out[others].any()


def _args(**kw):
    return SimpleNamespace(**{"model": "digits_cnn", "prune": None, "images": None,
                              "model_only": True, "sim": "verilator", **kw})


def test_plan_spreads_what_breaks_2_4():
    cfg = load_preset("sparsecore_digits")
    dense = train.load_trained()[0]
    # conv2-4 pruned to 2/4 as --prune km:2/4 prunes them (without its fine-tuning).
    qnet = replace(dense, layers=(dense.layers[0],) + tuple(
        replace(layer, w=kmf.prune(layer.w, 2, 4)) for layer in dense.layers[1:]))
    infos = sparsecore_target(cfg).plan(qnet)
    # conv1 stays dense in every scheme: 16 channels spread to 32; conv2-4 meet 2/4.
    assert [i["spread"] for i in infos] == [2, 1, 1, 1]
    assert [i["channels_run"] for i in infos] == [32, 32, 32, 64]
    assert [i["pool"] for i in infos] == [False, "on chip", "on chip", False]
    assert [i["spread"] for i in sparsecore_target(cfg).plan(dense)] == [2, 2, 2, 2]


def test_model_only_whole_test_set():
    cfg = load_preset("sparsecore_digits")
    report, ok = run_model(cfg, sparsecore_target(cfg), _args(), lambda line: None)
    digits = data.load()
    qnet = train.load_trained()[0]
    assert ok and report["images"] == 450 and "cycles" not in report
    assert report["accuracy_golden"] == quantize.accuracy(qnet, digits.test_x, digits.test_y)
    assert report["model_cycles"]["total"] == sum(
        v for key, v in report["model_cycles"].items() if key != "total")


@pytest.mark.parametrize("args, words", [
    (("sparsecore_digits", "--prune", "vdbb:4/8"), "--prune: vdbb:4/8 is not allowed here"),
    (("sparsecore_small",), "--model: layer conv1 does not fit sparsecore_small: K = 32"),
    (("sparsecore_digits", "--conv", "8,8,8,8,3,3"), "--conv: not allowed with --model"),
    (("sparsecore_digits", "--pool"), "--pool: not allowed with --model"),
])
def test_bad_model_options_are_one_line(args, words, capsys):
    design, *rest = args
    assert main(["run", design, "--model", "digits_cnn", "--model-only", "-q", *rest]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1, err
