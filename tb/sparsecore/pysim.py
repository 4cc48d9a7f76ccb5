"""The SparseCore accelerator under Amaranth's simulator: one layer in, output beats and counters
out, with optional idle cycles on the input streams and back-pressure on the output.

The same sequence a cocotb bench drives on the generated Verilog; cycles are counted from outside,
as the cycles in which the top's ``busy`` port is high (it rises the cycle after ``start`` takes
effect).
"""

import random
from dataclasses import dataclass

from amaranth.lib import data
from amaranth.sim import Simulator

from ...hdl.sparsecore.accelerator import SparseCoreAccelerator, register_map
from ...hdl.sparsecore.actmem import act_stream_width
from ...hdl.sparsecore.layouts import (act_entry_layout, out_layout, pointer_layout,
                                       requant_beat_layout, weight_beat_layout)
from ...sim.sparsecore import format as kmf
from ...sim.sparsecore import streams
from ..axi_lite_pysim import axil_read, axil_write

__all__ = ["LayerRun", "simulate_layer"]


@dataclass
class LayerRun:
    beats: list
    cycles: int
    registers: dict


def _pack(layout, obj):
    return data.Layout.cast(layout).const(obj).as_value().value


async def _send(ctx, port, beats, prng, pause):
    for tdata, tdest in beats:
        while pause and prng.random() < pause:
            await ctx.tick()
        ctx.set(port.tdata, tdata)
        ctx.set(port.tdest, tdest)
        ctx.set(port.tvalid, 1)
        await ctx.tick().until(port.tready)
        ctx.set(port.tvalid, 0)


def simulate_layer(cfg, shape, act, weights, bias, mult, shift, *, relu=False, seed=0,
                   pause=0.0, backpressure=0.0, expect_error=False):
    """Run one layer; ``shape`` is a :class:`sparseforge.sim.sparsecore.cycles.LayerShape`."""
    dut = SparseCoreAccelerator(cfg)
    addr = {r.name: r.offset for r in register_map(cfg)}
    prng = random.Random(seed)
    store = kmf.compress_acts(act, cfg.chunk)
    wbeats = [(_pack(weight_beat_layout(cfg), {"addr": a, "row": [
        [{"value": v, "pos": p} for v, p in grp] for grp in groups]}), j)
        for j, rows in streams.weight_rows(cfg, weights).items() for a, groups in rows]
    qbeats = [(_pack(requant_beat_layout(cfg), {"row": row, "params": [
        {"bias": b, "mult": mu, "shift": sh} for b, mu, sh in params]}), j)
        for j, rows in streams.requant_rows(cfg, bias, mult, shift, shape.k).items()
        for row, params in rows]
    ent = act_entry_layout(cfg)
    ptr = pointer_layout(cfg, cfg.act_entries)
    abeats = [(_pack(ent, {"x": x, "c": c, "value": v}), 0)
              for x, c, v in streams.act_entries(store)]
    abeats += [(_pack(ptr, {"start": s, "count": n}), 1) for s, n in streams.pointer_rows(cfg,
                                                                                           store)]
    assert max(b for b, _ in abeats) < 1 << act_stream_width(cfg)
    fields = {"h": shape.h, "w": shape.w, "c": shape.c, "k": shape.k, "r": shape.r,
              "s": shape.s, "pad": shape.pad, "stride_log2": shape.stride.bit_length() - 1,
              "relu": int(relu), "pool": int(shape.pool)}
    out_view = data.Layout.cast(out_layout(cfg))
    result = LayerRun([], 0, {})

    async def tb(ctx):
        bus = dut.s_axil
        for name in ("k", "h", "w", "c", "r", "s", "pad", "stride_log2", "relu", "pool"):
            assert await axil_write(ctx, bus, addr[f"layer_{name}"], fields[name]) == 0
        assert await axil_write(ctx, bus, addr["clear"], 1) == 0
        await _send(ctx, dut.s_axis_w, wbeats, prng, pause)
        await _send(ctx, dut.s_axis_q, qbeats, prng, pause)
        await _send(ctx, dut.s_axis_act, abeats, prng, pause)
        assert await axil_write(ctx, bus, addr["start"], 1) == 0
        if expect_error:
            await ctx.tick().repeat(3)
        else:
            await ctx.tick().until(dut.irq)
        for name in ("status", "cycles", "alu_jobs", "work_units", "pe_idle_cycles"):
            result.registers[name] = (await axil_read(ctx, bus, addr[name]))[0]

    async def monitor(ctx):
        """Counts busy cycles and takes output beats at the clock edges where they move; checks
        the AXI4-Stream rule that a waiting beat keeps ``tvalid`` and ``tdata``."""
        o = dut.m_axis_out
        ctx.set(o.tready, 1)
        waiting = None
        async for _, _, busy, valid, ready, raw in ctx.tick().sample(dut.busy, o.tvalid,
                                                                     o.tready, o.tdata):
            assert waiting is None or (valid and raw == waiting), \
                f"m_axis_out changed under a waiting tvalid ({waiting:#x} to {raw:#x})"
            waiting = raw if valid and not ready else None
            result.cycles += busy
            if valid and ready:
                lanes = data.Const(out_view, raw & ((1 << out_view.size) - 1))
                for p in range(cfg.pes):
                    lane = lanes[p]
                    if lane.valid:
                        b = lane.beat
                        result.beats.append((lane.chunk, b.y, b.x, [
                            (b.lanes[n].c, b.lanes[n].value) for n in range(b.count)]))
            ctx.set(o.tready, int(not backpressure or prng.random() >= backpressure))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.add_testbench(monitor, background=True)
    sim.run()
    return result
