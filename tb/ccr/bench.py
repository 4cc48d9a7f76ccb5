"""The CCR accelerator's cocotb bench: loads each stride pass, runs it, collects the outputs.

:class:`CcrBench` drives a :class:`sparseforge.hdl.ccr.CcrAccelerator` DUT through its AXI
interfaces with cocotbext-axi: an :class:`AxiLiteMaster` on ``s_axil``, :class:`AxiStreamSource`
on ``s_axis_i`` (IB words, ``tdest`` 0; the compressed IB's word counts, ``tdest`` 1) and
``s_axis_k`` (KB words and counts likewise) and an :class:`AxiStreamSink` on ``m_axis_o`` (OB
words). Every stream and the
register bus's channels get seeded idle cycles and back-pressure.

Cycles are measured outside the DUT: the clock periods ``busy`` is high in each pass
(:mod:`sparseforge.sim.ccr.cycles`), and also read from the ``cycles`` register.
"""

import logging
from dataclasses import dataclass, field

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge, with_timeout
from cocotb.utils import get_sim_time
from cocotbext.axi import (AxiLiteBus, AxiLiteMaster, AxiStreamBus, AxiStreamFrame,
                           AxiStreamSink, AxiStreamSource)

from ...hdl.ccr import STATUS_BITS, register_map
from ...hdl.ccr.layouts import out_word_layout
from ...sim.ccr import format as fmt
from ...sim.ccr.cycles import STATISTICS
from ...sim.ccr.layer import passes
from ..driver import DriverRegisters
from ..packing import Packer
from ..streams import random_pauses, set_axi_pauses
from .pysim import COUNTERS, pass_beats

__all__ = ["CcrBench", "LayerResult", "CLOCK_NS", "COUNTERS", "STATISTICS", "STATUS_DONE",
           "STATUS_ERROR"]

CLOCK_NS = 10

#: Bits of the ``status`` register.
STATUS_DONE = 1 << STATUS_BITS["done"]
STATUS_ERROR = 1 << STATUS_BITS["error"]


@dataclass
class LayerResult:
    """Outputs K×Ho×Wo, busy cycles per pass (measured by the bench), counters per pass."""

    out: np.ndarray
    cycles: list = field(default_factory=list)
    registers: list = field(default_factory=list)


class CcrBench:
    """Drive one CCR accelerator DUT (see the module docstring)."""

    def __init__(self, dut, cfg, *, pause=0.0, backpressure=0.0, seed=0):
        self.dut = dut
        self.cfg = cfg
        self.regs = {reg.name: reg.offset for reg in register_map(cfg)}
        self.o_packer = Packer(out_word_layout(cfg))
        cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())

        def bus(prefix):
            return AxiStreamBus.from_prefix(dut, prefix, bus_separator="__")

        for prefix in ("s_axil", "s_axis_i", "s_axis_k", "m_axis_o"):
            logging.getLogger(f"cocotb.{dut._name}.{prefix}").setLevel(logging.WARNING)
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil", bus_separator="__"),
                                  dut.clk, dut.rst)
        # registers go through the driver `generate` writes for users (tb/driver.py)
        self.registers = DriverRegisters(cfg, self.axil)
        self.ib = AxiStreamSource(bus("s_axis_i"), dut.clk, dut.rst,
                                  byte_size=len(dut.s_axis_i__tdata))
        self.kb = AxiStreamSource(bus("s_axis_k"), dut.clk, dut.rst,
                                  byte_size=len(dut.s_axis_k__tdata))
        self.ob = AxiStreamSink(bus("m_axis_o"), dut.clk, dut.rst,
                                byte_size=len(dut.m_axis_o__tdata))
        self.set_pauses(pause, backpressure, seed)
        self._tasks = []

    def set_pauses(self, pause, backpressure, seed):
        """Idle cycles on every source, back-pressure on every sink, each seeded."""
        def gen(p, k):
            return random_pauses(p, seed * 16 + k) if p else None
        write, read = self.axil.write_if, self.axil.read_if
        set_axi_pauses(self.ib, gen(pause, 1))
        set_axi_pauses(self.kb, gen(pause, 2))
        set_axi_pauses(write.aw_channel, gen(pause, 3))
        set_axi_pauses(write.w_channel, gen(pause, 4))
        set_axi_pauses(read.ar_channel, gen(pause, 5))
        set_axi_pauses(self.ob, gen(backpressure, 6))
        set_axi_pauses(write.b_channel, gen(backpressure, 7))
        set_axi_pauses(read.r_channel, gen(backpressure, 8))

    async def reset(self):
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 3)
        self.dut.rst.value = 0
        await RisingEdge(self.dut.clk)

    def abandon(self):
        """Forget the running job (before a reset in its middle): stop the bench's own tasks,
        drop every queued input frame and every received output frame."""
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
        for end in (self.ib, self.kb, self.ob):
            end.clear()

    def output_valids(self):
        return [self.dut.m_axis_o__tvalid]

    async def write(self, name, value):
        await self.registers.write(name, value)

    async def read(self, name):
        return await self.registers.read(name)

    async def _busy_cycles(self):
        await RisingEdge(self.dut.busy)
        start = get_sim_time(unit="ns")
        await FallingEdge(self.dut.busy)
        return round((get_sim_time(unit="ns") - start) / CLOCK_NS)

    async def run_pass(self, p, k, win, *, accumulate, timeout_cycles):
        """Load one :class:`~sparseforge.sim.ccr.layer.Pass`, run it; ``(cycles, counters)``."""
        await self.write("clear", 1)
        beats = pass_beats(self.cfg, p)
        for source, words, counts in ((self.ib, beats.ib, beats.ib_counts),
                                      (self.kb, beats.kb, beats.kb_counts)):
            if words:
                source.send_nowait(AxiStreamFrame(words, tdest=0))
            if counts:
                source.send_nowait(AxiStreamFrame(counts, tdest=1))
        await self.ib.wait()
        await self.kb.wait()
        c, h, w = p.x.shape
        _, _, r, s = p.w.shape
        values = {"c": c, "h": h, "w": w, "k": k, "r": r, "s": s, "x0": p.x0, "y0": p.y0,
                  "ho": win.ho, "wo": win.wo}
        for name, value in values.items():
            await self.write(f"layer_{name}", value)
        await self.write("accumulate", int(accumulate))
        measure = cocotb.start_soon(self._busy_cycles())
        self._tasks[:] = [measure]
        await self.write("start", 1)
        await with_timeout(measure, timeout_cycles * CLOCK_NS, "ns")
        return measure.result(), {name: await self.read(name) for name in COUNTERS}

    async def run_layer(self, x, w, win, *, timeout_cycles=None):
        """Every pass of a layer, then the OB words; a :class:`LayerResult`."""
        cfg = self.cfg
        k = w.shape[0]
        result = LayerResult(out=None)
        limit = timeout_cycles or 20 * (w.size * x[0].size + 1000)
        for n, p in enumerate(passes(x, w, win)):
            cycles, regs = await self.run_pass(p, k, win, accumulate=n > 0,
                                               timeout_cycles=limit)
            result.cycles.append(cycles)
            result.registers.append(regs)
        await self.write("read", 1)
        frame = await with_timeout(self.ob.recv(compact=False), limit * CLOCK_NS, "ns")
        nwords = fmt.output_words(k, win.ho, win.wo, cfg.px, cfg.py)
        assert len(frame.tdata) == nwords, f"{len(frame.tdata)} OB words, want {nwords}"
        words = self.o_packer.unpack_many(frame.tdata)
        result.out = fmt.output_map(words, k, win.ho, win.wo, cfg.px, cfg.py)
        return result
