"""``--model digits_cnn`` without simulation: option checks and the model-only reports
(gen/run_network.py with the accel and SCNN targets).

The accuracy is checked against the integer golden network run independently
(sim/network/quantize.py), the accelerator's cycles against its per-layer cycle model times the
images, and SCNN's against its cycle model on the golden inputs of two images.
"""

import dataclasses
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


def test_a_weight_block_larger_than_the_scnn_weight_fifo_is_refused():
    """A 16-entry FIFO (4 rows of F = 4) cannot hold conv1's first weight block: a dense 3×3
    block of kc = 8 channels, 72 entries in 18 rows."""
    cfg = dataclasses.replace(load_preset("scnn_paper_pe"), weights=16)
    with pytest.raises(InputError, match=r"--model: layer conv1 does not fit scnn_paper_pe: "
                                         r"weight block \(g, c\) = \(0, 0\) needs 18 rows of the "
                                         r"weight FIFO \(72 entries\); rams.weights = 16 holds 4 "
                                         r"rows"):
        run_model(cfg, scnn_target(cfg), _args(images=1), lambda line: None)


def test_scnn_thresholds_model_only_against_an_independent_chain(tmp_path):
    """``--thresholds`` on scnn_digits_blox (Q24.8, the accumulator scale): each layer's PPU
    prunes 4×4 blocks of ``relu(acc + bias)`` per PE tile. Recomputed here with the shared
    convolution: blocks whose |sum|·256 < raw·n_valid zeroed, requantized, pooled; the created
    blocks and the accuracy equal the report's; a Q8.8 file is refused with one line; all-zero
    thresholds give the run without them."""
    from sparseforge.gen.errors import InputError
    from sparseforge.sim import conv, quant
    from sparseforge.sim.gemm import wrap
    from sparseforge.sim.sparseblox import ThresholdFormat
    from sparseforge.sim.sparseblox.spex import save_thresholds

    cfg = load_preset("scnn_digits_blox")
    fmt = ThresholdFormat.parse("Q24.8")
    raws = {"conv1": 900 << 8, "conv2": 1000 << 8, "conv3": 400 << 8}
    path = tmp_path / "t.json"
    save_thresholds(path, list(raws), list(raws.values()), fmt)
    images = 3
    report, ok = run_model(cfg, scnn_target(cfg), _args(images=images, thresholds=path),
                           lambda line: None)
    assert ok
    qnet = train.load_trained()[0]
    digits = data.load()
    maps = quantize.quantize_input(qnet, digits.test_x[:images])
    created = {name: 0 for name in raws}
    for layer in qnet.layers:
        outs = []
        for act in maps:
            acc = conv.conv2d(act, layer.w, 1, layer.pad, cfg.acc_width)
            out = np.maximum(wrap(acc + layer.bias[:, None, None], cfg.acc_width), 0)
            raw = raws.get(layer.name)
            for y0 in range(0, out.shape[1], 4):          # one 4×4 block per PE tile here
                for x0 in range(0, out.shape[2], 4):
                    for k in range(out.shape[0]):
                        block = out[k, y0:y0 + 4, x0:x0 + 4]
                        if raw is not None and abs(int(block.sum())) * 256 < raw * block.size:
                            created[layer.name] += int(block.any())
                            block[...] = 0
            y = quant.requantize(out, 0, layer.mult, layer.shift, relu=True, axis=0)
            outs.append(quant.max_pool2(y) if layer.pool else y)
        maps = np.stack(outs)
    classes = quantize.classify(qnet, maps)[1]
    rows = {row["layer"]: row for row in report["blox"]}
    assert {name: rows[name]["blocks_pruned"] for name in raws} == created
    assert sum(created.values()) > 0
    assert report["accuracy_golden"] == np.mean(classes == digits.test_y[:images])
    plain, _ = run_model(cfg, scnn_target(cfg), _args(images=images), lambda line: None)
    save_thresholds(path, list(raws), [0] * len(raws), fmt)
    zero, _ = run_model(cfg, scnn_target(cfg), _args(images=images, thresholds=path),
                        lambda line: None)
    assert zero["model_cycles"] == plain["model_cycles"] and zero["blocks_pruned"] == 0
    save_thresholds(path, ["conv1"], [300])
    with pytest.raises(InputError, match="format = Q8.8 is not allowed; the design holds Q24.8"):
        run_model(cfg, scnn_target(cfg), _args(images=1, thresholds=path), lambda line: None)


def test_spex_scnn_form_equals_the_scnn_run(tmp_path):
    """Spex's SCNN form (NetworkPruning on relu(acc + bias) in 4×4 blocks, a separate
    implementation of the chain) gives the model-only run of scnn_digits_blox's accuracy and
    created blocks per layer; ``sparseforge spex --form scnn`` refuses a non-SCNN config."""
    from sparseforge.gen.errors import InputError
    from sparseforge.gen.spex import block_shapes, evaluator
    from sparseforge.sim.sparseblox import ThresholdFormat
    from sparseforge.sim.sparseblox.spex import save_thresholds

    cfg = load_preset("scnn_digits_blox")
    raws = [700 << 8, 1200 << 8, 300 << 8, 50 << 8]
    images = 5
    path = tmp_path / "t.json"
    qnet = train.load_trained()[0]
    names = [layer.name for layer in qnet.layers]
    save_thresholds(path, names, raws, ThresholdFormat.parse("Q24.8"))
    report, ok = run_model(cfg, scnn_target(cfg), _args(images=images, thresholds=path),
                           lambda line: None)
    assert ok
    res = evaluator(cfg, qnet, "scnn", images=images).run(raws)
    assert report["accuracy_golden"] == pytest.approx(res.accuracy)
    rows = {row["layer"]: row for row in report["blox"]}
    for name, counts in zip(res.layers, res.counts):
        assert rows[name]["blocks_pruned"] == counts.blocks_pruned, name
        assert rows[name]["blocks_zero_before"] == counts.blocks_zero_before, name
    assert sum(c.blocks_pruned for c in res.counts) > 0
    with pytest.raises(InputError, match="--form scnn: accel_small .* is not an SCNN config"):
        block_shapes(load_preset("accel_small"), qnet, "scnn")
