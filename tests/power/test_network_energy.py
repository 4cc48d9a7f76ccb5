"""Energy of networks and of model-only runs (``run --network/--model-only --energy``).

Every test prices with per-action energies drawn from a logged seed in place of a gate-level
calibration (which takes minutes): the calibration is what the model takes, not what is tested
here. The expected energies are worked independently of :mod:`sparseforge.gen.power`: each
layer's action counts from the simulation models (``sim/<arch>/actions.py``) at the cycle
model's cycles, times the energies, summed in the test.
"""

import json

import numpy as np
import pytest
from sparseforge.gen.cli import main
from sparseforge.gen.config import parse_config
from sparseforge.gen.power import model
from sparseforge.gen.scnn.presets import SCNN_PRESETS
from sparseforge.sim import workloads
from sparseforge.sim.workloads import ConvLayer

SEED = 3

#: The accelerator of tests/power/test_accel_energy.py: 2×2 TPEs of 2×4×2 VDBB (B = 4), IM2COL.
TINY = {"arch": "accel", "name": "accel_tiny",
        "array": {"kind": "vdbb", "tpe": {"a": 2, "b": 4, "c": 2}, "array": {"m": 2, "n": 2}},
        "sram": {"act_kb": 4, "weight_kb": 1, "quant_channels": 0},
        "im2col": {"window": [4, 4]}}
SCNN = {**SCNN_PRESETS["scnn_2x2_small"][1], "name": "scnn_2x2_small"}

#: A network small enough for the suite: a padded 3×3, a pointwise layer, a grouped strided 3×3
#: (SCNN runs stride-1 'same' layers only: it skips the last).
NET = (ConvLayer("a", 6, 6, 8, 8, 3, 3, 1, 1), ConvLayer("b", 6, 6, 8, 4, 1, 1, 1, 0),
       ConvLayer("c", 6, 6, 8, 8, 3, 3, 2, 1, 2))
#: The accelerator's test network: ``NET`` and a tall layer larger than TINY's SRAMs at every
#: density (its input map needs 576 of a half's 512 words: two bands; at 4/4 its weights need
#: two groups too). Layer "a" is tiled at 4/4 (two groups: weights reload, outputs read back).
ACCEL_NET = NET + (ConvLayer("d", 36, 8, 8, 8, 3, 3, 1, 1),)


def _energies(cfg):
    """Seeded per-action energies (pJ) for every action of ``cfg``'s components."""
    hooks = model.hooks_of(cfg)
    cal_cfg, _ = hooks.calibration(cfg)
    rng = np.random.default_rng(SEED)
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
    (["sparsecore_small", "--network", "vgg16", "--model-only", "--energy"],
     "--energy: allowed with one layer (--conv or --layer, on the RTL or --model-only), not "
     "with --model or --network"),
    (["ccr_sparse_k_small", "--network", "vgg16", "--model-only", "--energy"],
     "--energy: not allowed with --network"),
    (["scnn_2x2_small_blox", "--network", "tiny", "--energy"],
     "--energy: not allowed for scnn_2x2_small_blox: Sparse-Blox designs have no energy model"),
])
def test_network_energy_refused_where_there_is_no_model(argv, message, priced, capsys):
    assert main(["run", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
