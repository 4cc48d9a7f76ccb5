# amaranth: UnusedElaboratable=no
"""CCR blocks under Amaranth's simulator against NumPy (CCR, Sec. IV): PU, Cartesian product,
CCU, crossbar, block scatter, output addresses, bank arbiter, AccUnit with OB, loader,
sequencer."""

import numpy as np
import pytest
from amaranth import signed
from amaranth.sim import Simulator

from sparseforge.gen.ccr.config import parse_ccr
from sparseforge.gen.ccr.presets import CCR_PRESETS
from sparseforge.hdl.ccr.accunit import AccUnit
from sparseforge.hdl.ccr.arbiter import BankArbiter
from sparseforge.hdl.ccr.buffer import Buffer
from sparseforge.hdl.ccr.cartesian import CartesianProduct
from sparseforge.hdl.ccr.ccu import Ccu
from sparseforge.hdl.ccr.crossbar import Crossbar
from sparseforge.hdl.ccr.layouts import coord_shape, layer_layout
from sparseforge.hdl.ccr.loader import Loader
from sparseforge.hdl.ccr.obmap import OutputAddress
from sparseforge.hdl.ccr.pu import ProcessingUnit
from sparseforge.hdl.ccr.scatter import BlockScatter
from sparseforge.hdl.ccr.sequencer import Sequencer
from sparseforge.sim.gemm import wrap

SEED = 99


def _cfg(variant="sparse_k", **extra):
    raw = dict(CCR_PRESETS[f"ccr_{variant}_small"][1])
    raw.update(extra)
    return parse_ccr(raw, f"ccr_{variant}_t")


def _run(dut, bench, clock=True):
    sim = Simulator(dut)
    if clock:
        sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


def test_pu_products_wrap():
    dut = ProcessingUnit(4, scalar_width=8, lane_width=8, product_width=14)
    rng = np.random.default_rng(SEED)
    cases = [(-128, [-128, 127, 0, -1])] + [(int(rng.integers(-128, 128)),
                                             rng.integers(-128, 128, 4).tolist())
                                            for _ in range(20)]

    async def bench(ctx):
        for scalar, lanes in cases:
            ctx.set(dut.scalar, scalar)
            ctx.set(dut.matrix, lanes)
            got = [ctx.get(dut.products[n]) for n in range(4)]
            assert got == wrap(np.array(lanes) * scalar, 14).tolist()
    _run(dut, bench, clock=False)


def test_pu_rejects_zero_lanes():
    with pytest.raises(ValueError, match="PU lanes must be a positive integer, not 0"):
        ProcessingUnit(0, scalar_width=8, lane_width=8, product_width=16)


def test_cartesian_product_multiplies_every_pair():
    dut = CartesianProduct(4, 2, weight_width=8, act_width=8, product_width=15)
    rng = np.random.default_rng(SEED)
    cases = [([-128] * 4, [-128, 127])] + [(rng.integers(-128, 128, 4).tolist(),
                                             rng.integers(-128, 128, 2).tolist())
                                            for _ in range(20)]

    async def bench(ctx):
        for weights, inputs in cases:
            ctx.set(dut.weights, weights)
            ctx.set(dut.inputs, inputs)
            got = [ctx.get(dut.products[n]) for n in range(8)]
            assert got == wrap(np.outer(weights, inputs).reshape(-1), 15).tolist()
    _run(dut, bench, clock=False)


def test_cartesian_product_rejects_zero_lanes():
    with pytest.raises(ValueError, match="Cartesian product py must be a positive integer, "
                                         "not 0"):
        CartesianProduct(2, 0, weight_width=8, act_width=8, product_width=16)


@pytest.mark.parametrize("kernels, inputs", [(1, 1), (2, 4)])
def test_ccu_is_ccr3_on_1x1_triplets(kernels, inputs):
    """An input at (m, n) times a kernel element at (i, j): by CCR-3 with 1×1 sub-map and
    sub-kernel the full-mode offset is (m − i − 1 + 1, n − j − 1 + 1); in the window, minus
    (x0, y0). With one of each, CCR-1's α = −i for a block at (m, n) = (M·Px, N·Py)."""
    dut = Ccu(kernels, inputs, input_bits=6, kernel_bits=3, origin_shape=signed(5),
              coord_shape=signed(10))
    rng = np.random.default_rng(SEED)

    async def bench(ctx):
        for _ in range(30):
            mm, nn = rng.integers(0, 64, (2, inputs))
            i, j = rng.integers(0, 8, (2, kernels))
            x0, y0 = (int(v) for v in rng.integers(-7, 3, 2))
            for port, v in ((dut.m, mm), (dut.n, nn), (dut.i, i), (dut.j, j)):
                ctx.set(port, v.tolist())
            ctx.set(dut.x0, x0)
            ctx.set(dut.y0, y0)
            for p in range(kernels):
                for q in range(inputs):
                    r_i = s_i = 1                               # 1×1 sub-kernel
                    assert ctx.get(dut.u[p * inputs + q]) == mm[q] - i[p] - r_i + 1 - x0
                    assert ctx.get(dut.v[p * inputs + q]) == nn[q] - j[p] - s_i + 1 - y0
    _run(dut, bench, clock=False)


def test_ccu_rejects_zero_lanes():
    with pytest.raises(ValueError, match="CCU kernels must be a positive integer, not 0"):
        Ccu(0, 1, input_bits=4, kernel_bits=3, origin_shape=signed(4), coord_shape=signed(8))


@pytest.mark.parametrize("px,py", [(1, 1), (2, 2), (4, 2), (1, 4)])
def test_crossbar_sends_each_product_to_its_bank(px, py):
    dut = Crossbar(px, py, signed(16))

    async def bench(ctx):
        ctx.set(dut.i, list(range(px * py)))
        for u0 in range(-3, 5):
            for v0 in range(-3, 5):
                ctx.set(dut.rot_x, u0 % px)
                ctx.set(dut.rot_y, v0 % py)
                for p in range(px):
                    for q in range(py):
                        bank = ((u0 + p) % px) * py + (v0 + q) % py
                        assert ctx.get(dut.o[bank]) == p * py + q
    _run(dut, bench, clock=False)


def test_crossbar_rejects_non_power_of_two():
    with pytest.raises(ValueError, match="Crossbar px must be a power of two, not 3"):
        Crossbar(3, 2, signed(8))


def _bank_rule(u, v, px, py, wb, kbase=0):
    """Bank and word of window output (u, v) by the documented OB interleaving."""
    return (u % px) * py + v % py, kbase + (u // px) * wb + v // py


@pytest.mark.parametrize("px,py", [(2, 2), (4, 2), (1, 2)])
def test_block_scatter_sends_each_product_to_its_bank_and_word(px, py):
    """Blocks at random coordinates, partly outside the window, against the bank rule."""
    cfg = _cfg(pu={"x": px, "y": py}, widths={"acc": 12})
    layer = layer_layout(cfg)
    dut = BlockScatter(cfg, coord_shape(cfg), layer["ho"].shape)
    rng = np.random.default_rng(SEED + px)
    ho, wo = 5, 7
    wb = -(-wo // py)

    async def bench(ctx):
        ctx.set(dut.ho, ho)
        ctx.set(dut.wo, wo)
        ctx.set(dut.wbo, wb)
        for _ in range(60):
            u0, v0 = (int(v) for v in rng.integers(-px - 1, [ho + 1, wo + 1]))
            kbase = int(rng.integers(0, 3)) * 9
            prods = rng.integers(-2048, 2048, px * py)
            valid = bool(rng.random() < 0.8)
            for port, value in ((dut.u0, u0), (dut.v0, v0), (dut.kbase, kbase),
                                (dut.valid, valid)):
                ctx.set(port, value)
            ctx.set(dut.products, prods.tolist())
            want = {}
            for p in range(px):
                for q in range(py):
                    u, v = u0 + p, v0 + q
                    if valid and 0 <= u < ho and 0 <= v < wo:
                        bank, word = _bank_rule(u, v, px, py, wb, kbase)
                        want[bank] = (word, prods[p * py + q])
            for b in range(px * py):
                port = dut.banks[b]
                assert ctx.get(port.en) == (b in want), (u0, v0, b)
                if b in want:
                    assert (ctx.get(port.addr), ctx.get(port.addend)) == want[b]
    _run(dut, bench, clock=False)


def test_output_address_is_the_bank_rule():
    cfg = _cfg(pu={"x": 4, "y": 2})
    layer = layer_layout(cfg)
    dut = OutputAddress(cfg, 8, coord_shape(cfg), layer["ho"].shape)
    rng = np.random.default_rng(SEED)
    ho, wo = 9, 5
    wb = -(-wo // 2)

    async def bench(ctx):
        ctx.set(dut.ho, ho)
        ctx.set(dut.wo, wo)
        ctx.set(dut.wbo, wb)
        for _ in range(20):
            u, v = rng.integers(-6, 12, (2, 8))
            kbase = int(rng.integers(0, 4)) * 15
            ctx.set(dut.u, u.tolist())
            ctx.set(dut.v, v.tolist())
            ctx.set(dut.kbase, kbase)
            for n in range(8):
                inside = 0 <= u[n] < ho and 0 <= v[n] < wo
                assert ctx.get(dut.inside[n]) == inside
                if inside:
                    bank, word = _bank_rule(int(u[n]), int(v[n]), 4, 2, wb, kbase)
                    assert (ctx.get(dut.bank[n]), ctx.get(dut.word[n])) == (bank, word)
    _run(dut, bench, clock=False)


@pytest.mark.parametrize("px,py", [(2, 2), (4, 2)])
def test_accunit_accumulates_updates_into_ob(px, py):
    """Random updates of every bank, back to back and often to the word the previous cycle
    wrote, against an OB model; accumulators wrap."""
    cfg = _cfg(pu={"x": px, "y": py}, widths={"acc": 12})
    dut = AccUnit(cfg)
    rng = np.random.default_rng(SEED + px)
    banks, words = px * py, 6
    ref = np.zeros((words, banks), dtype=np.int64)
    steps = []
    for _ in range(80):
        en = rng.random(banks) < 0.7
        addr = rng.integers(0, 2, banks) if rng.random() < 0.5 else rng.integers(0, words, banks)
        add = rng.integers(-2048, 2048, banks)
        steps.append((en, addr, add))
        for b in range(banks):
            if en[b]:
                ref[addr[b], b] += add[b]
    ref = wrap(ref, 12)

    async def bench(ctx):
        ctx.set(dut.clear, 1)
        for a in range(words):
            ctx.set(dut.clear_addr, a)
            await ctx.tick()
        ctx.set(dut.clear, 0)
        for en, addr, add in steps:
            for b in range(banks):
                ctx.set(dut.banks[b].en, bool(en[b]))
                ctx.set(dut.banks[b].addr, int(addr[b]))
                ctx.set(dut.banks[b].addend, int(add[b]))
            await ctx.tick()
        for b in range(banks):
            ctx.set(dut.banks[b].en, 0)
        await ctx.tick()
        for a in range(words):
            ctx.set(dut.rd_en, 1)
            ctx.set(dut.rd_addr, a)
            await ctx.tick()
            ctx.set(dut.rd_en, 0)
            assert [ctx.get(dut.rd_data[b]) for b in range(banks)] == ref[a].tolist(), a
    _run(dut, bench)


def test_bank_arbiter_delivers_every_product_once_in_max_load_cycles():
    """Random pairs back to back (some with no valid product, some all to one bank): each
    bank takes its lowest-numbered waiting product every cycle, every valid product is
    delivered exactly once, and a pair takes max(1, busiest bank's products) cycles."""
    cfg = _cfg("sparse_ki", pu={"x": 2, "y": 4})
    dut = BankArbiter(cfg)
    n = 8
    rng = np.random.default_rng(SEED)
    pairs = []
    for t in range(40):
        valid = rng.random(n) < (0.0 if t == 3 else 0.7)
        bank = np.full(n, 5) if t == 7 else rng.integers(0, n, n)
        pairs.append((valid, bank, rng.integers(0, 30, n), rng.integers(-999, 999, n)))

    async def bench(ctx):
        delivered = []
        for valid, bank, word, value in pairs:
            for p in range(n):
                lane = dut.i.payload[p]
                for field, v in (("valid", valid), ("bank", bank), ("word", word),
                                 ("value", value)):
                    ctx.set(getattr(lane, field), int(v[p]))
            ctx.set(dut.i.valid, 1)
            await ctx.tick().until(dut.i.ready)     # the arbiter takes the pair
            ctx.set(dut.i.valid, 0)
            want = max([1] + [int(np.sum(valid & (bank == b))) for b in range(n)])
            pending = [p for p in range(n) if valid[p]]
            cycles = 0
            while True:
                cycles += 1
                for b in range(n):
                    port = dut.banks[b]
                    waiting = [p for p in pending if bank[p] == b]
                    assert ctx.get(port.en) == bool(waiting), (b, cycles)
                    if waiting:
                        p = waiting[0]
                        assert (ctx.get(port.addr), ctx.get(port.addend)) == \
                            (int(word[p]), int(value[p]))
                        pending.remove(p)
                        delivered.append((len(delivered), p))
                stall = ctx.get(dut.stall)
                assert stall == bool(pending)
                if not stall:
                    break
                await ctx.tick()
            assert cycles == want
        assert len(delivered) == sum(int(v.sum()) for v, *_ in pairs)
    _run(dut, bench)


def test_loader_fills_words_and_counts_and_flags_overflow():
    dut = Loader(16, words=4, word_bits=12, counts=2, count_bits=5)
    beats = [(0, 0x111), (1, 7), (0, 0x222), (1, 9), (0, 0x333)]

    async def bench(ctx):
        ctx.set(dut.accept, 1)
        got_w, got_c = [], []
        for dest, value in beats + [(0, 0x444), (0, 0x555), (1, 3)]:
            ctx.set(dut.s_axis.tdata, value)
            ctx.set(dut.s_axis.tdest, dest)
            ctx.set(dut.s_axis.tvalid, 1)
            assert ctx.get(dut.s_axis.tready)
            if ctx.get(dut.w_en):
                got_w.append((ctx.get(dut.w_addr), ctx.get(dut.w_data)))
            if ctx.get(dut.c_en):
                got_c.append((ctx.get(dut.c_addr), ctx.get(dut.c_data)))
            await ctx.tick()
        ctx.set(dut.s_axis.tvalid, 0)
        assert got_w == [(0, 0x111), (1, 0x222), (2, 0x333), (3, 0x444)]     # 0x555 dropped
        assert got_c == [(0, 7), (1, 9)]                                     # 3 dropped
        assert ctx.get(dut.error)
        ctx.set(dut.clear, 1)
        await ctx.tick()
        ctx.set(dut.clear, 0)
        assert not ctx.get(dut.error)
        ctx.set(dut.accept, 0)
        ctx.set(dut.s_axis.tvalid, 1)
        assert not ctx.get(dut.s_axis.tready) and not ctx.get(dut.w_en)
    _run(dut, bench)


def test_loader_without_a_count_table_flags_counts():
    dut = Loader(8, words=4, word_bits=8)

    async def bench(ctx):
        ctx.set(dut.accept, 1)
        ctx.set(dut.s_axis.tvalid, 1)
        ctx.set(dut.s_axis.tdest, 1)
        assert not ctx.get(dut.w_en)
        await ctx.tick()
        assert ctx.get(dut.error)
    _run(dut, bench)


@pytest.mark.parametrize("ib_table, kb_table", [(False, False), (False, True), (True, False),
                                                (True, True)])
def test_sequencer_walks_the_loops(ib_table, kb_table):
    """Loops k, c, IB word, KB word against a Python walk: words per channel fixed or from
    the channels' table, words per kernel fixed or from the kernels' table; empty channels and
    kernels cost one cycle and no step."""
    cfg = _cfg("sparse_ki")
    dut = Sequencer(cfg, ib_table=ib_table, kb_table=kb_table)
    c, k, nb, wb, rs, s, wpk = 3, 2, 6, 3, 6, 3, 5
    rng = np.random.default_rng(SEED + 2 * ib_table + kb_table)
    ib_counts = [int(v) for v in rng.integers(0, 4, c)] if ib_table else [nb] * c
    kb_counts = [int(v) for v in rng.integers(0, 4, k * c)] if kb_table else [rs] * (k * c)
    if ib_table:
        ib_counts[1] = 0                        # an all-zero channel
    if kb_table:
        kb_counts[2] = 0                        # an all-zero kernel
    expect = []                     # (issue, kb_addr, ib_addr, kbase, m, n, i, j)
    kbuf = 0
    for kk in range(k):
        ibuf = 0
        for cc in range(c):
            n_o, n_e = ib_counts[cc], kb_counts[kk * c + cc]
            if n_o == 0 or n_e == 0:
                expect.append((0,))
            else:
                for o in range(n_o):
                    for e in range(n_e):
                        expect.append((1, kbuf + e, ibuf + o, kk * wpk, o // wb, o % wb,
                                       e // s, e % s))
            kbuf += n_e
            ibuf += n_o

    async def bench(ctx):
        for port, v in ((dut.c, c), (dut.k, k), (dut.nb, nb), (dut.wb, wb), (dut.rs, rs),
                        (dut.s, s), (dut.wpk, wpk)):
            ctx.set(port, v)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        ctx.set(dut.run, 1)
        for n, step in enumerate(expect):
            ctx.set(dut.ib_count, ib_counts[ctx.get(dut.chan)])
            ctx.set(dut.kb_count, kb_counts[ctx.get(dut.group)])
            assert ctx.get(dut.issue) == step[0], n
            assert ctx.get(dut.last) == (n == len(expect) - 1)
            if step[0]:
                got = (1, ctx.get(dut.kb_addr), ctx.get(dut.ib_addr), ctx.get(dut.kbase),
                       ctx.get(dut.m), ctx.get(dut.n), ctx.get(dut.i), ctx.get(dut.j))
                assert got == step, n
            await ctx.tick()
            if n % 5 == 2:                      # a cycle without run changes nothing
                ctx.set(dut.run, 0)
                await ctx.tick()
                ctx.set(dut.run, 1)
    _run(dut, bench)


@pytest.mark.parametrize("transparent", [False, True])
def test_buffer_reads_old_or_new_word_and_holds(transparent):
    """A synchronous read of the word written in the same cycle returns the new word only when
    transparent; with rd_en low the data holds."""
    dut = Buffer(signed(12), 5, transparent=transparent)

    async def bench(ctx):
        for addr, value in ((2, -7), (3, 100)):
            ctx.set(dut.wr_addr, addr)
            ctx.set(dut.wr_data, value)
            ctx.set(dut.wr_en, 1)
            await ctx.tick()
        ctx.set(dut.wr_addr, 2)
        ctx.set(dut.wr_data, 55)
        ctx.set(dut.rd_addr, 2)
        ctx.set(dut.rd_en, 1)
        await ctx.tick()
        ctx.set(dut.wr_en, 0)
        assert ctx.get(dut.rd_data) == (55 if transparent else -7)
        ctx.set(dut.rd_en, 0)
        ctx.set(dut.rd_addr, 3)
        await ctx.tick()
        assert ctx.get(dut.rd_data) == (55 if transparent else -7)
        ctx.set(dut.rd_en, 1)
        await ctx.tick()
        assert ctx.get(dut.rd_data) == 100
    _run(dut, bench)


def test_buffer_comb_read_and_errors():
    dut = Buffer(range(20), 4, comb_read=True)

    async def bench(ctx):
        ctx.set(dut.wr_addr, 1)
        ctx.set(dut.wr_data, 19)
        ctx.set(dut.wr_en, 1)
        await ctx.tick()
        ctx.set(dut.rd_addr, 1)
        assert ctx.get(dut.rd_data) == 19
    _run(dut, bench)
    with pytest.raises(ValueError, match="Buffer depth must be a positive integer, not 0"):
        Buffer(8, 0)
    with pytest.raises(ValueError, match="A combinational read port cannot be transparent"):
        Buffer(8, 4, comb_read=True, transparent=True)
