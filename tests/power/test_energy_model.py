"""The energy model's pieces (fit, prediction, attribution, job windows) and ``sparseforge power``.

The fit is checked on synthetic runs made from known energies; the one gate-level design run here
(``sa_1x1``, a single MAC, about 20 s from a cold cache) checks that the RTL, the netlist and the
cycle model agree on the job and that the model's action counts equal what the RTL simulation
probed (handshakes and the gated MAC-cycle counter).
"""

import json

import numpy as np
import pytest
from sparseforge.gen.cli import main
from sparseforge.gen.power.activity import PortTrace
from sparseforge.gen.power.job import component_of, stream_window
from sparseforge.gen.power.model import fit_component, predict


def test_fit_recovers_known_energies():
    rng = np.random.default_rng(3)
    counts = rng.integers(10, 1000, (6, 3)).astype(float)
    energies = np.array([0.5, 2.0, 0.0])
    got = fit_component(counts, counts @ energies)
    assert got == pytest.approx(energies, abs=1e-9)


def test_fit_never_returns_negative_energies():
    counts = np.array([[10, 1], [20, 1], [30, 1]], dtype=float)
    targets = np.array([5.0, 9.0, 13.0])           # 0.4·x + 1 fits; force a test of the bound
    got = fit_component(counts, targets - 2.0)     # the unconstrained intercept is -1
    assert np.all(got >= 0)
    assert fit_component(np.zeros((3, 2)), np.ones(3)) == pytest.approx([0, 0])


def test_predict_sums_components():
    energies = {"mac": {"mac_step": 2.0, "mac_cycle": 0.5}, "top": {"top_cycle": 1.0}}
    total, parts = predict(energies, {"mac_step": 10, "mac_cycle": 4, "top_cycle": 3,
                                      "unused": 99})
    assert parts == {"mac": 22.0, "top": 3.0} and total == 25.0


def test_cells_go_to_the_first_matching_component():
    components = {"mac": ("array.tpe_*.mac_*",), "tpe": ("array.tpe_*",), "drain": ("drain",)}
    assert component_of(("array", "tpe_1_0", "mac_0_1"), components) == "mac"
    assert component_of(("array", "tpe_1_0"), components) == "tpe"
    assert component_of(("drain",), components) == "drain"
    assert component_of(("array",), components) == "top"
    assert component_of((), components) == "top"


def test_job_window_runs_from_first_input_to_last_output_handshake():
    n = 12
    values = {
        "a__valid": [0, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0],
        "a__ready": [1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1],
        "r__valid": [0, 0, 0, 0, 0, 1, 1, 0, 1, 0, 0, 0],
        "r__ready": [1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1],
    }
    trace = PortTrace(list(range(n)), values, {k: [False] * n for k in values})
    assert stream_window(trace, ("a",), ("r",)) == (3, 6)       # cycles 3 .. 8
    assert stream_window(trace, ("a",), ("r",), start=9) is None


def test_power_refuses_an_architecture_without_hooks(capsys):
    # Every built-in architecture has hooks: the test-only one (tests/dotarch) has none.
    from sparseforge.gen import registry
    from tests.dotarch import ARCH

    registry.register(ARCH)
    try:
        assert main(["power", "dot4"]) == 2
    finally:
        registry.unregister(ARCH.name)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no power hooks" in err


def test_power_refuses_bad_window(capsys):
    assert main(["power", "sa_1x1", "--gemm", "2,4,2", "--cycles", "0"]) == 2
    assert "--cycles: 0 is not allowed" in capsys.readouterr().err


def test_power_runs_on_icarus_only(capsys):
    assert main(["power", "sa_1x1", "--gemm", "2,4,2", "--sim", "verilator"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--sim: verilator is not allowed with power" in err


def test_power_of_one_mac_agrees_with_rtl_and_model(capsys):
    assert main(["power", "sa_1x1", "--gemm", "2,9,3", "--act-density", "0.5", "--json",
                 "--seed", "4"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["cycles"] == report["model_cycles"]
    assert report["gate_level_mismatches"] == 0 and report["gate_level_checked"] > 0
    for action, count in report["probed_actions"].items():
        assert report["actions"][action] == count, action
    assert set(report["probed_actions"]) == {"operand_shift", "drain_row", "gated_mac_step"}
    assert report["clock_gated_flops"] == 32          # the MAC's 32-bit accumulator
    assert sum(report["energy_by_component"].values()) == pytest.approx(report["energy_pj"])
    assert sum(report["by_category"].values()) == pytest.approx(report["energy_pj"])
    assert report["tops_per_w"] == pytest.approx(2 * 2 * 9 * 3 / report["energy_pj"])
