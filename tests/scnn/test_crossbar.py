# amaranth: UnusedElaboratable=no
"""SCNN's queued scatter crossbar: its timing model (sim/scnn/crossbar.py) and its RTL
(hdl/scnn/crossbar.py), against a hand-worked example and a naive reference.

The reference (:func:`sparseforge.sim.scnn.crossbar.naive_crossbar`) applies the documented rules
one product at a time in plain Python; the batched NumPy model and the Amaranth design are both
checked against it: the same cycles, and for the RTL the same grants in every cycle, every
product delivered once.
"""

import random

import numpy as np
import pytest
from amaranth.sim import Simulator
from sparseforge.gen.config import parse_config
from sparseforge.hdl.scnn import ProductQueue, QueuedCrossbar
from sparseforge.sim.scnn.crossbar import crossbar_times, naive_crossbar, slot_conflicts


def cfg_of(f, i, banks, depth):
    return parse_config({"arch": "scnn", "pes": {"x": 1, "y": 1},
                         "pe": {"f": f, "i": i, "banks": banks, "queue_depth": depth},
                         "kc": 2, "tile": {"w": 2, "h": 2}, "kernel_max": 1,
                         "rams": {"iaram": 4 * i, "oaram": 4 * i, "weights": 4 * f,
                                  "out_channels": 4}})


def as_lists(array, banks):
    return [[(q, int(b)) for q, b in enumerate(row) if b != banks] for row in array]


def test_hand_worked_schedule():
    """Four queues, depth 2, three slots each sending queues 0 and 3 to bank 0 and queues 1 and
    2 to bank 2 (the case of test_pysim's hand example). Worked by the rules: cycle 1 grants
    queues 0, 1 (ties: lowest first); cycle 2 queues 3, 2 (two entries each: fullest first) and
    slot 2 waits, its queues being full; it enters in cycle 3; grants alternate until cycle 6."""
    slot = [0, 2, 2, 0]
    sims = [np.array([slot] * 3)]
    push_last, pop_last = crossbar_times(sims, 4, 2)
    assert (push_last[0], pop_last[0]) == (3, 6)
    p, q, log = naive_crossbar(as_lists(sims[0], 4), 4, 2)
    assert (p, q) == (3, 6)
    assert log == [[], [(0, 0, 0), (2, 1, 0)], [(0, 3, 0), (2, 2, 0)], [(0, 0, 1), (2, 1, 1)],
                   [(0, 3, 1), (2, 2, 1)], [(0, 0, 2), (2, 1, 2)], [(0, 3, 2), (2, 2, 2)]]


def test_second_entries_use_banks_the_heads_left_free():
    """Two queues, depth 4. Slot 0: both to bank 0; slot 1: both to bank 1. Cycle 1: queue 0's
    head (bank 0) wins; queue 1's head loses, and its second entry is not there yet. Cycle 2:
    queue 1 (two entries) wins bank 0 with its head; queue 0's head is slot 1's (bank 1): granted.
    Cycle 3: queue 1's last entry."""
    sims = [np.array([[0, 0], [1, 1]])]
    assert [int(x[0]) for x in crossbar_times(sims, 2, 4)] == [1, 3]
    _, _, log = naive_crossbar(as_lists(sims[0], 2), 2, 4)
    assert log == [[], [(0, 0, 0)], [(0, 1, 0), (1, 0, 1)], [(1, 1, 1)]]
    # Slot 0 to banks 0, 0 and slot 1 to 1, 0: in cycle 2 queue 1's head (bank 0) wins against
    # nothing and queue 0's head goes to bank 1; round 2 is for queues with two entries.
    sims = [np.array([[0, 0], [0, 1], [1, 1]])]
    p, q, log = naive_crossbar(as_lists(sims[0], 2), 2, 4)
    assert [int(x[0]) for x in crossbar_times(sims, 2, 4)] == [p, q]
    assert log[1] == [(0, 0, 0)]
    # Cycle 2: queue 1 holds [0 (slot 0), 1 (slot 1)], queue 0 holds [0 (slot 1)]; queue 1 is
    # fuller and takes bank 0; round 2: queue 0 holds one entry; so bank 1 stays idle.
    assert log[2] == [(0, 1, 0)]


def random_sims(rng, lanes, banks, count):
    sims = []
    for _ in range(count):
        n = int(rng.integers(0, 25))
        s = rng.integers(0, banks, (n, lanes))
        s[rng.random((n, lanes)) < rng.random()] = banks
        sims.append(s)
    return sims


@pytest.mark.parametrize("seed", range(6))
def test_batched_model_equals_the_naive_rules(seed):
    rng = np.random.default_rng(seed)
    for _ in range(25):
        lanes = int(rng.integers(1, 17))
        banks = int(rng.choice([1, 2, 4, 8, 32]))
        depth = int(rng.integers(2, 6))
        sims = random_sims(rng, lanes, banks, int(rng.integers(1, 6)))
        push_last, pop_last = crossbar_times(sims, banks, depth,
                                             chunk_slots=int(rng.integers(1, 50)))
        for s, p, q in zip(sims, push_last, pop_last):
            want_p, want_q, log = naive_crossbar(as_lists(s, banks), banks, depth)
            assert (p, q) == (want_p, want_q)
            assert sum(len(cycle) for cycle in log) == int((s != banks).sum())
            assert all(len({b for b, _, _ in cycle}) == len(cycle) for cycle in log)


def test_conflict_free_slots_take_one_cycle_each():
    assert slot_conflicts(np.array([[0, 1, 4], [2, 2, 4], [4, 4, 4]]), 4).tolist() == \
        [False, True, False]
    sims = [np.array([[0, 1], [1, 0], [2, 2]])]          # 2 = no product (banks = 2)
    assert [int(x[0]) for x in crossbar_times(sims, 2, 2)] == [2, 2]


def test_bad_depth():
    with pytest.raises(ValueError, match="at least 2"):
        crossbar_times([np.zeros((1, 1), dtype=int)], 2, 1)
    with pytest.raises(ValueError, match="at least 2"):
        ProductQueue(cfg_of(1, 1, 2, 2), 1)


# -- RTL ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("f, i, banks, depth, spread", [
    (2, 3, 8, 2, 2), (2, 3, 8, 4, 8), (4, 4, 32, 4, 32), (4, 4, 32, 3, 6), (1, 2, 4, 2, 1)])
def test_rtl_grants_as_the_naive_rules(f, i, banks, depth, spread):
    """Random pairs (with idle cycles between them) into the Amaranth crossbar: every cycle's
    grants — bank, queue, the pair a product came from — equal the naive model's, every product
    arrives once at its bank with its entry and value, and ``ready``/``stall`` follow the
    queues' fill. Products are tagged by their pair in the entry field."""
    cfg = cfg_of(f, i, banks, depth)
    dut = QueuedCrossbar(cfg)
    n = f * i
    rng = random.Random(7 + depth + spread)
    entries = 1 << len(dut.i.payload[0].entry)
    pairs = []
    for index in range(60):
        pairs.append([(rng.random() < 0.85, rng.randrange(spread), index % entries,
                       rng.randint(-5000, 5000)) for _ in range(n)])
    idle = [rng.random() < 0.2 for _ in pairs]
    offered = []                                   # the slot list as the crossbar saw it
    got = []                                       # per cycle: sorted (bank, entry, addend)

    async def tb(ctx):
        for pair, gap in zip(pairs, idle):
            if gap:
                ctx.set(dut.i.valid, 0)
                await ctx.tick()
                offered.append([])
            for p, (valid, bank, entry, product) in enumerate(pair):
                req = dut.i.payload[p]
                ctx.set(req.valid, valid)
                ctx.set(req.bank, bank)
                ctx.set(req.entry, entry)
                ctx.set(req.product, product)
            ctx.set(dut.i.valid, 1)
            while True:
                ready = ctx.get(dut.i.ready)
                assert ctx.get(dut.stall) == (not ready)
                if ready:
                    break
                await ctx.tick()
                offered.append(None)                # a cycle the pair waited
            await ctx.tick()
            offered.append([(p, b) for p, (v, b, _e, _x) in enumerate(pair) if v])
        ctx.set(dut.i.valid, 0)
        for _ in range(8 * len(pairs)):
            await ctx.tick()

    async def monitor(ctx):
        async for _clk, _rst, ports, granted in ctx.tick().sample(dut.banks, dut.granted):
            cycle = sorted((b, ports[b].entry, ports[b].addend)
                           for b in range(banks) if ports[b].en)
            assert granted == len(cycle)
            got.append(cycle)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.add_process(monitor)
    sim.run()

    # The naive model on the same sequence: waiting cycles re-offer the pair, idle cycles offer
    # an empty slot; so the model's slot list is the offered list without the waits.
    slots = [s for s in offered if s is not None]
    _, _, log = naive_crossbar(slots, banks, depth)
    pair_of = []                                    # slot → the pair it was (None: idle)
    for gap, pair in zip(idle, pairs):
        if gap:
            pair_of.append(None)
        pair_of.append(pair)
    want = []
    for cycle in log:
        want.append(sorted((b, pair_of[s][q][2], pair_of[s][q][3]) for b, q, s in cycle))
    assert got[:len(want)] == want
    assert not any(got[len(want):])                 # nothing after the last grant
    assert sum(len(c) for c in got) == sum(v for pair in pairs for v, *_ in pair)
