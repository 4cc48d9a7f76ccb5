# amaranth: UnusedElaboratable=no
"""Per-channel requantization of the accelerator's output stage under Amaranth's simulator.

hdl/accel/output_stage.py's Requantizer against :func:`sparseforge.sim.quant.requantize` (the
shared rule, checked by hand in tests/network/test_quant.py) for extreme and random bias,
multiplier and shift; and the OutputStage reading a QuantTable (hdl/accel/quant_table.py): result
rows of three column tiles arrive back to back, with or without idle cycles, and every channel's
INT8 word lands at the documented bank and row, requantized with its own parameters from the row
``quant_base + k div tile_cols``, lane ``k mod tile_cols``. ``quant = 0`` keeps the layer-wide
shift (bias 0, multiplier 1).
"""

import random

import numpy as np
import pytest
from amaranth import Elaboratable, Module
from amaranth.sim import Simulator

from sparseforge.gen.config import parse_config
from sparseforge.hdl.accel.output_stage import OutputStage, Requantizer
from sparseforge.hdl.accel.quant_table import QuantTable, quant_rows
from sparseforge.sim import quant


def _params(rng, count):
    extremes = [(-2**31, 65535, 47), (2**31 - 1, 65535, 47), (0, 1, 0), (5, 65535, 0),
                (-7, 1, 1), (123456, 40000, 23), (-99, 3, 2)]
    out = list(extremes)
    while len(out) < count:
        out.append((rng.randint(-2**31, 2**31 - 1) >> rng.randint(0, 31),
                    rng.randint(1, 65535), rng.randint(0, 47)))
    return out


@pytest.mark.parametrize("acc_width", [24, 32, 40])
def test_requantizer_per_channel_parameters(acc_width):
    """Accumulators at the width's limits and random ones, against the shared rule (seed =
    acc_width)."""
    rng = random.Random(acc_width)
    lo, hi = -(1 << (acc_width - 1)), (1 << (acc_width - 1)) - 1
    accs = [lo, hi, 0, 1, -1, 127, -128, 4096, -4096] + [rng.randint(lo, hi) for _ in range(12)]
    params = _params(rng, 40)
    dut = Requantizer(acc_width)
    failures = []

    async def bench(ctx):
        for bias, mult, shift in params:
            ctx.set(dut.bias, bias)
            ctx.set(dut.mult, mult)
            ctx.set(dut.shift, shift)
            for relu in (0, 1):
                ctx.set(dut.relu, relu)
                for acc in accs:
                    ctx.set(dut.acc, acc)
                    expected = int(quant.requantize(np.array([acc]), bias, mult, shift,
                                                    bool(relu))[0])
                    if ctx.get(dut.o) != expected:
                        failures.append((acc, bias, mult, shift, relu, expected, ctx.get(dut.o)))

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    assert failures == [], f"{len(failures)} mismatches, first: {failures[:4]}"


class _Harness(Elaboratable):
    def __init__(self, cfg):
        self.stage = OutputStage(cfg)
        self.table = QuantTable(cfg.array.tile_cols, quant_rows(cfg))

    def elaborate(self, platform):
        m = Module()
        m.submodules.stage = stage = self.stage
        m.submodules.table = table = self.table
        m.d.comb += [table.rd_row.eq(stage.quant_row), stage.quant_data.eq(table.rd_data)]
        return m


CFG = parse_config({"arch": "accel", "name": "t",
                    "array": {"kind": "vdbb", "tpe": {"a": 2, "b": 8, "c": 4},
                              "array": {"m": 2, "n": 2}},
                    "sram": {"act_kb": 4, "weight_kb": 4, "act_banks": 8}})


@pytest.mark.parametrize("use_quant, pause", [(1, 0.0), (1, 0.4), (0, 0.0)])
def test_output_stage_per_channel(use_quant, pause):
    """K = 20 (three column tiles of 8, the last partial), a 2×2 output map in one 2×2 patch;
    rows arrive back to back (``pause`` = 0) or with idle cycles (seeded)."""
    cfg = CFG
    tile_cols, banks = cfg.array.tile_cols, cfg.act_banks
    assert (tile_cols, cfg.array.tile_rows, cfg.block) == (8, 4, 8)
    k, ho, wo, base, qbase, shift = 20, 2, 2, 3, 5, 9
    col_tiles, cb_out = 3, 3
    rng = random.Random(7 + use_quant)
    acc = np.array([[rng.randint(-2**31, 2**31 - 1) >> rng.randint(0, 24) for _ in range(4)]
                    for _ in range(col_tiles * tile_cols)])                  # channel × pixel
    params = _params(rng, col_tiles * tile_cols)
    bias, mult, shifts = (np.array(v) for v in zip(*params))
    if use_quant:
        expected = quant.requantize(acc, bias, mult, shifts, relu=True)[:k]
    else:
        expected = quant.requantize(acc, 0, 1, shift, relu=True)[:k]
    dut = _Harness(cfg)
    stage, table = dut.stage, dut.table
    written = {}

    async def bench(ctx):
        for ch, (b, mu, sh) in enumerate(params):                # the host's qt_* writes
            ctx.set(table.wr_row, qbase + ch // tile_cols)
            ctx.set(table.wr_lane, ch % tile_cols)
            ctx.set(table.wr_data, {"bias": b, "mult": mu, "shift": sh})
            ctx.set(table.wr_en, 1)
            await ctx.tick()
        ctx.set(table.wr_en, 0)
        layer = stage.layer
        for name, value in (("ho", ho), ("wo", wo), ("ph", 2), ("pw", 2), ("tiles_x", 1),
                            ("tiles_y", 1), ("cb_out", cb_out), ("col_tiles", col_tiles),
                            ("int8_out", 1), ("relu", 1), ("shift", shift),
                            ("ofm_base", base), ("quant", use_quant), ("quant_base", qbase)):
            ctx.set(getattr(layer, name), value)
        ctx.set(stage.start, 1)
        await ctx.tick()
        ctx.set(stage.start, 0)
        prng = random.Random(3)
        for tile in range(col_tiles):
            for pixel in range(4):
                while prng.random() < pause:
                    ctx.set(stage.result.valid, 0)
                    await ctx.tick()
                ctx.set(stage.result.valid, 1)
                ctx.set(stage.result.payload,
                        [int(v) for v in acc[tile * tile_cols:(tile + 1) * tile_cols, pixel]])
                for b in range(banks):
                    if ctx.get(stage.wr_en[b]):
                        written[(b, ctx.get(stage.wr_addr[b]))] = ctx.get(stage.wr_data[b])
                await ctx.tick()
        ctx.set(stage.result.valid, 0)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    # The documented layout: word (p, cb) in bank (p + cb) mod banks, row base + (p div banks)·CB
    # + cb; channel cb·B + e in byte e.
    got = np.zeros((cb_out * 8, ho * wo), np.int64)
    assert len(written) == ho * wo * cb_out
    for p in range(ho * wo):
        for cb in range(cb_out):
            word = written[((p + cb) % banks, base + (p // banks) * cb_out + cb)]
            for e in range(8):
                got[cb * 8 + e, p] = np.int8(np.uint8((word >> 8 * e) & 0xFF))
    assert got[:k].tolist() == expected.tolist()


@pytest.mark.parametrize("channels, rows", [(512, 64), (20, 3), (0, 0)])
def test_table_macros_and_manifest(channels, rows):
    """sram.quant_channels sizes the table: one 54-bit macro per output column (N·C = 8) of
    ⌈channels / 8⌉ rows, listed with the SRAMs (so synthesis keeps them as macros); none
    without a table."""
    from sparseforge.hdl.accel import Accelerator

    cfg = parse_config({"arch": "accel", "name": "t",
                        "array": {"kind": "vdbb", "tpe": {"a": 2, "b": 8, "c": 4},
                                  "array": {"m": 2, "n": 2}},
                        "sram": {"act_kb": 4, "weight_kb": 4, "quant_channels": channels}})
    assert quant_rows(cfg) == rows
    lanes = [m for m in Accelerator.memory_macros(cfg) if ".quant_table." in m["module"]]
    assert lanes == [{"module": f"t.quant_table.lane{j}", "words": rows, "width": 54}
                     for j in range(8 if channels else 0)]
