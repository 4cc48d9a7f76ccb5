"""The SCNN accelerator's cocotb test bench: loads a layer, runs it, collects outputs and counters.

:class:`ScnnBench` drives a DUT of :class:`sparseforge.hdl.scnn.ScnnAccelerator` through its
AXI interfaces with cocotbext-axi: an :class:`AxiLiteMaster` on ``s_axil`` (registers), an
:class:`AxiStreamSource` on ``s_axis_w`` (weight blocks, one frame per block) and on
``s_axis_act`` (activation blocks, ``tdest`` = PE), and an :class:`AxiStreamSink` on
``m_axis_out`` (output blocks). Every stream, the register bus's five channels included, can get
random idle cycles (sources) and back-pressure (sinks) from seeded pause generators.

Cycles are measured outside the DUT, as the number of clock periods ``busy`` is high (the
project's convention for a layer started by a register write, see
:mod:`sparseforge.sim.scnn.cycles`), and also read from the ``cycles`` register.
"""

import logging
from dataclasses import dataclass

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge, with_timeout
from cocotb.utils import get_sim_time
from cocotbext.axi import (
    AxiLiteBus,
    AxiLiteMaster,
    AxiStreamBus,
    AxiStreamFrame,
    AxiStreamSink,
    AxiStreamSource,
)

from ...hdl.scnn import register_map
from ...hdl.scnn.layouts import act_row_layout, out_row_layout, weight_row_layout
from ...sim.scnn.streams import pe_index, pe_positions, row_leaves
from ..packing import Packer
from ..streams import random_pauses

__all__ = ["ScnnBench", "LayerResult", "CLOCK_NS", "STATISTICS"]

CLOCK_NS = 10

#: Statistics registers read after every layer (besides ``cycles``).
STATISTICS = ("stall_cycles", "barrier_cycles", "products", "ppu_wait_cycles", "compute_cycles")

STATUS_BUSY, STATUS_DONE, STATUS_ERROR, STATUS_STREAMING = 1, 2, 4, 8


@dataclass
class LayerResult:
    """One layer's outputs and measurements.

    Attributes
    ----------
    rows : list (PE index) of (counts, values, zeros)
        The output rows each PE sent, in order.
    cycles : int
        Clock periods ``busy`` was high (measured by the bench).
    registers : dict
        ``cycles`` and :data:`STATISTICS` as read from the registers, and ``status``.
    """

    rows: list
    cycles: int
    registers: dict


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

    def __init__(self, dut, cfg, *, pause=0.0, backpressure=0.0, seed=0):
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
        self.weights = AxiStreamSource(bus("s_axis_w"), dut.clk, dut.rst,
                                       byte_size=len(dut.s_axis_w__tdata))
        self.acts = AxiStreamSource(bus("s_axis_act"), dut.clk, dut.rst,
                                    byte_size=len(dut.s_axis_act__tdata))
        self.outs = AxiStreamSink(bus("m_axis_out"), dut.clk, dut.rst,
                                  byte_size=len(dut.m_axis_out__tdata))
        self.set_pauses(pause, backpressure, seed)

    def set_pauses(self, pause, backpressure, seed):
        """Idle cycles on every source (both data streams and the register bus's address and
        write channels) and back-pressure on every sink (output stream, write response, read
        data), each from its own seeded generator."""
        def gen(p, k):
            return random_pauses(p, seed * 16 + k) if p else None
        write, read = self.axil.write_if, self.axil.read_if
        self.weights.set_pause_generator(gen(pause, 1))
        self.acts.set_pause_generator(gen(pause, 2))
        write.aw_channel.set_pause_generator(gen(pause, 3))
        write.w_channel.set_pause_generator(gen(pause, 4))
        read.ar_channel.set_pause_generator(gen(pause, 5))
        self.outs.set_pause_generator(gen(backpressure, 6))
        write.b_channel.set_pause_generator(gen(backpressure, 7))
        read.r_channel.set_pause_generator(gen(backpressure, 8))

    async def reset(self):
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 3)
        self.dut.rst.value = 0
        await RisingEdge(self.dut.clk)

    async def write(self, name, value):
        await self.axil.write_dword(self.regs[name], value)

    async def read(self, name):
        return await self.axil.read_dword(self.regs[name])

    async def load(self, streams, *, weights=True):
        """Forget loaded data and stream the layer in: weights (unless ``weights`` is false,
        keeping those loaded) and every PE's activations."""
        await self.write("clear" if weights else "clear_acts", 1)
        cfg = self.cfg
        if weights:
            for beats in _blocks_as_frames(self.w_packer, streams.weight_rows, cfg.f):
                self.weights.send_nowait(AxiStreamFrame(beats))
        for px, py in pe_positions(cfg):
            n = pe_index(cfg, px, py)
            for beats in _blocks_as_frames(self.a_packer, streams.act_rows[n], cfg.i):
                self.acts.send_nowait(AxiStreamFrame(beats, tdest=n))
        await self.weights.wait()
        await self.acts.wait()

    async def _busy_cycles(self):
        await RisingEdge(self.dut.busy)
        start = get_sim_time(unit="ns")
        await FallingEdge(self.dut.busy)
        return round((get_sim_time(unit="ns") - start) / CLOCK_NS)

    async def run(self, layer, timeout_cycles):
        """Write the layer registers and ``start``; wait for done; read the counters."""
        for name in ("h", "w", "c", "k", "r", "s"):
            await self.write(f"layer_{name}", getattr(layer, name))
        measure = cocotb.start_soon(self._busy_cycles())
        await self.write("start", 1)
        await with_timeout(measure, timeout_cycles * CLOCK_NS, "ns")
        cycles = measure.result()
        registers = {"cycles": await self.read("cycles")}
        for name in STATISTICS:
            registers[name] = await self.read(name)
        registers["status"] = await self.read("status")
        return cycles, registers

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

    async def run_layer(self, streams, *, load_weights=True, timeout_cycles=None):
        """Load, run and read back one layer (a :class:`~sparseforge.sim.scnn.streams.
        LayerStreams`); return a :class:`LayerResult`."""
        layer = streams.layer
        await self.load(streams, weights=load_weights)
        limit = timeout_cycles or 200 * (layer.c * layer.k * self.cfg.tile_elems + 100)
        cycles, registers = await self.run(layer, limit)
        rows = await self.collect(self.cfg.pes * layer.k, limit)
        return LayerResult(rows=rows, cycles=cycles, registers=registers)


def rows_equal(got, want):
    """Whether two ``(counts, values, zeros)`` row triples are identical."""
    return all(np.array_equal(a, b) for a, b in zip(got, want)) and len(got[0]) == len(want[0])
