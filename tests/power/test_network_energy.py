"""Energy of networks and of model-only runs (``run --network/--model-only --energy``).

Every test prices with per-action energies drawn from a logged seed (and the design's name, so
that a dense baseline design's differ from its sparse design's) in place of a gate-level
calibration (which takes minutes): the calibration is what the model takes, not what is tested
here. The expected energies are worked independently of :mod:`sparseforge.gen.power`: each
layer's action counts from the simulation models (``sim/<arch>/actions.py``) at the cycle
model's cycles, times the energies, summed in the test.
"""

import importlib.util
import json
import zlib
from pathlib import Path

import numpy as np
import pytest
from sparseforge.gen.cli import main
from sparseforge.gen.config import parse_config
from sparseforge.gen.power import model
from sparseforge.gen.ccr.presets import CCR_PRESETS
from sparseforge.gen.scnn.presets import SCNN_PRESETS
from sparseforge.gen.sparsecore.presets import SPARSECORE_PRESETS
from sparseforge.sim import workloads
from sparseforge.sim.workloads import ConvLayer

SEED = 3

#: The accelerator of tests/power/test_accel_energy.py: 2×2 TPEs of 2×4×2 VDBB (B = 4), IM2COL.
TINY = {"arch": "accel", "name": "accel_tiny",
        "array": {"kind": "vdbb", "tpe": {"a": 2, "b": 4, "c": 2}, "array": {"m": 2, "n": 2}},
        "sram": {"act_kb": 4, "weight_kb": 1, "quant_channels": 0},
        "im2col": {"window": [4, 4]}}
SCNN = {**SCNN_PRESETS["scnn_2x2_small"][1], "name": "scnn_2x2_small"}
#: CCR's SparseK on a 2×2 PU, and SparseCore's 3 PEs × 4 ALUs at 2/4.
CCR = {**CCR_PRESETS["ccr_sparse_k_small"][1], "name": "ccr_sparse_k_small"}
SPARSECORE = SPARSECORE_PRESETS["sparsecore_small"][1]

#: A network small enough for the suite: a padded 3×3, a pointwise layer, a grouped strided 3×3
#: (SCNN runs stride-1 'same' layers only: it skips the last).
NET = (ConvLayer("a", 6, 6, 8, 8, 3, 3, 1, 1), ConvLayer("b", 6, 6, 8, 4, 1, 1, 1, 0),
       ConvLayer("c", 6, 6, 8, 8, 3, 3, 2, 1, 2))
#: The accelerator's test network: ``NET`` and a tall layer larger than TINY's SRAMs at every
#: density (its input map needs 576 of a half's 512 words: two bands; at 4/4 its weights need
#: two groups too). Layer "a" is tiled at 4/4 (two groups: weights reload, outputs read back).
ACCEL_NET = NET + (ConvLayer("d", 36, 8, 8, 8, 3, 3, 1, 1),)


def _energies(cfg):
    """Per-action energies (pJ) for every action of ``cfg``'s components, seeded by ``SEED`` and
    the design's name."""
    hooks = model.hooks_of(cfg)
    cal_cfg, _ = hooks.calibration(cfg)
    rng = np.random.default_rng([SEED, zlib.crc32(cfg.name.encode())])
    return {component: {action: float(rng.uniform(0.5, 5.0)) for action in actions}
            for component, actions in sorted(hooks.actions(cal_cfg).items())}


@pytest.fixture
def priced(monkeypatch):
    """Stand-in calibrations (seed ``SEED``) and the test network ``tiny``."""
    def calibrate(cfg, progress=None, refresh=False, exclude=()):
        return model.Calibration(design=cfg.name, calibrated_on=f"{cfg.name} (test energies)",
                                 energies=_energies(cfg), runs=[], clock_mhz=100.0,
                                 supply_v=1.8, slew_ns=0.06)
    monkeypatch.setattr(model, "calibrate", calibrate)
    monkeypatch.setitem(workloads.NETWORKS, "tiny", NET)
    monkeypatch.setitem(workloads.NETWORKS, "tiny_tiled", ACCEL_NET)


def _run(capsys, *argv):
    assert main(["run", *argv, "--json", "-q"]) == 0, f"seed {SEED}"
    return json.loads(capsys.readouterr().out)


def _config(tmp_path, raw):
    import yaml

    path = tmp_path / f"{raw['name']}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def _price(cfg, counts):
    """Σ counts × energies by hand: the logic's from :func:`_energies`, SRAM's from the CACTI
    table of the design's macros."""
    from sparseforge.gen.power.sram import access_energy_pj

    hooks = model.hooks_of(cfg)
    prices = {}
    for component, per_action in _energies(cfg).items():
        for action, e in per_action.items():
            prices.setdefault(action, []).append(e)
    for macro in hooks.sram(cfg):
        read, write = access_energy_pj(macro["words"], macro["width"])
        prices[f"sram_{macro['group']}_read"] = [read]
        prices[f"sram_{macro['group']}_write"] = [write]
    return sum(n * sum(prices.get(action, [])) for action, n in counts.items())


def _accel_layer_counts(cfg, layer, nnz, act_density):
    """One network layer's counts on the accelerator, from the plan and simulation models: a
    layer larger than the SRAMs (INT8 output, the default DMA rate) is the sum of its time
    tiles' counts, each at its job's cycles on its operands, plus the SRAM accesses of its
    reloads as the tiling reports its words: an activation write per input word loaded, a
    weight write per weight word loaded, an activation read per output word read back.
    Returns ``(counts, reload bytes)``."""
    from sparseforge.gen.accel.run import prepare_layer
    from sparseforge.gen.sta.energy import skew_bits
    from sparseforge.sim.accel import cycles, plan as accel_plan, tiling
    from sparseforge.sim.accel.actions import layer_actions

    cpg = layer.c // layer.groups
    args = (layer.h, layer.w, cpg, layer.k // layer.groups, layer.r, layer.s, layer.stride,
            layer.pad, min(nnz, cpg))
    plan = accel_plan.plan_layer(cfg, *args, check_sram=False)
    x, w = prepare_layer(cfg, plan, act_density=act_density, seed=SEED)
    tiled = tiling.tile_layer(cfg, *args, int8_out=True)
    counts, moved = {}, 0
    parts = tiling.tile_operands(tiled, x, w) if tiled.time_tiles > 1 else [(x, w)]
    for tile, (xt, wt) in zip(tiled.tiles, parts, strict=True):
        job = tile.plan if tiled.time_tiles > 1 else plan
        for action, n in layer_actions(job, xt, wt, cycles.layer_cycles(job), int8_out=True,
                                       skew_bits=skew_bits(cfg.array)).items():
            counts[action] = counts.get(action, 0) + n
        counts["sram_act_write"] += tile.act_words
        counts["sram_weights_write"] += tile.weight_words
        counts["sram_act_read"] += tile.out_words
        moved += (tile.act_words + tile.out_words) * cfg.block + \
            tile.weight_words * accel_plan.weight_word_bytes(cfg)
    return {action: n * layer.groups for action, n in counts.items()}, moved * layer.groups


def test_accel_network_energy_is_its_layers_counts_times_their_energies(priced, capsys,
                                                                        tmp_path):
    cfg = parse_config(TINY)
    report = _run(capsys, _config(tmp_path, TINY), "--network", "tiny_tiled", "--nnz", "2",
                  "--act-density", "0.6", "--seed", str(SEED), "--energy")
    rows = {row["layer"]: row for row in report["layers"]}
    assert rows["d"]["time_tiles"] == 2 and rows["d"]["tiling"]["bands"] == 2
    total = base_total = 0.0
    for layer in ACCEL_NET:
        counts, moved = _accel_layer_counts(cfg, layer, 2, 0.6)
        assert rows[layer.name]["reload_bytes"] == moved, layer.name
        if layer.name == "d":           # two bands of 400 input words, 288 output words each
            reload = {"sram_act_write": 800, "sram_act_read": 576}
            assert rows["d"]["reload_sram_pj"] == pytest.approx(_price(cfg, reload), rel=1e-12)
        else:
            assert rows[layer.name]["reload_sram_pj"] == 0.0
        want = _price(cfg, counts)
        base = _price(cfg, _accel_layer_counts(cfg, layer, 4, 0.6)[0])
        row = rows[layer.name]
        assert row["energy_pj"] == pytest.approx(want, rel=1e-12), layer.name
        assert row["baseline_energy_pj"] == pytest.approx(base, rel=1e-12), layer.name
        assert sum(row["energy_by_component"].values()) == pytest.approx(want, rel=1e-12)
        assert row["ops"] == 2 * layer.macs
        assert row["tops_per_w"] == pytest.approx(2 * layer.macs / want)
        assert row["energy_relative_to_baseline"] == pytest.approx(want / base)
        total, base_total = total + want, base_total + base
    assert report["energy_pj"] == pytest.approx(total, rel=1e-12)
    assert report["energy_baseline"]["energy_pj"] == pytest.approx(base_total, rel=1e-12)
    assert report["energy_relative_to_baseline"] == pytest.approx(total / base_total)
    assert report["ops"] == 2 * sum(layer.macs for layer in ACCEL_NET)
    assert report["tops_per_w"] == pytest.approx(report["ops"] / total)
    assert sum(report["energy_by_component"].values()) == pytest.approx(total, rel=1e-12)


def test_scnn_network_energy_is_its_layers_counts_times_their_energies(priced, capsys):
    from sparseforge.gen.scnn.run import prepare_layer
    from sparseforge.sim.scnn import streams as scnn_streams
    from sparseforge.sim.scnn.actions import layer_actions

    cfg = parse_config(SCNN)
    report = _run(capsys, "scnn_2x2_small", "--network", "tiny", "--weight-density", "0.4",
                  "--act-density", "0.7", "--seed", str(SEED), "--energy")
    rows = {row["layer"]: row for row in report["layers"]}
    assert "energy_pj" not in rows["c"] and not rows["c"]["supported"]      # stride 2
    total = 0.0
    for layer in NET[:2]:
        energies = []
        for wd, ad in ((0.4, 0.7), (1.0, 1.0)):
            act, w = prepare_layer(cfg, layer, weight_density=wd, act_density=ad, seed=SEED)
            streams = scnn_streams.layer_streams(cfg, act, w)
            energies.append(_price(cfg, layer_actions(cfg, streams, act, w)))
        row = rows[layer.name]
        assert row["energy_pj"] == pytest.approx(energies[0], rel=1e-12), layer.name
        assert row["baseline_energy_pj"] == pytest.approx(energies[1], rel=1e-12), layer.name
        assert row["energy_relative_to_baseline"] == pytest.approx(energies[0] / energies[1])
        total += energies[0]
    assert report["energy_pj"] == pytest.approx(total, rel=1e-12)
    assert report["ops"] == 2 * (NET[0].macs + NET[1].macs)


def _add(total, counts):
    for action, n in counts.items():
        total[action] = total.get(action, 0) + n


def _check_rows(report, expected):
    """Each layer's ``(energy, baseline energy)`` and the totals in the report."""
    rows = {row["layer"]: row for row in report["layers"]}
    for name, (want, base) in expected.items():
        row = rows[name]
        assert row["energy_pj"] == pytest.approx(want, rel=1e-12), name
        assert row["baseline_energy_pj"] == pytest.approx(base, rel=1e-12), name
        assert row["energy_relative_to_baseline"] == pytest.approx(want / base), name
        assert sum(row["energy_by_component"].values()) == pytest.approx(want, rel=1e-12)
        assert row["ops"] == 2 * row["macs_dense"]
        assert row["tops_per_w"] == pytest.approx(row["ops"] / want)
    total = sum(want for want, _ in expected.values())
    base_total = sum(base for _, base in expected.values())
    assert report["energy_pj"] == pytest.approx(total, rel=1e-12)
    assert report["energy_baseline"]["energy_pj"] == pytest.approx(base_total, rel=1e-12)
    assert report["energy_relative_to_baseline"] == pytest.approx(total / base_total)
    assert report["ops"] == 2 * sum(layer.macs for layer in NET)


def test_ccr_network_energy_is_its_passes_counts_times_each_designs_energies(priced, capsys):
    """Every layer priced, the strided grouped one as its groups' stride passes: SparseK's
    counts at the SparseK design's energies, the dense variant's on the same operands at the
    dense design's own."""
    from sparseforge.gen.ccr.energy import dense_baseline
    from sparseforge.sim.ccr.actions import pass_actions
    from sparseforge.sim.ccr.layer import passes, window
    from sparseforge.sim.ccr.network import masks

    cfg = parse_config(CCR)
    base_cfg = dense_baseline(cfg)
    report = _run(capsys, "ccr_sparse_k_small", "--network", "tiny", "--model-only",
                  "--weight-density", "0.4", "--act-density", "0.7", "--seed", str(SEED),
                  "--energy")
    rows = {row["layer"]: row for row in report["layers"]}
    # The network model's draws: one generator, per layer and group the inputs, then weights.
    rng = np.random.default_rng(SEED)
    expected = {}
    for layer in NET:
        cpg, kpg = layer.c // layer.groups, layer.k // layer.groups
        win = window(layer.h, layer.w, layer.r, layer.s, pad=layer.pad, stride=layer.stride)
        counts = {"sparse_k": {}, "dense": {}}
        for _ in range(layer.groups):
            x = masks(rng, (cpg, layer.h, layer.w), 0.7)
            w = masks(rng, (kpg, cpg, layer.r, layer.s), 0.4)
            stride_passes = passes(x, w, win)
            assert len(stride_passes) == layer.stride ** 2
            for n, p in enumerate(stride_passes):
                for variant, total in counts.items():
                    _add(total, pass_actions(variant, cfg.px, cfg.py, p.x, p.w, p.x0, p.y0,
                                             win.ho, win.wo, accumulate=n > 0))
        row = rows[layer.name]
        assert counts["sparse_k"]["cycle"] == row["model_cycles"], layer.name
        assert counts["dense"]["cycle"] == row["dense_cycles"] == row["baseline_cycles"]
        expected[layer.name] = (_price(cfg, counts["sparse_k"]), _price(base_cfg, counts["dense"]))
    _check_rows(report, expected)
    assert report["energy_baseline"]["design"] == base_cfg.name == "ccr_sparse_k_small_dense"
    assert report["energy_baseline"]["energy_model"]["calibrated_on"].startswith(base_cfg.name)
    # A dense design is its own baseline.
    dense = _run(capsys, "ccr_dense_small", "--network", "tiny", "--model-only", "--energy",
                 "--seed", str(SEED))
    assert dense["energy_relative_to_baseline"] == 1.0 and "design" not in dense["energy_baseline"]
    assert all(row["energy_relative_to_baseline"] == 1.0 for row in dense["layers"])


def test_ccr_network_energy_agrees_with_the_vgg16_benchmark(priced, capsys, tmp_path,
                                                           monkeypatch):
    """``benchmarks/ccr_energy.py --part vgg16`` works VGG-16's energy by hand (its seed 1, 50 %
    weights, 70 % inputs, the tiny designs' energies, SRAM at 128 KB buffers); on the test
    network's stride-1 layers, ``run --network --energy`` on the same design with 128 KB
    buffers gives its figures."""
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "ccr_energy.py"
    spec = importlib.util.spec_from_file_location("ccr_energy_benchmark", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    flat = NET[:2]
    monkeypatch.setattr(bench, "network", lambda name: flat)
    monkeypatch.setattr(bench, "calibrate", model.calibrate)
    monkeypatch.setitem(workloads.NETWORKS, "tiny_flat", flat)
    want = bench.vgg16(lambda line: None)
    raw = {**bench.TINY, "buffers": {"ib_kb": 128, "kb_kb": 128, "ob_kb": 128}}
    report = _run(capsys, _config(tmp_path, raw), "--network", "tiny_flat", "--model-only",
                  "--weight-density", str(bench.WEIGHT_DENSITY), "--act-density",
                  str(bench.ACT_DENSITY), "--seed", "1", "--energy")
    for row, ref in zip(report["layers"], want["layers"], strict=True):
        assert row["energy_pj"] == pytest.approx(ref["sparse_k"]["energy_pj"], rel=1e-12)
        assert row["baseline_energy_pj"] == pytest.approx(ref["dense"]["energy_pj"], rel=1e-12)
    assert 1 / report["energy_relative_to_baseline"] == pytest.approx(want["ratio"], rel=1e-12)


def test_sparsecore_network_energy_is_its_groups_counts_times_each_designs_energies(
        priced, capsys):
    """Every layer priced (the strided grouped one as its groups): the design's counts on its
    compressed activations, the dense baseline's (k = m on the same PEs) on the same activations
    read densely, each at its design's energies; the baseline's cycles are the network model's
    dense ones."""
    from sparseforge.gen.sparsecore.energy import dense_baseline
    from sparseforge.sim.sparsecore import cycles as sc_cycles
    from sparseforge.sim.sparsecore import format as kmf
    from sparseforge.sim.sparsecore.actions import layer_actions
    from sparseforge.sim.sparsecore.network import layer_operands

    cfg = parse_config(SPARSECORE)
    base_cfg = dense_baseline(cfg)
    assert (base_cfg.k, base_cfg.m, base_cfg.pes) == (4, 4, cfg.pes)
    report = _run(capsys, "sparsecore_small", "--network", "tiny", "--model-only", "--km",
                  "1/4", "--act-density", "0.6", "--seed", str(SEED), "--energy")
    rows = {row["layer"]: row for row in report["layers"]}
    expected = {}
    for i, layer in enumerate(NET):
        shape, groups = layer_operands(layer, 0.6, 1, 4, seed=(SEED, i))
        assert len(groups) == layer.groups
        mine, base = {}, {}
        for act, weights in groups:
            res = sc_cycles.layer_cycles(cfg, shape, act, weights)
            _add(mine, layer_actions(cfg, shape, kmf.compress_acts(act, cfg.chunk), res.cycles))
            _add(base, layer_actions(base_cfg, shape, kmf.dense_acts(act, base_cfg.chunk),
                                     res.dense_cycles))
        row = rows[layer.name]
        assert mine["cycle"] == row["model_cycles"], layer.name
        assert base["cycle"] == row["dense_cycles"] == row["baseline_cycles"], layer.name
        expected[layer.name] = (_price(cfg, mine), _price(base_cfg, base))
    _check_rows(report, expected)
    assert report["energy_baseline"]["design"] == "sparsecore_small_dense"
    assert report["energy_model"]["excluded"]           # the requantizers are named


@pytest.mark.parametrize("arch", ["accel", "scnn"])
def test_a_dense_network_is_its_own_baseline_and_the_baseline_of_a_sparse_one(
        arch, priced, capsys, tmp_path):
    if arch == "accel":
        target, dense, sparse = _config(tmp_path, TINY), ["--nnz", "4"], ["--nnz", "1"]
    else:
        target = "scnn_2x2_small"
        dense = ["--weight-density", "1", "--act-density", "1"]
        sparse = ["--weight-density", "0.3", "--act-density", "0.5"]
    common = [target, "--network", "tiny", "--seed", str(SEED), "--energy"]
    full = _run(capsys, *common, *dense)
    thin = _run(capsys, *common, *sparse)
    assert full["energy_relative_to_baseline"] == 1.0
    assert full["energy_baseline"]["energy_pj"] == full["energy_pj"]
    for a, b in zip(full["layers"], thin["layers"]):
        if "energy_pj" in a:
            assert a["energy_relative_to_baseline"] == 1.0
            # The sparse run's baseline is the dense run, layer by layer.
            assert b["baseline_energy_pj"] == pytest.approx(a["energy_pj"], rel=1e-12)
            # A layer larger than the SRAMs (layer "a" at 4/4 on TINY's 512-byte weight halves)
            # is priced as the time tiles its cycles count.
            assert b["baseline_cycles"] == a["model_cycles"]
    assert thin["energy_baseline"]["energy_pj"] == pytest.approx(full["energy_pj"], rel=1e-12)


@pytest.mark.parametrize("argv", [
    ["scnn_2x2_small", "--conv", "6,4,3,2,3,3", "--weight-density", "0.6"],
    ["sparsecore_small", "--conv", "6,6,8,4,3,3"],
    ["vdbb_2x8x4_2x2", "--gemm", "9,32,11", "--nnz", "3"],
    ["accel_small", "--conv", "6,6,8,8,3,3,1,1", "--nnz", "4", "--shift", "0"],
])
def test_model_only_energy_prices_the_cycle_models_counts(argv, priced, capsys):
    report = _run(capsys, *argv, "--model-only", "--energy", "--seed", str(SEED))
    assert report["energy_pj"] > 0
    assert sum(report["energy_by_component"].values()) == pytest.approx(report["energy_pj"])
    assert report["energy_model"]["calibrated_on"].endswith("(test energies)")
    assert report["tops_per_w"] > 0


def test_model_only_energy_of_a_tiled_layer_counts_its_tiles_and_reloads(priced, capsys,
                                                                         tmp_path):
    cfg = parse_config(TINY)
    layer = ACCEL_NET[-1]
    report = _run(capsys, _config(tmp_path, TINY), "--conv", "36,8,8,8,3,3,1,1", "--nnz", "2",
                  "--shift", "0", "--act-density", "0.6", "--model-only", "--energy",
                  "--seed", str(SEED))
    assert report["time_tiles"] == 2
    counts, moved = _accel_layer_counts(cfg, layer, 2, 0.6)
    assert report["reload_bytes"] == moved
    assert report["energy_pj"] == pytest.approx(_price(cfg, counts), rel=1e-12)
    tiles = [(400, 0, 288), (400, 0, 288)]      # (act, weight, out) words: two bands, 1 group
    reload = {"sram_act_write": sum(t[0] for t in tiles),
              "sram_weights_write": sum(t[1] for t in tiles),
              "sram_act_read": sum(t[2] for t in tiles)}
    assert (sum(t[0] + t[2] for t in tiles) * cfg.block) == moved
    assert report["reload_sram_pj"] == pytest.approx(_price(cfg, reload), rel=1e-12)
    # The RTL run prices the jobs' measured cycles, one per tile: at the model's, the same.
    from types import SimpleNamespace
    from sparseforge.gen.accel.run import prepare_layer, tiled_energy_fields
    from sparseforge.sim.accel import cycles, plan as accel_plan, tiling

    args = (layer.h, layer.w, layer.c, layer.k, layer.r, layer.s, layer.stride, layer.pad, 2)
    tiled = tiling.tile_layer(cfg, *args, int8_out=True)
    x, w = prepare_layer(cfg, accel_plan.plan_layer(cfg, *args, check_sram=False),
                         act_density=0.6, seed=SEED)
    rtl = tiled_energy_fields(cfg, tiled, x, w, SimpleNamespace(shift=0, relu=False), None,
                              [cycles.layer_cycles(t.plan) for t in tiled.tiles])
    assert rtl["energy_pj"] == report["energy_pj"]


def test_model_only_energy_equals_the_rtl_runs(priced, capsys):
    """The RTL path prices the measured cycles, the model-only path the model's: one function,
    the same operands (the seed), so the same energy when the RTL is cycle-exact."""
    argv = ["sa_1x1", "--gemm", "4,16,4", "--energy", "--seed", str(SEED)]
    rtl = _run(capsys, *argv, "--sim", "icarus")
    assert rtl["cycles"] == rtl["model_cycles"] and rtl["mismatches"] == 0
    only = _run(capsys, *argv, "--model-only")
    assert only["energy_pj"] == rtl["energy_pj"]
    assert only["energy_by_component"] == rtl["energy_by_component"]


@pytest.mark.parametrize("argv, message", [
    (["sparsecore_small", "--model", "digits_cnn", "--model-only", "--energy"],
     "--energy: allowed with one layer (--conv or --layer, on the RTL or --model-only) or "
     "--network, not with --model"),
    (["ccr_sparse_k_small", "--network", "vgg16", "--energy"],
     "--network: runs the cycle model only; add --model-only"),
    (["sparsecore_small", "--network", "vgg16", "--energy"],
     "--network: runs the cycle model only; add --model-only"),
    (["scnn_2x2_small_blox", "--network", "tiny", "--energy"],
     "--energy: not allowed for scnn_2x2_small_blox: Sparse-Blox designs have no energy model"),
])
def test_network_energy_refused_where_there_is_no_model(argv, message, priced, capsys):
    assert main(["run", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
