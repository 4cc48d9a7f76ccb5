"""The SCNN accelerator's cocotb test bench: loads a layer, runs it, collects outputs and counters.

:class:`ScnnBench` drives a DUT of :class:`sparseforge.hdl.scnn.ScnnAccelerator` through its
AXI interfaces with cocotbext-axi: an :class:`AxiLiteMaster` on ``s_axil`` (registers), an
:class:`AxiStreamSource` on ``s_axis_w`` (weight blocks, one frame per block) and on
``s_axis_act`` (activation blocks, ``tdest`` = PE), and an :class:`AxiStreamSink` on
``m_axis_out`` (output blocks). Every stream, the register bus's five channels included, can get
random idle cycles (sources) and back-pressure (sinks) from seeded pause generators.

A layer runs as the accelerator expects it (:class:`sparseforge.hdl.scnn.ScnnAccelerator`):
layer registers and ``start`` first, then both input streams at once, the outputs collected
while the layer computes. Cycles are measured outside the DUT from the handshakes and ``busy``
(:mod:`sparseforge.sim.scnn.cycles` states the convention): from the first input beat to the last
output beat, split into loading (to the cycle ``busy`` rises), computing (``busy`` high) and
draining (after ``busy`` falls, to the last output beat); the registers count the same.
"""

import logging
from dataclasses import dataclass

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge, with_timeout
from cocotbext.axi import (
    AxiLiteBus,
    AxiLiteMaster,
    AxiStreamBus,
    AxiStreamFrame,
    AxiStreamSink,
    AxiStreamSource,
)

from ...hdl.scnn import register_map
from ...hdl.scnn.accelerator import BLOX_COUNTERS
from ...hdl.scnn.layouts import act_row_layout, out_row_layout, weight_row_layout
from ...sim.scnn import streams as scnn_streams
from ...sim.scnn.streams import pe_index, pe_positions, row_leaves
from ..driver import DriverRegisters
from ..packing import Packer
from ..streams import random_pauses, set_axi_pauses

__all__ = ["ScnnBench", "LayerResult", "CLOCK_NS", "STATISTICS", "CYCLES"]

CLOCK_NS = 10

#: Statistics registers read after every layer (besides the cycle counts).
STATISTICS = ("stall_cycles", "barrier_cycles", "products", "ppu_wait_cycles", "compute_cycles",
              "weight_stall_cycles")

#: The layer's output mode and chaining registers, in the order of ``run_layer``'s arguments.
CHAIN_REGISTERS = ("requant", "shift", "chain", "keep_outputs")

#: Cycle registers: the whole run and its three parts.
CYCLES = ("cycles", "load_cycles", "busy_cycles", "drain_cycles")

STATUS_BUSY, STATUS_DONE, STATUS_ERROR, STATUS_STREAMING, STATUS_LOADING = 1, 2, 4, 8, 16


@dataclass
class LayerResult:
    """One layer's outputs and measurements.

    Attributes
    ----------
    rows : list (PE index) of (counts, values, zeros)
        The output rows each PE sent, in order.
    measured : dict
        :data:`CYCLES` as measured by the bench from the handshakes and ``busy``.
    registers : dict
        :data:`CYCLES` and :data:`STATISTICS` as read from the registers, and ``status``.
    """

    rows: list
    measured: dict
    registers: dict

    @property
    def cycles(self):
        return self.measured["cycles"]


def _blocks_as_frames(packer, rows, lanes):
    """Split rows into one list of packed beats per block (a block's rows end at its count)."""
    counts = rows[0]
    words = packer.pack_many(row_leaves(rows))
    frames = []
    row = 0
    while row < len(counts):
        n = -(-int(counts[row]) // lanes) or 1
        frames.append(words[row:row + n])
        row += n
    return frames


class ScnnBench:
    """Drive one SCNN accelerator DUT (see the module docstring)."""

    def __init__(self, dut, cfg, *, pause=0.0, backpressure=0.0, seed=0, weight_pause=None):
        self.dut = dut
        self.cfg = cfg
        self.regs = {reg.name: reg.offset for reg in register_map(cfg)}
        self.w_packer = Packer(weight_row_layout(cfg))
        self.a_packer = Packer(act_row_layout(cfg))
        self.o_packer = Packer(out_row_layout(cfg))
        cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())

        def bus(prefix):
            return AxiStreamBus.from_prefix(dut, prefix, bus_separator="__")

        # cocotbext-axi logs every frame and reset at INFO; keep the log for the checks.
        for prefix in ("s_axil", "s_axis_w", "s_axis_act", "m_axis_out"):
            logging.getLogger(f"cocotb.{dut._name}.{prefix}").setLevel(logging.WARNING)

        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil", bus_separator="__"),
                                  dut.clk, dut.rst)
        # registers go through the driver `generate` writes for users (tb/driver.py)
        self.registers = DriverRegisters(cfg, self.axil)
        self.weights = AxiStreamSource(bus("s_axis_w"), dut.clk, dut.rst,
                                       byte_size=len(dut.s_axis_w__tdata))
        self.acts = AxiStreamSource(bus("s_axis_act"), dut.clk, dut.rst,
                                    byte_size=len(dut.s_axis_act__tdata))
        self.outs = AxiStreamSink(bus("m_axis_out"), dut.clk, dut.rst,
                                  byte_size=len(dut.m_axis_out__tdata))
        self.set_pauses(pause, backpressure, seed, weight_pause=weight_pause)
        self._tasks = []
        self._mode = {}            # the chaining registers' values as last written (see run_layer)

    def set_pauses(self, pause, backpressure, seed, *, weight_pause=None):
        """Idle cycles on every source (both data streams and the register bus's address and
        write channels) and back-pressure on every sink (output stream, write response, read
        data), each from its own seeded generator; ``weight_pause``, when given, for the weight
        stream instead of ``pause``."""
        def gen(p, k):
            return random_pauses(p, seed * 16 + k) if p else None
        write, read = self.axil.write_if, self.axil.read_if
        set_axi_pauses(self.weights, gen(pause if weight_pause is None else weight_pause, 1))
        set_axi_pauses(self.acts, gen(pause, 2))
        set_axi_pauses(write.aw_channel, gen(pause, 3))
        set_axi_pauses(write.w_channel, gen(pause, 4))
        set_axi_pauses(read.ar_channel, gen(pause, 5))
        set_axi_pauses(self.outs, gen(backpressure, 6))
        set_axi_pauses(write.b_channel, gen(backpressure, 7))
        set_axi_pauses(read.r_channel, gen(backpressure, 8))

    async def reset(self):
        self._mode = dict.fromkeys(CHAIN_REGISTERS, 0)          # their reset values
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 3)
        self.dut.rst.value = 0
        await RisingEdge(self.dut.clk)

    def abandon(self):
        """Forget the running layer (before a reset in its middle): stop the bench's monitor and
        collector, drop every queued input frame and every received output frame."""
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
        self._mode = {}
        for end in (self.weights, self.acts, self.outs):
            end.clear()

    def output_valids(self):
        return [self.dut.m_axis_out__tvalid]

    async def write(self, name, value):
        await self.registers.write(name, value)

    async def read(self, name):
        return await self.registers.read(name)

    async def _send(self, streams, acts=True):
        """Queue the layer's input frames on both sources (they start together; the weight
        stream is taken once the layer computes; ``acts=False``: a chained layer's, none)."""
        cfg = self.cfg
        for beats in _blocks_as_frames(self.w_packer, streams.weight_rows, cfg.f):
            self.weights.send_nowait(AxiStreamFrame(beats))
        for px, py in pe_positions(cfg) if acts else ():
            n = pe_index(cfg, px, py)
            for beats in _blocks_as_frames(self.a_packer, streams.act_rows[n], cfg.i):
                self.acts.send_nowait(AxiStreamFrame(beats, tdest=n))

    async def _monitor(self, outputs, counts, keep=False):
        """Cycle by cycle until ``outputs`` beats have left (``keep``: until ``busy`` falls, no
        beat leaving): the first activation beat (the weight stream is taken only while busy),
        the cycles ``busy`` is high and when it falls, the last output beat (``keep``: the last
        busy cycle) (cycle indices)."""
        dut = self.dut
        cycle = 0
        first = busy_rise = busy_fall = last = None
        busy = 0
        seen = 0
        while (busy_fall is None) if keep else (seen < outputs):
            await RisingEdge(dut.clk)
            await ReadOnly()
            if first is None and (dut.s_axis_act__tvalid.value == 1 and
                                  dut.s_axis_act__tready.value == 1):
                first = cycle
            if dut.busy.value == 1:
                busy += 1
                busy_rise = cycle if busy_rise is None else busy_rise
            elif busy_rise is not None and busy_fall is None:
                busy_fall = cycle
            if dut.m_axis_out__tvalid.value == 1 and dut.m_axis_out__tready.value == 1:
                seen += 1
                last = cycle
            cycle += 1
        start = busy_rise if first is None else first
        if keep:
            assert seen == 0, f"{seen} output beats left a layer that keeps its outputs"
            last = busy_fall - 1
        counts.update({"cycles": last - start + 1, "load_cycles": busy_rise - start,
                       "busy_cycles": busy, "drain_cycles": last - busy_fall + 1})

    async def run_layer(self, streams, *, timeout_cycles=None, threshold=0, shift=None,
                        chain=False, keep=False):
        """Run one layer (a :class:`~sparseforge.sim.scnn.streams.LayerStreams`): forget the
        loaded activations, write the layer
        registers and ``start``, stream the inputs, collect the outputs; return a
        :class:`LayerResult`. On a design with Sparse-Blox, the raw ``threshold`` goes to
        ``blox_threshold`` and the registers read include the block counters.

        ``shift``: the layer requantizes its outputs with it (``requant``; None: raw
        accumulators). ``chain``: its input is the previous layer's output, on chip (only
        weights stream, during compute; ``streams``' activation blocks are not sent). ``keep``:
        its outputs stay on chip (``keep_outputs``): none is collected and the run ends when
        ``busy`` falls."""
        cfg = self.cfg
        layer = streams.layer
        limit = timeout_cycles or 200 * (layer.c * layer.k * cfg.tile_elems + 100)
        await self.write("clear", 1)
        for name in ("h", "w", "c", "k", "r", "s"):
            await self.write(f"layer_{name}", getattr(layer, name))
        blox = cfg.sparseblox is not None
        if blox:
            await self.write("blox_threshold", threshold)
        # Written when they change only: a register write costs the slow simulators time.
        mode = dict(zip(CHAIN_REGISTERS, (int(shift is not None), shift or 0, int(chain),
                                          int(keep))))
        for name, value in mode.items():
            if self._mode.get(name) != value:
                await self.write(name, value)
                self._mode[name] = value
        beats = sum(max(1, -(-block.count // cfg.i))
                    for pe_blocks in streams.output_blocks for block in pe_blocks)
        measured = {}
        monitor = cocotb.start_soon(self._monitor(0 if keep else beats, measured, keep))
        collect = cocotb.start_soon(self.collect(0 if keep else cfg.pes * layer.k, limit))
        self._tasks[:] = [monitor, collect]
        await self.write("start", 1)
        await self._send(streams, acts=not chain)
        await with_timeout(monitor, limit * CLOCK_NS, "ns")
        rows = await collect
        registers = {}
        for name in (*CYCLES, *STATISTICS, "status", *(BLOX_COUNTERS if blox else ())):
            registers[name] = await self.read(name)
        return LayerResult(rows=rows, measured=measured, registers=registers)

    async def collect(self, blocks, timeout_cycles):
        """The next ``blocks`` output frames, as rows per PE."""
        cfg = self.cfg
        words = {n: [] for n in range(cfg.pes)}
        for _ in range(blocks):
            frame = await with_timeout(self.outs.recv(compact=False),
                                       timeout_cycles * CLOCK_NS, "ns")
            dests = set(frame.tdest)
            assert len(dests) == 1, f"an output block's beats name PEs {sorted(dests)}"
            words[dests.pop()].extend(frame.tdata)
        rows = []
        for n in range(cfg.pes):
            leaves = self.o_packer.unpack_many(words[n])
            pairs = leaves[:, 1:].reshape(len(leaves), cfg.i, 2)
            rows.append((leaves[:, 0], pairs[..., 0], pairs[..., 1]))
        return rows


def rows_equal(got, want):
    """Whether two ``(counts, values, zeros)`` row triples are identical."""
    return all(np.array_equal(a, b) for a, b in zip(got, want)) and len(got[0]) == len(want[0])


def assert_outputs(cfg, result, layer, want, label):
    """Assert a layer run's outputs equal the expected K×H×W map ``want``: decoded element by
    element, and each PE's streamed rows equal to ``want``'s compressed encoding (counts and
    padding lanes included)."""
    want_rows, _ = scnn_streams.output_rows(cfg, want)
    blocks = [scnn_streams.decode_output_rows(cfg, rows, layer.k) for rows in result.rows]
    got = scnn_streams.assemble_output(cfg, blocks, layer)
    bad = np.argwhere(got != want)
    assert bad.size == 0, (f"{label}: {len(bad)} mismatches, first at {tuple(bad[0])}: "
                           f"got {got[tuple(bad[0])]}, want {want[tuple(bad[0])]}")
    for n, (rows, expected) in enumerate(zip(result.rows, want_rows)):
        assert rows_equal(rows, expected), f"{label}: PE {n} streamed rows differ from the golden"
