# amaranth: UnusedElaboratable=no
"""The SCNN PPU's compression stage under Amaranth's simulator, against the format's encoder.

:class:`sparseforge.hdl.scnn.PostProcessor` alone, with 1×1 kernels (no halo exchange): the test
bench plays the accumulator banks (combinational reads, as :class:`.accumulators.AccumulatorBanks`
has them), filled with random values at the addresses of :func:`sim.scnn.cycles.bank_of` /
``entry_of``, and collects what the PPU writes to the OARAM and the count table. Each output
channel's block must be :func:`sim.scnn.format.encode` of its ReLU'd tile, elements outside the
layer's image being zeros, row-major; the blocks lie back to back from OARAM row 0.

The designs cover tiles narrower than I (one column with I = 3, 4, 5: the lanes past the tile
must not feed the compressor, whatever the PE's column and however the lane's image column
wraps), rows of several chunks with a partial last one, and images smaller than the PE array.
The :class:`.compressor.Compressor` alone is fed as for such tiles (lane 0 only, I not a power of
two) every zero/non-zero pattern of a short block.
"""

import itertools

import numpy as np
import pytest
from amaranth.sim import Simulator
from sparseforge.gen.config import parse_config
from sparseforge.hdl.scnn import Compressor, PostProcessor
from sparseforge.sim.scnn import cycles as scnn_cycles
from sparseforge.sim.scnn import format as scnn_format


def ppu_cfg(tw, th, i, pes_x, index_bits):
    banks = 1 << max(1, (max(tw, 2 * i) - 1).bit_length())
    kc = 2
    return parse_config({
        "arch": "scnn", "name": "ppu", "pes": {"x": pes_x, "y": 1},
        "pe": {"f": 1, "i": i, "banks": banks, "bank_entries": kc * -(-tw * th // banks)},
        "kc": kc, "tile": {"w": tw, "h": th}, "kernel_max": 1, "index_bits": index_bits,
        "widths": {"act": 8, "weight": 8, "acc": 12},
        "rams": {"iaram": 16 * i, "oaram": 16 * i, "weights": 16, "out_channels": 4}})


def run_ppu(cfg, px, h, w, planes):
    """Drain ``planes`` (kg × acc_h × acc_w accumulators) through PE ``(px, 0)``'s PPU; return
    the count-table writes ``{channel: count}`` and the OARAM rows ``{row: [(value, zeros)]}``,
    and the cycles it was busy."""
    dut = PostProcessor(cfg, px, 0)
    kg = len(planes)
    mem = {}
    for kk, plane in enumerate(planes):
        for pos, value in enumerate(plane.reshape(-1)):
            key = (int(scnn_cycles.bank_of(cfg, kk, pos)), int(scnn_cycles.entry_of(cfg, kk, pos)))
            assert key not in mem
            mem[key] = int(value)
    counts, rows, busy = {}, {}, []

    async def tb(ctx):
        ctx.set(dut.layer.h, h)
        ctx.set(dut.layer.w, w)
        ctx.set(dut.layer.r, 1)
        ctx.set(dut.layer.s, 1)
        ctx.set(dut.layer_start, 1)
        await ctx.tick()
        ctx.set(dut.layer_start, 0)
        ctx.set(dut.start, 1)
        ctx.set(dut.kg, kg)
        ctx.set(dut.kbase, 0)
        await ctx.tick()
        ctx.set(dut.start, 0)
        for _ in range(10 * cfg.tile_elems * kg + 20):
            for b in range(cfg.banks):
                ctx.set(dut.rdata[b], mem.get((b, ctx.get(dut.entry[b])), 0))
            busy.append(ctx.get(dut.busy))
            if ctx.get(dut.oaram.en):
                row = ctx.get(dut.oaram.data)
                rows[ctx.get(dut.oaram.addr)] = [(row[j].value, row[j].zeros)
                                                 for j in range(cfg.i)]
            if ctx.get(dut.counts.en):
                counts[ctx.get(dut.counts.addr)] = ctx.get(dut.counts.data)
            assert not ctx.get(dut.overflow)
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.run()
    return counts, rows, sum(busy)


@pytest.mark.parametrize("tw, th, i, pes_x, px, h, w, index_bits", [
    (1, 3, 3, 1, 0, 3, 1, 2),      # one column, I = 3: lane 2's image column 2 wrapped to 0
    (1, 4, 4, 3, 2, 4, 3, 1),      # I = 4 on the last of three one-column PEs (x 2 … 5)
    (1, 3, 5, 2, 1, 2, 2, 2),      # I = 5, an image a row short
    (1, 3, 2, 1, 0, 3, 1, 1),
    (2, 3, 3, 1, 0, 3, 2, 2),
    (5, 2, 3, 2, 1, 2, 8, 2),      # two chunks a row, the last partial; columns 8, 9 outside
    (3, 3, 2, 1, 0, 3, 3, 3),
])
def test_ppu_compresses_the_relu_tile_into_the_golden_blocks(tw, th, i, pes_x, px, h, w,
                                                             index_bits):
    cfg = ppu_cfg(tw, th, i, pes_x, index_bits)
    assert (cfg.halo, cfg.acc_w, cfg.acc_h) == (0, tw, th)
    seed = tw * 1000 + i * 100 + px * 10 + th
    rng = np.random.default_rng(seed)
    kg = 2
    # Mostly zeros and negatives (long runs: placeholders), some positives.
    planes = np.where(rng.random((kg, th, tw)) < 0.4, rng.integers(1, 100, (kg, th, tw)),
                      rng.integers(-50, 1, (kg, th, tw)))
    planes[-1] = np.abs(planes[-1]) + 1                      # one channel dense
    counts, rows, busy = run_ppu(cfg, px, h, w, planes)

    x0 = px * tw
    inside = (np.arange(th)[:, None] < h) & (x0 + np.arange(tw)[None, :] < w)
    start = 0
    assert sorted(counts) == list(range(kg)), f"seed {seed}"
    for kk in range(kg):
        dense = np.where(inside, np.maximum(planes[kk], 0), 0).reshape(-1)
        block = scnn_format.encode(dense, index_bits)
        assert counts[kk] == block.count, f"seed {seed}, channel {kk}"
        n_rows = -(-block.count // i)
        stored = [e for r in range(start, start + n_rows) for e in rows[r]][:block.count]
        assert stored == list(zip(block.values.tolist(), block.zeros.tolist())), \
            f"seed {seed}, channel {kk}"
        start += n_rows
    # Busy: per channel H_t rows of ⌈W_t / I⌉ cycles and a flush cycle (no exchange).
    assert busy == kg * (th * -(-tw // i) + 1)


@pytest.mark.parametrize("i, index_bits", [(3, 2), (5, 1), (6, 2)])
def test_compressor_one_element_a_cycle_every_pattern(i, index_bits):
    """The compressor fed as the PPU feeds it for one-column tiles: one valid lane a cycle (lane
    0), I lanes not a power of two. Every zero/non-zero pattern of a 6-element block, back to
    back, against the format's encoder (counts and stored rows)."""
    cfg = ppu_cfg(1, 6, i, 1, index_bits)
    cfg = parse_config({**cfg.to_dict(), "rams": {**cfg.to_dict()["rams"], "oaram": 200 * i}})
    dut = Compressor(cfg)
    blocks = [np.array(p) * np.arange(1, 7) for p in itertools.product([0, 1], repeat=6)]
    rows, counts = {}, []

    async def tb(ctx):
        ctx.set(dut.layer_start, 1)
        await ctx.tick()
        ctx.set(dut.layer_start, 0)
        for dense in blocks:
            for value in dense:
                ctx.set(dut.elements[0].valid, 1)
                ctx.set(dut.elements[0].value, int(value))
                await ctx.tick()
            ctx.set(dut.elements[0].valid, 0)
            ctx.set(dut.flush, 1)
            assert not ctx.get(dut.overflow)
            counts.append(ctx.get(dut.count))
            await ctx.tick()
            ctx.set(dut.flush, 0)

    async def monitor(ctx):
        async for _clk, _rst, en, addr, row in ctx.tick().sample(dut.row_w.en, dut.row_w.addr,
                                                                 dut.row_w.data):
            if en:
                rows[addr] = [(row[lane].value, row[lane].zeros) for lane in range(i)]

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.add_process(monitor)
    sim.run()
    start = 0
    for dense, count in zip(blocks, counts):
        block = scnn_format.encode(dense, index_bits)
        assert count == block.count, dense
        n_rows = -(-count // i)
        stored = [e for r in range(start, start + n_rows) for e in rows[r]][:count]
        assert stored == list(zip(block.values.tolist(), block.zeros.tolist())), dense
        start += n_rows
