"""The SRAM macros' Verilog model (hdl/common/sram_model.py) against Amaranth's own emission of
the same ``lib.memory.Memory``: the same outputs, cycle by cycle, under Icarus on random
stimulus, for every kind of macro the architectures use; and what the conversion writes."""

import random
import re
import shutil
import subprocess

import pytest
from amaranth import Module, Shape
from amaranth.back import verilog
from amaranth.lib import memory, wiring

from sparseforge.hdl.accel.sram import SramBank
from sparseforge.hdl.ccr.buffer import Buffer
from sparseforge.hdl.common import sram_model
from sparseforge.hdl.common.rams import Ram

#: name → (component factory, depth, write port's (addr, en) names, model parameters).
CASES = {
    "accel_bank": (lambda: SramBank(7, 5), 5, ("wr__addr", "wr__en"),
                   {"WRITES": 1, "READS": 1, "SYNC_READ": 1, "TRANSPARENT": 0}),
    # The dual-port bank of a two-row output stage: two write ports, never to one address in a
    # cycle (the bank's contract; Amaranth's emission leaves that case to the simulator's order
    # of its two always blocks), every address inside the depth (its emission and the model
    # differ on addresses past it, which no user of a bank issues).
    "accel_bank_2w": (lambda: SramBank(7, 8, write_ports=2), 8, ("wr__addr", "wr__en"),
                      {"WRITES": 2, "READS": 1, "SYNC_READ": 1, "TRANSPARENT": 0}),
    "ram_sync_2r": (lambda: Ram(6, 6, reads=2), 6, ("w__addr", "w__en"),
                    {"READS": 2, "SYNC_READ": 1, "TRANSPARENT": 0}),
    "ram_comb_3r": (lambda: Ram(5, 3, reads=3, comb=True), 3, ("w__addr", "w__en"),
                    {"READS": 3, "SYNC_READ": 0, "TRANSPARENT": 0}),
    "buffer_transparent": (lambda: Buffer(9, 4, transparent=True), 4, ("wr_addr", "wr_en"),
                           {"READS": 1, "SYNC_READ": 1, "TRANSPARENT": 1}),
    "buffer_comb": (lambda: Buffer(4, 7, comb_read=True), 7, ("wr_addr", "wr_en"),
                    {"READS": 1, "SYNC_READ": 0, "TRANSPARENT": 0}),
}


def _ports(top):
    return [("__".join(map(str, path)), member.flow == wiring.In, Shape.cast(member.shape).width)
            for path, member, _ in top.signature.flatten(top)]


def _testbench(ports, depth, write, cycles, seed, second=None):
    """Both designs on the same inputs: every word written once first (reads disabled: the
    reference's words start at zero, the model's are unspecified), then random inputs on every
    port each cycle; from then on, any output bit that differs (x included) is counted.
    ``second``: a second write port's (addr, en), disabled in a cycle it would write the first
    port's address."""
    rng = random.Random(seed)
    decl, compare = [], []
    for name, is_in, width in ports:
        if is_in:
            decl.append(f"  reg [{width - 1}:0] {name};")
        else:
            decl += [f"  wire [{width - 1}:0] ref_{name}, dut_{name};"]
            compare.append(f"    if (check && ref_{name} !== dut_{name}) errors = errors + 1;")
    stim = []
    for cycle in range(cycles):
        values = {name: rng.getrandbits(width) for name, is_in, width in ports if is_in}
        if cycle < depth:
            values.update({n: 0 for n in values if n.endswith("en")})
            values[write[0]], values[write[1]] = cycle, 1
        if second and values[second[0]] == values[write[0]] and values[write[1]]:
            values[second[1]] = 0
        values["check"] = int(cycle >= depth)
        stim.append("    " + " ".join(f"{n} = {v};" for n, v in values.items()) + " step;")
    conns = lambda prefix: ", ".join(  # noqa: E731
        f".{n}({n if is_in else prefix + n})" for n, is_in, _ in ports)
    return "\n".join([
        "module tb;", "  reg clk = 0, rst = 0;", "  integer errors = 0;", "  reg check;", *decl,
        f"  ref_top ref_(.clk(clk), .rst(rst), {conns('ref_')});",
        f"  dut_top dut_(.clk(clk), .rst(rst), {conns('dut_')});",
        "  task step; begin #1;", *compare, "    clk = 1; #1 clk = 0; end endtask",
        "  initial begin", *stim, '    $display("ERRORS %0d", errors); $finish;', "  end",
        "endmodule", ""])


@pytest.mark.parametrize("case", sorted(CASES))
def test_model_matches_amaranths_memory_cycle_by_cycle(case, tmp_path):
    if shutil.which("iverilog") is None:
        pytest.skip("Icarus Verilog is not installed")
    make, depth, write, params = CASES[case]
    top = make()
    ports = _ports(top)
    ref = verilog.convert(top, name="ref_top", emit_src=False)
    dut = sram_model.convert(make(), "dut_top")
    for key, value in params.items():
        assert re.search(rf"\.{key}\(32'd{value}\)", dut), (case, key)
    seed = 1600 + sorted(CASES).index(case)
    second = ("wr2__addr", "wr2__en") if params.get("WRITES") == 2 else None
    bench = _testbench(ports, depth, write, 300, seed, second)
    (tmp_path / "all.v").write_text(ref + dut + bench)
    subprocess.run(["iverilog", "-o", str(tmp_path / "sim"), "-s", "tb", str(tmp_path / "all.v")],
                   check=True, capture_output=True)
    out = subprocess.run(["vvp", "-n", str(tmp_path / "sim")], check=True, capture_output=True,
                         text=True).stdout
    assert "ERRORS 0" in out, f"seed {seed}: {out}"


class _Two(wiring.Component):
    """Two macros of different kinds."""

    def __init__(self):
        super().__init__({"x": wiring.In(1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.a = SramBank(8, 64)
        m.submodules.b = Ram(3, 10, reads=2)
        return m


def test_no_initialiser_and_the_model_written_once():
    text = sram_model.convert(_Two(), "two")
    assert not re.search(r"\] = \d+'h", text)      # no word initialiser
    assert text.count(f"module {sram_model.MODEL_NAME} ") == 1
    assert len(re.findall(rf"^\s*{sram_model.MODEL_NAME} #\(", text, re.M)) == 2


class _Rom(wiring.Component):
    """A memory outside the model's contract: its contents are given."""

    def __init__(self):
        super().__init__({"addr": wiring.In(2), "data": wiring.Out(4)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.mem = mem = memory.Memory(shape=4, depth=4, init=[1, 2, 3, 4])
        m.submodules.wmem = memory.Memory(shape=4, depth=4, init=[])   # no ports: kept too
        read = mem.read_port(domain="comb")
        mem.write_port()
        m.d.comb += [read.addr.eq(self.addr), self.data.eq(read.data)]
        return m


def test_a_memory_with_contents_keeps_amaranths_emission():
    text = sram_model.convert(_Rom(), "rom")
    assert sram_model.MODEL_NAME not in text
    assert "mem[3] = 4'h4;" in text
