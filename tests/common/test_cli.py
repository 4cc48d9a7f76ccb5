"""The ``sparseforge`` command as users and scripts drive it: outputs, JSON keys, input errors."""

import json
import subprocess
import sys

import numpy as np
import pytest
from sparseforge.gen.presets import presets


def sparseforge(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "sparseforge.gen.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd)


def wrap(x, bits):
    """Independent two's-complement wrap with Python integers."""
    x = int(x) % (1 << bits)
    return x - (1 << bits) if x >= 1 << (bits - 1) else x


def test_presets_lists_every_preset():
    result = sparseforge("presets", "--json")
    assert result.returncode == 0
    assert set(json.loads(result.stdout)) == set(presets())
    human = sparseforge("presets")
    for name in presets():
        assert name in human.stdout


def test_help_teaches():
    result = sparseforge("--help")
    assert result.returncode == 0
    for command in ("generate", "test", "lint", "synth", "run", "presets", "demo"):
        assert command in result.stdout
    assert "kind: vdbb" in result.stdout          # the config format is shown


def test_generate_writes_reproducible_verilog_and_manifest(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    assert sparseforge("generate", "vdbb_2x8x4_2x2", "-o", first, "-q").returncode == 0
    assert sparseforge("generate", "vdbb_2x8x4_2x2", "-o", second, "-q").returncode == 0
    v1 = (first / "vdbb_2x8x4_2x2.v").read_bytes()
    assert v1 == (second / "vdbb_2x8x4_2x2.v").read_bytes()
    assert b"module vdbb_2x8x4_2x2(" in v1
    # The 2×2 identical TPEs are one module (hdl/common/shared_modules.py), instantiated 4 times.
    assert v1.count(b"module \\vdbb_2x8x4_2x2.array.TensorPE (") == 1
    assert v1.count(b"  \\vdbb_2x8x4_2x2.array.TensorPE  tpe_") == 4
    manifest = json.loads((first / "vdbb_2x8x4_2x2.json").read_text())
    # 2x8x4_2x2 VDBB, by hand from Table III: A·C = 8 MACs and 8 accumulators per TPE, 4 TPEs,
    # operand registers A·B activations + C weights = 16 + 4.
    assert manifest["macs_per_pe"] == 8
    assert manifest["macs_total"] == 32
    assert manifest["accumulators_per_pe"] == 8
    assert manifest["operand_registers_per_pe"] == 20
    assert manifest["config"]["kind"] == "vdbb"
    assert manifest["tools"]["amaranth"]
    ports = {p["name"]: p for p in manifest["ports"]}
    # Activation beat: M·A = 4 rows × B = 8 elements × 8 bits; result row: N·C = 8 × 32 bits.
    assert ports["act__payload"]["width"] == 4 * 8 * 8
    assert ports["result__payload"]["width"] == 8 * 32
    assert ports["result__payload"]["direction"] == "out"


def test_generate_from_yaml_uses_the_file_name(tmp_path):
    config = tmp_path / "my-array.yaml"
    config.write_text("arch: sta\nkind: sa\narray: {m: 2, n: 3}\n")
    assert sparseforge("generate", config, "-o", tmp_path, "-q").returncode == 0
    assert (tmp_path / "my_array.v").exists()
    manifest = json.loads((tmp_path / "my_array.json").read_text())
    assert manifest["macs_total"] == 6


BAD_CONFIGS = [
    ("kind", "arch: sta\nkind: tpu\narray: {m: 1, n: 1}\n"),
    ("tpe.b", "arch: sta\nkind: vdbb\ntpe: {a: 2, b: 1, c: 2}\narray: {m: 1, n: 1}\n"),
    ("array.m", "arch: sta\nkind: sa\narray: {m: 0, n: 1}\n"),
    ("array.n", "arch: sta\nkind: sa\narray: {m: 1, n: true}\n"),
    ("dbb_macs", "arch: sta\nkind: dbb\ntpe: {a: 1, b: 4, c: 1}\narray: {m: 1, n: 1}\n"
                 "dbb_macs: 4\n"),
    ("act_zero_gating", "arch: sta\nkind: sta\ntpe: {a: 1, b: 4, c: 1}\narray: {m: 1, n: 1}\n"
                        "act_zero_gating: true\n"),
    ("widths.acc", "arch: sta\nkind: sa\narray: {m: 1, n: 1}\nwidths: {acc: 12}\n"),
    ("tpe.q", "arch: sta\nkind: sta\ntpe: {a: 1, b: 4, c: 1, q: 2}\narray: {m: 1, n: 1}\n"),
    ("arch", "kind: sa\narray: {m: 1, n: 1}\n"),
    ("name", "arch: sta\nkind: sa\narray: {m: 1, n: 1}\nname: 9lives\n"),
    ("YAML", "arch: sta\nkind: [sa\n"),
]


@pytest.mark.parametrize("field,text", BAD_CONFIGS, ids=[f for f, _ in BAD_CONFIGS])
def test_bad_config_is_one_line_exit_2_and_writes_nothing(field, text, tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    out = tmp_path / "out"
    result = sparseforge("generate", config, "-o", out, "-q")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert field in lines[0]
    assert "Traceback" not in result.stderr
    assert not out.exists() or not any(out.iterdir())


def test_unknown_preset_and_missing_file():
    for spec in ("no_such_design", "missing.yaml"):
        result = sparseforge("lint", spec)
        assert result.returncode == 2
        assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args,field", [
    (["--gemm", "1,2"], "--gemm"),
    (["--gemm", "0,4,4"], "--gemm"),
    (["--gemm", "4,x,4"], "--gemm"),
    (["--gemm", "4,4,4", "--nnz", "9"], "--nnz"),
    (["--gemm", "4,4,4", "--nnz", "0"], "--nnz"),
    (["--gemm", "4,4,4", "--act-density", "1.5"], "--act-density"),
    (["--gemm", "4,2000000,4"], "--gemm"),
    (["--gemm", "4,4,4", "--out", "/nonexistent/dir/c.npy"], "--out"),
])
def test_run_rejects_bad_arguments(args, field):
    result = sparseforge("run", "vdbb_2x8x4_2x2", *args)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert field in result.stderr


def test_run_rejects_bad_operand_files(tmp_path):
    good_act = tmp_path / "a.npy"
    np.save(good_act, np.ones((4, 16), dtype=np.int8))
    cases = {
        "float": np.ones((16, 4), dtype=np.float32),
        "range": np.full((16, 4), 300, dtype=np.int16),
        "shape": np.ones((15, 4), dtype=np.int8),
        "dense": np.ones((16, 4), dtype=np.int8),          # 8/8 non-zeros, bound 2
    }
    for name, weights in cases.items():
        path = tmp_path / f"w_{name}.npy"
        np.save(path, weights)
        result = sparseforge("run", "vdbb_2x8x4_2x2", "--gemm", "4,16,4", "--nnz", "2",
                             "--act", good_act, "--weights", path)
        assert result.returncode == 2, (name, result.stderr)
        assert "--weights" in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.cocotb
def test_run_from_files_is_bit_exact_and_cycle_exact(tmp_path):
    rng = np.random.default_rng(11)
    m, k, n = 5, 19, 6
    act = rng.integers(-128, 128, (m, k)).astype(np.int8)
    weights = rng.integers(-128, 128, (k, n)).astype(np.int8)
    np.save(tmp_path / "a.npy", act)
    np.save(tmp_path / "w.npy", weights)
    out = tmp_path / "c.npy"
    # Dense 8/8 weights on the VDBB design: no pruning needed.
    result = sparseforge("run", "vdbb_2x8x4_2x2", "--gemm", f"{m},{k},{n}", "--act",
                         tmp_path / "a.npy", "--weights", tmp_path / "w.npy", "--out", out,
                         "--sim", "icarus", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    for key in ("cycles", "model_cycles", "ideal_cycles", "utilization", "mismatches",
                "gated_mac_cycles", "simulator"):
        assert key in report
    assert report["mismatches"] == 0
    assert report["cycles"] == report["model_cycles"]
    assert report["simulator"] == "icarus"
    # Ideal cycles by hand: 2×1 output tiles (4×8 each) × ⌈19/8⌉ blocks × 8 steps.
    assert report["ideal_cycles"] == 2 * 1 * 3 * 8
    saved = np.load(out)
    assert saved.dtype == np.int32 and saved.shape == (m, n)
    for i in range(m):
        for j in range(n):
            want = wrap(sum(int(act[i, x]) * int(weights[x, j]) for x in range(k)), 32)
            assert saved[i, j] == want


@pytest.mark.cocotb
def test_run_prunes_on_request_and_reports_speedup_inputs(tmp_path):
    rng = np.random.default_rng(5)
    weights = rng.integers(-128, 128, (16, 4)).astype(np.int8)
    np.save(tmp_path / "w.npy", weights)
    result = sparseforge("run", "vdbb_2x8x4_2x2", "--gemm", "4,16,4", "--nnz", "2",
                         "--weights", tmp_path / "w.npy", "--prune", "--sim", "icarus", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["mismatches"] == 0 and report["nnz"] == 2
    assert report["ideal_cycles"] == 1 * 2 * 2      # one tile, 2 blocks, 2 steps each
