"""Spex (Hotfilter et al., III-A): NSGA-II over per-layer thresholds, on a tiny synthetic INT8 CNN
built here (the trained digits network plugs into the same ``evaluate`` interface)."""

import csv
import json

import numpy as np
import pytest

from sparseforge.sim.conv import conv2d, requantize
from sparseforge.sim.sparseblox import Consumer, prune_im2col
from sparseforge.sim.sparseblox.spex import (
    Evaluation, SpexOptions, load_thresholds, pareto_front, plot_front, run_spex,
    save_thresholds, threshold_grid, write_front_csv, write_front_json)

SEED = 7


class TinyNet:
    """conv 3×3 (1→4) → ReLU → [prune] conv 3×3 (4→4) → ReLU → [prune] FC (4·6·6 → 5).

    Labels are the unpruned network's own predictions with a fifth of them replaced, so the
    unpruned accuracy is known without running the network (the share not replaced).
    Pruning is the authors' form: 4×4 blocks of each consumer's IM2COL matrix.
    """

    def __init__(self, seed=SEED, images=24):
        rng = np.random.default_rng(seed)
        self.x = rng.integers(0, 128, size=(images, 1, 8, 8))
        self.w1 = rng.integers(-40, 41, size=(4, 1, 3, 3))
        self.w2 = rng.integers(-30, 31, size=(4, 4, 3, 3))
        self.w3 = rng.integers(-30, 31, size=(5, 4 * 6 * 6))
        clean = np.array([self.predict(img, (0, 0))[0] for img in self.x])
        flip = rng.random(images) < 0.2
        self.labels = np.where(flip, (clean + 1) % 5, clean)
        self.baseline = float((~flip).mean())

    def predict(self, img, raw):
        created = total = 0
        a = requantize(conv2d(img, self.w1, pad=1), 6, relu=True)                # 4×8×8
        p = prune_im2col(a, Consumer(4, 3, 3), (4, 4), raw[0])
        created, total = created + p.counts.blocks_pruned, total + p.counts.blocks_total
        acc = (p.data @ self.w2.reshape(4, -1).T).T.reshape(4, 6, 6)
        a = requantize(acc, 7, relu=True)
        p = prune_im2col(a, Consumer(5, 6, 6), (1, 4), raw[1])                  # FC: one row
        created, total = created + p.counts.blocks_pruned, total + p.counts.blocks_total
        return int(np.argmax(p.data[0] @ self.w3.T)), created, total

    def __call__(self, raw):
        out = [self.predict(img, raw) for img in self.x]
        acc = float(np.mean([o[0] == y for o, y in zip(out, self.labels)]))
        return acc, sum(o[1] for o in out), sum(o[2] for o in out)


def test_threshold_grid_is_linear_in_fixed_point():
    assert threshold_grid(2.0, 4) == [0, 128, 256, 384, 512]
    assert len(threshold_grid(10.0, 100)) == 101 and threshold_grid(10.0, 100)[1] == 26  # 25.6


def test_pareto_front_by_hand():
    def ev(acc, created):
        return Evaluation((created,), (created,), acc, created, 100, 0)
    evals = [ev(0.9, 0), ev(0.9, 5), ev(0.8, 10), ev(0.85, 8), ev(0.8, 9), ev(0.7, 10),
             ev(0.9, 5)]
    assert [(e.accuracy, e.created) for e in pareto_front(evals)] == \
        [(0.9, 5), (0.85, 8), (0.8, 10)]
    assert [(e.accuracy, e.created) for e in pareto_front(evals, min_accuracy=0.82)] == \
        [(0.9, 5), (0.85, 8)]


def test_options_reject_bad_values():
    with pytest.raises(ValueError, match="pop_size must be an integer of at least 2, not 1"):
        SpexOptions(limit=4.0, pop_size=1)
    with pytest.raises(ValueError, match="outside Q8.8"):
        SpexOptions(limit=300.0)
    with pytest.raises(ValueError, match="minimum accuracy must be from 0 to 1, not 80"):
        SpexOptions(limit=4.0, min_accuracy=80)


@pytest.fixture(scope="module")
def net():
    return TinyNet()


@pytest.fixture(scope="module")
def result(net):
    seen = []
    res = run_spex(net, ["conv2", "fc"], SpexOptions(limit=40.0, pop_size=6, generations=4,
                                                     seed=SEED),
                   progress=lambda g, n, e: seen.append((g, n)))
    res.progress_seen = seen
    return res


def test_spex_search_is_honest(net, result):
    evals = result.evaluations
    # Each individual's objectives are what the network gives for its thresholds.
    for e in evals[:5] + evals[-3:]:
        assert (e.accuracy, e.created, e.total) == net(e.raw)
    grid = threshold_grid(40.0, 100)
    assert all(e.raw == tuple(grid[g] for g in e.genes) for e in evals)
    assert len({e.genes for e in evals}) == len(evals)             # each genome evaluated once
    # The unpruned individual is in the first population and prunes nothing.
    assert result.baseline.generation == 0 and result.baseline.created == 0
    assert result.baseline.accuracy == pytest.approx(net.baseline)
    # The search found blocks to create; the front is non-dominated among all evaluated.
    assert max(e.created for e in evals) > 0
    for f in result.front:
        assert not any(o.accuracy >= f.accuracy and o.created > f.created or
                       o.accuracy > f.accuracy and o.created >= f.created for o in evals)
    # Progress was reported once per new individual, generations 0 … 3.
    assert [n for _, n in result.progress_seen] == list(range(1, len(evals) + 1))
    assert {g for g, _ in result.progress_seen} == {0, 1, 2, 3}


def test_spex_minimum_accuracy_and_workers(net, result):
    floor = result.baseline.accuracy - 0.1
    opts = SpexOptions(limit=40.0, pop_size=6, generations=4, seed=SEED, min_accuracy=floor)
    serial = run_spex(net, ["conv2", "fc"], opts)
    assert all(e.accuracy >= floor for e in serial.front)
    parallel = run_spex(net, ["conv2", "fc"], SpexOptions(**{**opts.__dict__, "workers": 2}))
    assert [(e.genes, e.accuracy, e.created) for e in parallel.evaluations] == \
        [(e.genes, e.accuracy, e.created) for e in serial.evaluations]


def test_spex_outputs(result, tmp_path):
    write_front_json(result, tmp_path / "front.json")
    doc = json.loads((tmp_path / "front.json").read_text())
    assert len(doc["front"]) == len(result.front) and doc["layers"] == ["conv2", "fc"]
    write_front_csv(result, tmp_path / "front.csv")
    with open(tmp_path / "front.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["created"]) for r in rows] == [e.created for e in result.front]
    best = result.best_within(0.05)
    save_thresholds(tmp_path / "t.json", result.layers, best.raw)
    fmt, loaded = load_thresholds(tmp_path / "t.json")
    assert fmt.name == "Q8.8" and loaded == dict(zip(result.layers, best.raw))
    plot_front(result, tmp_path / "front.png", title="TinyNet")
    assert (tmp_path / "front.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("text, match", [
    ("[1]", "expected an object with a 'layers' list"),
    ('{"layers": [{"layer": "a"}]}', r"layers\[0\] needs 'layer' and 'raw'"),
    ('{"layers": [{"layer": "a", "raw": 70000}]}', r"layers\[0\].raw: .*not 70000"),
    ('{"format": "Q8", "layers": []}', "written Q<int>.<frac>"),
])
def test_thresholds_file_errors(tmp_path, text, match):
    (tmp_path / "t.json").write_text(text)
    with pytest.raises(ValueError, match=match):
        load_thresholds(tmp_path / "t.json")
