"""Test bench of the VDBB accelerator: drives its AXI4-Lite registers and AXI4-Stream ports with
cocotbext-axi, loads SRAMs, runs layers and reads the output maps back.

Each layer is timed from the outside: a monitor on the AXI4-Lite ports finds the cycle ``H`` in
which the write of 1 to ``start`` is accepted (its AW and W handshakes), and the bench waits for
the ``done`` output to rise in cycle ``D``; the layer took ``D − H`` cycles (the convention of
:mod:`sparseforge.sim.accel.cycles`). The accelerator's own ``cycles`` register is read as well.

Layouts of the SRAM images and the layer plan come from :mod:`sparseforge.sim.accel.plan`; the
weight words are packed with the engine's own layout (:mod:`sparseforge.tb.packing`).
"""

import logging
import random
from dataclasses import dataclass

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge, SimTimeoutError, with_timeout
from cocotb.utils import get_sim_time
from cocotbext.axi import (
    AxiLiteBus,
    AxiLiteMaster,
    AxiStreamBus,
    AxiStreamFrame,
    AxiStreamSink,
    AxiStreamSource,
)

from ...hdl.accel import REGISTERS
from ...hdl.accel.loaders import stream_width
from ...hdl.sta.layouts import weight_word_layout
from ...sim.accel import plan as accel_plan
from ..driver import DriverRegisters
from ..packing import Packer
from ..streams import set_axi_pauses

__all__ = ["AccelBench", "LayerRun", "CLOCK_NS"]

CLOCK_NS = 10
OFFSETS = {reg.name: reg.offset for reg in REGISTERS}


@dataclass
class LayerRun:
    cycles: int               # D − H, measured on the ports (see the module docstring)
    register_cycles: int      # the accelerator's own ``cycles`` register
    act_reads: int
    beats: int
    error: bool
    cached: int = 0           # Sparse-Blox: blocks recorded in the cache (``blox_cached``)
    refused: int = 0          # below threshold, refused by the full cache (``blox_refused``)
    zero_reads: int = 0       # words read as zeros from their pruned-word flags
    skips: int = 0            # engine steps dropped: all words zero, some pruned (blox_skips)


def _pauses(probability, seed):
    rng = random.Random(seed)
    while True:
        yield int(rng.random() < probability)


class AccelBench:
    """Drive one ``Accelerator`` DUT.

    Parameters
    ----------
    dut : cocotb handle of the top module
    cfg : AccelConfig
    pause : float
        Probability of an idle cycle on every stream and AXI channel (0: none).
    seed : int
    """

    def __init__(self, dut, cfg, *, pause=0.0, seed=0):
        self.dut = dut
        self.cfg = cfg
        self.weight_packer = Packer(weight_word_layout(cfg.array))
        cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())
        # cocotbext-axi logs every frame and reset at INFO; keep the log for the checks.
        for prefix in ("s_axil", "s_axis_act", "s_axis_w", "m_axis_out"):
            logging.getLogger(f"cocotb.{dut._name}.{prefix}").setLevel(logging.WARNING)
        kw = dict(reset=dut.rst, reset_active_level=True)
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil", bus_separator="__"),
                                  dut.clk, **kw)
        # registers go through the driver `generate` writes for users (tb/driver.py)
        self.registers = DriverRegisters(cfg, self.axil)
        self.act_src = AxiStreamSource(
            AxiStreamBus.from_prefix(dut, "s_axis_act", bus_separator="__"), dut.clk, **kw)
        self.w_src = AxiStreamSource(
            AxiStreamBus.from_prefix(dut, "s_axis_w", bus_separator="__"), dut.clk, **kw)
        self.out_sink = AxiStreamSink(
            AxiStreamBus.from_prefix(dut, "m_axis_out", bus_separator="__"), dut.clk, **kw)
        self.act_bytes = stream_width(cfg.word_bits) // 8
        self.w_bytes = stream_width(cfg.weight_word_bits) // 8
        self.set_pauses(pause, seed)
        self._tasks = []

    def set_pauses(self, probability, seed):
        """Idle cycles on every stream and on every AXI4-Lite channel."""
        ends = [self.act_src, self.w_src, self.out_sink,
                self.axil.write_if.aw_channel, self.axil.write_if.w_channel,
                self.axil.write_if.b_channel, self.axil.read_if.ar_channel,
                self.axil.read_if.r_channel]
        for k, end in enumerate(ends):
            set_axi_pauses(end, _pauses(probability, seed * 16 + k) if probability else None)

    async def reset(self):
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 3)
        self.dut.rst.value = 0
        await RisingEdge(self.dut.clk)

    def abandon(self):
        """Forget the running job (before a reset in its middle): stop the layer's timer, drop
        every queued input frame and every received output frame."""
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
        for end in (self.act_src, self.w_src, self.out_sink):
            end.clear()

    def output_valids(self):
        return [self.dut.m_axis_out__tvalid]

    async def write(self, name, value):
        await self.registers.write(name, value)

    async def read(self, name):
        return await self.registers.read(name)

    def cycle(self):
        """Index of the current clock cycle (the rising edge that began it)."""
        return int(round(get_sim_time(unit="ns") / CLOCK_NS))

    async def start_accepted(self):
        """The cycle in which a write of 1 to ``start`` is accepted: the later of its AW and W
        handshakes, paired in order as AXI4-Lite pairs them, seen on the ports."""
        dut = self.dut
        start = OFFSETS["start"]
        addresses, data = [], []
        while True:
            await RisingEdge(dut.clk)
            await ReadOnly()
            now = self.cycle()
            if dut.s_axil__awvalid.value and dut.s_axil__awready.value:
                addresses.append((now, int(dut.s_axil__awaddr.value)))
            if dut.s_axil__wvalid.value and dut.s_axil__wready.value:
                data.append((now, int(dut.s_axil__wdata.value), int(dut.s_axil__wstrb.value)))
            while addresses and data:
                (aw_cycle, address), (w_cycle, value, strobes) = addresses.pop(0), data.pop(0)
                if address & ~3 == start and value & strobes & 1:
                    return max(aw_cycle, w_cycle)

    async def time_layer(self):
        """``(H, D)``: the cycle the ``start`` write is accepted and the first later cycle in
        which ``done`` is high (it is low from ``H + 1`` until the layer finishes)."""
        accepted = await self.start_accepted()
        await RisingEdge(self.dut.done)
        return accepted, self.cycle()

    async def configure(self, **registers):
        for name, value in registers.items():
            await self.write(name, value)

    # -- SRAM traffic -------------------------------------------------------------------------

    async def load_act(self, x, half, base):
        """Load a C×H×W INT8 map into an activation half from bank row ``base``."""
        words = accel_plan.pack_act_words(x, self.cfg.block)
        blocks = -(-x.shape[0] // self.cfg.block)
        await self.configure(act_load_half=half, act_load_base=base, act_load_blocks=blocks)
        await self.act_src.send(AxiStreamFrame(b"".join(
            w.to_bytes(self.act_bytes, "little") for w in words)))
        await self.act_src.wait()

    async def load_weights(self, words, half, base, wait=True):
        """Stream weight words into a weight half from word ``base``."""
        await self.configure(w_load_half=half, w_load_base=base)
        await self.w_src.send(AxiStreamFrame(b"".join(
            w.to_bytes(self.w_bytes, "little") for w in words)))
        if wait:
            await self.w_src.wait()

    async def read_map(self, half, base, blocks, count):
        """Read ``count`` words back from an activation half (load order)."""
        await self.configure(read_half=half, read_base=base, read_blocks=blocks,
                             read_count=count)
        await self.write("read_start", 1)
        frame = await self.out_sink.recv()
        data = bytes(frame.tdata)
        n = self.act_bytes
        return [int.from_bytes(data[i:i + n], "little") for i in range(0, len(data), n)]

    # -- layers -------------------------------------------------------------------------------

    async def run_layer(self, plan, *, ifm=(0, 0), ofm=(1, 0), weights=(0, 0), shift=0,
                        relu=False, int8_out=False, timeout_cycles=None, blox=None, skip=False,
                        ofm_map=(0, 0, 0)):
        """Write the descriptor of ``plan``, start it, wait for done; return its counters.

        ``blox``: the raw Sparse-Blox threshold of a pruning layer (None: no pruning);
        ``skip``: set ``blox_skip`` (drop the steps of beats made all zero by pruning);
        ``ofm_map``: ``(ofm_k, ofm_k0, ofm_pixel0)``, the larger map the layer writes into
        (a time tile's whole layer; ``(0, 0, 0)``: its own map)."""
        if self.cfg.sparseblox is not None:
            await self.configure(blox=int(blox is not None), blox_threshold=blox or 0)
        if self.cfg.blox_skips:
            await self.configure(blox_skip=int(skip))
        elif skip:
            raise ValueError(f"{self.cfg.name} does not drop blocks")
        await self.configure(
            in_h=plan.h, in_w=plan.w, in_c=plan.c, out_k=plan.k, kernel_r=plan.r,
            kernel_s=plan.s, stride=plan.stride, pad=plan.pad, nnz=plan.nnz, shift=shift,
            relu=int(relu), int8_out=int(int8_out), patch_h=plan.ph, direct=int(plan.direct),
            raster=int(plan.raster),
            ifm_half=ifm[0], ifm_base=ifm[1], ofm_half=ofm[0], ofm_base=ofm[1],
            w_half=weights[0], w_base=weights[1],
            ofm_k=ofm_map[0], ofm_k0=ofm_map[1], ofm_pixel0=ofm_map[2])
        limit = timeout_cycles or 64 * (plan.tiles * plan.tile_words + 1000)
        timing = cocotb.start_soon(self.time_layer())
        self._tasks[:] = [timing]
        await self.write("start", 1)
        try:
            accepted, finished = await with_timeout(timing, limit * CLOCK_NS, "ns")
        except SimTimeoutError:
            timing.cancel()
            raise TimeoutError(f"layer not done after {limit} cycles") from None
        cycles = finished - accepted
        status = await self.read("status")
        assert status & 0b11 == 0b10, f"done rose with status {status:#05b}"
        blox_counts = {}
        if self.cfg.sparseblox is not None:
            blox_counts = {"cached": await self.read("blox_cached"),
                           "refused": await self.read("blox_refused"),
                           "zero_reads": await self.read("blox_zero_reads")}
        if self.cfg.blox_skips:
            blox_counts["skips"] = await self.read("blox_skips")

        return LayerRun(cycles=cycles, register_cycles=await self.read("cycles"),
                        act_reads=await self.read("act_reads"), beats=await self.read("beats"),
                        error=bool(status & 0b100), **blox_counts)

    async def read_output(self, plan, half, base, int8_out, blox=False):
        """The output map of the last layer; ``blox``: through the sparse-block cache (pruned
        blocks read as zeros)."""
        if self.cfg.sparseblox is not None:
            await self.configure(read_blox=int(blox))
        blocks = plan.cb_out * (1 if int8_out else 4)
        words = await self.read_map(half, base, blocks, plan.ho * plan.wo * blocks)
        return accel_plan.unpack_out_words(words, plan.k, plan.ho, plan.wo, self.cfg.block,
                                           int8=int8_out)
