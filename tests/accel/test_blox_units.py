"""Sparse-Blox's output path under Amaranth's simulator: output stage, pruner and cache.

Result rows go into the output stage of a pruning layer; the words that reach SRAM must be the
golden requantized map with the blocks :func:`sparseforge.sim.accel.blox.prune_output` caches
left unwritten (a sentinel stays there), the pruner's counters must equal the model's, and the
last row must be released (written unless pruned) :func:`~sparseforge.sim.accel.blox.blox_tail`
cycles after the last row taken (a plain output stage writes it in that cycle). Rows arrive with
random idle cycles.
"""

import random

import numpy as np
import pytest
from amaranth import Elaboratable, Module
from amaranth.lib import wiring
from amaranth.sim import Simulator
from sparseforge.gen.config import parse_config
from sparseforge.hdl.accel.blox import BloxPruner
from sparseforge.hdl.accel.output_stage import OutputStage
from sparseforge.hdl.sparseblox import SparseBlockCache
from sparseforge.hdl.sta.layouts import result_beat_layout
from sparseforge.sim.accel import blox as accel_blox
from sparseforge.sim.accel import plan as accel_plan
from sparseforge.sim.conv import requantize
from sparseforge.tb.packing import Packer

from .test_units import SENTINEL, _Bank, descriptor, place


def _blox(capacity, n=2):
    return parse_config({
        "arch": "accel", "name": "t", "im2col": True,
        "array": {"kind": "vdbb", "tpe": {"a": 2, "b": 4, "c": 2}, "array": {"m": 2, "n": n}},
        "sram": {"act_kb": 4, "act_banks": 8}, "sparseblox": {"capacity": capacity}})


class _Harness(Elaboratable):
    def __init__(self, cfg):
        self.stage = OutputStage(cfg)
        self.pruner = BloxPruner(cfg)
        self.cache = SparseBlockCache(capacity=cfg.sparseblox.capacity)
        self.banks = [_Bank(cfg.word_bits, cfg.act_bank_depth) for _ in range(cfg.act_banks)]

    def elaborate(self, platform):
        m = Module()
        m.submodules.stage = stage = self.stage
        m.submodules.pruner = pruner = self.pruner
        m.submodules.cache = cache = self.cache
        wiring.connect(m, stage.row, pruner.row)
        wiring.connect(m, pruner.released, stage.released)
        wiring.connect(m, pruner.insert, cache.insert)
        wiring.connect(m, cache.verdict, pruner.verdict)
        m.d.comb += [pruner.layer.eq(stage.layer), pruner.full.eq(cache.full),
                     pruner.start.eq(stage.start)]
        for b, bank in enumerate(self.banks):
            m.submodules[f"bank{b}"] = bank
            m.d.comb += [bank.wr.addr.eq(stage.wr_addr[b]), bank.wr.data.eq(stage.wr_data[b]),
                         bank.wr.en.eq(stage.wr_en[b])]
        return m


# (capacity, h, w, c, k, r, s, stride, pad, t): partial blocks at the edges and past K, two
# column tiles, one or two channel blocks per tile, a cache that fills, t = 0, every block.
CASES = [
    (64, 5, 7, 4, 6, 3, 3, 1, 1, 3.0, 2),
    (64, 6, 5, 4, 11, 3, 3, 1, 1, 2.5, 4),
    (3, 6, 5, 4, 11, 3, 3, 1, 1, 255.0, 4),
    (64, 5, 7, 4, 6, 3, 3, 1, 1, 0.0, 2),
    (64, 4, 5, 4, 7, 1, 1, 1, 0, 255.0, 2),
]


@pytest.mark.parametrize("case", CASES, ids=lambda v: "_".join(map(str, v)))
def test_pruned_output_path(case):
    capacity, h, w, c, k, r, s, stride, pad, t, n = case
    cfg = _blox(capacity, n)
    plan = accel_plan.plan_layer(cfg, h, w, c, k, r, s, stride, pad, nnz=4)
    raw = cfg.sparseblox.fmt.to_raw(t)
    seed = hash(case) & 0xFFFF
    rng = random.Random(seed)
    rows = np.array([[rng.randint(-3000, 3000) for _ in range(cfg.array.tile_cols)]
                     for _ in range(plan.tiles * cfg.array.tile_rows)])
    shift, relu, base = 4, True, 2
    dut = _Harness(cfg)
    stage, pruner, cache = dut.stage, dut.pruner, dut.cache
    beats = Packer(result_beat_layout(cfg.array)).pack_many(rows)
    memory, times = {}, {}

    async def bench(ctx):
        for bank in dut.banks:
            for row in range(cfg.act_bank_depth):
                ctx.set(bank.memory.data[row], SENTINEL & ((1 << cfg.word_bits) - 1))
        for name, value in descriptor(plan, ofm_base=base, int8_out=True, relu=relu,
                                      shift=shift).items():
            ctx.set(getattr(stage.layer, name), value)
        ctx.set(stage.prune, 1)
        ctx.set(pruner.k, plan.k)
        ctx.set(pruner.threshold, raw)
        ctx.set(stage.start, 1)
        await ctx.tick()
        ctx.set(stage.start, 0)
        cycle = 0
        for beat in beats:
            while rng.random() < 0.3:
                ctx.set(stage.result.valid, 0)
                await ctx.tick()
                cycle += 1
            ctx.set(stage.result.valid, 1)
            ctx.set(stage.result.payload.as_value(), beat)
            assert ctx.get(stage.result.ready)
            times["last_row"] = cycle
            await ctx.tick()
            cycle += 1
        ctx.set(stage.result.valid, 0)
        while ctx.get(pruner.busy):
            if ctx.get(pruner.released.valid):
                times["last_release"] = cycle
            await ctx.tick()
            cycle += 1
        for b, bank in enumerate(dut.banks):
            for row in range(cfg.act_bank_depth):
                memory[b, row] = ctx.get(bank.memory.data[row])
        ctx.set(cache.swap, 1)
        await ctx.tick()
        ctx.set(cache.swap, 0)
        times["cached"] = ctx.get(pruner.cached)
        times["refused"] = ctx.get(pruner.refused)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()

    cols, tile_rows = cfg.array.tile_cols, cfg.array.tile_rows
    full = np.zeros((plan.col_tiles * cols, plan.tiles_y * plan.ph, plan.tiles_x * plan.pw),
                    dtype=np.int64)
    i = 0
    for q in range(plan.col_tiles):
        for ty in range(plan.tiles_y):
            for tx in range(plan.tiles_x):
                for j in range(tile_rows):
                    py, px = divmod(j, plan.pw)
                    full[q * cols:(q + 1) * cols, ty * plan.ph + py, tx * plan.pw + px] = rows[i]
                    i += 1
    y = requantize(full[:plan.k, :plan.ho, :plan.wo], shift, relu)
    model = accel_blox.prune_output(plan, y, raw)
    per_pixel = plan.cb_out
    sentinel = SENTINEL & ((1 << cfg.word_bits) - 1)
    words = [memory[place(cfg, p, word, base, per_pixel)]
             for p in range(plan.ho * plan.wo) for word in range(per_pixel)]
    kept = [v for v in words if v != sentinel]
    # Unwritten words hold the sentinel: read them as zeros, as the cache's readers do.
    got = accel_plan.unpack_out_words([0 if v == sentinel else v for v in words], plan.k,
                                      plan.ho, plan.wo, cfg.block)
    assert np.array_equal(got, model.data), f"seed {seed}: the written map differs"
    assert len(words) - len(kept) == model.counts.words_not_written
    assert (times["cached"], times["refused"]) == \
        (model.counts.blocks_cached, model.counts.blocks_refused)
    assert times["last_release"] - times["last_row"] == accel_blox.blox_tail(cfg)
