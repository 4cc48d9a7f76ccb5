"""``sparseforge`` on SCNN configs: generate, lint, run (RTL, JSON, --out, files), input errors.

Expected values: the manifest's counts worked by hand from the config, the layer output from the
golden model, and the stated contract (one line, exit status 2, nothing written) for bad input.
"""

import json
import subprocess
import sys

import numpy as np
import pytest
from sparseforge.gen import api
from sparseforge.gen.errors import InputError
from sparseforge.gen.presets import load_preset
from sparseforge.gen.scnn.run import prepare_layer
from sparseforge.sim import workloads
from sparseforge.sim.scnn import golden as scnn_golden

DESIGN = "scnn_2x2_small"


def sparseforge(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "sparseforge.gen.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd)


def test_help_shows_an_scnn_run():
    result = sparseforge("--help")
    assert result.returncode == 0
    assert "sparseforge run scnn_2x2_small --conv" in result.stdout


def test_generate_is_reproducible_and_the_manifest_counts_by_hand(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    assert sparseforge("generate", DESIGN, "-o", first, "-q").returncode == 0
    assert sparseforge("generate", DESIGN, "-o", second, "-q").returncode == 0
    text = (first / f"{DESIGN}.v").read_bytes()
    assert text == (second / f"{DESIGN}.v").read_bytes()
    assert f"module {DESIGN}(".encode() in text
    manifest = json.loads((first / f"{DESIGN}.json").read_text())
    # 2x2 PEs of 2x2 multipliers; two sets of 8 banks x 16 entries of 24 bits per PE.
    assert manifest["pes"] == 4
    assert manifest["multipliers_per_pe"] == 4 and manifest["multipliers_total"] == 16
    assert manifest["accumulator_banks_per_pe"]["bits"] == 2 * 8 * 16 * 24
    # Tiles of 3x5 with a halo of 2: accumulator rows of 7, 9 rows.
    space = manifest["accumulator_space"]
    assert {k: space[k] for k in ("kc", "w", "h", "halo")} == {"kc": 2, "w": 7, "h": 9, "halo": 2}
    # Planes of 63 accumulators over 8 banks: 8 entries each; I = 2: the fold shifts by 1 bit.
    assert (space["entries_per_plane"], space["fold_shift"]) == (8, 1)
    assert manifest["crossbar"]["queues"] == 4 and manifest["crossbar"]["queue_depth"] == 4
    assert manifest["layer_limits"]["h"] == 10 and manifest["layer_limits"]["w"] == 6
    names = {r["name"]: r for r in manifest["registers"]}
    assert names["start"]["offset"] == 0 and names["cycles"]["access"] == "ro"
    ports = {p["name"]: p for p in manifest["ports"]}
    # An activation row: a 4-bit count (up to 15 entries) and 2 entries of 16 + 2 bits = 40
    # bits, streamed in 40-bit tdata; tdest names one of 4 PEs.
    assert ports["s_axis_act__tdata"]["width"] == 40
    assert ports["s_axis_act__tdest"]["width"] == 2
    # One IARAM macro per PE: 128 entries in rows of 2. The IARAM and OARAM swap roles between
    # chained layers, so each row holds 2 entries of 24 (the accumulators) + 2 bits, no count.
    iarams = [m for m in manifest["memories"] if m["module"].endswith(".iaram")]
    assert [m["module"] for m in iarams] == [f"{DESIGN}.pe_{x}_{y}.iaram"
                                             for y in range(2) for x in range(2)]
    assert all((m["words"], m["width"]) == (64, 52) for m in iarams)


# Lint: tests/test_regression.py lints this design's Verilog (lint_verilog, the CLI's lint) before
# simulating it, and the `lint` command itself is tested on the STA and registry designs.


@pytest.mark.parametrize("args, words", [
    (["--conv", "10,6,4,4,3,3,2"], "--conv: stride 2 is not allowed"),
    (["--conv", "10,6,4,4,3,3,1,0"], "--conv: pad 0 is not allowed"),
    (["--conv", "11,6,4,4,3,3"], "--conv: a 11×6 input is not allowed; expected at most 10×6"),
    (["--conv", "10,6,4,4,7,7"], "--conv: R = 7 is not allowed"),
    (["--conv", "10,6,4,40,3,3"], "--conv: K = 40 is not allowed"),
    (["--conv", "10,6,64,8,5,5", "--weight-density", "1"], "layer: needs"),
    (["--conv", "10,6,4,4,3,3", "--act-density", "-1"], "--act-density: -1.0 is not allowed"),
    (["--conv", "10,x,4,4,3,3"], "--conv: W = 'x' is not allowed"),
    (["--gemm", "4,4,4"], "--gemm: not allowed for arch scnn"),
    (["--conv", "4,4,1,1,1,1", "--nnz", "2"], "--nnz: not allowed for arch scnn"),
    (["--network", "alexnet"], "--out: not allowed with --network"),
    ([], "--conv: missing"),
    (["--conv", "10,6,4,4,3,3", "--chain", "0"], "--chain: 0 is not allowed"),
])
def test_bad_runs_are_one_line_errors(args, words, tmp_path):
    out = tmp_path / "y.npy"
    result = sparseforge("run", DESIGN, *args, "--out", out)
    assert result.returncode == 2, result.stderr
    assert words in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert not out.exists()


def test_model_only_splits_the_cycles_and_runs_no_simulator(tmp_path):
    """``--model-only``: the run's cycles are its load, compute and drain parts, utilization is
    products over all multipliers times cycles, and no build happens (nothing in --out's dir but
    the golden output)."""
    out = tmp_path / "y.npy"
    result = sparseforge("run", DESIGN, "--conv", "10,6,3,4,3,3", "--model-only", "--json",
                         "--out", out)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["model_cycles"] == (report["model_load_cycles"] + report["model_busy_cycles"] +
                                      report["model_drain_cycles"])
    assert report["utilization"] == pytest.approx(
        report["products"] / (report["multipliers"] * report["model_cycles"]))
    assert report["fits_rams"] is True and "simulator" not in report
    assert sorted(p.name for p in tmp_path.iterdir()) == ["y.npy"]


def test_chain_model_only_by_the_rules(tmp_path):
    """``--chain K2 --model-only``: two layers, the first requantized and kept on chip (no
    drain), the second chained (no load part: its activations are on chip and its weights
    stream while it computes); the saved output is the golden model of the chain. In-process
    (the API), like the shift register's range."""
    out = tmp_path / "y.npy"
    cfg = load_preset(DESIGN)
    report = api.run(cfg, conv="10,6,3,4,3,3", chain=2, model_only=True, out=str(out)).data
    first, second = report["layers"]
    assert first["model_drain_cycles"] == 0 and second["model_drain_cycles"] > 0
    assert first["model_load_cycles"] > 0 and second["model_load_cycles"] == 0
    assert (second["c"], second["k"]) == (4, 2)
    assert report["model_cycles"] == first["model_cycles"] + second["model_cycles"]
    act, weights = prepare_layer(cfg, workloads.ConvLayer("l", 10, 6, 3, 4, 3, 3, 1, 1), seed=1)
    raw = scnn_golden.layer_output(act, weights, cfg.acc_width)
    # The default shift is the smallest one that saturates nothing (rounding half up).
    shift, top, limit = report["shift"], int(raw.max()), (1 << (cfg.act_width - 1)) - 1
    assert (top + (1 << shift >> 1)) >> shift <= limit
    assert shift == 0 or (top + (1 << (shift - 1) >> 1)) >> (shift - 1) > limit
    assert np.load(out).shape == (2, 10, 6)
    with pytest.raises(InputError, match="--shift: 32 is not allowed; expected 0 to 31"):
        api.run(cfg, conv="10,6,3,4,3,3", shift=32, model_only=True)


def test_network_lists_the_layers_it_cannot_run():
    """``--network alexnet`` on a 10×6 design: every layer refused with its reason (stride 4,
    groups 2, a 13×13 image), nothing in the totals."""
    result = sparseforge("run", DESIGN, "--network", "alexnet", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    reasons = {r["layer"]: r["reason"] for r in report["layers"]}
    assert "stride 4 is not allowed" in reasons["conv1"]
    assert "groups 2 is not allowed" in reasons["conv2"]
    assert "13×13 input is not allowed" in reasons["conv3"]
    assert report["supported_layers"] == 0 and report["total_cycles"] == 0


def test_bad_operand_files(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((2, 4, 4), dtype=np.int64))
    np.save(tmp_path / "w.npy", np.full((3, 2, 3, 3), 40000, dtype=np.int64))
    result = sparseforge("run", DESIGN, "--act", tmp_path / "x.npy", "--weights",
                         tmp_path / "w.npy")
    assert result.returncode == 2
    assert "--weights: values from 40000 to 40000 are not allowed" in result.stderr
    np.save(tmp_path / "w.npy", np.zeros((3, 2, 3, 3), dtype=np.float32))
    result = sparseforge("run", DESIGN, "--conv", "4,4,2,3,3,3", "--act", tmp_path / "x.npy",
                         "--weights", tmp_path / "w.npy")
    assert result.returncode == 2 and "--weights: dtype float32 is not allowed" in result.stderr


@pytest.mark.cocotb
def test_run_from_files_json_and_out(tmp_path):
    """A layer from .npy files on Verilator: the saved output is the golden ReLU output."""
    cfg = load_preset(DESIGN)
    rng = np.random.default_rng(11)
    act = rng.integers(-300, 300, (3, 10, 6))
    act[rng.random(act.shape) < 0.5] = 0
    weights = rng.integers(-300, 300, (3, 3, 5, 5))
    weights[rng.random(weights.shape) < 0.6] = 0
    np.save(tmp_path / "x.npy", act)
    np.save(tmp_path / "w.npy", weights)
    out = tmp_path / "y.npy"
    result = sparseforge("run", DESIGN, "--act", tmp_path / "x.npy", "--weights",
                         tmp_path / "w.npy", "--out", out, "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    for key in ("cycles", "model_cycles", "ideal_cycles", "utilization", "mismatches",
                "multiplier_utilization", "bank_conflict_stalls", "barrier_wait_cycles"):
        assert key in report
    assert report["cycles"] == report["model_cycles"]
    assert report["mismatches"] == 0 and report["stream_mismatches"] == 0
    assert (report["h"], report["w"], report["c"], report["k"]) == (10, 6, 3, 3)
    saved = np.load(out)
    assert np.array_equal(saved, scnn_golden.layer_output(act, weights, cfg.acc_width))


def test_synth_keeps_the_rams_as_macros(tmp_path):
    """The PE's weight FIFO, its block queue, IARAM, activation directory, OARAM, count table and
    each of its 2 × 4 accumulator banks stay black boxes in synthesis, 14 macros, and their bits
    are those the manifest declares for them; ``--sram logic`` synthesizes them all (no macro,
    more flip-flops). One PE without halo (1×1 kernels), for the suite's time: the macros are a
    PE's, and the regression's designs carry the halo exchange."""
    config = tmp_path / "scnn_tiny.yaml"
    config.write_text("arch: scnn\npe: {f: 1, i: 2, banks: 4, bank_entries: 8}\n"
                      "pes: {x: 1, y: 1}\nkc: 2\ntile: {w: 2, h: 2}\nkernel_max: 1\n"
                      "widths: {act: 4, weight: 4, acc: 8}\nindex_bits: 2\n"
                      "rams: {iaram: 16, oaram: 16, weights: 32, out_channels: 4}\n")
    result = sparseforge("synth", config, "--json")
    assert result.returncode == 0, result.stderr
    assert not result.stderr, result.stderr       # no warnings (e.g. an unused top) either
    report = json.loads(result.stdout)
    assert report["sram_macros"] == 6 + 2 * 4
    assert sparseforge("generate", config, "-o", tmp_path, "-q").returncode == 0
    memories = json.loads((tmp_path / "scnn_tiny.json").read_text())["memories"]
    banks = [m for m in memories if ".accumulators.set" in m["module"]]
    assert len(banks) == 2 * 4 and all((m["words"], m["width"]) == (8, 8) for m in banks)
    assert report["sram_bits"] == sum(m["words"] * m["width"] for m in memories)
    assert report["cells"] > 0 and report["flops"] > 0
    logic = sparseforge("synth", config, "--json", "--sram", "logic")
    assert logic.returncode == 0, logic.stderr
    flops = json.loads(logic.stdout)
    assert flops.get("sram_macros", 0) == 0 and flops["flops"] > report["flops"]
