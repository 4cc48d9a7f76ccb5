"""The CCR accelerator, all four designs of Table I, under Amaranth's simulator: bit-exact against
the golden layer, cycles (counted from ``busy`` outside the design) equal to the cycle model,
every statistics register equal to the model's count (CCR, Sec. IV; worked examples of Fig. 3,
4 and 5 with the MAC counts the paper gives)."""

import numpy as np
import pytest

from sparseforge.gen.ccr.config import parse_ccr
from sparseforge.gen.ccr.presets import CCR_PRESETS
from sparseforge.sim.ccr import cycles, examples, layer
from sparseforge.sim.ccr.cycles import STATISTICS
from sparseforge.tb.ccr.cases import CASES, random_layer
from sparseforge.tb.ccr.pysim import simulate_layer

SEED = 4242
VARIANTS = ["dense", "sparse_k", "sparse_i", "sparse_ki"]


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
    for name, attr in STATISTICS.items():
        assert [r[name] for r in run.registers] == [getattr(p, attr) for p in model.passes], name
    return run, model


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("case", [0, 1, 2, 4, 6])
def test_layer_bit_and_cycle_exact(variant, case):
    """'full', 'same' and 'valid'; 1×1, 3×3 and 5×5; stride 1 and 2; idle cycles on the input
    streams and back-pressure on the output in alternate cases."""
    mode, stride, r, wd, ad, (c, h, w, k) = CASES[case]
    cfg = _cfg(variant)
    rng = np.random.default_rng(SEED + case)
    print("seed", SEED + case)
    x, wt = random_layer(cfg, rng, c, h, w, k, r, r, wd, ad)
    win = layer.window(h, w, r, r, mode=mode, stride=stride)
    _check(cfg, x, wt, win, pause=0.2 if case % 2 else 0.0,
           backpressure=0.3 if case % 4 == 0 else 0.0, seed=case)


@pytest.mark.parametrize("variant", VARIANTS)
def test_zero_kernels_channels_and_maps(variant):
    """All-zero kernels, an all-zero map, and a layer with a zero channel and a zero kernel:
    each empty kernel or channel costs the one cycle the model says, no step."""
    cfg = _cfg(variant)
    rng = np.random.default_rng(SEED)
    win = layer.window(4, 3, 3, 3, mode="same")
    x, wt = random_layer(cfg, rng, 2, 4, 3, 2, 3, 3, 0.6, 0.6)
    holes_x, holes_w = x.copy(), wt.copy()
    holes_x[1] = 0
    holes_w[1, 0] = 0
    for xs, ws in ((x, np.zeros_like(wt)), (np.zeros_like(x), wt), (holes_x, holes_w)):
        _check(cfg, xs, ws, win)


@pytest.mark.parametrize("variant", VARIANTS)
def test_odd_pu_and_accumulator_wrap(variant):
    """A 4×2 PU, a 16-bit accumulator and −128 × −128 everywhere: every sum wraps."""
    cfg = _cfg(variant, pu={"x": 4, "y": 2}, widths={"acc": 16})
    x = np.full((3, 5, 3), -128)
    wt = np.full((2, 3, 3, 3), -128)
    wt[1, 1, 0, 2] = 127
    _check(cfg, x, wt, layer.window(5, 3, 3, 3, mode="same"))


@pytest.mark.parametrize("variant, example", [("dense", "fig3"), ("sparse_k", "fig3"),
                                              ("sparse_i", "fig4"), ("sparse_ki", "fig5")])
def test_worked_examples_on_the_rtl(variant, example):
    """Fig. 3 on the dense design (144 MACs) and SparseK (80), Fig. 4 on SparseI (324 → 90),
    Fig. 5 on SparseKI (144 → 40): the MAC counter holds the paper's count, outputs exact."""
    ex = examples.EXAMPLES[example]()
    h, w = ex.imap.shape
    r, s = ex.kernel.shape
    run, _ = _check(_cfg(variant), ex.imap[None], ex.kernel[None, None],
                    layer.window(h, w, r, s, mode="full"))
    want = ex.macs_dense if variant == "dense" else ex.macs_effective
    assert run.registers[0]["macs"] == want


def test_sparse_ki_stalls_on_bank_conflicts():
    """One input and four weights two rows and columns apart on a 2×2 PU: two weight vectors,
    each pair's two products in one bank (same row and column parity), so the PU stalls one
    cycle per pair, and every product still lands exactly once."""
    cfg = _cfg("sparse_ki")
    x = np.zeros((1, 6, 6), dtype=np.int64)
    x[0, 4, 4] = 3
    wt = np.zeros((1, 1, 5, 5), dtype=np.int64)
    wt[0, 0, 0, 0], wt[0, 0, 0, 2], wt[0, 0, 2, 0], wt[0, 0, 2, 2] = 1, -2, 5, 7
    run, model = _check(cfg, x, wt, layer.window(6, 6, 5, 5, mode="full"))
    assert run.registers[0]["stalls"] == model.bank_conflict_stalls == 2
