# amaranth: UnusedElaboratable=no
"""Small blocks of the VDBB accelerator under Amaranth's simulator.

hdl/accel/output_stage.py: the Requantizer against :func:`sparseforge.sim.conv.requantize`
(checked by hand in test_conv_golden.py). hdl/accel/loaders.py: ActLoader writes an AXI4-Stream
into SramBank instances (hdl/accel/sram.py) at the bank and row of the documented layout
``bank = (p + cb) mod banks``, ``row = base + (p div banks)·CB + cb``, and Readback streams the
words back in load order with ``tlast`` on the last, under random ``tvalid``/``tready`` pauses and
``blocked`` back-pressure.
"""

import random

import pytest
from amaranth import Elaboratable, Module
from amaranth.sim import Simulator
from sparseforge.gen.config import parse_config
from sparseforge.hdl.accel.loaders import ActLoader, Readback
from sparseforge.hdl.accel.output_stage import Requantizer
from sparseforge.hdl.accel.sram import SramBank
from sparseforge.sim.conv import requantize

# -- Requantizer -----------------------------------------------------------------------------------


def _acc_values(width, seed):
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    values = {lo, lo + 1, hi, hi - 1, 0, 1, -1, 2, -2, 3, -3, 5, -5, 6, -6, 127, 128, -128,
              -129, 255, 256, -256, -257}
    for k in range(1, width - 1):
        values |= {1 << k, (1 << k) - 1, (1 << k) + 1, -(1 << k), -(1 << k) - 1, -(1 << k) + 1}
    rng = random.Random(seed)
    values |= {rng.randint(lo, hi) for _ in range(12)}
    return sorted(v for v in values if lo <= v <= hi)


@pytest.mark.parametrize("acc_width", [16, 24, 32, 40])
def test_requantizer_all_shifts(acc_width):
    """Every shift 0…31, ReLU off and on, for extreme values (the width's limits, powers of two
    and their neighbours, the INT8 saturation points) and random ones (seed = acc_width)."""
    dut = Requantizer(acc_width)
    accs = _acc_values(acc_width, seed=acc_width)
    failures = []

    async def bench(ctx):
        for acc in accs:
            ctx.set(dut.acc, acc)
            for relu in (0, 1):
                ctx.set(dut.relu, relu)
                for shift in range(32):
                    ctx.set(dut.shift, shift)
                    got = ctx.get(dut.o)
                    expected = int(requantize(acc, shift, bool(relu)))
                    if got != expected:
                        failures.append((acc, shift, relu, expected, got))

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    assert failures == [], (f"{len(failures)} mismatches (acc, shift, relu, expected, got), "
                            f"first: {failures[:4]}")


# -- ActLoader and Readback over SramBanks ---------------------------------------------------------

class _Bank(SramBank):
    """An SramBank whose memory the testbench can inspect."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        self.memory = m.submodules.mem
        return m


class _Harness(Elaboratable):
    """An ActLoader writing, and a Readback reading, one activation SRAM half of banks."""

    def __init__(self, cfg):
        self.loader = ActLoader(cfg)
        self.readback = Readback(cfg)
        self.banks = [_Bank(cfg.word_bits, cfg.act_bank_depth) for _ in range(cfg.act_banks)]

    def elaborate(self, platform):
        m = Module()
        m.submodules.loader = loader = self.loader
        m.submodules.readback = readback = self.readback
        for b, bank in enumerate(self.banks):
            m.submodules[f"bank{b}"] = bank
            m.d.comb += [
                bank.wr.addr.eq(loader.wr_addr[b]), bank.wr.data.eq(loader.wr_data[b]),
                bank.wr.en.eq(loader.wr_en[b]),
                bank.rd.addr.eq(readback.rd_addr[b]), bank.rd.en.eq(readback.rd_en[b]),
                readback.rd_data[b].eq(bank.rd.data),
            ]
        return m


def _accel(array, sram):
    return parse_config({"arch": "accel", "name": "t", "array": array, "sram": sram})


# B = 8 (64-bit words) on 4 banks of 32 rows; B = 4 (32-bit words) on 8 banks of 16 rows.
CONFIGS = {
    "b8_4banks": _accel({"kind": "vdbb", "tpe": {"a": 2, "b": 8, "c": 4},
                         "array": {"m": 2, "n": 2}}, {"act_kb": 2, "act_banks": 4}),
    "b4_8banks": _accel({"kind": "vdbb", "tpe": {"a": 2, "b": 4, "c": 2},
                         "array": {"m": 2, "n": 2}}, {"act_kb": 1}),
}
# Two maps per config: (base row, pixels, channel blocks per pixel); their rows do not overlap.
MAPS = {
    "b8_4banks": [(0, 7, 3), (9, 13, 1)],        # rows 0…5 and 9…12
    "b4_8banks": [(0, 10, 2), (5, 9, 3)],        # rows 0…3 and 5…10
}


def _place(n, base, blocks, banks):
    """Bank and row of word ``n`` of a map (load order) by the documented layout."""
    p, cb = divmod(n, blocks)
    return (p + cb) % banks, base + (p // banks) * blocks + cb


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_act_loader_and_readback(name, seed):
    cfg = CONFIGS[name]
    banks, depth = cfg.act_banks, cfg.act_bank_depth
    assert (banks, depth) == {"b8_4banks": (4, 32), "b4_8banks": (8, 16)}[name]
    rng = random.Random(seed)
    maps = [(base, [rng.randint(1, (1 << cfg.word_bits) - 1) for _ in range(pixels * blocks)],
             blocks) for base, pixels, blocks in MAPS[name]]
    dut = _Harness(cfg)
    loader, readback = dut.loader, dut.readback
    phase = {"loading": True, "reading": False}
    read = []

    async def source(ctx):
        axis = loader.s_axis
        for base, words, blocks in maps:
            ctx.set(loader.base, base)
            ctx.set(loader.blocks, blocks)
            for n, word in enumerate(words):
                while rng.random() < 0.4:                         # idle cycles
                    ctx.set(axis.tvalid, 0)
                    await ctx.tick()
                ctx.set(axis.tdata, word)
                ctx.set(axis.tlast, n == len(words) - 1)
                ctx.set(axis.tvalid, 1)
                await ctx.tick().until(axis.tvalid & axis.tready)
            ctx.set(axis.tvalid, 0)
            for _ in range(rng.randint(0, 3)):
                await ctx.tick()
        phase["loading"] = False

    async def loader_pressure(ctx):
        while phase["loading"]:
            ctx.set(loader.blocked, rng.random() < 0.3)
            await ctx.tick()
        ctx.set(loader.blocked, 0)

    async def reader(ctx):
        while phase["loading"]:
            await ctx.tick()
        await ctx.tick()                                         # the last write lands
        # The words landed where the layout says, and nowhere else.
        expected = {}
        for base, words, blocks in maps:
            for n, word in enumerate(words):
                place = _place(n, base, blocks, banks)
                assert place not in expected
                expected[place] = word
        for b, bank in enumerate(dut.banks):
            for row in range(depth):
                got = ctx.get(bank.memory.data[row])
                assert got == expected.get((b, row), 0), (name, seed, b, row)
        # Read each map back.
        phase["reading"] = True
        for base, words, blocks in maps:
            ctx.set(readback.base, base)
            ctx.set(readback.blocks, blocks)
            ctx.set(readback.count, len(words))
            ctx.set(readback.start, 1)
            await ctx.tick()
            ctx.set(readback.start, 0)
            beats = []
            while len(beats) < len(words):
                ctx.set(readback.m_axis.tready, rng.random() < 0.6)
                ctx.set(readback.blocked, rng.random() < 0.2)
                *_, data, last, valid, ready = await ctx.tick().sample(
                    readback.m_axis.tdata, readback.m_axis.tlast, readback.m_axis.tvalid,
                    readback.m_axis.tready)
                if valid and ready:
                    beats.append((data, last))
            ctx.set(readback.m_axis.tready, 0)
            for _ in range(4):                                   # nothing more comes out
                await ctx.tick()
                assert not ctx.get(readback.m_axis.tvalid)
            assert not ctx.get(readback.busy)
            read.append(beats)
        phase["reading"] = False

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(source)
    sim.add_testbench(loader_pressure, background=True)
    sim.add_testbench(reader)
    sim.run()
    assert len(read) == len(maps), f"seed {seed}"
    for (_, words, _), beats in zip(maps, read):
        assert [data for data, _ in beats] == words, f"seed {seed}"
        assert [last for _, last in beats] == [0] * (len(words) - 1) + [1], f"seed {seed}"
