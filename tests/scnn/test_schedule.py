"""The computing part of an SCNN layer with streamed weights (:mod:`sparseforge.sim.scnn.schedule`):
hand-worked timelines of the weight FIFO's rules (keeping and dropping blocks, broadcast stalls,
rows freed by the last activation row), the refusal of a block larger than the FIFO, and the
vectorized simulation against the plain per-PE reference on random designs and layers.
"""

import dataclasses
import random

import numpy as np
import pytest
from sparseforge.gen.config import parse_config
from sparseforge.gen.scnn.run import ram_problem
from sparseforge.sim.scnn import streams as scnn_streams
from sparseforge.sim.scnn.schedule import naive_compute, pe_blocks, simulate_compute
from sparseforge.tb.scnn.cases import random_layer


def tiny(pes=(1, 1), weights=1, **extra):
    """F = I = 1, a 2×1 tile, 1×1 kernels, one output channel per group."""
    raw = {"arch": "scnn", "pes": {"x": pes[0], "y": pes[1]},
           "pe": {"f": 1, "i": 1, "banks": 2, "queue_depth": 2}, "kc": 1,
           "tile": {"w": 2, "h": 1}, "kernel_max": 1,
           "rams": {"iaram": 8, "oaram": 8, "weights": weights, "out_channels": 4}}
    raw.update(extra)
    return parse_config(raw)


def test_one_row_fifo_stalls_the_broadcast_until_the_last_activation_row():
    """One PE, a FIFO of one row; channel 0 has two activation rows, channel 1 one; both weight
    blocks one row. Worked out from the rules: cycle 0 takes (0, 0)'s beat; 1 is the step that
    takes it; 2 and 3 issue its slots, the second (its last activation row) freeing the row at
    the end of 3, so (0, 1)'s beat waits in 1, 2, 3 (three weight stalls) and is taken in 4; 4
    and 5 issue bubbles, 5 takes (0, 1), 6 issues its slot and ends the group (the broadcast has
    passed it). The slot of 6 reaches the crossbar in 8, its product leaves its queue in 9: the
    PE computes in 1 … 9, the barrier is 10."""
    cfg = tiny()
    act = np.array([[[1, 1]], [[1, 0]]])
    weights = np.array([[[[1]], [[1]]]])
    run = simulate_compute(cfg, scnn_streams.layer_streams(cfg, act, weights))
    assert run.group_start == [0]
    assert run.weight_stall_cycles == 3
    assert run.group_barrier == [10] and run.group_launch == [10]
    assert run.group_end.tolist() == [[10]]
    assert run.compute_cycles == 9 and run.barrier_cycles == 0
    assert run.slots == 5 and run.products == 3 and run.stall_cycles == 0


def test_a_pe_without_activations_in_a_channel_drops_its_block_without_a_row():
    """Two PEs; PE 1 has no activations in channel 0 and none at all in channel 1, PE 0 none in
    channel 2; weight block (0, 3) is empty. Each PE keeps exactly the blocks with weights and
    its activations; with a one-row FIFO the broadcast never waits for a PE that drops the
    pending block: PE 1 keeps only (0, 2), so blocks (0, 0) and (0, 1) pass while its FIFO
    would be busy."""
    cfg = tiny(pes=(2, 1))
    act = np.zeros((4, 1, 4), dtype=int)
    act[0, 0, :2] = [1, 2]                      # PE 0 only
    act[1, 0, :2] = [3, 0]                      # PE 0 only
    act[2, 0, 2:] = [4, 5]                      # PE 1 only
    act[3] = 6                                  # both, but its weight block is empty
    weights = np.array([[[[1]], [[2]], [[3]], [[0]]]])
    streams = scnn_streams.layer_streams(cfg, act, weights)
    kept = pe_blocks(cfg, streams)
    assert [[b.number for b in blocks] for blocks in kept] == [[0, 1], [2]]
    run = simulate_compute(cfg, streams)
    # PE 0 alone: (0, 0) taken in 0, its two slots in 2, 3 free the row; (0, 1) waits 1 … 3.
    # (0, 2) (PE 1, whose FIFO is empty) is taken in 5, right after (0, 1) in 4; (0, 3) in 6.
    assert run.weight_stall_cycles == 3
    _assert_same(run, naive_compute(cfg, streams))


def test_a_block_larger_than_the_fifo_is_refused_by_name():
    """``ram_problem`` names the first weight block the FIFO cannot hold, its rows and the
    FIFO's; the layer's total weights do not matter."""
    cfg = tiny(weights=2)
    act = np.ones((2, 1, 2), dtype=int)
    weights = np.ones((3, 2, 1, 1), dtype=int)                  # 3 groups × 2 one-row blocks
    assert ram_problem(cfg, scnn_streams.layer_streams(cfg, act, weights))[1] is None
    cfg = parse_config({**tiny().to_dict(), "kc": 3, "rams": {**tiny().to_dict()["rams"],
                                                              "weights": 2}})
    problem = ram_problem(cfg, scnn_streams.layer_streams(cfg, act, weights))[1]
    assert problem == ("layer: weight block (g, c) = (0, 0) needs 3 rows of the weight FIFO "
                       "(3 entries); rams.weights = 2 holds 2 rows (of pe.f = 1)")


def _assert_same(fast, plain, label=None):
    for name, value in dataclasses.asdict(plain).items():
        assert np.array_equal(getattr(fast, name), value), (label, name)


def _random_design(rng, index):
    f, i = rng.randint(1, 3), rng.randint(1, 3)
    kmax = rng.choice([1, 3])
    tw, th = rng.randint(max(1, kmax // 2), 3), rng.randint(max(1, kmax // 2), 3)
    kc = rng.randint(1, 3)
    block = -(-kc * kmax * kmax // f)
    return parse_config({
        "arch": "scnn", "name": f"s{index}",
        "pes": {"x": rng.randint(1, 3), "y": rng.randint(1, 2)},
        "pe": {"f": f, "i": i, "queue_depth": rng.randint(2, 3)}, "kc": kc,
        "tile": {"w": tw, "h": th}, "kernel_max": kmax,
        "rams": {"iaram": 64 * i, "oaram": 64 * i,
                 "weights": f * rng.choice([1, max(1, block // 2), block, block + 3]),
                 "out_channels": 16}})


def test_vectorized_simulation_equals_the_plain_reference():
    """Random designs (FIFOs from one row to more than a dense block: blocks larger than the FIFO
    are dropped by both) and layers: every figure of :func:`simulate_compute` equals
    :func:`naive_compute`'s."""
    seed = random.randrange(1 << 30)
    print(f"seed {seed}")
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    for index in range(40):
        cfg = _random_design(rng, index)
        side = rng.choice(range(1, cfg.kernel_max + 1, 2))
        act, weights = random_layer(cfg, nrng, rng.randint(1, cfg.max_h), rng.randint(1, cfg.max_w),
                                    rng.randint(1, 4), rng.randint(1, 7), side, side,
                                    rng.choice([0.2, 0.5, 1.0]), rng.choice([0.2, 0.6, 1.0]))
        streams = scnn_streams.layer_streams(cfg, act, weights)
        _assert_same(simulate_compute(cfg, streams), naive_compute(cfg, streams),
                     (seed, index))


@pytest.mark.parametrize("weights", [2, 40])
def test_every_block_completes_with_a_one_block_fifo(weights):
    """No deadlock: a FIFO holding exactly the largest block, dense blocks, many groups; every
    product is issued (the run ends) and a larger FIFO never waits longer."""
    cfg = tiny(weights=weights, kc=2, pes=(2, 1))
    rng = np.random.default_rng(3)
    act, w = random_layer(cfg, rng, 1, 4, 3, 8, 1, 1, 1.0, 0.7)
    run = simulate_compute(cfg, scnn_streams.layer_streams(cfg, act, w))
    assert run.products == int(sum((act[c] != 0).sum() * (w[:, c] != 0).sum() for c in range(3)))
    assert len(run.group_launch) == 4
