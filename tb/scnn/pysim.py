"""The SCNN accelerator under Amaranth's simulator: one layer in, output rows and counters out.

The same sequence the cocotb bench drives on the generated Verilog (clear, write the layer
registers, start, stream weights and activations at once, collect the output stream while the
layer computes, wait for done, read the counters), written with Amaranth testbenches so that unit
tests can run it on configs the cocotb regression does not build. Optional random idle cycles
on the input streams and back-pressure on the output stream.
"""

import random
from dataclasses import dataclass

import numpy as np
from amaranth.sim import Simulator

from ...hdl.scnn import ScnnAccelerator
from ...hdl.scnn.accelerator import BLOX_COUNTERS
from ...hdl.scnn.layouts import act_row_layout, out_row_layout, weight_row_layout
from ...sim.scnn.streams import pe_index, pe_positions, row_leaves
from ..axi_lite_pysim import axil_read, axil_write
from ..packing import Packer

__all__ = ["LayerRun", "LayerJob", "simulate_layer", "simulate_layers"]


@dataclass
class LayerRun:
    """What a layer run returned: per PE ``(counts, values, zeros)`` output rows, the cycles
    measured from the handshakes and ``busy`` (as :class:`.bench.LayerResult`), and the
    registers."""

    rows: list
    measured: dict
    registers: dict

    @property
    def cycles(self):
        return self.measured["cycles"]


async def _write(ctx, bus, addr, data):
    resp = await axil_write(ctx, bus, addr, data)
    assert resp == 0, f"write to {addr:#x} answered {resp}"


async def _read(ctx, bus, addr):
    data, resp = await axil_read(ctx, bus, addr)
    assert resp == 0, f"read of {addr:#x} answered {resp}"
    return data


async def stream_send(ctx, port, beats, prng, pause):
    """Send ``(tdata, tlast, tdest)`` beats with random idle cycles."""
    for data, last, dest in beats:
        while pause and prng.random() < pause:
            await ctx.tick()
        ctx.set(port.tdata, data)
        ctx.set(port.tlast, last)
        if dest is not None:
            ctx.set(port.tdest, dest)
        ctx.set(port.tvalid, 1)
        await ctx.tick().until(port.tready)
        ctx.set(port.tvalid, 0)


def _beats(packer, rows, dest=None):
    counts = rows[0]
    words = packer.pack_many(row_leaves(rows))
    beats = []
    lanes = rows[1].shape[1]
    row = 0
    while row < len(counts):
        n = -(-int(counts[row]) // lanes) or 1
        for r in range(n):
            beats.append((words[row + r], int(r == n - 1), dest))
        row += n
    return beats


@dataclass(frozen=True)
class LayerJob:
    """One layer of :func:`simulate_layers`: its streams and how it runs (the registers of
    :class:`~sparseforge.hdl.scnn.ScnnAccelerator`): ``shift`` requantizes (None: raw),
    ``chain`` takes the previous layer's output on chip (no activations stream), ``keep`` keeps
    the outputs on chip (none streams out), ``threshold`` is the raw Sparse-Blox threshold."""

    streams: object
    shift: object = None
    chain: bool = False
    keep: bool = False
    threshold: int = 0


def simulate_layer(cfg, streams, *, pause=0.0, backpressure=0.0, seed=0, max_cycles=None,
                   threshold=0, weight_pause=None):
    """Run one layer (a :class:`~sparseforge.sim.scnn.streams.LayerStreams`) on the Amaranth
    model of ``cfg``'s accelerator; return a :class:`LayerRun`. On a design with Sparse-Blox,
    ``threshold`` (raw) goes to ``blox_threshold`` and the block counters are read too.
    ``weight_pause``: idle cycles on the weight stream, when not ``pause``."""
    return simulate_layers(cfg, [LayerJob(streams, threshold=threshold)], pause=pause,
                           backpressure=backpressure, seed=seed, max_cycles=max_cycles,
                           weight_pause=weight_pause)[0]


def simulate_layers(cfg, jobs, *, pause=0.0, backpressure=0.0, seed=0, max_cycles=None,
                    weight_pause=None):
    """Run :class:`LayerJob` s one after the other in one simulation of ``cfg``'s accelerator
    (so that chained layers find their input on chip); return a :class:`LayerRun` each (a
    layer that keeps its outputs has no rows and its run ends with its last busy cycle).
    ``weight_pause``: idle cycles on the weight stream, when not ``pause``."""
    dut = ScnnAccelerator(cfg)
    regs = {reg.name: reg.offset for reg in dut.registers}
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    prng = random.Random(seed)
    wpack = Packer(weight_row_layout(cfg))
    apack = Packer(act_row_layout(cfg))
    opack = Packer(out_row_layout(cfg))
    out_words = [{n: [] for n in range(cfg.pes)} for _ in jobs]
    results = [{} for _ in jobs]
    traces = [{"busy": 0} for _ in jobs]
    current = []                   # the index of the layer started last

    def inputs(job):
        a_beats = []
        for px, py in pe_positions(cfg) if not job.chain else ():
            n = pe_index(cfg, px, py)
            a_beats += _beats(apack, job.streams.act_rows[n], dest=n)
        return _beats(wpack, job.streams.weight_rows), a_beats

    beats = [inputs(job) for job in jobs]

    async def control(ctx):
        bus = dut.s_axil
        for index, job in enumerate(jobs):
            layer = job.streams.layer
            await _write(ctx, bus, regs["clear"], 1)
            for name in ("h", "w", "c", "k", "r", "s"):
                await _write(ctx, bus, regs[f"layer_{name}"], getattr(layer, name))
            if cfg.sparseblox is not None:
                await _write(ctx, bus, regs["blox_threshold"], job.threshold)
            for name, value in (("requant", job.shift is not None), ("shift", job.shift or 0),
                                ("chain", job.chain), ("keep_outputs", job.keep)):
                await _write(ctx, bus, regs[name], int(value))
            await _write(ctx, bus, regs["start"], 1)
            current.append(index)
            await ctx.tick().until(dut.irq)
            for name in ("cycles", "load_cycles", "busy_cycles", "drain_cycles",
                         "stall_cycles", "barrier_cycles", "products", "ppu_wait_cycles",
                         "compute_cycles", "weight_stall_cycles", "status",
                         *(BLOX_COUNTERS if cfg.sparseblox is not None else ())):
                results[index][name] = await _read(ctx, bus, regs[name])

    def send_after_start(port, which, pause):
        async def send(ctx):
            for index in range(len(jobs)):
                while len(current) <= index:
                    await ctx.tick()
                await stream_send(ctx, port, beats[index][which], prng, pause)
        return send

    async def collect(ctx):
        o = dut.m_axis_out
        while True:
            ready = not (backpressure and prng.random() < backpressure)
            ctx.set(o.tready, ready)
            _, _, valid, data, dest = await ctx.tick().sample(o.tvalid, o.tdata, o.tdest)
            if valid and ready:
                out_words[current[-1]][dest].append(data)

    async def measure(ctx):
        """Per layer, the cycle indices of the first activation beat (the weight stream is taken
        only while busy), busy rising and falling, the last output."""
        cycle = 0
        async for _clk, _rst, busy, av, ar, ov, orr in ctx.tick().sample(
                dut.busy, dut.s_axis_act.tvalid, dut.s_axis_act.tready, dut.m_axis_out.tvalid,
                dut.m_axis_out.tready):
            if current:
                trace = traces[current[-1]]
                if "first" not in trace and av and ar:
                    trace["first"] = cycle
                if busy:
                    trace["busy"] += 1
                    trace.setdefault("rise", cycle)
                elif "rise" in trace:
                    trace.setdefault("fall", cycle)
                if ov and orr:
                    trace["last"] = cycle
            cycle += 1

    sim.add_testbench(control)
    sim.add_testbench(send_after_start(dut.s_axis_w, 0,
                                       pause if weight_pause is None else weight_pause))
    sim.add_testbench(send_after_start(dut.s_axis_act, 1, pause))
    sim.add_testbench(collect, background=True)
    sim.add_process(measure)
    limit = max_cycles or 2_000_000

    def finished():
        """The last layer is done and its registers are read (every output beat has left before
        done rises)."""
        return "status" in results[-1]

    step = 2000
    elapsed = 0
    while not finished():
        sim.run_until((elapsed + step) * 1e-6)
        elapsed += step
        if elapsed > limit:
            raise TimeoutError(f"layers not finished after {limit} cycles")
    runs = []
    for job, words, trace, result in zip(jobs, out_words, traces, results):
        rows = []
        for n in range(cfg.pes):
            leaves = opack.unpack_many(words[n]) if words[n] else np.zeros((0, 1 + 2 * cfg.i),
                                                                           np.int64)
            counts = leaves[:, 0]
            pairs = leaves[:, 1:].reshape(len(leaves), cfg.i, 2)
            rows.append((counts, pairs[..., 0], pairs[..., 1]))
        start = trace.get("first", trace["rise"])
        last = trace["fall"] - 1 if job.keep else trace["last"]
        measured = {"cycles": last - start + 1, "load_cycles": trace["rise"] - start,
                    "busy_cycles": trace["busy"],
                    "drain_cycles": 0 if job.keep else trace["last"] - trace["fall"] + 1}
        runs.append(LayerRun(rows=rows, measured=measured, registers=result))
    return runs
