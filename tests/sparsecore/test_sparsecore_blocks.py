# amaranth: UnusedElaboratable=no
"""Amaranth-simulator tests of SparseCore's blocks against the NumPy models: requantizer, compactor,
ALUs, and a whole PE (sequencer, weight memory, ALUs, accumulation buffer, post-processor) running
work units bit-exact against the golden layer and cycle-exact against the cycle model."""

import zlib

import numpy as np
import pytest
from amaranth import Elaboratable, Module
from amaranth.lib import data, memory
from amaranth.sim import Simulator

from sparseforge.gen.sparsecore.config import parse_sparsecore
from sparseforge.hdl.sparsecore.alus import AluArray
from sparseforge.hdl.sparsecore.compactor import Compactor
from sparseforge.hdl.sparsecore.layouts import (act_entry_layout, max_segments, pointer_layout,
                                                requant_row_layout, weight_row_layout)
from sparseforge.hdl.sparsecore.pe import SparseCorePE
from sparseforge.hdl.sparsecore.requant import Requantizer
from sparseforge.sim.sparsecore import cycles, golden, streams
from sparseforge.sim.sparsecore import format as kmf

SEED = 23


def rng(extra=0):
    print(f"seed {SEED + extra}")
    return np.random.default_rng(SEED + extra)


def pack(layout, obj):
    return data.Layout.cast(layout).const(obj).as_value().value


def run(dut, testbench, clocked=True):
    sim = Simulator(dut)
    if clocked:
        sim.add_clock(1e-6)
    sim.add_testbench(testbench)
    sim.run()


def small_cfg(**extra):
    raw = {"arch": "sparsecore", "pes": 2, "alus_per_pe": 4, "k": 2, "m": 4, "band_rows": 2,
           "limits": {"h": 9, "w": 9, "c": 12, "k": 16, "kernel": 3}}
    raw.update(extra)
    return parse_sparsecore(raw, "t")


# -- small blocks --------------------------------------------------------------------------------

def test_requantizer_matches_golden():
    dut = Requantizer(32)
    r = rng(1)
    cases = [(-(1 << 31), -(1 << 31), 65535, 31), ((1 << 31) - 1, (1 << 31) - 1, 65535, 0),
             (10, 0, 1, 2), (-10, 0, 1, 2), (5, 0, 1, 1), (-5, 0, 1, 1), (0, 0, 0, 0)]
    cases += [(int(r.integers(-(1 << 31), 1 << 31)), int(r.integers(-(1 << 20), 1 << 20)),
               int(r.integers(0, 1 << 16)), int(r.integers(0, 32))) for _ in range(300)]

    async def tb(ctx):
        for acc, bias, mult, shift in cases:
            for relu in (0, 1):
                ctx.set(dut.acc, acc)
                ctx.set(dut.bias, bias)
                ctx.set(dut.mult, mult)
                ctx.set(dut.shift, shift)
                ctx.set(dut.relu, relu)
                want = golden.requantize([[acc]], [bias], [mult], [shift], bool(relu)).item()
                assert ctx.get(dut.y) == want, (acc, bias, mult, shift, relu)

    run(dut, tb, clocked=False)


@pytest.mark.parametrize("lanes", [1, 5, 8])
def test_compactor_packs_non_zeros_in_order(lanes):
    dut = Compactor(lanes)
    r = rng(lanes)

    async def tb(ctx):
        for trial in range(60):
            vals = r.integers(-128, 128, lanes) * (r.random(lanes) < trial / 60)
            for i, v in enumerate(vals):
                ctx.set(dut.values[i], int(v))
            nz = np.flatnonzero(vals)
            assert ctx.get(dut.count) == len(nz)
            got = [(ctx.get(dut.slots[j].c), ctx.get(dut.slots[j].value)) for j in range(len(nz))]
            assert got == [(int(i), int(vals[i])) for i in nz]

    run(dut, tb, clocked=False)


def test_alus_scatter_products_to_positions():
    cfg = small_cfg(alus_per_pe=4, k=2, m=4)
    dut = AluArray(cfg)
    r = rng(2)

    async def tb(ctx):
        for _ in range(40):
            w = kmf.prune(r.integers(-128, 128, (cfg.chunk, 1, 1, 1)), cfg.k, cfg.m)
            values, positions = kmf.compress_weights(w, cfg.k, cfg.m)
            acc = r.integers(-(1 << 31), 1 << 31, cfg.chunk)
            a = int(r.integers(-128, 128))
            row = [[{"value": int(values[g, 0, 0, 0, i]), "pos": int(positions[g, 0, 0, 0, i])}
                    for i in range(cfg.k)] for g in range(cfg.groups)]
            ctx.set(dut.weights.as_value(), pack(weight_row_layout(cfg), row))
            ctx.set(dut.value, a)
            for ch in range(cfg.chunk):
                ctx.set(dut.acc_in[ch], int(acc[ch]))
            want = acc + a * w.ravel()
            want = ((want + (1 << 31)) % (1 << 32)) - (1 << 31)
            assert [ctx.get(dut.acc_out[ch]) for ch in range(cfg.chunk)] == want.tolist()

    run(dut, tb, clocked=False)


# -- a whole PE ----------------------------------------------------------------------------------

class _PeHarness(Elaboratable):
    """A PE with its index and activation memories initialised from a compressed store."""

    def __init__(self, cfg, store):
        self.cfg = cfg
        nseg = max_segments(cfg)
        self.entries_depth = max(2, store.entries)
        self.ptr_depth = cfg.max_h * nseg
        ptrs = [0] * self.ptr_depth
        for y in range(store.height):
            for q in range(store.segments):
                ptrs[y * nseg + q] = pack(pointer_layout(cfg, self.entries_depth),
                                          {"start": int(store.start[y, q]),
                                           "count": int(store.count[y, q])})
        ents = [pack(act_entry_layout(cfg), {"x": int(x), "c": int(c), "value": int(v)})
                for x, c, v in zip(store.x, store.c, store.value)]
        self.ptrs, self.ents = ptrs, ents + [0] * (self.entries_depth - len(ents))
        self.pe = SparseCorePE(cfg, self.entries_depth, self.ptr_depth)

    def elaborate(self, platform):
        m = Module()
        m.submodules.pe = pe = self.pe
        m.submodules.ptrs = ptrs = memory.Memory(shape=len(pe.ptr.data.as_value()),
                                                 depth=self.ptr_depth, init=self.ptrs)
        m.submodules.ents = ents = memory.Memory(shape=len(pe.entries.data.as_value()),
                                                 depth=self.entries_depth, init=self.ents)
        for mem, port in ((ptrs, pe.ptr), (ents, pe.entries)):
            rp = mem.read_port()
            m.d.comb += [rp.addr.eq(port.addr), rp.en.eq(port.en),
                         port.data.as_value().eq(rp.data)]
        return m


def _pe_case(cfg, shape, act, w, bias, mult, shift, relu, *, ready_pattern=None, channels=None):
    """Run every band of chunk 0 through one PE; check beats and unit cycles."""
    store = kmf.compress_acts(act, cfg.chunk)
    harness = _PeHarness(cfg, store)
    pe = harness.pe
    values, positions = kmf.compress_weights(w, cfg.k, cfg.m)
    kmax = cfg.kernel_max
    nbands = -(-shape.ho // cfg.band_rows)
    beats, unit = [], []

    async def tb(ctx):
        for c in range(shape.c):
            for i in range(shape.r):
                for j in range(shape.s):
                    row = [[{"value": int(values[g, c, i, j, n]),
                             "pos": int(positions[g, c, i, j, n])} for n in range(cfg.k)]
                           for g in range(cfg.groups)]
                    ctx.set(pe.w_load.addr, (c * kmax + i) * kmax + j)
                    ctx.set(pe.w_load.data.as_value(), pack(weight_row_layout(cfg), row))
                    ctx.set(pe.w_load.en, 1)
                    await ctx.tick()
        ctx.set(pe.w_load.en, 0)
        ctx.set(pe.layer, {"h": shape.h, "w": shape.w, "ho": shape.ho, "wo": shape.wo,
                           "r": shape.r, "s": shape.s, "pad": shape.pad,
                           "stride_log2": shape.stride.bit_length() - 1,
                           "segments": store.segments, "relu": int(relu),
                           "pool": int(shape.pool)})
        ctx.set(pe.channels, cfg.chunk if channels is None else channels)
        for row, params in streams.requant_rows(cfg, bias, mult, shift, cfg.chunk)[0]:
            ctx.set(pe.rq_load.addr, row)
            ctx.set(pe.rq_load.data.as_value(), pack(requant_row_layout(cfg), [
                {"bias": b, "mult": mu, "shift": sh} for b, mu, sh in params]))
            ctx.set(pe.rq_load.en, 1)
            await ctx.tick()
        ctx.set(pe.rq_load.en, 0)
        tick = 0
        for b in range(nbands):
            ctx.set(pe.band, b)
            ctx.set(pe.start, 1)
            await ctx.tick()
            ctx.set(pe.start, 0)
            busy = 0
            while True:
                ready = 1 if ready_pattern is None else ready_pattern(tick)
                tick += 1
                ctx.set(pe.o.ready, ready)
                if not ctx.get(pe.busy):
                    break
                busy += 1
                if ready and ctx.get(pe.o.valid):
                    p = ctx.get(pe.o.payload)
                    beats.append((p.y, p.x, [(p.lanes[n].c, p.lanes[n].value)
                                             for n in range(p.count)]))
                await ctx.tick()
            unit.append(busy)

    run(harness, tb)
    # Bit-exact: decoded planes and the compressed lists themselves.
    want = golden.layer_output(act, w, bias, mult, shift, stride=shape.stride, pad=shape.pad,
                               relu=relu, pool=shape.pool, acc_bits=cfg.acc_width)
    if channels is not None:
        want[channels:] = 0                               # dropped by the post-processor
    got = np.zeros_like(want)
    for y, x, lanes in beats:
        for c, v in lanes:
            got[c, y, x] = v
    assert np.array_equal(got, want)
    golden_store = kmf.compress_acts(want, cfg.chunk)
    for y in range(want.shape[1]):
        listed = [(x, c, v) for yy, x, lanes in beats if yy == y for c, v in lanes]
        gx, gc, gv = golden_store.row(y, 0)
        assert listed == list(zip(gx.tolist(), gc.tolist(), gv.tolist()))
    if ready_pattern is None:
        assert unit == [cycles.unit_cycles(shape, store, cfg.band_rows, b,
                                           cfg.chunk // cfg.requant_lanes)
                        for b in range(nbands)]


@pytest.mark.parametrize("name, km, lanes, shape, density", [
    ("2/4 3x3 pad 1", (2, 4), 8, cycles.LayerShape(5, 6, 7, 8, 3, 3, 1, 1), 0.5),
    ("1/4 pool relu", (1, 4), 8, cycles.LayerShape(6, 7, 12, 16, 3, 3, 1, 1, True), 0.3),
    ("1/4 pool, 2 lanes", (1, 4), 2, cycles.LayerShape(5, 5, 4, 8, 3, 3, 1, 1, True), 0.6),
    ("4/8 stride 2", (4, 8), 4, cycles.LayerShape(7, 8, 5, 8, 3, 3, 2, 1), 0.8),
    ("2/8 1x1 dense", (2, 8), 16, cycles.LayerShape(3, 5, 9, 8, 1, 1, 1, 0), 1.0),
    ("2/4 all zero", (2, 4), 8, cycles.LayerShape(4, 4, 3, 8, 3, 3, 1, 0), 0.0),
])
def test_pe_units_bit_and_cycle_exact(name, km, lanes, shape, density):
    k, m = km
    cfg = small_cfg(alus_per_pe=2 * k, k=k, m=m, requant_lanes=lanes)
    r = rng(zlib.crc32(name.encode()) % 1000)
    act = r.integers(-128, 128, (shape.c, shape.h, shape.w)) * (r.random((shape.c, shape.h,
                                                                           shape.w)) < density)
    act[0, 0, 0] = -128 if density else 0
    # One chunk of weights (the PE's), K = chunk; extremes kept.
    w = kmf.prune(r.integers(-128, 128, (cfg.chunk, shape.c, shape.r, shape.s)), k, m)
    w[tuple(np.argwhere(w != 0)[0])] = -128
    bias = r.integers(-2000, 2000, cfg.chunk)
    mult = r.integers(1, 1 << 12, cfg.chunk)
    shift = r.integers(14, 24, cfg.chunk)
    _pe_case(cfg, shape, act, w, bias, mult, shift, relu=shape.pool)


def test_pe_drops_channels_past_k():
    # A last chunk with 5 of its 8 channels; the others have non-zero requantization (as stale
    # registers from an earlier layer would) and must not appear in the output.
    cfg = small_cfg()
    shape = cycles.LayerShape(4, 5, 3, 8, 3, 3, 1, 1)
    r = rng(12)
    act = r.integers(-128, 128, (3, 4, 5)) * (r.random((3, 4, 5)) < 0.7)
    w = kmf.prune(r.integers(-128, 128, (8, 3, 3, 3)), 2, 4)
    _pe_case(cfg, shape, act, w, np.full(8, 5000), np.full(8, 300), np.full(8, 12), False,
             channels=5)


def test_pe_accumulators_wrap():
    # 16-bit accumulators: −128 × −128 products (2^14) wrap after two; a shift of 0 and mult 1
    # pass the wrapped value's clamp through, so a missing wrap would show.
    cfg = small_cfg(widths={"acc": 16})
    shape = cycles.LayerShape(3, 4, 6, 8, 3, 3, 1, 1)
    act = np.full((6, 3, 4), -128)
    w = np.where(kmf.prune(rng(13).integers(-128, 128, (8, 6, 3, 3)), 2, 4) != 0, -128, 0)
    acc = golden.layer_acc(act, w, 1, 1, acc_bits=16)
    assert acc.min() < 0 < acc.max()                      # wrapped both ways
    _pe_case(cfg, shape, act, w, np.zeros(8, int), np.ones(8, int), np.zeros(8, int), False)


def test_pe_output_back_pressure():
    cfg = small_cfg()
    shape = cycles.LayerShape(4, 5, 6, 8, 3, 3, 1, 1)
    r = rng(9)
    act = r.integers(-128, 128, (6, 4, 5)) * (r.random((6, 4, 5)) < 0.6)
    w = kmf.prune(r.integers(-128, 128, (8, 6, 3, 3)), 2, 4)
    _pe_case(cfg, shape, act, w, np.zeros(8, int), np.ones(8, int), np.full(8, 6), False,
             ready_pattern=lambda t: int((t * 7) % 5 < 2))


# -- global scheduler ----------------------------------------------------------------------------

@pytest.mark.parametrize("pes, nchunks, costs", [
    (3, 2, [5, 1, 1]),                                  # the hand-worked case of the model test
    (1, 1, [2, 0, 3]),
    (4, 4, [1, 1]),
    (5, 2, [7, 3, 9, 1, 1, 4, 6, 2]),
    (6, 3, list(range(12, 0, -1))),
])
def test_scheduler_grants_as_the_model_replays(pes, nchunks, costs):
    from sparseforge.hdl.sparsecore.scheduler import GlobalScheduler
    dut = GlobalScheduler(pes, 16)
    want_cycles, want_grants, _ = cycles.scheduler(costs, pes, nchunks)
    got = []

    async def tb(ctx):
        ctx.set(dut.nchunks, nchunks)
        ctx.set(dut.nbands, len(costs))
        ctx.set(dut.idle, (1 << pes) - 1)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        free = [0] * pes
        t = 0
        while ctx.get(dut.busy):
            ctx.set(dut.idle, sum(1 << p for p in range(pes) if free[p] <= t))
            grant = ctx.get(dut.grant)
            if grant:
                p = grant.bit_length() - 1
                band = ctx.get(dut.band)
                got.append((t, p, band, ctx.get(dut.chunk_of[p])))
                free[p] = t + costs[band] + 1
            await ctx.tick()
            t += 1
        assert t == want_cycles
        assert ctx.get(dut.units) == len(costs) * nchunks

    run(dut, tb)
    assert got == want_grants
