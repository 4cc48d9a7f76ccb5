"""``sparseforge`` on SparseCore configs: presets, generate, run (model only, RTL with --out and
files), and input errors (one line, exit status 2).

Expected values: the golden model for the output, hand counts for the manifest, the stated
contract for bad input.
"""

import json
import subprocess
import sys

import numpy as np
import pytest

from sparseforge.gen.cli import main
from sparseforge.sim.sparsecore import format as kmf
from sparseforge.sim.sparsecore import golden

DESIGN = "sparsecore_small"


def sparseforge(*args):
    return subprocess.run([sys.executable, "-m", "sparseforge.gen.cli", *map(str, args)],
                          capture_output=True, text=True)


def test_presets_list_both_designs():
    out = sparseforge("presets").stdout
    assert "sparsecore_paper" in out and "sparsecore_small" in out


def test_generate_and_manifest(tmp_path):
    assert sparseforge("generate", DESIGN, "-o", tmp_path, "-q").returncode == 0
    manifest = json.loads((tmp_path / f"{DESIGN}.json").read_text())
    # 3 PEs × 4 ALUs; k/m 2/4: groups of 4 ALUs / 2 = 2, chunks of 2 × 4 = 8 channels.
    assert manifest["alus_total"] == 12 and manifest["chunk"] == 8 and manifest["km"] == "2/4"
    mems = {m["module"].split(".", 1)[1]: m for m in manifest["memories"]}
    # Accumulation buffer per PE: 2 band rows × 9 columns, 8 accumulators of 32 bits.
    assert mems["pe0.accbuf.macro"]["words"] == 18 and mems["pe0.accbuf.macro"]["width"] == 256
    # Weight memory per PE: 12 channels × 3 × 3 rows of 2 groups × 2 slots × (8 + 2) bits.
    assert mems["pe2.wmem"]["words"] == 108 and mems["pe2.wmem"]["width"] == 40


def test_model_only_json():
    result = sparseforge("run", DESIGN, "--conv", "8,8,10,16,3,3", "--model-only", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["work_units"] == 8                 # 4 bands × 2 chunks
    assert report["dense_cycles"] > report["model_cycles"] >= report["ideal_cycles"]


@pytest.mark.parametrize("args, words", [
    (("--conv", "8,8,10,6,3,3"), "multiple of m = 4"),
    (("--conv", "8,8,13,8,3,3"), "C = 13"),
    (("--conv", "8,8,10,8,3,3", "--km", "3/4"), "--km 3/4: weights break 2/4"),
    (("--conv", "8,8,10,8,3,3", "--km", "2/3"), "--km"),
    (("--conv", "8,8,10,8,3,3", "--nnz", "2"), "--nnz: not allowed for arch sparsecore"),
    (("--conv", "8,8,10,8,3,3", "--act-density", "1.5"), "--act-density"),
    (("--conv", "8,8,10,8,3,3", "--shift", "40"), "--shift"),
    (("--conv", "1,8,10,8,1,1", "--pool"), "--pool: not allowed on a 1×8 output"),
    (("--km", "2/4"), "--conv: missing"),
    (("--layer", "alexnet.conv2", "--model-only"), "--layer: alexnet.conv2 is a grouped"),
    (("--layer", "vgg16.conv9"), "--layer"),
    (("--layer", "vgg16.conv1_1", "--conv", "8,8,10,8,3,3"), "--conv/--layer: give one"),
    (("--layer", "vgg16.conv1_1", "--model-only"), "--layer: H = 224 is not allowed"),
    (("--network", "vgg16"), "--network: runs the cycle model only; add --model-only"),
    (("--network", "vgg17", "--model-only"), "--network"),
    (("--network", "vgg16", "--model-only", "--pool"), "--pool: not allowed with --network"),
    (("--network", "vgg16", "--model-only", "--km", "4/8"), "--km: 4/8 is not allowed on"),
])
def test_bad_input_is_one_line(args, words, capsys):
    assert main(["run", DESIGN, *args]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1, err


def test_layer_is_its_conv_shape(capsys):
    """``--layer NET.LAYER`` runs the workload's shape: the same report as its ``--conv``."""
    def report(*args):
        assert main(["run", "sparsecore_paper", *args, "--model-only", "--json"]) == 0
        return json.loads(capsys.readouterr().out)
    # ResNet-50's res2a_branch2b: 56×56×64 → 64, 3×3, stride 1, pad 1.
    assert report("--layer", "resnet50.res2a_branch2b") == report("--conv", "56,56,64,64,3,3,1,1")


def test_network_model_rows(capsys):
    """Per-layer rows of ``--network``: a pad-0 layer's useful MACs are exactly k/m of its dense
    MACs at activation density 1; totals are the rows' sums; ``fits`` is what ``--layer``
    accepts."""
    assert main(["run", DESIGN, "--network", "alexnet", "--model-only", "--km", "1/4",
                 "--act-density", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = {r["layer"]: r for r in report["layers"]}
    assert list(rows) == ["conv1", "conv2", "conv3", "conv4", "conv5"]
    conv1 = rows["conv1"]                    # 227×227×3 → 96, 11×11, stride 4, no padding
    assert conv1["macs_dense"] == 55 * 55 * 96 * 3 * 11 * 11
    assert conv1["useful_macs"] * 4 == conv1["macs_dense"]
    assert rows["conv3"]["useful_macs"] * 4 < rows["conv3"]["macs_dense"]     # padding
    assert rows["conv2"]["groups"] == 2
    for key in ("model_cycles", "dense_cycles", "useful_macs", "macs_dense", "work_units"):
        assert report[key] == sum(r[key] for r in rows.values())
    for r in rows.values():
        assert r["dense_cycles"] > r["model_cycles"] >= r["ideal_cycles"]
        assert not r["fits"] and r["why"]            # 3 PEs of 9×9 inputs hold none of them
    assert main(["run", DESIGN, "--layer", "alexnet.conv3", "--model-only"]) == 2
    assert "H = 13 is not allowed" in capsys.readouterr().err


def test_weights_breaking_km_need_prune(tmp_path, capsys):
    w = np.ones((8, 3, 3, 3), dtype=np.int64)
    np.save(tmp_path / "w.npy", w)
    args = ["run", DESIGN, "--conv", "5,5,3,8,3,3", "--weights", str(tmp_path / "w.npy"),
            "--model-only"]
    assert main(args) == 2 and "--prune" in capsys.readouterr().err
    assert main(args + ["--prune", "--json"]) == 0


@pytest.mark.cocotb
def test_run_on_the_rtl_with_files_and_out(tmp_path):
    r = np.random.default_rng(4)
    act = r.integers(-128, 128, (5, 6, 7)) * (r.random((5, 6, 7)) < 0.5)
    w = kmf.prune(r.integers(-128, 128, (8, 5, 3, 3)), 2, 4)
    np.save(tmp_path / "x.npy", act)
    np.save(tmp_path / "w.npy", w)
    result = sparseforge("run", DESIGN, "--conv", "6,7,5,8,3,3", "--act", tmp_path / "x.npy",
                         "--weights", tmp_path / "w.npy", "--relu", "--pool", "--shift", "12",
                         "--out", tmp_path / "y.npy", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["mismatches"] == 0 and report["cycles"] == report["model_cycles"]
    want = golden.layer_output(act, w, 0, 1, 12, pad=1, relu=True, pool=True)
    assert np.array_equal(np.load(tmp_path / "y.npy"), want)
