"""The CCR accelerator (dense, SparseK) under Amaranth's simulator: bit-exact against the golden
layer, cycles (counted from ``busy`` outside the design) equal to the cycle model, counters equal
to the model's counts (CCR, Sec. IV; worked example of Fig. 3)."""

import numpy as np
import pytest

from sparseforge.gen.ccr.config import parse_ccr
from sparseforge.gen.ccr.presets import CCR_PRESETS
from sparseforge.sim.ccr import cycles, examples, layer
from sparseforge.tb.ccr.pysim import simulate_layer

SEED = 4242


def _cfg(variant, **extra):
    raw = dict(CCR_PRESETS[f"ccr_{variant}_small"][1])
    raw.update(extra)
    return parse_ccr(raw, f"ccr_{variant}_t")


def _check(cfg, x, w, win, **kw):
    run = simulate_layer(cfg, x, w, win, **kw)
    assert np.array_equal(run.out, layer.golden(x, w, win, cfg.acc_width))
    model = cycles.layer_cycles(cfg.variant, cfg.px, cfg.py, x, w, win)
    assert run.cycles == [p.cycles for p in model.passes]
    assert [r["cycles"] for r in run.registers] == run.cycles
    assert [r["macs"] for r in run.registers] == [p.macs_performed for p in model.passes]
    # PU steps: one CCU coordinate each in SparseK; every issue cycle in the dense design.
    steps = [p.ccu_coordinates if cfg.variant == "sparse_k" else p.issue for p in model.passes]
    assert [r["steps"] for r in run.registers] == steps
    return run, model


def _operands(rng, c, h, w, k, r, s, wd=1.0, ad=1.0, lo=-128, hi=128):
    x = rng.integers(lo, hi, (c, h, w)) * (rng.random((c, h, w)) < ad)
    wt = rng.integers(lo, hi, (k, c, r, s)) * (rng.random((k, c, r, s)) < wd)
    return x, wt


# (mode, stride, r, weight density, act density, shape (c, h, w, k))
CASES = [
    ("same", 1, 3, 0.5, 1.0, (2, 5, 4, 2)),
    ("full", 1, 3, 0.3, 0.7, (1, 3, 5, 2)),
    ("valid", 1, 5, 0.2, 1.0, (2, 6, 7, 1)),
    ("same", 1, 1, 1.0, 1.0, (3, 3, 3, 2)),
    ("same", 2, 3, 0.5, 1.0, (2, 7, 6, 2)),
    ("valid", 2, 5, 0.05, 1.0, (3, 9, 8, 2)),
    ("full", 2, 1, 1.0, 0.5, (1, 5, 5, 1)),
    ("same", 1, 3, 0.0, 1.0, (2, 4, 4, 2)),     # all-zero kernels
    ("same", 1, 3, 0.6, 0.0, (2, 4, 4, 1)),     # all-zero input map
]


@pytest.mark.parametrize("variant", ["dense", "sparse_k"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_layer_bit_and_cycle_exact(variant, case):
    mode, stride, r, wd, ad, (c, h, w, k) = CASES[case]
    rng = np.random.default_rng(SEED + case)
    print("seed", SEED + case)
    x, wt = _operands(rng, c, h, w, k, r, r, wd, ad)
    win = layer.window(h, w, r, r, mode=mode, stride=stride)
    _check(_cfg(variant), x, wt, win, pause=0.2 if case % 2 else 0.0,
           backpressure=0.3 if case % 3 == 0 else 0.0, seed=case)


@pytest.mark.parametrize("variant", ["dense", "sparse_k"])
def test_odd_pu_and_accumulator_wrap(variant):
    """A 4×2 PU, a 16-bit accumulator and −128 × −128 everywhere: every sum wraps."""
    cfg = _cfg(variant, pu={"x": 4, "y": 2}, widths={"acc": 16})
    x = np.full((3, 5, 3), -128)
    wt = np.full((2, 3, 3, 3), -128)
    wt[1, 1, 0, 2] = 127
    _check(cfg, x, wt, layer.window(5, 3, 3, 3, mode="same"))


def test_fig3_on_the_rtl():
    """Fig. 3 on SparseK: 80 MACs where the dense design performs 144, same outputs."""
    ex = examples.fig3()
    x, wt = ex.imap[None], ex.kernel[None, None]
    win = layer.window(4, 4, 3, 3, mode="full")
    runs = {v: _check(_cfg(v), x, wt, win)[0] for v in ("dense", "sparse_k")}
    assert runs["dense"].registers[0]["macs"] == ex.macs_dense == 144
    assert runs["sparse_k"].registers[0]["macs"] == ex.macs_effective == 80
