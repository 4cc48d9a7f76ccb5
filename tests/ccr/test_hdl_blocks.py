# amaranth: UnusedElaboratable=no
"""CCR blocks under Amaranth's simulator against NumPy (CCR, Sec. IV): PU, CCU, crossbar,
AccUnit with OB, sequencer."""

import numpy as np
import pytest
from amaranth import signed
from amaranth.sim import Simulator

from sparseforge.gen.ccr.config import parse_ccr
from sparseforge.gen.ccr.presets import CCR_PRESETS
from sparseforge.hdl.ccr import CcrAccelerator
from sparseforge.hdl.ccr.accunit import AccUnit
from sparseforge.hdl.ccr.ccu import Ccu
from sparseforge.hdl.ccr.crossbar import Crossbar
from sparseforge.hdl.ccr.layouts import coord_shape, layer_layout
from sparseforge.hdl.ccr.pu import ProcessingUnit
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


def test_ccu_is_ccr1():
    """The block's first product: input (M·Px, N·Py) times kernel (i, j) lands at full-output
    (M·Px − i, N·Py − j) (CCR-1, α = 1 − i − 1), i.e. window coordinates minus (x0, y0)."""
    dut = Ccu(4, 2, block_bits=6, index_bits=3, origin_shape=signed(5), coord_shape=signed(10))
    rng = np.random.default_rng(SEED)

    async def bench(ctx):
        for _ in range(40):
            mm, nn, i, j = (int(v) for v in rng.integers(0, [40, 40, 8, 8]))
            x0, y0 = (int(v) for v in rng.integers(-7, 3, 2))
            for port, v in zip((dut.m, dut.n, dut.i, dut.j, dut.x0, dut.y0),
                               (mm, nn, i, j, x0, y0)):
                ctx.set(port, v)
            alpha, beta = 1 - i - 1, 1 - j - 1
            assert ctx.get(dut.u0) == mm * 4 + alpha - x0
            assert ctx.get(dut.v0) == nn * 2 + beta - y0
    _run(dut, bench, clock=False)


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


@pytest.mark.parametrize("px,py", [(2, 2), (4, 2)])
def test_accunit_accumulates_blocks_into_ob(px, py):
    """Random blocks, back to back, overlapping and partly outside the window, against an OB
    model built from the documented bank rule."""
    cfg = _cfg(pu={"x": px, "y": py}, widths={"acc": 12})
    layer = layer_layout(cfg)
    dut = AccUnit(cfg, coord_shape(cfg), layer["ho"].shape)
    rng = np.random.default_rng(SEED + px)
    k, ho, wo = 2, 5, 7
    hb, wb = -(-ho // px), -(-wo // py)
    words = k * hb * wb
    ref = np.zeros((k, ho, wo), dtype=np.int64)
    blocks = []
    for n in range(60):
        kk = int(rng.integers(0, k))
        u0, v0 = (int(v) for v in rng.integers(-px - 1, [ho + 1, wo + 1]))
        prods = rng.integers(-2048, 2048, px * py)
        blocks.append((kk, u0, v0, prods, n % 7 != 3))      # some cycles idle
    for kk, u0, v0, prods, valid in blocks:
        if not valid:
            continue
        for p in range(px):
            for q in range(py):
                if 0 <= u0 + p < ho and 0 <= v0 + q < wo:
                    ref[kk, u0 + p, v0 + q] += prods[p * py + q]
    ref = wrap(ref, 12)

    async def bench(ctx):
        ctx.set(dut.ho, ho)
        ctx.set(dut.wo, wo)
        ctx.set(dut.wbo, wb)
        ctx.set(dut.clear, 1)
        for a in range(words):
            ctx.set(dut.clear_addr, a)
            await ctx.tick()
        ctx.set(dut.clear, 0)
        for kk, u0, v0, prods, valid in blocks:
            ctx.set(dut.valid, valid)
            ctx.set(dut.u0, u0)
            ctx.set(dut.v0, v0)
            ctx.set(dut.kbase, kk * hb * wb)
            ctx.set(dut.products, prods.tolist())
            await ctx.tick()
        ctx.set(dut.valid, 0)
        await ctx.tick()
        got = np.zeros((words, px * py), dtype=np.int64)
        for a in range(words):
            ctx.set(dut.rd_en, 1)
            ctx.set(dut.rd_addr, a)
            await ctx.tick()
            ctx.set(dut.rd_en, 0)
            got[a] = [ctx.get(dut.rd_data[b]) for b in range(px * py)]
        for kk in range(k):
            for u in range(ho):
                for v in range(wo):
                    word = kk * hb * wb + (u // px) * wb + v // py
                    assert got[word, (u % px) * py + v % py] == ref[kk, u, v], (kk, u, v)
    _run(dut, bench)


@pytest.mark.parametrize("dense", [True, False])
def test_sequencer_walks_the_loops(dense):
    cfg = _cfg("dense" if dense else "sparse_k")
    dut = Sequencer(cfg, dense=dense)
    c, k, hb, wb, r, s, wpk = 3, 2, 2, 3, 2, 3, 5
    rng = np.random.default_rng(SEED)
    counts = [0 if dense else int(v) for v in rng.integers(0, 4, k * c)]
    if not dense:
        counts[1] = 0                           # an all-zero kernel: one cycle, no step
    expect = []                     # (issue, kb_addr, ib_addr, kbase, m, n, i, j)
    base = 0
    for kk in range(k):
        for cc in range(c):
            n_e = r * s if dense else counts[kk * c + cc]
            if n_e == 0:
                expect.append((0,))
                continue
            for blk in range(hb * wb):
                for e in range(n_e):
                    expect.append((1, base + e, cc * hb * wb + blk, kk * wpk, blk // wb,
                                   blk % wb, e // s, e % s))
            base += n_e

    async def bench(ctx):
        for port, v in ((dut.c, c), (dut.k, k), (dut.nb, hb * wb), (dut.wb, wb), (dut.rs, r * s),
                        (dut.s, s), (dut.wpk, wpk)):
            ctx.set(port, v)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        ctx.set(dut.run, 1)
        for n, step in enumerate(expect):
            ctx.set(dut.count, counts[ctx.get(dut.group)])
            assert ctx.get(dut.issue) == step[0]
            assert ctx.get(dut.last) == (n == len(expect) - 1)
            if step[0]:
                got = (1, ctx.get(dut.kb_addr), ctx.get(dut.ib_addr), ctx.get(dut.kbase),
                       ctx.get(dut.m), ctx.get(dut.n))
                if dense:
                    got += (ctx.get(dut.i), ctx.get(dut.j))
                assert got == step[:6 + 2 * dense], n
            await ctx.tick()
    _run(dut, bench)


def test_top_rejects_unbuilt_variants():
    with pytest.raises(ValueError, match="CCR variant must be one of dense, sparse_k to build "
                                         "RTL, not 'sparse_i'"):
        CcrAccelerator(_cfg("sparse_i"))
