"""STA action counts of the energy model, against a naive per-MAC, per-step walk of the array.

The reference below follows each multiplier lane of every MAC unit through every step of a job,
looking up the activation it multiplies straight from the GEMM's matrices and the DBB encoding of
the weights, with none of the vectorised indexing of :mod:`sparseforge.sim.sta.actions`.
"""

import numpy as np
import pytest
from sparseforge.gen.sta.config import parse_sta
from sparseforge.sim.sta import dbb
from sparseforge.sim.sta import streams as sta_streams
from sparseforge.sim.sta.actions import operand_zero_lanes, sta_actions


def naive_zero_lanes(cfg, act, weights, nnz):
    """(lane-steps with a zero activation, with a zero weight and a non-zero activation)."""
    m, k = act.shape
    n = weights.shape[1]
    rows, cols, bz = cfg.tile_rows, cfg.tile_cols, cfg.block
    row_tiles, col_tiles = -(-m // rows), -(-n // cols)
    blocks = -(-k // bz)
    a = np.zeros((row_tiles * rows, blocks * bz), dtype=np.int64)
    a[:m, :k] = act
    w = np.zeros((blocks * bz, col_tiles * cols), dtype=np.int64)
    w[:k, :n] = weights
    zeros = zero_weights = 0
    for _tile_r in range(row_tiles):
        for tile_c in range(col_tiles):
            for b in range(blocks):
                for col in range(cols):
                    block_w = w[b * bz:(b + 1) * bz, tile_c * cols + col]
                    nonzero = [e for e in range(bz) if block_w[e] != 0]
                    # Per step of the block: (position, weight) of each lane; a slot without a
                    # non-zero selects position 0 and multiplies a zero weight.
                    if cfg.kind == "vdbb":
                        steps = [[(nonzero[s], block_w[nonzero[s]]) if s < len(nonzero)
                                  else (0, 0)] for s in range(nnz)]
                    elif cfg.kind == "dbb":
                        steps = [[(nonzero[lane], block_w[nonzero[lane]]) if lane < len(nonzero)
                                  else (0, 0) for lane in range(cfg.lanes)]]
                    else:
                        steps = [[(e, block_w[e]) for e in range(bz)]]
                    for lanes in steps:
                        for row in range(rows):
                            r = _tile_r * rows + row
                            for e, weight in lanes:
                                zeros += a[r, b * bz + e] == 0
                                zero_weights += a[r, b * bz + e] != 0 and weight == 0
    return int(zeros), int(zero_weights)


CONFIGS = [
    {"kind": "vdbb", "tpe": {"a": 2, "b": 8, "c": 2}, "array": {"m": 2, "n": 1}},
    {"kind": "dbb", "tpe": {"a": 1, "b": 4, "c": 3}, "array": {"m": 1, "n": 2}, "dbb_macs": 2},
    {"kind": "sta", "tpe": {"a": 2, "b": 3, "c": 1}, "array": {"m": 1, "n": 2}},
    {"kind": "sa", "array": {"m": 3, "n": 2}},
]


@pytest.mark.parametrize("raw", CONFIGS, ids=lambda raw: raw["kind"])
def test_zero_operand_lanes_match_a_naive_walk(raw):
    cfg = parse_sta({"arch": "sta", **raw}, "t")
    rng = np.random.default_rng(5)
    for m, k, n in [(5, 19, 7), (1, 1, 1), (cfg.tile_rows, cfg.block, cfg.tile_cols)]:
        nnz = max(1, cfg.max_nnz // 2)
        act = rng.integers(-3, 4, (m, k))
        weights = rng.integers(-5, 6, (k, n))
        if cfg.sparse:
            weights = dbb.prune(weights, nnz, cfg.block, axis=0)
        streams = sta_streams.engine_streams(cfg, act, weights, nnz)
        assert operand_zero_lanes(cfg, streams) == naive_zero_lanes(cfg, act, weights, nnz)


def test_gated_steps_are_the_gated_mac_cycles_of_gating_designs():
    cfg = parse_sta({"arch": "sta", "kind": "vdbb", "tpe": {"a": 2, "b": 8, "c": 4},
                     "array": {"m": 2, "n": 2}}, "t")
    rng = np.random.default_rng(9)
    act = rng.integers(-2, 3, (9, 40))
    weights = dbb.prune(rng.integers(-9, 10, (40, 11)), 3, 8, axis=0)
    streams = sta_streams.engine_streams(cfg, act, weights, 3)
    counts = sta_actions(cfg, streams, cycles=100, skew_bits=7)
    assert counts["gated_mac_step"] == sta_streams.gated_mac_cycles(cfg, streams)
    assert counts["zero_weight_step"] > 0          # blocks with fewer than 3 non-zeros


def test_counts_add_up():
    cfg = parse_sta({"arch": "sta", "kind": "dbb", "tpe": {"a": 2, "b": 4, "c": 2},
                     "array": {"m": 2, "n": 3}, "dbb_macs": 2}, "t")
    act = np.ones((10, 13), dtype=np.int64)
    weights = dbb.prune(np.arange(1, 13 * 7 + 1).reshape(13, 7), 2, 4, axis=0)
    streams = sta_streams.engine_streams(cfg, act, weights, 2)
    counts = sta_actions(cfg, streams, cycles=57, skew_bits=11)
    tiles, blocks = 3 * 2, 4          # ceil(10/4) × ceil(7/6) output tiles, ceil(13/4) blocks
    units = 2 * 3 * 2 * 2
    assert counts["mac_cycle"] == units * 57
    assert (counts["mac_step"] + counts["zero_weight_step"] + counts["gated_mac_step"] ==
            units * 2 * tiles * blocks)
    assert counts["operand_shift"] == 6 * tiles * blocks
    assert counts["drain_row"] == tiles * cfg.tile_rows
    assert counts["select_step"] == cfg.tile_cols * 2 * tiles * blocks
    assert counts["skew_bit_step"] == 11 * tiles * blocks and "act_load" not in counts
