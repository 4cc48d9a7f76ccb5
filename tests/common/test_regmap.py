"""The register map's C header and Python driver written by ``sparseforge generate``.

The header must compile warning-free and say what the hardware's register file does (the start
and status convention checked against the values the README documents). The driver is exercised
against the design's own register file (:class:`AxiLiteRegisterFile` built from the same
registers) in Amaranth's simulator, over the AXI4-Lite bus.
"""

import random
import shutil
import subprocess

import pytest
from amaranth.sim import Simulator

from sparseforge.gen.cli import main
from sparseforge.gen.presets import load_preset
from sparseforge.gen.regmap import c_header, python_driver, registers_of
from sparseforge.hdl.common.axi import AxiLiteRegisterFile, Register
from sparseforge.tb.axi_lite_pysim import axil_read, axil_write
from sparseforge.tb.runner import fresh_seed

DESIGNS = ("accel_small", "scnn_2x2_small", "ccr_sparse_ki_small", "sparsecore_small")


def _registers(preset):
    cfg = load_preset(preset)
    return cfg, registers_of(cfg)


@pytest.mark.parametrize("preset", DESIGNS)
def test_header_compiles_and_states_the_convention(preset, tmp_path):
    cc = shutil.which("cc") or shutil.which("gcc")
    assert cc is not None, "a C compiler is needed (the README's requirements)"
    cfg, registers = _registers(preset)
    (tmp_path / f"{cfg.name}_regs.h").write_text(c_header(cfg.name, cfg.notation, registers))
    p = cfg.name.upper()
    (tmp_path / "check.c").write_text(f"""
#include "{cfg.name}_regs.h"
_Static_assert({p}_START_OFFSET == 0x00u, "start is the first register");
_Static_assert({p}_START_ACCESS_PULSE == 1, "start is a pulse");
_Static_assert({p}_STATUS_ACCESS_RO == 1, "status is read-only");
_Static_assert({p}_STATUS_DONE == 2u && {p}_STATUS_ERROR == 4u, "status bits");
_Static_assert({p}_REGISTER_COUNT == {len(registers)}u, "every register");
int main(void)
{{
    static uint32_t regs[256];
    {cfg.name}_write(regs, {p}_START_OFFSET, 1u);
    return (int)({cfg.name}_read(regs, {p}_STATUS_OFFSET) & {p}_STATUS_MASK);
}}
""")
    done = subprocess.run([cc, "-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-c",
                           "check.c", "-o", "check.o"], cwd=tmp_path, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr


def test_generate_writes_the_software_files(tmp_path, capsys):
    assert main(["generate", "sparsecore_small", "-o", str(tmp_path), "-q"]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["sparsecore_small.core", "sparsecore_small.json", "sparsecore_small.v",
                     "sparsecore_small_driver.py", "sparsecore_small_regs.h",
                     "sparsecore_small_waivers.vlt"]
    first = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert main(["generate", "sparsecore_small", "-o", str(tmp_path), "-q"]) == 0
    assert first == {p.name: p.read_bytes() for p in tmp_path.iterdir()}     # reproducible
    # a design without registers (a bare array) gets no software files
    assert main(["generate", "sa_1x1", "-o", str(tmp_path / "sa"), "-q"]) == 0
    assert sorted(p.name for p in (tmp_path / "sa").iterdir()) == [
        "sa_1x1.core", "sa_1x1.json", "sa_1x1.v", "sa_1x1_waivers.vlt"]
    capsys.readouterr()


def _driver_module(cfg, registers):
    namespace = {}
    exec(compile(python_driver(cfg.name, cfg.notation, registers), "driver.py", "exec"),
         namespace)
    return namespace


@pytest.mark.parametrize("preset", ("accel_small", "sparsecore_small"))
def test_driver_against_the_register_file(preset):
    cfg, registers = _registers(preset)
    seed = fresh_seed()
    print(f"seed {seed}")
    rng = random.Random(seed)
    driver_ns = _driver_module(cfg, registers)
    regfile = AxiLiteRegisterFile([Register(r["name"], r["offset"], r["width"], r["access"],
                                            r["reset"], r["doc"]) for r in registers],
                                  addr_width=max(8, max(r["offset"] for r in registers)
                                                 .bit_length()))
    bus = regfile.bus
    rw = [r for r in registers if r["access"] == "rw"]
    values = {r["name"]: rng.randrange(1 << r["width"]) for r in rw}
    seen = {}

    async def bench(ctx):
        async def write(offset, value):
            assert await axil_write(ctx, bus, offset, value) == 0

        async def read(offset):
            data, resp = await axil_read(ctx, bus, offset)
            assert resp == 0
            return data

        driver = driver_ns["Driver"](write, read)
        # reset values, then every rw register written and read back through the bus
        for r in rw:
            assert await driver.read(r["name"]) == r["reset"]
        await driver.program(**values)
        for r in rw:
            assert await driver.read(r["name"]) == values[r["name"]]
            assert ctx.get(getattr(regfile, r["name"])) == values[r["name"]]
        # refusals happen before any bus access
        with pytest.raises(driver_ns["RegisterError"]):
            await driver.write("status", 1)
        with pytest.raises(driver_ns["RegisterError"]):
            await driver.write(rw[0]["name"], 1 << rw[0]["width"])
        with pytest.raises(driver_ns["RegisterError"]):
            await driver.read("no_such_register")
        # start pulses; wait_done polls status until the hardware sets done
        ctx.set(regfile.status, 1)                      # busy
        polls = []

        async def poll():
            polls.append(1)
            if len(polls) == 3:
                ctx.set(regfile.status, 2)              # done
            await ctx.tick()
        await driver.start()
        assert await driver.wait_done(poll=poll) == 2 and len(polls) == 3
        ctx.set(regfile.status, 4)
        with pytest.raises(RuntimeError, match="error bit"):
            await driver.wait_done()
        ctx.set(regfile.status, 1)
        with pytest.raises(TimeoutError):
            await driver.wait_done(max_polls=2)
        seen["done"] = True

    async def watch_start(ctx):
        async for _clk, _rst, start in ctx.tick().sample(regfile.start):
            if start:
                seen["starts"] = seen.get("starts", 0) + 1

    sim = Simulator(regfile)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.add_process(watch_start)
    sim.run_until(1e-4)
    assert seen.get("done") and seen.get("starts") == 1
