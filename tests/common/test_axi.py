"""The AXI4-Lite register file under Amaranth's simulator, driven by a small AXI manager model."""

import pytest
from amaranth.sim import Simulator
from sparseforge.hdl.common.axi import RESP_OKAY, RESP_SLVERR, AxiLiteRegisterFile, Register
from sparseforge.tb.axi_lite_pysim import axil_read, axil_write

REGS = [
    Register("ctrl", 0x00, 16, "rw", init=0x12),
    Register("start", 0x04, 1, "pulse"),
    Register("status", 0x08, 32, "ro"),
    Register("narrow", 0x0C, 5, "rw"),
]


def run(testbench):
    dut = AxiLiteRegisterFile(REGS, addr_width=8)
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    async def bench(ctx):
        await testbench(ctx, dut)
    sim.add_testbench(bench)
    sim.run()


def test_read_write_strobes_and_errors():
    async def bench(ctx, dut):
        assert await axil_read(ctx, dut.bus, 0x00) == (0x12, RESP_OKAY)      # reset value
        assert await axil_write(ctx, dut.bus, 0x00, 0xBEEFCAFE) == RESP_OKAY
        assert ctx.get(dut.ctrl) == 0xCAFE                                   # 16 bits kept
        assert await axil_write(ctx, dut.bus, 0x00, 0x00001100, strb=0b0010) == RESP_OKAY
        assert ctx.get(dut.ctrl) == 0x11FE                                   # byte 1 only
        assert await axil_read(ctx, dut.bus, 0x00) == (0x11FE, RESP_OKAY)
        ctx.set(dut.status, 0xDEADBEEF)
        assert await axil_read(ctx, dut.bus, 0x08) == (0xDEADBEEF, RESP_OKAY)
        assert await axil_write(ctx, dut.bus, 0x08, 1) == RESP_SLVERR        # read-only
        assert await axil_write(ctx, dut.bus, 0x40, 1) == RESP_SLVERR        # unmapped
        assert await axil_read(ctx, dut.bus, 0x40) == (0, RESP_SLVERR)
        assert await axil_write(ctx, dut.bus, 0x0C, 0xFF) == RESP_OKAY
        assert await axil_read(ctx, dut.bus, 0x0C) == (0x1F, RESP_OKAY)      # 5 bits wide
    run(bench)


def test_pulse_register_pulses_once():
    async def bench(ctx, dut):
        seen = []
        ctx.set(dut.bus.awaddr, 0x04)
        ctx.set(dut.bus.wdata, 1)
        ctx.set(dut.bus.wstrb, 0xF)
        ctx.set(dut.bus.awvalid, 1)
        ctx.set(dut.bus.wvalid, 1)
        ctx.set(dut.bus.bready, 1)
        await ctx.tick()
        ctx.set(dut.bus.awvalid, 0)
        ctx.set(dut.bus.wvalid, 0)
        for _ in range(4):
            seen.append(ctx.get(dut.start))
            await ctx.tick()
        assert seen == [1, 0, 0, 0]
        assert await axil_read(ctx, dut.bus, 0x04) == (0, RESP_OKAY)
    run(bench)


@pytest.mark.parametrize("bad", [
    dict(name="x", offset=2), dict(name="x", offset=0, width=33),
    dict(name="x", offset=0, access="wo")])
def test_register_rejects_bad_definitions(bad):
    with pytest.raises(ValueError):
        Register(**bad)
