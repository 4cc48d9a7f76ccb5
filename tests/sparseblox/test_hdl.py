# amaranth: UnusedElaboratable=no
"""Amaranth-simulator tests of the Sparse-Blox blocks against the NumPy model, with idle cycles on
every input stream and back-pressure on every output stream (Hotfilter et al., III-B, Fig. 4)."""

import random

import numpy as np
import pytest
from amaranth import Elaboratable, Module
from amaranth.sim import Simulator

from sparseforge.hdl.common import AdderTree
from sparseforge.hdl.sparseblox import BlockSummer, PruneDecision, SparseBlockCache
from sparseforge.sim.sparseblox import (
    Q8_8, SparseBlockCacheModel, ThresholdFormat, below_threshold, prune_map)


def run(dut, *benches):
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    for bench in benches:
        sim.add_testbench(bench)
    sim.run()


async def put(ctx, port, payload, rng, idle):
    if rng.random() < idle:
        await ctx.tick().repeat(rng.randint(1, 3))
    ctx.set(port.valid, 1)
    ctx.set(port.payload, payload)
    await ctx.tick().until(port.ready)
    ctx.set(port.valid, 0)


async def get(ctx, port, rng, stall):
    if rng.random() < stall:
        await ctx.tick().repeat(rng.randint(1, 3))
    ctx.set(port.ready, 1)
    payload, = await ctx.tick().sample(port.payload).until(port.valid)
    ctx.set(port.ready, 0)
    return payload


# -- adder tree -----------------------------------------------------------------------------------

@pytest.mark.parametrize("count, pressure", [(1, 0.0), (3, 0.5), (5, 0.3), (8, 0.0), (8, 0.6)])
def test_adder_tree_sums_exactly_under_back_pressure(count, pressure):
    seed = 1000 + count
    rng = random.Random(seed)
    beats = [[-128] * count, [127] * count] + \
        [[rng.randint(-128, 127) for _ in range(count)] for _ in range(40)]
    dut = AdderTree(width=8, count=count, tag_shape=8)
    assert dut.latency == max(1, (count - 1).bit_length()) and dut.sum_width == 8 + dut.latency \
        - (count == 1)
    got = []

    async def producer(ctx):
        for n, b in enumerate(beats):
            await put(ctx, dut.i, {"values": b, "tag": n}, rng, pressure)

    async def consumer(ctx):
        for _ in beats:
            p = await get(ctx, dut.o, rng, pressure)
            got.append((p.sum, p.tag))

    run(dut, producer, consumer)
    assert got == [(sum(b), n) for n, b in enumerate(beats)], f"seed {seed}"


def test_adder_tree_latency_and_throughput():
    # Four beats back to back: each sum valid `latency` edges after its beat, one per cycle.
    dut = AdderTree(width=8, count=8)
    assert dut.latency == 3

    async def bench(ctx):
        ctx.set(dut.o.ready, 1)
        ctx.set(dut.i.valid, 1)
        seen = []
        for n in range(4 + dut.latency):
            ctx.set(dut.i.valid, n < 4)
            ctx.set(dut.i.payload.values, [n + 1] * 8)
            await ctx.tick()
            seen.append(ctx.get(dut.o.payload.sum) if ctx.get(dut.o.valid) else None)
        # After edge e (1-based) the sum of beat e − latency is valid.
        assert seen == [None, None, 8, 16, 24, 32, None]

    run(dut, bench)


def test_adder_tree_rejects_bad_parameters():
    with pytest.raises(ValueError, match="Operand count must be a positive integer, not 0"):
        AdderTree(width=8, count=0)
    with pytest.raises(ValueError, match="Operand width must be a positive integer, not -1"):
        AdderTree(width=-1, count=4)


# -- block summer and decision against the model --------------------------------------------------

def random_blocks(rng, lanes, max_beats, n):
    """Blocks as lists of beats (values, mask); some all-zero, some all-masked-but-one."""
    blocks = []
    for _ in range(n):
        beats = []
        for _ in range(rng.randint(1, max_beats)):
            values = [rng.choice([0, 0, rng.randint(-128, 127), -128, 127]) for _ in range(lanes)]
            mask = rng.getrandbits(lanes) | 1
            beats.append((values, mask))
        if rng.random() < 0.2:
            beats = [([0] * lanes, m) for _, m in beats]
        blocks.append(beats)
    return blocks


def block_truth(beats):
    total = count = 0
    for values, mask in beats:
        for n, v in enumerate(values):
            if (mask >> n) & 1:
                total, count = total + v, count + 1
    return total, count


@pytest.mark.parametrize("lanes, max_beats, pressure", [(1, 3, 0.3), (4, 4, 0.5), (5, 2, 0.0)])
def test_block_summer_against_model(lanes, max_beats, pressure):
    seed = 2000 + lanes
    rng = random.Random(seed)
    blocks = random_blocks(rng, lanes, max_beats, 30)
    dut = BlockSummer(width=8, lanes=lanes, block_size=lanes * max_beats, tag_shape=8)
    got = []

    async def producer(ctx):
        for n, beats in enumerate(blocks):
            for k, (values, mask) in enumerate(beats):
                await put(ctx, dut.i, {"values": values, "mask": mask,
                                       "last": k == len(beats) - 1, "tag": n}, rng, pressure)

    async def consumer(ctx):
        for _ in blocks:
            p = await get(ctx, dut.o, rng, pressure)
            got.append((p.sum, p.n_valid, p.tag))

    run(dut, producer, consumer)
    assert got == [(*block_truth(b), n) for n, b in enumerate(blocks)], f"seed {seed}"


def test_block_summer_full_block_of_extremes_does_not_overflow():
    dut = BlockSummer(width=8, lanes=4, block_size=16)
    rng = random.Random(0)
    got = []

    async def producer(ctx):
        for v in (-128, 127):
            for k in range(4):
                await put(ctx, dut.i, {"values": [v] * 4, "mask": 0xF, "last": k == 3}, rng, 0)

    async def consumer(ctx):
        for _ in range(2):
            p = await get(ctx, dut.o, rng, 0.5)
            got.append((p.sum, p.n_valid))

    run(dut, producer, consumer)
    assert got == [(-2048, 16), (2032, 16)]


@pytest.mark.parametrize("fmt", [Q8_8, ThresholdFormat(4, 3)])
def test_decision_against_model(fmt):
    seed = 3000 + fmt.bits
    rng = random.Random(seed)
    dut = PruneDecision(width=8, block_size=16, fmt=fmt, tag_shape=8)
    raws = [0, 1, fmt.max_raw, rng.randint(0, fmt.max_raw)]
    cases = []
    for raw in raws:
        for _ in range(25):
            n = rng.randint(1, 16)
            s = rng.randint(-128 * n, 127 * n)
            cases.append((raw, s, n))
        # Equality exactly: |sum| · 2**frac == raw · n (not below).
        cases += [(raw, raw * 4, 4 << fmt.frac_bits)] if raw * 4 <= 127 * 16 and \
            (4 << fmt.frac_bits) <= 16 else []
    cases += [(fmt.to_raw(2), 8, 4), (fmt.to_raw(2), -8, 4), (fmt.to_raw(2) + 1, -8, 4)]
    got = []

    async def producer(ctx):
        for n, (raw, s, count) in enumerate(cases):
            ctx.set(dut.threshold, raw)      # steady while the block is in flight: one at a time
            await put(ctx, dut.i, {"sum": s, "n_valid": count, "tag": n % 256}, rng, 0.3)
            p = await get(ctx, dut.o, rng, 0.5)
            got.append(p.below)

    run(dut, producer)
    want = [bool(below_threshold(s, n, raw, fmt.frac_bits)) for raw, s, n in cases]
    assert got == want, f"seed {seed}"
    assert want[-3:] == [False, False, True]


# -- the cache -------------------------------------------------------------------------------------

def test_cache_inserts_lookups_and_full_behaviour():
    seed = 4000
    rng = random.Random(seed)
    cap = 5
    dut = SparseBlockCache(capacity=cap, position_bits=6)
    model = SparseBlockCacheModel(cap, position_bits=6)
    layers = [sorted(rng.sample(range(64), 12)) for _ in range(3)] + [[]]

    async def bench(ctx):
        for layer in layers:
            for pos in layer:
                below = rng.random() < 0.7
                want = model.insert(pos, below)
                await put(ctx, dut.insert, {"position": pos, "below": below}, rng, 0.3)
                p = await get(ctx, dut.verdict, rng, 0.4)
                assert (p.position, p.pruned) == (pos, want), f"seed {seed}"
                assert ctx.get(dut.full) == model.full and ctx.get(dut.count) == model.count
            # Lookups of every position hit the previous layer's bank, with the model's cycles.
            for pos in range(64):
                ctx.set(dut.lookup.valid, 1)
                ctx.set(dut.lookup.payload, pos)
                await ctx.tick().until(dut.lookup.ready)
                ctx.set(dut.lookup.valid, 0)
                edges = 0
                while not ctx.get(dut.hit.valid):
                    await ctx.tick()
                    edges += 1
                assert edges == model.lookup_cycles(pos), (pos, f"seed {seed}")
                p = await get(ctx, dut.hit, rng, 0.3)
                assert p == model.lookup(pos), (pos, f"seed {seed}")
            ctx.set(dut.swap, 1)
            await ctx.tick()
            ctx.set(dut.swap, 0)
            model.swap()

    run(dut, bench)


def test_cache_rejects_bad_parameters():
    with pytest.raises(ValueError, match="Cache capacity must be a positive integer, not 0"):
        SparseBlockCache(capacity=0)
    with pytest.raises(ValueError, match="Position width must be a positive integer, not 0"):
        SparseBlockCache(capacity=4, position_bits=0)


# -- the chain: map blocks → summer → decision → cache, against prune_map ------------------------

class Chain(Elaboratable):
    """BlockSummer → PruneDecision → SparseBlockCache.insert, the block position as the tag."""

    def __init__(self, lanes, block_size, capacity):
        self.summer = BlockSummer(width=8, lanes=lanes, block_size=block_size, tag_shape=8)
        self.decision = PruneDecision(width=8, block_size=block_size, fmt=Q8_8, tag_shape=8)
        self.cache = SparseBlockCache(capacity=capacity, position_bits=8)

    def elaborate(self, platform):
        m = Module()
        m.submodules.summer, m.submodules.decision = self.summer, self.decision
        m.submodules.cache = cache = self.cache
        s, d = self.summer.o, self.decision
        m.d.comb += [d.i.valid.eq(s.valid), d.i.payload.eq(s.payload), s.ready.eq(d.i.ready),
                     cache.insert.valid.eq(d.o.valid), d.o.ready.eq(cache.insert.ready),
                     cache.insert.payload.position.eq(d.o.payload.tag),
                     cache.insert.payload.below.eq(d.o.payload.below)]
        return m


@pytest.mark.parametrize("shape, block, capacity, t", [
    ((3, 5, 7), (2, 2, 3), 100, 20.0),   # partial blocks on every axis, cache never full
    ((2, 6, 6), (1, 3, 3), 3, 30.0),     # a full cache: later candidates stored normally
    ((1, 4, 4), (1, 2, 2), 4, 200.0),    # every block pruned, the cache exactly full
])
def test_chain_matches_prune_map(shape, block, capacity, t):
    seed = 5000 + capacity
    rng = random.Random(seed)
    x = np.random.default_rng(seed).integers(0, 128, size=shape)
    x *= np.random.default_rng(seed + 1).random(shape) < 0.4
    raw = Q8_8.to_raw(t)
    want = prune_map(x, block, raw, capacity=capacity)
    assert (want.counts.blocks_refused > 0) == (capacity == 3)
    lanes = block[2]                           # one beat per (channel, row) of a block
    dut = Chain(lanes, block[0] * block[1] * block[2], capacity)
    grid = want.cached.shape
    got = []

    async def producer(ctx):
        ctx.set(dut.decision.threshold, raw)
        pos = 0
        for cb in range(grid[0]):
            for by in range(grid[1]):
                for bx in range(grid[2]):
                    rows = [(c, y) for c in range(cb * block[0], (cb + 1) * block[0])
                            for y in range(by * block[1], (by + 1) * block[1])]
                    for k, (c, y) in enumerate(rows):
                        xs = range(bx * block[2], (bx + 1) * block[2])
                        real = [c < shape[0] and y < shape[1] and xx < shape[2] for xx in xs]
                        values = [int(x[c, y, xx]) if ok else 0 for xx, ok in zip(xs, real)]
                        await put(ctx, dut.summer.i, {
                            "values": values, "mask": sum(ok << n for n, ok in enumerate(real)),
                            "last": k == len(rows) - 1, "tag": pos}, rng, 0.2)
                    pos += 1

    async def consumer(ctx):
        for _ in range(want.cached.size):
            p = await get(ctx, dut.cache.verdict, rng, 0.3)
            got.append(p.pruned)

    run(dut, producer, consumer)
    assert got == want.cached.reshape(-1).tolist(), f"seed {seed}"


def test_generated_verilog_is_lint_clean(tmp_path):
    from amaranth.back import verilog

    from sparseforge.gen.lint import lint_verilog

    blocks = {"summer": BlockSummer(width=8, lanes=16, block_size=64, tag_shape=16),
              "decision": PruneDecision(width=8, block_size=64, fmt=Q8_8, tag_shape=16),
              "cache": SparseBlockCache(capacity=8196, position_bits=16)}
    for name, dut in blocks.items():
        path = tmp_path / f"{name}.v"
        path.write_text(verilog.convert(dut, name=name, emit_src=False))
        result = lint_verilog(path, name)
        assert result.ok, result.warnings
