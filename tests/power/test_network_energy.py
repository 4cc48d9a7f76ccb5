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
    """One network layer's counts on the accelerator, from the plan and simulation models."""
    from sparseforge.gen.accel.run import prepare_layer
    from sparseforge.gen.sta.energy import skew_bits
    from sparseforge.sim.accel import cycles, plan as accel_plan
    from sparseforge.sim.accel.actions import layer_actions

    cpg = layer.c // layer.groups
    plan = accel_plan.plan_layer(cfg, layer.h, layer.w, cpg, layer.k // layer.groups, layer.r,
                                 layer.s, layer.stride, layer.pad, min(nnz, cpg),
                                 check_sram=False)
    x, w = prepare_layer(cfg, plan, act_density=act_density, seed=SEED)
    counts = layer_actions(plan, x, w, cycles.layer_cycles(plan), int8_out=True,
                           skew_bits=skew_bits(cfg.array))
    return {action: n * layer.groups for action, n in counts.items()}


def test_accel_network_energy_is_its_layers_counts_times_their_energies(priced, capsys,
                                                                        tmp_path):
    cfg = parse_config(TINY)
    report = _run(capsys, _config(tmp_path, TINY), "--network", "tiny", "--nnz", "2",
                  "--act-density", "0.6", "--seed", str(SEED), "--energy")
    rows = {row["layer"]: row for row in report["layers"]}
    total = base_total = 0.0
    for layer in NET:
        want = _price(cfg, _accel_layer_counts(cfg, layer, 2, 0.6))
        base = _price(cfg, _accel_layer_counts(cfg, layer, 4, 0.6))
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
    assert report["ops"] == 2 * sum(layer.macs for layer in NET)
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
            # Priced as one pass: a layer larger than the SRAMs, whose cycles count its time
            # tiles and their reloads on the accelerator (layer "a" at 4/4 on TINY's 512-byte
            # weight halves), is priced at one job's cycles.
            if a.get("time_tiles", 1) == 1:
                assert b["baseline_cycles"] == a["model_cycles"]
            else:
                assert b["baseline_cycles"] < a["model_cycles"]
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
