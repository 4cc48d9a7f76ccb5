"""``sparseforge`` on CCR configs: run (RTL, JSON, --out, files, --network --model-only) and input
errors.

Expected values: the layer output from the framework convolution (:func:`sparseforge.sim.conv.
conv2d`, independent of the CCR models), the dense baseline's cycles worked from the formula in
the paper's loop order, and the stated contract (one line, exit status 2, nothing written) for
bad input.
"""

import json
import subprocess
import sys

import numpy as np
import pytest

from sparseforge.sim import workloads
from sparseforge.sim.conv import conv2d


def sparseforge(*args):
    return subprocess.run([sys.executable, "-m", "sparseforge.gen.cli", *map(str, args)],
                          capture_output=True, text=True)


@pytest.mark.parametrize("args, message", [
    (["--conv", "40,5,2,3,3,3"], "--conv: a 40×5 input is not allowed; expected at most "
                                 "map_max = 31"),
    (["--conv", "6,6,2,3,7,7"], "--conv: a 7×7 kernel is not allowed"),
    (["--conv", "6,6,30,30,3,3"], "--conv: K·C = 900 kernels are not allowed"),
    (["--conv", "20,20,8,8,3,3"], "layer: needs 800 IB words; buffers.ib_kb = 1 holds 256"),
    (["--conv", "6,6,2,3,3,3,1,1", "--mode", "same"], "--mode: not allowed with a pad"),
    (["--conv", "4,4,1,1,5,5", "--mode", "valid"], "--conv: A 5×5 kernel has no valid output"),
    (["--conv", "6,6,2,3,3,3", "--act-density", "-1"], "--act-density: -1.0 is not allowed"),
    (["--layer", "alexnet.conv2"], "--layer: alexnet.conv2 is a grouped convolution"),
    (["--layer", "vgg16.conv1_1", "--mode", "full"], "--mode: not allowed with --layer"),
    (["--network", "vgg16"], "--network: runs the cycle model only; add --model-only"),
    (["--conv", "6,6,2,3,3,3", "--model-only"], "--model-only: not allowed without --network"),
    (["--gemm", "2,3,4"], "--gemm: not allowed for arch ccr"),
    ([], "--conv: missing"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path):
    out = tmp_path / "y.npy"
    result = sparseforge("run", "ccr_sparse_k_small", *args, "--out", out, "--sim", "icarus")
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert not out.exists()


def test_run_sparse_ki_from_files_bit_and_cycle_exact(tmp_path):
    """SparseKI on a stride-2 layer from .npy files: the saved output is the framework
    convolution's, cycles and every counter match the model, bank stalls are reported."""
    rng = np.random.default_rng(11)
    x = rng.integers(-128, 128, (2, 7, 6)) * (rng.random((2, 7, 6)) < 0.5)
    w = rng.integers(-128, 128, (3, 2, 3, 3)) * (rng.random((3, 2, 3, 3)) < 0.5)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "w.npy", w)
    result = sparseforge("run", "ccr_sparse_ki_small", "--conv", "7,6,2,3,3,3,2,1",
                         "--act", tmp_path / "x.npy", "--weights", tmp_path / "w.npy",
                         "--out", tmp_path / "y.npy", "--sim", "icarus", "--json", "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["mismatches"] == 0 and report["passes"] == 4
    assert report["cycles"] == report["model_cycles"] == report["cycles_register"]
    assert report["counters_match_model"]
    assert report["macs_performed"] == report["ccu_coordinates"]
    assert "bank_conflict_stalls" in report
    assert np.array_equal(np.load(tmp_path / "y.npy"), conv2d(x, w, 2, 1, acc_bits=32))
    assert 0 < report["utilization"] <= 1


def test_network_model_dense_cycles_by_the_formula():
    """--network --model-only on AlexNet: one row per layer, the dense baseline's cycles from
    the paper's loops (K·C·⌈H/8⌉·⌈W/8⌉·R·S steps per stride phase, OB clear, drain of 3),
    totals that add up."""
    result = sparseforge("run", "ccr_sparse_k_paper", "--network", "alexnet", "--model-only",
                         "--weight-density", "0.4", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    layers = workloads.network("alexnet")
    assert [r["layer"] for r in report["layers"]] == [layer.name for layer in layers]
    for row, layer in zip(report["layers"], layers):
        st, c, k = layer.stride, layer.c // layer.groups, layer.k // layer.groups
        steps = clear = 0
        for px in range(st):
            for py in range(st):
                # the phase's sub-sampled input rows and columns that are real (not padding)
                h = sum(1 for a in range(px, layer.h + 2 * layer.pad, st)
                        if layer.pad <= a < layer.h + layer.pad)
                w = sum(1 for b in range(py, layer.w + 2 * layer.pad, st)
                        if layer.pad <= b < layer.w + layer.pad)
                r, s = len(range(px, layer.r, st)), len(range(py, layer.s, st))
                if h and w and r and s:         # an empty phase is no pass
                    steps += k * c * -(-h // 8) * -(-w // 8) * r * s + 3
        clear = k * -(-layer.ho // 8) * -(-layer.wo // 8)
        assert row["dense_cycles"] == layer.groups * (steps + clear), row["layer"]
        assert row["macs_dense"] == layer.macs
        assert "bank_conflict_stalls" not in row           # SparseKI's only
    assert report["total_cycles"] == sum(r["model_cycles"] for r in report["layers"])
    assert report["total_dense_cycles"] == sum(r["dense_cycles"] for r in report["layers"])


@pytest.mark.parametrize("variant", ["dense", "sparse_i"])
def test_run_on_the_generated_verilog(variant, tmp_path):
    """The designs the regression does not run (dense, SparseI: see the descriptor) through
    their generated Verilog once: a 5×5 kernel on SparseI's 2×2 PU (nine tiles per input),
    output equal to the framework convolution, MAC counter equal to the count by hand."""
    rng = np.random.default_rng(5)
    r = 3 if variant == "dense" else 5
    x = rng.integers(-128, 128, (2, 6, 5)) * (rng.random((2, 6, 5)) < 0.4)
    w = rng.integers(-128, 128, (2, 2, r, r)) * (rng.random((2, 2, r, r)) < 0.6)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "w.npy", w)
    result = sparseforge("run", f"ccr_{variant}_small", "--conv", f"6,5,2,2,{r},{r},1,1",
                         "--act", tmp_path / "x.npy", "--weights", tmp_path / "w.npy",
                         "--sim", "icarus", "--out", tmp_path / "y.npy", "--json", "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["mismatches"] == 0 and report["counters_match_model"]
    assert report["cycles"] == report["model_cycles"] == report["cycles_register"]
    assert np.array_equal(np.load(tmp_path / "y.npy"), conv2d(x, w, 1, 1, acc_bits=32))
    # Dense: every weight times every real input; SparseI: every non-zero input times every
    # weight of its kernel (K·R·S).
    want = 2 * 2 * 30 * r * r if variant == "dense" else np.count_nonzero(x) * 2 * r * r
    assert report["macs_performed"] == want
