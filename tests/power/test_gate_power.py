"""The gate-level power flow on tiny netlists, against hand calculations from the liberty's numbers.

Every expected energy below is worked out by hand from osu018_stdcells.lib (cell, pin and table
quoted beside each number) and from toggle counts derived from the stimulus, never from the flow:
a register bank (four DFFPOSX1 and nothing else), an 8-bit counter (its clock and its outputs'
toggles) and a clock-gated register bank (its gated clock pins fire only in enabled cycles).
Synthesis is cached (the first run of a machine takes a few seconds per design).
"""

import pytest
from sparseforge.gen.power import flow
from sparseforge.gen.power.activity import PortTrace

V = 1.8                     # nom_voltage of osu018_stdcells.lib
PERIOD = 10e-9              # constraints/clocks.toml: 100 MHz

# DFFPOSX1, pin CLK: capacitance and internal_power (passive_energy_template_6x1, index 0.06 ns).
CLK_RISE_C, CLK_FALL_C = 0.0279235, 0.0274634
CLK_RISE_E, CLK_FALL_E = 0.006865, 0.11034
# DFFPOSX1, pin D: capacitance and internal_power (passive_energy_template_5x1, index 0.06 ns).
D_RISE_C, D_FALL_C = 0.00882947, 0.00881001
D_RISE_E, D_FALL_E = 0.045424, 0.08841
# DFFPOSX1, pin Q, related_pin CLK, energy_template_5x6, first column (0.06 ns) at loads
# 0.005 pF and 0.0125 pF, extended linearly to the 0 pF load of an unconnected output.
Q_RISE_E0 = 0.040752 - (0.041217 - 0.040752) * 0.005 / 0.0075
Q_FALL_E0 = 0.064773 - (0.063395 - 0.064773) * 0.005 / 0.0075
DFF_LEAK_NW = 0.160725      # DFFPOSX1 cell_leakage_power

# One clock cycle of one DFFPOSX1 clock pin: a rise and a fall of the pin, and its share of the
# clock net charged and discharged.
CLOCK_PER_CYCLE = CLK_RISE_E + CLK_FALL_E + 0.5 * V * V * (CLK_RISE_C + CLK_FALL_C)


def trace(columns, unknown_first=()):
    """A PortTrace from per-cycle columns; outputs in ``unknown_first`` are unknown in cycle 0."""
    n = len(next(iter(columns.values())))
    return PortTrace(edges=list(range(n)), values=columns,
                     unknown={name: [name in unknown_first] + [False] * (n - 1)
                              for name in columns})


def transitions(values, bit):
    """(rises, falls) of one bit over a sequence of per-cycle values."""
    rises = falls = 0
    for before, after in zip(values, values[1:]):
        b, a = (before >> bit) & 1, (after >> bit) & 1
        rises += a > b
        falls += a < b
    return rises, falls


REGS = """\
module regs(input clk, input [3:0] d, output reg [3:0] q);
  always @(posedge clk) q <= d;
endmodule
"""


def test_register_bank_matches_hand_calculation():
    gate = flow.gate_netlist(REGS, "regs")
    assert sorted(c.type for c in gate.netlist.cells) == ["DFFPOSX1"] * 4
    d = [0, 5, 5, 10, 15, 0, 3, 3, 12, 6, 9, 0]
    n = len(d)
    # q shows d one cycle late; cycle 0's q is the power-up x (not compared).
    result = flow.replay_energy(gate, trace({"d": d, "q": [0] + d[:-1]}, unknown_first=("q",)),
                                start=0)
    assert result.mismatches == 0 and result.checked == n - 1

    expected = 4 * n * CLOCK_PER_CYCLE
    for bit in range(4):
        rises, falls = transitions(d, bit)      # D changes between edges; Q follows at the edge
        expected += rises * (D_RISE_E + 0.5 * V * V * D_RISE_C)
        expected += falls * (D_FALL_E + 0.5 * V * V * D_FALL_C)
        expected += rises * Q_RISE_E0 + falls * Q_FALL_E0
    leakage = 4 * DFF_LEAK_NW * 1e-9 * n * PERIOD * 1e12
    expected += leakage

    energy = result.energy
    assert energy.cycles == n
    assert energy.total_pj == pytest.approx(expected, rel=1e-9)
    assert energy.by_category["clock"] == pytest.approx(4 * n * CLOCK_PER_CYCLE, rel=1e-9)
    assert energy.by_category["leakage"] == pytest.approx(leakage, rel=1e-9)
    assert energy.by_category["logic"] == 0
    assert energy.power_w == pytest.approx(expected * 1e-12 / (n * PERIOD), rel=1e-9)


COUNTER = """\
module counter(input clk, input rst, input en, output reg [7:0] q);
  always @(posedge clk)
    if (rst)
      q <= 8'd0;
    else if (en)
      q <= q + 8'd1;
endmodule
"""


def test_counter_clock_energy_and_output_toggles():
    gate = flow.gate_netlist(COUNTER, "counter")
    flops = sum(c.type == "DFFPOSX1" for c in gate.netlist.cells)
    assert flops == 8
    n = 300
    rst = [1, 1] + [0] * (n - 2)
    en = [1] * n
    q, value = [], 0
    for i in range(n):                      # q before each edge: the golden counter
        q.append(value)
        value = 0 if rst[i] else (value + 1) % 256 if en[i] else value
    result = flow.replay_energy(gate, trace({"rst": rst, "en": en, "q": q}))
    assert result.first_cycle == 2 and result.cycles == n - 2
    assert result.mismatches == 0 and result.checked == n - 2
    energy = result.energy
    # Eight ungated flip-flops, clocked on every one of the 298 cycles of the window.
    assert energy.by_category["clock"] == pytest.approx(8 * (n - 2) * CLOCK_PER_CYCLE, rel=1e-9)
    assert energy.by_category["clock_gated"] == 0
    assert energy.by_category["logic"] > 0 and energy.by_category["register"] > 0


def test_counter_output_nets_toggle_as_counted():
    from sparseforge.gen.power import activity

    gate = flow.gate_netlist(COUNTER, "counter")
    n = 70
    rst = [1] + [0] * (n - 1)
    en = [1] * n
    q, value = [], 0
    for i in range(n):
        q.append(value)
        value = 0 if rst[i] else (value + 1) % 256
    ports = gate.port_widths()
    models = flow.cells.cell_models(gate.library, {c.type for c in gate.netlist.cells})
    from sparseforge.gen.power.netlist import simulation_verilog
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        result = activity.replay(tmp, "counter", simulation_verilog(gate.netlist), models,
                                 ports, {"rst": rst, "en": en})
        header = activity.read_header(result.vcd)
        q_bits = gate.netlist.ports["q"][1]
        codes = {f"n{b}": b for b in q_bits}
        by_bit = {codes[name]: code for code, entries in header.signals.items()
                  for _s, name, _w in entries if name in codes}
        ns = 1e-9 / header.timescale_s
        counted = activity.count_toggles(result.vcd, by_bit.values(),
                                         round(result.edge_times[1] * ns), 1 << 62)
    # After the reset edge the counter counts 0, 1, ..., n - 2: bit i toggles as q does.
    for i, bit in enumerate(q_bits):
        assert counted[by_bit[bit]] == transitions(q[1:] + [value], i)


BANK = """\
module bank(input clk, input rst, input en, input [3:0] d, output reg [3:0] q);
  always @(posedge clk)
    if (rst)
      q <= 4'd0;
    else if (en)
      q <= d;
endmodule
"""


def test_clock_gated_registers_are_clocked_only_when_enabled():
    gate = flow.gate_netlist(BANK, "bank", clock_gated=("q",))
    assert gate.clock_gated_flops == 4
    types = sorted(c.type for c in gate.netlist.cells)
    assert types.count("DFFPOSX1") == 4 and types.count("LATCH") == 1     # one clock gate
    rst = [1, 1] + [0] * 18
    en = [0, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0]
    d = [0, 0, 5, 5, 5, 10, 15, 15, 15, 15, 0, 0, 0, 0, 0, 3, 3, 3, 3, 3]
    q, value = [], 0
    for i in range(len(en)):
        q.append(value)
        value = 0 if rst[i] else d[i] if en[i] else value
    result = flow.replay_energy(gate, trace({"rst": rst, "en": en, "d": d, "q": q}))
    assert result.mismatches == 0
    enabled = sum(en[2:])                   # the window starts after the reset
    energy = result.energy
    assert energy.clock_gating["gated_flops"] == 4
    assert energy.clock_gating["enabled_cycles"] == 4 * enabled
    assert energy.clock_gating["possible_cycles"] == 4 * (len(en) - 2)
    assert energy.by_category["clock"] == 0
    assert energy.by_category["clock_gated"] == pytest.approx(4 * enabled * CLOCK_PER_CYCLE,
                                                              rel=1e-9)
    assert energy.by_category["clock_gating"] > 0


def test_replay_reports_outputs_that_differ_from_the_rtl():
    gate = flow.gate_netlist(REGS, "regs")
    d = [1, 2, 3, 4, 5, 6]
    wrong = [0, 1, 2, 9, 4, 9]              # cycles 3 and 5 disagree with the bank
    result = flow.replay_energy(gate, trace({"d": d, "q": wrong}, unknown_first=("q",)), start=0)
    assert (result.mismatches, result.checked) == (2, 5)


RAM = """\
module ram16(input clk, input w__en, input [3:0] w__addr, input [7:0] w__data,
             input r__0__en, input [3:0] r__0__addr, output reg [7:0] r__0__data);
  reg [7:0] mem [0:15];
  always @(posedge clk) begin
    if (w__en) mem[w__addr] <= w__data;
    if (r__0__en) r__0__data <= mem[r__0__addr];
  end
endmodule
module withram(input clk, input we, input re, input [3:0] addr, input [7:0] d,
               output [7:0] q);
  ram16 ram (.clk(clk), .w__en(we), .w__addr(addr), .w__data(d), .r__0__en(re),
             .r__0__addr(addr), .r__0__data(q));
endmodule
"""


def test_sram_macros_are_black_boxes_counted_per_access():
    from sparseforge.gen.power.job import sram_enables, sram_energy
    from sparseforge.gen.power.sram import access_energy_pj

    gate = flow.gate_netlist(RAM, "withram", blackbox_modules=("ram16",))
    assert [c.type for c in gate.netlist.cells] == ["ram16"]
    macro = {"module": "ram16", "words": 16, "width": 8, "group": "buf",
             "reads": ("r__0__en",), "writes": ("w__en",)}
    enables = sram_enables(gate.netlist, [macro])
    we = [1, 1, 0, 1, 0, 0, 1, 0, 0, 0]
    re = [0, 0, 1, 1, 1, 0, 0, 1, 1, 0]
    addr = [3, 4, 3, 4, 3, 4, 4, 4, 3, 0]
    d = [10, 20, 0, 30, 0, 0, 40, 0, 0, 0]
    mem, q, out = {}, [], 0
    for i in range(len(we)):                # the golden RAM: q before each edge
        q.append(out)
        if re[i]:
            out = mem.get(addr[i], 0)
        if we[i]:
            mem[addr[i]] = d[i]
    unknown = [True, True, True] + [False] * (len(we) - 3)     # q is x until the first read
    trace = PortTrace(list(range(len(we))), {"we": we, "re": re, "addr": addr, "d": d, "q": q},
                      {"we": [False] * 10, "re": [False] * 10, "addr": [False] * 10,
                       "d": [False] * 10, "q": unknown})
    result = flow.replay_energy(gate, trace, start=1, cycles=8,
                                extra_verilog=flow.blackbox_sources(RAM, ["ram16"]),
                                watch=sorted({bit for bit, *_ in enables}))
    assert result.mismatches == 0 and result.checked == 6     # cycles 3 to 8
    pj, accesses = sram_energy(enables, result.high_cycles, 8)
    assert accesses == {"buf": {"read": sum(re[1:9]), "write": sum(we[1:9])}}
    read, write = access_energy_pj(16, 8)
    assert pj == pytest.approx(sum(re[1:9]) * read + sum(we[1:9]) * write)


def test_black_box_sources_bring_the_modules_they_instantiate():
    """A macro whose body instantiates the shared SRAM model (hdl/common/sram_model.py) is cut
    out with the model's module, once, and without the design's other modules."""
    text = ("module top(input clk);\n  \\top.bank0  bank0 (.clk(clk));\n  \\top.bank1  bank1 "
            "(.clk(clk));\nendmodule\n"
            "module \\top.bank0 (input clk);\n  sparseforge_sram #(.WIDTH(4)) mem (.clk(clk));\n"
            "endmodule\n"
            "module \\top.bank1 (input clk);\n  sparseforge_sram #(.WIDTH(8)) mem (.clk(clk));\n"
            "endmodule\n"
            "module sparseforge_sram #(parameter WIDTH = 1) (input clk);\nendmodule\n"
            "module unused(input clk);\nendmodule\n")
    got = flow.blackbox_sources(text, ["top.bank0", "top.bank1"])
    assert got.count("module sparseforge_sram #(") == 1
    assert "module \\top.bank0 " in got and "module \\top.bank1 " in got
    assert "module top(" not in got and "module unused(" not in got
