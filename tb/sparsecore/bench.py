"""SparseCore's cocotb test bench: loads a layer, runs it, collects output beats and counters.

:class:`SparseCoreBench` drives a :class:`sparseforge.hdl.sparsecore.accelerator.
SparseCoreAccelerator` through its AXI interfaces with cocotbext-axi: an ``AxiLiteMaster`` on
``s_axil``, ``AxiStreamSource`` on ``s_axis_w``, ``s_axis_q`` (one frame per beat, ``tdest`` =
chunk) and ``s_axis_act`` (``tdest`` 0 entries, 1 pointer rows), an ``AxiStreamSink`` on
``m_axis_out`` (one frame per beat). Seeded pause generators put idle cycles on every source and
back-pressure on every sink, the register bus's channels included.

Cycles are measured outside the DUT: the clock periods ``busy`` is high.
"""

import logging
from dataclasses import dataclass

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge, with_timeout
from cocotb.utils import get_sim_time
from cocotbext.axi import (AxiLiteBus, AxiLiteMaster, AxiStreamBus, AxiStreamFrame,
                           AxiStreamSink, AxiStreamSource)

from ...hdl.sparsecore.accelerator import register_map
from ...hdl.sparsecore.layouts import (act_entry_layout, out_layout, pointer_layout,
                                       requant_beat_layout, weight_beat_layout)
from ...sim.sparsecore import format as kmf
from ...sim.sparsecore import streams
from ..driver import DriverRegisters
from ..packing import Packer
from ..streams import random_pauses, set_axi_pauses

__all__ = ["SparseCoreBench", "LayerResult", "CLOCK_NS", "STATISTICS", "STATUS_DONE",
           "STATUS_ERROR"]

CLOCK_NS = 10
STATISTICS = ("alu_jobs", "work_units", "pe_idle_cycles")
STATUS_BUSY, STATUS_DONE, STATUS_ERROR = 1, 2, 4


@dataclass
class LayerResult:
    """``beats``: ``(chunk, y, x, [(c, value)])`` in arrival order; ``cycles``: periods ``busy``
    was high; ``registers``: ``cycles``, :data:`STATISTICS` and ``status`` as read."""

    beats: list
    cycles: int
    registers: dict


class SparseCoreBench:
    def __init__(self, dut, cfg, *, pause=0.0, backpressure=0.0, seed=0):
        self.dut = dut
        self.cfg = cfg
        self.regs = {reg.name: reg.offset for reg in register_map(cfg)}
        self.out_packer = Packer(out_layout(cfg))
        cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())
        for prefix in ("s_axil", "s_axis_w", "s_axis_q", "s_axis_act", "m_axis_out"):
            logging.getLogger(f"cocotb.{dut._name}.{prefix}").setLevel(logging.WARNING)

        def source(prefix):
            return AxiStreamSource(AxiStreamBus.from_prefix(dut, prefix, bus_separator="__"),
                                   dut.clk, dut.rst, byte_size=len(getattr(dut,
                                                                           f"{prefix}__tdata")))

        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil", bus_separator="__"),
                                  dut.clk, dut.rst)
        # registers go through the driver `generate` writes for users (tb/driver.py)
        self.registers = DriverRegisters(cfg, self.axil)
        self.w, self.q, self.a = source("s_axis_w"), source("s_axis_q"), source("s_axis_act")
        self.out = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis_out", bus_separator="__"),
                                 dut.clk, dut.rst, byte_size=len(dut.m_axis_out__tdata))
        self.set_pauses(pause, backpressure, seed)
        self._tasks = []

    def set_pauses(self, pause, backpressure, seed):
        def gen(p, k):
            return random_pauses(p, seed * 16 + k) if p else None
        write, read = self.axil.write_if, self.axil.read_if
        for n, src in enumerate((self.w, self.q, self.a, write.aw_channel, write.w_channel,
                                 read.ar_channel)):
            set_axi_pauses(src, gen(pause, n))
        for n, sink in enumerate((self.out, write.b_channel, read.r_channel)):
            set_axi_pauses(sink, gen(backpressure, 8 + n))

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
        for end in (self.w, self.q, self.a, self.out):
            end.clear()

    def output_valids(self):
        return [self.dut.m_axis_out__tvalid]

    async def write(self, name, value):
        """Through the generated driver: pulse registers take 1, the others their value."""
        await self.registers.write(name, value)

    async def read(self, name):
        return await self.registers.read(name)

    async def load(self, shape, act, weights, bias, mult, shift, relu, dense_acts=False):
        """Layer registers (``layer_k`` first), weights, requantization and activations (with
        ``dense_acts`` every position an entry, zeros too: the design run as a dense array)."""
        cfg = self.cfg
        fields = {"k": shape.k, "h": shape.h, "w": shape.w, "c": shape.c, "r": shape.r,
                  "s": shape.s, "pad": shape.pad, "stride_log2": shape.stride.bit_length() - 1,
                  "relu": int(relu), "pool": int(shape.pool)}
        for name, value in fields.items():
            await self.write(f"layer_{name}", value)
        await self.write("clear", 1)
        wpack, qpack = Packer(weight_beat_layout(cfg)), Packer(requant_beat_layout(cfg))
        for chunk, rows in streams.weight_rows(cfg, weights).items():
            words = wpack.pack_many([[addr] + [f for grp in groups for slot in grp for f in slot]
                                     for addr, groups in rows])
            for word in words:
                self.w.send_nowait(AxiStreamFrame([word], tdest=chunk))
        for chunk, rows in streams.requant_rows(cfg, bias, mult, shift, shape.k).items():
            for word in qpack.pack_many([[row] + [v for lane in params for v in lane]
                                         for row, params in rows]):
                self.q.send_nowait(AxiStreamFrame([word], tdest=chunk))
        store = (kmf.dense_acts if dense_acts else kmf.compress_acts)(act, cfg.chunk)
        entries = streams.act_entries(store)
        if entries:
            for word in Packer(act_entry_layout(cfg)).pack_many([list(e) for e in entries]):
                self.a.send_nowait(AxiStreamFrame([word], tdest=0))
        ptrs = Packer(pointer_layout(cfg, cfg.act_entries)).pack_many(
            [list(p) for p in streams.pointer_rows(cfg, store)])
        for word in ptrs:
            self.a.send_nowait(AxiStreamFrame([word], tdest=1))
        await self.w.wait()
        await self.q.wait()
        await self.a.wait()

    async def _busy_cycles(self):
        await RisingEdge(self.dut.busy)
        start = get_sim_time(unit="ns")
        await FallingEdge(self.dut.busy)
        return round((get_sim_time(unit="ns") - start) / CLOCK_NS)

    async def _collect(self, stop):
        beats = []
        while not (stop() and self.out.empty()):
            if self.out.empty():
                await RisingEdge(self.dut.clk)
                continue
            frame = await self.out.recv(compact=False)
            for word in frame.tdata:
                leaves = self.out_packer.unpack_many([word])[0]
                per_lane = len(leaves) // self.cfg.pes
                for p in range(self.cfg.pes):
                    lane = leaves[p * per_lane:(p + 1) * per_lane]
                    valid, chunk, y, x, count = (int(v) for v in lane[:5])
                    if valid:
                        pairs = lane[5:].reshape(-1, 2)[:count]
                        beats.append((chunk, y, x, [(int(c), int(v)) for c, v in pairs]))
        return beats

    async def run_layer(self, shape, act, weights, bias, mult, shift, *, relu=False,
                        dense_acts=False, timeout_cycles=200_000):
        await self.load(shape, act, weights, bias, mult, shift, relu, dense_acts)
        measure = cocotb.start_soon(self._busy_cycles())
        collect = cocotb.start_soon(self._collect(measure.done))
        self._tasks[:] = [measure, collect]
        await self.write("start", 1)
        await with_timeout(measure, timeout_cycles * CLOCK_NS, "ns")
        beats = await with_timeout(collect, timeout_cycles * CLOCK_NS, "ns")
        registers = {name: await self.read(name) for name in ("cycles",) + STATISTICS +
                     ("status",)}
        return LayerResult(beats, measure.result(), registers)
