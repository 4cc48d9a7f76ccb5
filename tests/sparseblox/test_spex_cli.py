"""``sparseforge spex`` (Hotfilter et al., III-A): bad input, and a tiny search on the digits CNN
whose files are checked against the golden network."""

import csv
import json

import pytest

from sparseforge.gen.cli import main
from sparseforge.sim.network import data, quantize, train
from sparseforge.sim.sparseblox.spex import load_thresholds


@pytest.mark.parametrize("args, message", [
    (("--model", "lenet"), "--model: 'lenet' is not allowed; expected one of digits_cnn"),
    (("--form", "rows"), "--form: 'rows' is not allowed; expected map, im2col or scnn"),
    (("--form", "scnn"), "--form scnn: accel_small (arch accel) is not an SCNN config"),
    (("--population", "1"), "--population: 1 is not allowed; expected an integer of at least 2"),
    (("--generations", "0"), "--generations: 0 is not allowed"),
    (("--limit", "0"), "--limit: 0 is not allowed; expected a threshold above 0"),
    (("--min-accuracy", "98"), "--min-accuracy: 98 is not allowed; expected 0 to 1"),
    (("--workers", "0"), "--workers: 0 is not allowed"),
    (("--config", "scnn_digits"), "--config: scnn_digits (arch scnn) has no output tiles"),
    (("--config", "scnn_digits_blox", "--form", "scnn", "--limit", "1e9"),
     "--limit: 1e+09 is not allowed; expected a threshold above 0 and at most"),
    (("--config", "nope.yaml"), "config: 'nope.yaml' does not exist"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, capsys, tmp_path):
    assert main(["spex", "-o", str(tmp_path / "o"), *args]) == 2
    out, err = capsys.readouterr()
    assert err.startswith(f"sparseforge: error: {message}")
    assert err.count("\n") == 1 and not out


def test_tiny_search_writes_front_plot_and_thresholds(capsys, tmp_path):
    out = tmp_path / "spex"
    assert main(["spex", "--population", "3", "--generations", "2", "--limit", "8",
                 "-o", str(out)]) == 0
    stdout, err = capsys.readouterr()
    assert "generation 1/2 done" in err and "unpruned accuracy" in stdout
    doc = json.loads((out / "front.json").read_text())
    digits = data.load()
    golden = quantize.accuracy(train.load_trained()[0], digits.test_x, digits.test_y)
    assert doc["baseline_accuracy"] == golden
    assert doc["layers"] == ["conv1", "conv2", "conv3", "conv4"]
    # accel_small (tile 8 pixels × B = 8): 3×3 layers take the 2×4 patch (4×6 window, fewer
    # words than 1×8's 3×10), the 1×1 layer 1×8 (equal windows, fewer rows). Per image: 16×8×8
    # → 2·4·2, 32×8×8 → 4·4·2, 32×4×4 → 4·2·1, and 64×2×2 in 1×8 patches → 8·2·1 (one partial
    # tile per row).
    assert {e["total"] for e in doc["evaluations"]} == {450 * (16 + 32 + 8 + 16)}
    base = next(e for e in doc["evaluations"] if not any(e["raw"].values()))
    assert base["created"] == 0 and base["accuracy"] == golden
    assert len(doc["evaluations"]) >= 3
    with open(out / "front.csv") as f:
        assert len(list(csv.DictReader(f))) == len(doc["front"])
    assert (out / "front.png").stat().st_size > 1000
    fmt, raw = load_thresholds(out / "thresholds.json")
    chosen = [e for e in doc["front"] if e["accuracy"] >= golden - 0.01]
    best = max(chosen, key=lambda e: (e["created"], e["accuracy"]))
    assert fmt.name == "Q8.8" and raw == best["raw"]


def test_json_report(capsys, tmp_path):
    assert main(["spex", "--population", "2", "--generations", "1", "--form", "im2col",
                 "--json", "-o", str(tmp_path)]) == 0
    stdout, err = capsys.readouterr()
    doc = json.loads(stdout)
    assert not err and doc["form"] == "im2col"
    assert doc["blocks"] == [[8, 8]] * 4
    chosen = doc["chosen"]
    assert chosen["accuracy"] >= doc["baseline_accuracy"] - 0.01
    assert chosen["blocks_created"] == max(
        e["created"] for e in doc["front"] if e["accuracy"] >= doc["baseline_accuracy"] - 0.01)
