"""The CLI on accelerator configs: layers, run --conv/--layer/--network, and their input errors."""

import json
import subprocess
import sys

import numpy as np
import pytest
from sparseforge.gen.synth import SRAM_UM2_PER_BIT


def sparseforge(*args):
    return subprocess.run([sys.executable, "-m", "sparseforge.gen.cli", *map(str, args)],
                          capture_output=True, text=True)


# The regression's design (tests/test_accel_regression.py): the same name and keys share its
# cached simulator build.
TEST_DESIGN = """\
arch: accel
name: accel_test
array: {kind: vdbb, tpe: {a: 2, b: 8, c: 4}, array: {m: 4, n: 2}}
sram: {act_kb: 16, weight_kb: 16}
im2col: true
"""


@pytest.fixture
def design(tmp_path):
    path = tmp_path / "accel_test.yaml"
    path.write_text(TEST_DESIGN)
    return path


def test_layers_lists_a_network():
    result = sparseforge("layers", "resnet50", "--json")
    assert result.returncode == 0
    layers = json.loads(result.stdout)
    assert len(layers) == 53                       # ResNet-50 v1: 1 + 16·3 + 4 projections
    assert layers[0]["name"] == "conv1" and layers[0]["r"] == 7 and layers[0]["stride"] == 2
    human = sparseforge("layers", "vgg16")
    assert "conv5_3" in human.stdout and "13 convolution layers" in human.stdout


def test_layers_rejects_an_unknown_network():
    result = sparseforge("layers", "lenet")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "resnet50" in result.stderr


@pytest.mark.parametrize("args,field", [
    (["--gemm", "4,4,4"], "--gemm"),
    ([], "--conv/--layer/--network"),
    (["--conv", "5,5,8"], "--conv"),
    (["--conv", "5,5,8,8,3,x"], "--conv"),
    (["--conv", "5,5,8,8,3,3,3"], "--conv"),            # stride 3
    (["--conv", "5,5,8,8,9,9,1,0"], "--conv"),          # kernel larger than the input
    (["--conv", "5,5,8,8,3,3", "--nnz", "9"], "--nnz"),
    (["--conv", "5,5,8,8,3,3", "--relu"], "--relu"),
    (["--conv", "5,5,8,8,3,3", "--shift", "40"], "--shift"),
    (["--conv", "200,200,256,256,3,3"], "--conv"),      # does not fit the SRAMs
    (["--layer", "resnet50.nope"], "--layer"),
    (["--layer", "alexnet.conv2"], "--layer"),          # grouped
    (["--network", "resnet50", "--rtl-layers", "nope"], "--rtl-layers"),
    (["--network", "resnet50", "--act", "x.npy"], "--act"),
])
def test_run_rejects_bad_arguments(design, args, field):
    result = sparseforge("run", design, *args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_run_rejects_bad_operand_files(design, tmp_path):
    np.save(tmp_path / "x_shape.npy", np.zeros((8, 5, 4), dtype=np.int8))
    np.save(tmp_path / "x_range.npy", np.full((8, 5, 5), 200, dtype=np.int16))
    np.save(tmp_path / "w_dense.npy", np.ones((8, 8, 3, 3), dtype=np.int8))
    for flag, name in (("--act", "x_shape"), ("--act", "x_range"), ("--weights", "w_dense")):
        result = sparseforge("run", design, "--conv", "5,5,8,8,3,3", "--nnz", "2", flag,
                             tmp_path / f"{name}.npy")
        assert result.returncode == 2, (name, result.stderr)
        assert flag in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_network_model_totals(design):
    result = sparseforge("run", design, "--network", "resnet50", "--nnz", "3", "--model-only",
                         "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    layers = report["layers"]
    assert len(layers) == 53
    assert report["total_cycles"] == sum(row["model_cycles"] for row in layers)
    assert report["total_macs"] == 3_855_925_248           # the layer table's sum (sim tests)
    for row in layers:
        assert row["model_cycles"] >= row["ideal_cycles"] > 0


@pytest.mark.cocotb
def test_run_conv_is_bit_exact_cycle_exact_and_saves_the_output(design, tmp_path):
    rng = np.random.default_rng(3)
    x = rng.integers(-128, 128, (10, 6, 7)).astype(np.int8)
    w = rng.integers(-128, 128, (9, 10, 3, 3)).astype(np.int8)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "w.npy", w)
    out = tmp_path / "y.npy"
    result = sparseforge("run", design, "--conv", "6,7,10,9,3,3,1,1", "--act", tmp_path / "x.npy",
                         "--weights", tmp_path / "w.npy", "--out", out, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    for key in ("cycles", "register_cycles", "model_cycles", "ideal_cycles", "utilization",
                "mismatches", "act_sram_reads", "act_sram_reads_no_im2col"):
        assert key in report
    assert report["mismatches"] == 0
    assert report["cycles"] == report["register_cycles"] == report["model_cycles"]
    y = np.load(out)
    assert y.dtype == np.int32 and y.shape == (9, 6, 7)
    # An independent check of one output: padding 1, so pixel (0, 0) sees taps (1..2, 1..2).
    want = sum(int(x[c, i - 1, j - 1]) * int(w[0, c, i, j])
               for c in range(10) for i in range(1, 3) for j in range(1, 3))
    assert y[0, 0, 0] == want


@pytest.mark.cocotb
def test_run_conv_larger_than_the_srams_runs_as_time_tiles(design, tmp_path):
    """A 48×6 layer whose INT32 output map (288 pixels of a 32-byte word) exceeds an activation
    half (16 banks × 64 rows / 4 words a pixel = 256 pixels) runs as time tiles on the
    regression's build: bit-exact against a golden convolution worked here, every job's cycles
    equal its model, the total is the jobs' measured cycles plus the modelled reloads."""
    rng = np.random.default_rng(5)
    x = rng.integers(-128, 128, (8, 48, 6)).astype(np.int8)
    # One non-zero per block of 8 input channels (--nnz 1) at a random channel.
    w = np.zeros((8, 8, 3, 3), dtype=np.int8)
    for k in range(8):
        for i in range(3):
            for j in range(3):
                w[k, rng.integers(8), i, j] = rng.integers(-128, 128)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "w.npy", w)
    out = tmp_path / "y.npy"
    result = sparseforge("run", design, "--conv", "48,6,8,8,3,3,1,1", "--nnz", "1",
                         "--act", tmp_path / "x.npy", "--weights", tmp_path / "w.npy",
                         "--out", out, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["mismatches"] == 0 and not report["fits_sram"]
    runs = report["tile_runs"]
    assert report["time_tiles"] == len(runs) > 1
    assert [r["output_rows"] for r in runs] == [[0, 24], [24, 48]]     # two balanced bands
    for r in runs:
        assert r["cycles"] == r["register_cycles"] == r["model_cycles"], r
        assert r["act_sram_reads"] == r["model_act_sram_reads"], r
    assert report["rtl_job_cycles"] == sum(r["cycles"] for r in runs)
    assert report["cycles"] == report["rtl_job_cycles"] + report["reload_cycles"]
    assert report["cycles"] == report["model_cycles"]
    padded = np.pad(x.astype(np.int64), ((0, 0), (1, 1), (1, 1)))
    want = np.zeros((8, 48, 6), dtype=np.int64)
    for i in range(3):
        for j in range(3):
            want += np.einsum("kc,chw->khw", w[:, :, i, j].astype(np.int64),
                              padded[:, i:i + 48, j:j + 6])
    assert np.array_equal(np.load(out), want)


def test_synth_keeps_the_srams_as_macros_and_sizes_them(tmp_path):
    """The liberty flow leaves every SRAM bank a black box (an SRAM compiler's job) and reports
    its bits and modelled area; the config fixes both: 2 + 1 KB, two halves of 4 + 1 banks (no
    quantization table, whose macros tests/accel/test_quant.py counts). Without IM2COL, whose
    logic would triple the synthesis time and holds no SRAM, and with a one-MAC engine (the
    SRAMs do not depend on it; a 1×8×4_1×2 VDBB engine took half as long again)."""
    config = tmp_path / "accel_tiny.yaml"
    config.write_text("arch: accel\n"
                      "array: {kind: sa, array: {m: 1, n: 1}}\n"
                      "sram: {act_kb: 2, weight_kb: 1, act_banks: 4, quant_channels: 0}\n"
                      "im2col: false\n")
    result = sparseforge("synth", config, "--flow", "liberty", "--json")
    assert result.returncode == 0, result.stderr
    assert not result.stderr, result.stderr       # no warnings (e.g. an unused top) either
    report = json.loads(result.stdout)
    bits = (2 + 1) * 8192
    assert report["sram_macros"] == 2 * 4 + 2
    assert report["sram_bits"] == bits
    assert report["sram_area_um2"] == bits * SRAM_UM2_PER_BIT
    assert report["total_area_um2"] == report["area_um2"] + report["sram_area_um2"]
    # Black boxes add no flip-flops: the logic holds fewer flops than the SRAMs hold bits.
    assert 0 < report["flops"] < bits
