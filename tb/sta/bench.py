"""The STA engine's test bench: runs GEMM jobs through the generated Verilog and measures them.

:class:`StaEngineBench` wraps a cocotb DUT of :class:`sparseforge.hdl.sta.StaEngine`: it resets
it, sends a job descriptor, streams the activation and weight beats built by
:func:`sparseforge.sim.sta.streams.engine_streams`, collects the result rows, and measures cycles
with the project's convention (first input beat accepted to last output beat accepted,
inclusive). It also counts gated MAC-cycles by probing the array's per-MAC gating signals (named in
the manifest's ``probes``) on every advancing cycle.
"""

from dataclasses import dataclass

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge, SimTimeoutError, with_timeout

from ...hdl.sta import StaEngine
from ...hdl.sta.layouts import act_beat_layout, job_layout, result_beat_layout, weight_word_layout
from ..packing import Packer
from ..streams import Handshakes, StreamSink, StreamSource, no_pauses, random_pauses

__all__ = ["StaEngineBench", "JobResult", "CLOCK_NS"]

CLOCK_NS = 10


def _probe(dut, path):
    """The signal at a dotted hierarchical path below the top module."""
    handle = dut
    for name in path.split("."):
        handle = getattr(handle, name)
    return handle


@dataclass
class JobResult:
    rows: np.ndarray          # (tiles·tile_rows, tile_cols) result rows in arrival order
    cycles: int               # first input accepted .. last output accepted, inclusive
    gated_mac_cycles: int


class StaEngineBench:
    """Drive one ``StaEngine`` DUT.

    Parameters
    ----------
    dut : cocotb handle of the top module
    cfg : StaConfig
        The config the Verilog was generated from.
    pause, backpressure : float
        Probability of an idle cycle on each input stream / of ``ready`` low on the result stream.
    seed : int
        Seed of the pause patterns.
    """

    def __init__(self, dut, cfg, *, pause=0.0, backpressure=0.0, seed=0):
        self.dut = dut
        self.cfg = cfg
        self.job_packer = Packer(job_layout(cfg))
        self.act_packer = Packer(act_beat_layout(cfg))
        self.weight_packer = Packer(weight_word_layout(cfg))
        self.result_packer = Packer(result_beat_layout(cfg))
        cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())
        self.job = StreamSource(dut, "job", dut.clk)
        self.act = StreamSource(dut, "act", dut.clk)
        self.weight = StreamSource(dut, "weight", dut.clk)
        self.result = StreamSink(dut, "result", dut.clk)
        self.set_pauses(pause, backpressure, seed)
        self._gated = 0
        if cfg.act_zero_gating:
            self._probe_advance = _probe(dut, StaEngine.PROBES["advance"])
            self._probe_gated = _probe(dut, StaEngine.PROBES["gated"])
            cocotb.start_soon(self._count_gated())

    def set_pauses(self, pause, backpressure, seed):
        """Idle-cycle probability on every input stream and back-pressure on the output."""
        def gen(p, k):
            return random_pauses(p, seed * 8 + k) if p else no_pauses()
        self.act.set_pause_generator(gen(pause, 1))
        self.weight.set_pause_generator(gen(pause, 2))
        self.job.set_pause_generator(gen(pause, 3))
        self.result.set_pause_generator(gen(backpressure, 4))

    async def reset(self):
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 3)
        self.dut.rst.value = 0
        await RisingEdge(self.dut.clk)

    def abandon(self):
        """Forget the running job (before a reset in its middle): every queued input beat and
        every collected result beat."""
        for end in (self.job, self.act, self.weight, self.result):
            end.clear()

    def output_valids(self):
        return [self.dut.result__valid]

    async def _count_gated(self):
        while True:
            await RisingEdge(self.dut.clk)
            await ReadOnly()
            if self._probe_advance.value:
                self._gated += int(self._probe_gated.value).bit_count()

    async def run_job(self, streams, timeout_cycles=None):
        """Run one job (an :class:`~sparseforge.sim.sta.streams.EngineStreams`) to completion."""
        cfg = self.cfg
        expected_beats = streams.tiles * cfg.tile_rows // cfg.drain_rows
        for end in (self.act, self.weight, self.result):
            end.handshakes = Handshakes()
        self.result.beats.clear()
        gated_before = self._gated

        self.job.send_nowait(self.job_packer.pack_many(
            np.array([[streams.k, streams.nnz, streams.tiles]])))
        self.act.send_nowait(self.act_packer.pack_many(streams.act_beats))
        self.weight.send_nowait(self.weight_packer.pack_many(streams.weight_leaves()))

        steps = streams.tiles * streams.blocks * streams.steps_per_block
        limit = timeout_cycles or 50 * (steps + expected_beats + cfg.m + cfg.n) + 1000
        try:
            await with_timeout(self.result.wait_for(expected_beats), limit * CLOCK_NS, "ns")
        except SimTimeoutError:
            raise TimeoutError(f"job not finished after {limit} cycles: "
                               f"{len(self.result.beats)}/{expected_beats} beats") from None
        await RisingEdge(self.dut.clk)
        await ReadOnly()
        assert not self.dut.busy.value, "engine still busy after its last result row"
        await RisingEdge(self.dut.clk)
        assert self.act.idle and self.weight.idle, "engine finished before taking every beat"

        firsts = [h.first for h in (self.act.handshakes, self.weight.handshakes)
                  if h.first is not None]
        cycles = 0
        if firsts and self.result.handshakes.last is not None:
            cycles = int(round((self.result.handshakes.last - min(firsts)) / CLOCK_NS)) + 1
        rows = self.result_packer.unpack_many(self.result.beats).reshape(-1, cfg.tile_cols)
        return JobResult(rows=rows, cycles=cycles, gated_mac_cycles=self._gated - gated_before)
