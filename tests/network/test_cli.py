"""``sparseforge run CONFIG --model digits_cnn``: input errors, the model-only report, and two
images through the regression's accelerator design on Verilator (every layer bit-exact, cycles
equal to the model, the RTL's classes equal to the golden network's)."""

import json
import subprocess
import sys

import pytest

from sparseforge.sim.network import data, quantize, train


def sparseforge(*args):
    return subprocess.run([sys.executable, "-m", "sparseforge.gen.cli", *map(str, args)],
                          capture_output=True, text=True)


# The accel regression's design (gen/accel/__init__.py, "accel_test"): the same name and keys
# share its cached simulator build. Its two 8 KB weight halves hold the network at 2/8.
TEST_DESIGN = """\
arch: accel
name: accel_test
array: {kind: vdbb, tpe: {a: 2, b: 8, c: 4}, array: {m: 4, n: 2}}
sram: {act_kb: 16, weight_kb: 16}
im2col: true
"""


@pytest.mark.parametrize("args, message", [
    (("--model", "lenet"), "--model: 'lenet' is not allowed; expected one of digits_cnn"),
    (("--model", "digits_cnn", "--prune", "vdbb:9/8"), "--prune: vdbb:9/8 is not a VDBB scheme"),
    (("--model", "digits_cnn", "--images", "0"), "--images: 0 is not allowed; expected 1 to 450"),
])
def test_bad_input_is_one_line_and_exit_2(args, message):
    result = sparseforge("run", "accel_small", *args)
    assert result.returncode == 2
    assert result.stderr.startswith(f"sparseforge: error: {message}")
    assert result.stderr.count("\n") == 1 and not result.stdout


def test_model_only_json():
    result = sparseforge("run", "accel_small", "--model", "digits_cnn", "--model-only",
                         "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    digits = data.load()
    qnet = train.load_trained()[0]
    assert report["images"] == 450 and report["prune"] == "dense"
    assert report["accuracy_golden"] == quantize.accuracy(qnet, digits.test_x, digits.test_y)
    assert report["model_cycles"]["total"] == sum(
        v for k, v in report["model_cycles"].items() if k != "total")
    assert "accuracy" not in report and "mismatches" not in report


@pytest.mark.cocotb
def test_two_images_through_the_rtl(tmp_path):
    config = tmp_path / "accel_test.yaml"
    config.write_text(TEST_DESIGN)
    result = sparseforge("run", config, "--model", "digits_cnn", "--prune", "vdbb:2/8",
                         "--images", 2, "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["images"] == 2 and report["simulator"] == "verilator"
    assert report["mismatches"] == {"conv1": 0, "conv2": 0, "conv3": 0, "conv4": 0, "total": 0}
    assert report["cycles"] == report["model_cycles"]
    assert report["accuracy"] == report["accuracy_golden"]
    assert [layer["nnz"] for layer in report["layers"]] == [1, 2, 2, 2]
    # Weights stay loaded, each layer in the first 8 KB half (512 words of 128 bits) with room.
    # A column tile of 8 output channels holds R·S·CB compressed blocks of a mask and NNZ values,
    # two 8-bit slots a word per channel (8·NNZ + 8 bits a block, Fig. 2).
    used, want = [0, 0], []
    for layer in report["layers"]:
        (c, _, _), k, (r, s), nnz = layer["input"], layer["k"], layer["kernel"], layer["nnz"]
        words = -(-k // 8) * -(-(r * s * -(-c // 8) * (nnz + 1)) // 2)
        half = 0 if used[0] + words <= 512 else 1
        want.append([half, used[half]])
        used[half] += words
    assert [layer["weights_at"] for layer in report["layers"]] == want
