"""``sparseforge run CONFIG --model digits_cnn --thresholds FILE``: the trained network with
Sparse-Blox pruning its layers' output maps on the VDBB accelerator.

The model-only run is checked against :class:`sparseforge.sim.sparseblox.network.NetworkPruning`
(the network model Spex evaluates, a separate implementation of the chain: its own convolutions,
pooling and counting) in the hardware's block form; the RTL run on the Sparse-Blox test design
(tests/accel/test_blox_rtl.py's, whose cached build it shares): every layer bit-exact with the
pruned golden network, cycles and the cache's counters equal to the models, the RTL's classes
equal to the golden ones. Input errors exit 2 with one line.
"""

import json
import subprocess
import sys

import pytest
import yaml

from sparseforge.sim.network import data, train
from sparseforge.sim.sparseblox.network import NetworkPruning
from sparseforge.sim.sparseblox.spex import save_thresholds
from sparseforge.gen.accel import _blox_test_design

DESIGN = _blox_test_design()

#: Raw Q8.8 thresholds (t = raw / 256) of every layer. conv1's map is not pooled: conv2 reads it
#: on chip, pruned words and all (conv2's and conv3's maps are pooled by the host).
RAWS = {"conv1": 1229, "conv2": 600, "conv3": 900, "conv4": 700}


def sparseforge(*args):
    return subprocess.run([sys.executable, "-m", "sparseforge.gen.cli", *map(str, args)],
                          capture_output=True, text=True)


def _files(tmp_path, capacity=None):
    design = dict(DESIGN)
    if capacity is not None:
        design["sparseblox"] = {"capacity": capacity}
    config = tmp_path / f"{design['name']}.yaml"
    config.write_text(yaml.safe_dump(design))
    thresholds = tmp_path / "thresholds.json"
    save_thresholds(thresholds, list(RAWS), list(RAWS.values()))
    return config, thresholds


def test_model_only_equals_the_network_model(tmp_path):
    """With a cache that holds every block, the pruned network's accuracy and each layer's
    created blocks equal NetworkPruning's in the map form with the accelerator's blocks
    (B channels × the layer's output patch)."""
    config, thresholds = _files(tmp_path, capacity=4096)
    images = 40
    result = sparseforge("run", config, "--model", "digits_cnn", "--prune", "vdbb:2/8",
                         "--model-only", "--images", images, "--thresholds", thresholds, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    qnet, _, _ = train.network("vdbb:2/8")
    digits = data.load()
    blocks = [(layer["block"], *layer["patch"]) for layer in report["layers"]]
    model = NetworkPruning(qnet, digits.test_x[:images], digits.test_y[:images], "map", blocks,
                           elems_per_word=report["layers"][0]["block"])
    res = model.run([RAWS.get(name, 0) for name in model.layers])
    assert report["accuracy_golden"] == pytest.approx(res.accuracy)
    rows = {row["layer"]: row for row in report["blox"]}
    for name, counts in zip(res.layers, res.counts):
        if name in RAWS:
            assert rows[name]["blocks_pruned"] == counts.blocks_pruned > 0, name
            assert rows[name]["blocks_total"] == counts.blocks_total, name
            assert rows[name]["blocks_refused"] == 0, name
        else:
            assert rows[name]["threshold"] is None and "blocks_total" not in rows[name]
    assert report["blocks_pruned"] == sum(rows[n]["blocks_pruned"] for n in RAWS)


@pytest.mark.cocotb
def test_two_images_through_the_rtl(tmp_path):
    """Two images on Verilator with a 12-position cache (it fills in conv2: blocks below the
    threshold are refused and stored), conv2 reading conv1's pruned map on chip and dropping the
    engine steps of its all-pruned beats: bit-exact in every layer, cycles, steps dropped and
    counters equal."""
    config, thresholds = _files(tmp_path)
    result = sparseforge("run", config, "--model", "digits_cnn", "--prune", "vdbb:2/8",
                         "--images", 2, "--thresholds", thresholds, "--json", "-q")
    assert result.returncode == 0, result.stderr[-2000:] + result.stdout[-2000:]
    report = json.loads(result.stdout)
    assert report["mismatches"]["total"] == 0 and report["cycles"] == report["model_cycles"]
    assert report["accuracy"] == report["accuracy_golden"]
    rows = {row["layer"]: row for row in report["blox"]}
    for name in RAWS:
        assert rows[name]["rtl_blocks_cached"] == rows[name]["blocks_cached"], name
        assert rows[name]["rtl_blocks_refused"] == rows[name]["blocks_refused"], name
    assert rows["conv1"]["blocks_cached"] > 0      # conv2 reads pruned words on chip
    # … and its engine drops the steps whose words are all pruned (blox_skip).
    assert rows["conv2"]["rtl_steps_dropped"] == rows["conv2"]["steps_dropped"] > 0
    assert rows["conv2"]["cycles_saved"] > 0
    # The cache is full in conv2 of at least one image: the rest below threshold are refused.
    assert rows["conv2"]["blocks_cached"] <= 2 * 12 and rows["conv2"]["blocks_refused"] > 0


GOOD = {"format": "Q8.8", "layers": [{"layer": "conv2", "raw": 600}]}
MODEL = ("--model", "digits_cnn", "--prune", "vdbb:2/8", "--model-only")


@pytest.mark.parametrize("config, doc, args, words", [
    ("blox", GOOD, ("--conv", "5,5,4,4,3,3", "--shift", "0"),
     "--thresholds: applies with --model"),
    ("accel_small", GOOD, MODEL, "no Sparse-Blox"),
    ("blox", {"format": "Q8.8", "layers": [{"layer": "conv9", "raw": 3}]}, MODEL,
     "layer 'conv9' is not allowed; expected one of conv1"),
    ("blox", {"format": "Q4.4", "layers": [{"layer": "conv2", "raw": 100}]}, MODEL,
     "format = Q4.4 is not allowed"),
    ("blox", {"format": "Q8.8", "layers": [{"layer": "conv2", "raw": 70000}]}, MODEL,
     "layers[0].raw"),
    ("blox", {"layers": "conv2"}, MODEL, "'layers' list"),
    ("blox", None, MODEL, "No such file"),
])
def test_input_errors(tmp_path, config, doc, args, words):
    """Exit 2 and one line naming the option, the field and what is allowed."""
    path, thresholds = _files(tmp_path)
    if doc is None:
        thresholds.unlink()
    else:
        thresholds.write_text(json.dumps(doc))
    result = sparseforge("run", path if config == "blox" else config, *args,
                         "--thresholds", thresholds)
    assert result.returncode == 2, result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--thresholds" in lines[0] and words in lines[0], result.stderr
