"""Accumulator wrap is reached: the STA regression's designs include 24- and 32-bit accumulators
whose extreme-value jobs really wrap (the regression asserts it on the RTL; this checks, without
simulating, that the designs and the K the regression picks are the ones that do)."""

import pytest
from sparseforge.gen import registry
from sparseforge.gen.config import parse_config
from sparseforge.sim.gemm import gemm
from sparseforge.sim.sta import dbb
from sparseforge.tb.sta.cases import WRAP_STEPS, wrap_k


def sta(kind, a, b, c, **widths):
    tpe = {} if kind == "sa" else {"tpe": {"a": a, "b": b, "c": c}}
    return parse_config({"arch": "sta", "kind": kind, **tpe, "array": {"m": 1, "n": 1},
                         "widths": widths})


@pytest.mark.parametrize("cfg, k", [
    # 2^23 / (128·128) = 512 products reach 2^23 exactly, the 24-bit maximum is 2^23 − 1: 513.
    (sta("sa", 1, 1, 1, acc=24), 513),
    # 16-bit minima: 2^30 per product, the third passes 2^31 − 1.
    (sta("sta", 1, 3, 1, act=16, weight=16, acc=32), 3),
    # 18 bits: 2^17 / 2^14 = 8, so 9 products; B = 4 → three whole blocks.
    (sta("sta", 1, 4, 1, acc=18), 12),
    # VDBB, B = 6 at full density: 513 products in 86 blocks of 6 steps (516 ≤ the budget).
    (sta("vdbb", 1, 6, 1, acc=24), 516),
    # INT8 into 32 bits needs 131,073 products: beyond the budget.
    (sta("sa", 1, 1, 1, acc=32), None),
])
def test_wrap_k_by_hand(cfg, k):
    assert wrap_k(cfg) == k


def designs():
    arch = registry.get("sta")
    return {name: parse_config({**raw, "name": name})
            for name, (raw, _sims) in arch.regression_designs.items()}


def test_24_and_32_bit_regression_designs_wrap():
    wrapping = {cfg.acc_width for cfg in designs().values() if wrap_k(cfg) is not None}
    assert {24, 32} <= wrapping, f"accumulator widths that wrap in the regression: {wrapping}"


@pytest.mark.parametrize("name", sorted(designs()))
def test_min_times_min_at_wrap_k_leaves_the_range(name):
    """The regression's min × min job at K = wrap_k: its exact sums exceed the accumulator's
    largest value, and the golden model wraps them to negative numbers."""
    cfg = designs()[name]
    k = wrap_k(cfg)
    if k is None:
        assert cfg.acc_width == 32 and cfg.act_width == cfg.weight_width == 8
        return
    assert -(-k // cfg.block) * cfg.steps_per_block(cfg.max_nnz) <= WRAP_STEPS
    lo_a, lo_w = -(1 << (cfg.act_width - 1)), -(1 << (cfg.weight_width - 1))
    weights = [[lo_w] * 2 for _ in range(k)]
    if cfg.max_nnz < cfg.block:
        weights = dbb.prune(weights, cfg.max_nnz, cfg.block).tolist()
    terms = sum(1 for row in weights if row[0])
    exact = terms * lo_a * lo_w
    assert exact > (1 << (cfg.acc_width - 1)) - 1
    assert gemm([[lo_a] * k], weights, cfg.acc_width)[0, 0] < 0
