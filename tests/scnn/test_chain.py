# amaranth: UnusedElaboratable=no
"""Chained SCNN layers: the PPU's requantizer against the project's rule, the activation RAMs'
role swap, and the golden and cycle models of a requantized, chained or output-keeping layer.

The RTL runs of whole chains are in the cocotb regression (``tb/scnn/regression.py``,
``chained_layers``).
"""

import random

import numpy as np
import pytest
from amaranth import Module
from amaranth.lib import wiring
from amaranth.sim import Simulator
from sparseforge.gen.config import parse_config
from sparseforge.hdl.scnn.layouts import act_row_layout
from sparseforge.hdl.scnn.loader import directory_layout
from sparseforge.hdl.scnn.rams import Ram
from sparseforge.hdl.scnn.requant import Requantizer, shift_bits
from sparseforge.hdl.scnn.swap import BufferSwap, buffer_row_layout, buffer_rows, dir_layout
from sparseforge.sim import conv
from sparseforge.sim.scnn import cycles as scnn_cycles
from sparseforge.sim.scnn import golden as scnn_golden
from sparseforge.sim.scnn import streams as scnn_streams


@pytest.mark.parametrize("acc, act", [(24, 16), (10, 4), (12, 12), (5, 2)])
def test_requantizer_is_the_project_rule(acc, act):
    """Every shift the port holds, extreme and random values: equal to
    ``sim.conv.requantize(value, shift, bits=act)`` (rounding half up, saturating)."""
    dut = Requantizer(acc, act)
    rng = random.Random(acc * 100 + act)
    lo, hi = -(1 << (acc - 1)), (1 << (acc - 1)) - 1
    values = [lo, lo + 1, -1, 0, 1, 2, 3, hi - 1, hi] + [rng.randint(lo, hi) for _ in range(40)]
    shifts = range(1 << shift_bits(acc))

    async def tb(ctx):
        for shift in shifts:
            ctx.set(dut.shift, shift)
            for value in values:
                ctx.set(dut.value, value)
                want = int(conv.requantize(value, shift, bits=act))
                assert ctx.get(dut.o) == want, (value, shift)

    sim = Simulator(dut)
    sim.add_testbench(tb)
    sim.run()


@pytest.mark.parametrize("acc, act", [(8, 1), (8, 9), (8.0, 4), ("8", 4)])
def test_requantizer_rejects_bad_widths(acc, act):
    with pytest.raises(ValueError, match="Widths must be integers"):
        Requantizer(acc, act)


def test_requantized_golden_by_hand():
    """ReLU, round half up, saturate to 4 bits (0 … 7)."""
    out = scnn_golden.requantized(np.array([0, -5, 3, 4, 5, 13, 14, 100000]), 1, 4)
    assert out.tolist() == [0, 0, 2, 2, 3, 7, 7, 7]
    assert scnn_golden.requantized(np.array([-1, 6, 9]), 0, 4).tolist() == [0, 6, 7]
    assert conv.requantize(np.array([-300, 300]), 0).tolist() == [-128, 127]   # still INT8


def small_cfg(**rams):
    return parse_config({
        "arch": "scnn", "name": "chain_small", "pes": {"x": 2, "y": 1},
        "pe": {"f": 2, "i": 2, "banks": 8}, "kc": 2, "tile": {"w": 3, "h": 2},
        "kernel_max": 3, "index_bits": 2,
        "rams": {"iaram": 16, "oaram": 24, "weights": 64, "out_channels": 8, **rams}})


def test_chained_and_kept_layers_in_the_cycle_model():
    """A chained layer differs from the same layer streamed in its load part only: none (its
    activations are on chip and its weights stream while it computes), the rest identical (the
    weight FIFOs keep the same blocks); a layer keeping its outputs has no drain and ends with
    its last busy cycle."""
    cfg = small_cfg()
    rng = np.random.default_rng(5)
    act = rng.integers(0, 50, (3, 2, 6)) * (rng.random((3, 2, 6)) < 0.6)
    weights = rng.integers(-9, 9, (2, 3, 1, 1))
    streams = scnn_streams.layer_streams(cfg, act, weights, shift=2)
    plain = scnn_cycles.layer_cycles(cfg, streams)
    chained = scnn_cycles.layer_cycles(cfg, streams, chained=True)
    kept = scnn_cycles.layer_cycles(cfg, streams, chained=True, keep=True)
    a_beats = sum(len(rows[0]) for rows in streams.act_rows)
    assert plain.load_cycles == a_beats + 1 and chained.load_cycles == 0
    for name in ("busy_cycles", "drain_cycles", "products", "stall_cycles", "barrier_cycles",
                 "weight_stall_cycles"):
        assert getattr(chained, name) == getattr(plain, name), name
    assert kept.drain_cycles == 0
    assert kept.cycles == kept.load_cycles + kept.busy_cycles == \
        chained.cycles - chained.drain_cycles


def test_requantized_streams_hold_the_requantized_output():
    cfg = small_cfg()
    rng = np.random.default_rng(6)
    act = rng.integers(-99, 99, (2, 2, 6))
    weights = rng.integers(-99, 99, (2, 2, 3, 3))
    streams = scnn_streams.layer_streams(cfg, act, weights, shift=3)
    want = scnn_golden.requantized(scnn_golden.layer_output(act, weights, cfg.acc_width), 3,
                                   cfg.act_width)
    got = scnn_streams.assemble_output(cfg, streams.output_blocks, streams.layer)
    assert np.array_equal(got, want)
    assert want.max() <= (1 << (cfg.act_width - 1)) - 1 and want.min() >= 0


@pytest.mark.parametrize("in_sel", [0, 1])
def test_buffer_swap_routes_by_role(in_sel):
    """Loader rows and directory entries land in the input RAM and its half of the directory,
    the PPU's in the other; the sequencer and the weight FIFO's lookup read the input side, the
    output streamer the output side;
    activations are stored sign-extended. RAMs of different configured sizes get the larger
    depth."""
    cfg = small_cfg()
    assert buffer_rows(cfg) == 12 and cfg.iaram_rows == 8
    load_dir = directory_layout(cfg.iaram_rows, cfg.tile_elems)
    m = Module()
    m.submodules.swap = swap = BufferSwap(cfg, load_dir)
    rams = [Ram(buffer_row_layout(cfg), buffer_rows(cfg)) for _ in range(2)]
    lst = Ram(dir_layout(cfg), 2 * cfg.iaram_rows)
    m.submodules.ram0, m.submodules.ram1, m.submodules.lst = rams[0], rams[1], lst
    for n in range(2):
        wiring.connect(m, swap.rams_w[n], rams[n].w)
        wiring.connect(m, swap.rams_r[n], rams[n].r[0])
    wiring.connect(m, swap.dir_w, lst.w)
    wiring.connect(m, swap.dir_r, lst.r[0])
    act_row = act_row_layout(cfg)

    async def tb(ctx):
        ctx.set(swap.in_sel, in_sel)
        # The loader writes row 7 of the input RAM (the IARAM's own 8 rows)...
        ctx.set(swap.load_rows.addr, 7)
        ctx.set(swap.load_rows.data, act_row.const({
            "count": 2, "entries": [{"value": -3, "zeros": 1}, {"value": 5, "zeros": 0}]}))
        ctx.set(swap.load_rows.en, 1)
        ctx.set(swap.load_dir.addr, 3)
        ctx.set(swap.load_dir.data, {"start": 7, "count": 2})
        ctx.set(swap.load_dir.en, 1)
        await ctx.tick()
        ctx.set(swap.load_rows.en, 0)
        ctx.set(swap.load_dir.en, 0)
        # ... and the PPU, in another cycle, row 11 of the output RAM (past the IARAM's 8 rows,
        # within the depth both RAMs have) and its directory entry 3.
        ctx.set(swap.ppu_rows.addr, 11)
        ctx.set(swap.ppu_rows.data, [{"value": 1 << 20, "zeros": 3}, {"value": -7, "zeros": 2}])
        ctx.set(swap.ppu_rows.en, 1)
        ctx.set(swap.ppu_dir.addr, 3)
        ctx.set(swap.ppu_dir.data, {"start": 11, "count": 1})
        ctx.set(swap.ppu_dir.en, 1)
        await ctx.tick()
        ctx.set(swap.ppu_rows.en, 0)
        ctx.set(swap.ppu_dir.en, 0)
        for port, addr in ((swap.seq_rows, 7), (swap.out_rows, 11), (swap.in_dir, 3)):
            ctx.set(port.addr, addr)
            ctx.set(port.en, 1)
        await ctx.tick()
        seq, out = ctx.get(swap.seq_rows.data), ctx.get(swap.out_rows.data)
        assert [(e.value, e.zeros) for e in seq] == [(-3, 1), (5, 0)]
        assert [(e.value, e.zeros) for e in out] == [(1 << 20, 3), (-7, 2)]
        entry = ctx.get(swap.in_dir.data)
        assert (entry.start, entry.count) == (7, 2)
        # Where they went physically: RAM in_sel holds the loader's row.
        ctx.set(swap.in_sel, 1 - in_sel)
        await ctx.tick()
        ctx.set(swap.seq_rows.addr, 11)
        ctx.set(swap.out_rows.addr, 7)
        ctx.set(swap.in_dir.addr, 3)
        await ctx.tick()
        seq, out = ctx.get(swap.seq_rows.data), ctx.get(swap.out_rows.data)
        assert [(e.value, e.zeros) for e in seq] == [(1 << 20, 3), (-7, 2)]
        assert [(e.value, e.zeros) for e in out] == [(-3, 1), (5, 0)]
        entry = ctx.get(swap.in_dir.data)
        assert (entry.start, entry.count) == (11, 1)

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.run()
