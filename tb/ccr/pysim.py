"""The CCR accelerator under Amaranth's simulator: a layer in, outputs, cycles and counters out.

The sequence a host runs (:class:`~sparseforge.hdl.ccr.CcrAccelerator`): per stride pass, clear,
stream IB and KB words (and the compressed buffers' word counts), write the layer registers and
``start`` (``accumulate`` after the first pass), wait for done, read the counters; finally
``read`` and collect the OB words. Busy cycles are counted from the ``busy`` port, outside the
design's counters. Optional random idle cycles on the input streams and back-pressure on the
output stream.
"""

import random
from dataclasses import dataclass, field

import numpy as np
from amaranth.sim import Simulator

from ...hdl.ccr import CcrAccelerator
from ...hdl.ccr.layouts import ib_word_layout, kb_word_layout, out_word_layout
from ...sim.ccr import format as fmt
from ...sim.ccr.cycles import STATISTICS
from ...sim.ccr.layer import passes
from ..axi_lite_pysim import axil_read, axil_write
from ..packing import Packer

__all__ = ["LayerRun", "Beats", "pass_beats", "simulate_layer", "COUNTERS"]

#: Registers read after every pass.
COUNTERS = ("cycles", *STATISTICS, "status")


@dataclass
class LayerRun:
    """Outputs K×Ho×Wo, busy cycles per pass (seen from outside) and the counters per pass."""

    out: np.ndarray
    cycles: list = field(default_factory=list)
    registers: list = field(default_factory=list)


@dataclass
class Beats:
    """A pass's stream beats: IB words and counts (``s_axis_i`` ``tdest`` 0 and 1), KB words and
    counts (``s_axis_k``)."""

    ib: list
    ib_counts: list
    kb: list
    kb_counts: list


def pass_beats(cfg, p):
    """The :class:`Beats` of a :class:`~sparseforge.sim.ccr.layer.Pass`, packed by the RTL's
    layouts."""
    buf = fmt.buffers(cfg.variant, cfg.px, cfg.py, p.x, p.w)

    def pack(layout, words):
        return list(Packer(layout).pack_many(words)) if len(words) else []

    def counts(table):
        return [] if table is None else [int(n) for n in table]

    return Beats(pack(ib_word_layout(cfg), buf.ib), counts(buf.ib_counts),
                 pack(kb_word_layout(cfg), buf.kb), counts(buf.kb_counts))


async def _send(ctx, port, beats, prng, pause, dest=None):
    for n, beat in enumerate(beats):
        while pause and prng.random() < pause:
            await ctx.tick()
        ctx.set(port.tdata, int(beat))
        ctx.set(port.tlast, n == len(beats) - 1)
        if dest is not None:
            ctx.set(port.tdest, dest)
        ctx.set(port.tvalid, 1)
        await ctx.tick().until(port.tready)
        ctx.set(port.tvalid, 0)


def simulate_layer(cfg, x, w, win, *, pause=0.0, backpressure=0.0, seed=0):
    """Run a layer (window ``win``, :func:`~sparseforge.sim.ccr.layer.window`) on the Amaranth
    model of ``cfg``'s accelerator; return a :class:`LayerRun`."""
    dut = CcrAccelerator(cfg)
    regs = {reg.name: reg.offset for reg in dut.registers}
    k = np.asarray(w).shape[0]
    nwords = fmt.output_words(k, win.ho, win.wo, cfg.px, cfg.py)
    opack = Packer(out_word_layout(cfg))
    prng = random.Random(seed)
    run = LayerRun(out=None)
    words = []
    busy = []

    async def write(ctx, name, value):
        resp = await axil_write(ctx, dut.s_axil, regs[name], value & 0xFFFFFFFF)
        assert resp == 0, f"write to {name} answered {resp}"

    async def read(ctx, name):
        value, resp = await axil_read(ctx, dut.s_axil, regs[name])
        assert resp == 0, f"read of {name} answered {resp}"
        return value

    async def control(ctx):
        for n, p in enumerate(passes(x, w, win)):
            beats = pass_beats(cfg, p)
            await write(ctx, "clear", 1)
            await _send(ctx, dut.s_axis_i, beats.ib, prng, pause, dest=0)
            await _send(ctx, dut.s_axis_i, beats.ib_counts, prng, pause, dest=1)
            await _send(ctx, dut.s_axis_k, beats.kb, prng, pause, dest=0)
            await _send(ctx, dut.s_axis_k, beats.kb_counts, prng, pause, dest=1)
            c, h, wd = p.x.shape
            _, _, r, s = p.w.shape
            values = {"c": c, "h": h, "w": wd, "k": k, "r": r, "s": s, "x0": p.x0, "y0": p.y0,
                      "ho": win.ho, "wo": win.wo}
            for name, value in values.items():
                await write(ctx, f"layer_{name}", value)
            await write(ctx, "accumulate", int(n > 0))
            busy.append(0)
            await write(ctx, "start", 1)
            await ctx.tick().until(dut.irq)
            run.registers.append({name: await read(ctx, name) for name in COUNTERS})
        await write(ctx, "read", 1)
        while len(words) < nwords:
            await ctx.tick()

    async def collect(ctx):
        o = dut.m_axis_o
        while True:
            ready = not (backpressure and prng.random() < backpressure)
            ctx.set(o.tready, ready)
            _, _, valid, data, last = await ctx.tick().sample(o.tvalid, o.tdata, o.tlast)
            if valid and ready:
                words.append(data)
                assert bool(last) == (len(words) == nwords), "tlast misplaced"

    async def count_busy(ctx):
        async for _clk, _rst, b in ctx.tick().sample(dut.busy):
            if b:
                busy[-1] += 1

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(control)
    sim.add_testbench(collect, background=True)
    sim.add_process(count_busy)
    sim.run()
    run.out = fmt.output_map(opack.unpack_many(words), k, win.ho, win.wo, cfg.px, cfg.py)
    run.cycles = busy
    return run
