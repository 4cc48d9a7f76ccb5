"""Lint and synthesis flows: Verilator with the shipped waivers, Yosys, OSU 0.18 µm, nextpnr-ecp5.

Expectations come from the designs themselves, never from the flows: an 8-bit counter has eight
flip-flops; a register bank twice as wide takes more area; an undriven wire is a lint finding.
The first YoWASP call of a machine compiles the WebAssembly tools (a minute or two, then cached).
"""

import re

import pytest
from sparseforge.gen import emit
from sparseforge.gen.errors import InputError, ToolFailure
from sparseforge.gen.lint import WAIVERS, lint_verilog
from sparseforge.gen.presets import load_preset
from sparseforge.gen.synth import FLOWS, clock_constraints, synth

COUNTER = """\
module counter(input clk, input rst, input en, output reg [7:0] q);
  always @(posedge clk)
    if (rst)
      q <= 8'd0;
    else if (en)
      q <= q + 8'd1;
endmodule
"""


def register_bank(width):
    """A bank of ``width`` enable-loaded flip-flops and nothing else."""
    return f"""\
module regbank(input clk, input en, input [{width - 1}:0] d, output reg [{width - 1}:0] q);
  always @(posedge clk)
    if (en)
      q <= d;
endmodule
"""


def write(tmp_path, name, text):
    path = tmp_path / f"{name}.v"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def presets(tmp_path_factory):
    """Generated Verilog of the two small presets the flows are tried on: {name: (cfg, path)}."""
    out = tmp_path_factory.mktemp("presets")
    generated = {}
    for name in ("sa_1x1", "vdbb_2x8x4_2x2"):
        cfg = load_preset(name)
        v_path, _ = emit.generate(cfg, out)
        generated[name] = (cfg, v_path)
    return generated


# Lint ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["sa_1x1", "vdbb_2x8x4_2x2"])
def test_generated_preset_lints_clean(presets, name):
    _cfg, path = presets[name]
    result = lint_verilog(path, name)
    assert result.warnings == []
    assert result.ok
    assert "-Wall" in result.command and str(WAIVERS) in result.command


def test_lint_reports_an_undriven_wire(tmp_path):
    path = write(tmp_path, "undriven", """\
module undriven(input clk, input a, output y, output z);
  wire floating;
  assign y = a;
  assign z = floating;
endmodule
""")
    result = lint_verilog(path, "undriven")
    assert not result.ok
    assert any("UNDRIVEN" in w and "floating" in w for w in result.warnings)


def test_lint_reports_a_multiply_driven_net(tmp_path):
    path = write(tmp_path, "multi", """\
module multi(input a, input b, output w);
  assign w = a;
  assign w = b;
endmodule
""")
    result = lint_verilog(path, "multi")
    assert not result.ok
    assert any("MULTIDRIVEN" in w and "'w'" in w for w in result.warnings)


def test_lint_reports_a_syntax_error_as_a_finding(tmp_path):
    path = write(tmp_path, "broken", "module broken(input a, output y);\n"
                                     "  assign y = ;\n"
                                     "endmodule\n")
    result = lint_verilog(path, "broken")
    assert not result.ok
    assert any(w.startswith("%Error") for w in result.warnings)


def test_narrow_waivers_still_report_what_amaranth_never_writes(tmp_path):
    # ASCRANGE and DECLFILENAME are waived only in the forms Amaranth emits ([-1:0] for a
    # zero-width signal, "top.sub" submodule names); an ascending range and a top module named
    # unlike its file are still findings.
    path = write(tmp_path, "handmade", """\
module other(input [0:3] a, output [3:0] y);
  assign y = a;
endmodule
""")
    result = lint_verilog(path, "other")
    rules = {re.match(r"%Warning-(\w+)", w).group(1) for w in result.warnings}
    assert rules == {"ASCRANGE", "DECLFILENAME"}


def test_every_waiver_says_why():
    lines = WAIVERS.read_text().splitlines()
    assert lines[0] == "`verilator_config"
    waivers = [i for i, line in enumerate(lines) if line.startswith("lint_off")]
    assert waivers
    for i in waivers:
        assert lines[i - 1].startswith("//"), f"waiver without its reason: {lines[i]!r}"


def test_lint_of_a_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="is not a Verilog file"):
        lint_verilog(tmp_path / "absent.v", "absent")


# Synthesis: hand-written designs ------------------------------------------------------------------

def test_generic_counts_the_counter_flops(tmp_path):
    result = synth(write(tmp_path, "counter", COUNTER), "counter", "generic",
                   work_dir=tmp_path / "work")
    assert result["flops"] == 8
    assert result["latches"] == 0
    assert result["cells"] > 8                      # an incrementer besides the register
    assert sum(result["cell_types"].values()) == result["cells"]
    assert (tmp_path / "work" / "yosys.log").is_file()


def test_liberty_area_grows_with_the_register_bank(tmp_path):
    results = {}
    for width in (8, 16):
        path = write(tmp_path / f"w{width}", "regbank", register_bank(width))
        results[width] = synth(path, "regbank", "liberty")
    assert results[8]["flops"] == 8
    assert results[16]["flops"] == 16
    assert 0 < results[8]["area_um2"] < results[16]["area_um2"]
    assert results[8]["work_dir"] is None           # a temporary work directory is removed


def inverter_chain(length):
    """Two flip-flops with ``length`` inverters between them (an odd chain maps to at least one
    inverter): the only register-to-register path."""
    wires = " ".join(f"wire n{i} = ~n{i - 1};" for i in range(1, length + 1))
    return f"""\
module chain(input clk, input d, output reg q);
  reg r;
  (* keep *) wire n0 = r;
  {wires}
  always @(posedge clk) begin r <= d; q <= n{length}; end
endmodule
"""


def test_liberty_critical_path_grows_with_the_logic(tmp_path):
    """The liberty flow's critical path (gen/timing.py): a flop-to-flop wire is clock-to-Q and
    setup alone, positive; logic between the flops makes it longer and deeper."""
    results = {}
    for length in (0, 5):
        path = write(tmp_path / f"c{length}", "chain", inverter_chain(length))
        results[length] = synth(path, "chain", "liberty")
    assert 0 < results[0]["critical_path_ns"] < results[5]["critical_path_ns"]
    assert results[5]["critical_path_levels"] > results[0]["critical_path_levels"] >= 1


def test_ecp5_places_and_routes_the_counter(tmp_path):
    lines = []
    result = synth(write(tmp_path, "counter", COUNTER), "counter", "ecp5",
                   work_dir=tmp_path / "work", progress=lines.append)
    assert result["luts"] > 0
    assert result["flops"] == 8
    assert result["dsps"] == 0
    assert result["fmax_mhz"] > 0
    assert result["device"] == "LFE5U-25F"          # a few LUTs fit the smallest part
    assert any("nextpnr" in line for line in lines)
    assert (tmp_path / "work" / "report.json").is_file()


def test_blackbox_modules_are_counted_not_synthesized(tmp_path):
    # Two 16x8 memories (128 flip-flops each if synthesized) behind an 8-bit output register.
    path = write(tmp_path, "top", """\
module store(input clk, input we, input [3:0] addr, input [7:0] d, output [7:0] q);
  reg [7:0] cells [0:15];
  always @(posedge clk)
    if (we)
      cells[addr] <= d;
  assign q = cells[addr];
endmodule

module top(input clk, input we, input [3:0] addr, input [7:0] d, output reg [7:0] q);
  wire [7:0] q0, q1;
  store bank0(.clk(clk), .we(we), .addr(addr), .d(d), .q(q0));
  store bank1(.clk(clk), .we(we), .addr(addr), .d(~d), .q(q1));
  always @(posedge clk)
    q <= q0 ^ q1;
endmodule
""")
    whole = synth(path, "top", "generic")
    boxed = synth(path, "top", "generic", blackbox_modules=["store"])
    assert whole["flops"] == 8 + 2 * 16 * 8
    assert whole["blackboxes"] == {}
    assert boxed["flops"] == 8
    assert boxed["blackboxes"] == {"store": 2}
    assert boxed["cells"] < whole["cells"]


def test_a_failing_tool_names_its_log(tmp_path):
    path = write(tmp_path, "counter", COUNTER)
    with pytest.raises(ToolFailure, match=r"yosys: generic synthesis of 'nosuch' failed.*log: "
                                          r".*yosys\.log"):
        synth(path, "nosuch", "generic")


def test_bad_requests_are_input_errors(tmp_path):
    path = write(tmp_path, "counter", COUNTER)
    with pytest.raises(InputError, match="flow 'asic' is not allowed"):
        synth(path, "counter", "asic")
    with pytest.raises(InputError, match="is not a Verilog file"):
        synth(tmp_path / "absent.v", "counter")


def test_clock_constraints_are_checked(tmp_path):
    assert clock_constraints()["clk"] > 0
    bad = tmp_path / "clocks.toml"
    bad.write_text("[clocks.clk]\nfrequency_mhz = -5\n")
    with pytest.raises(InputError, match=r"clocks\.clk\.frequency_mhz: -5 is not allowed"):
        clock_constraints(bad)


# Synthesis: a generated preset in every flow ------------------------------------------------------

@pytest.mark.parametrize("flow", FLOWS)
def test_sa_1x1_in_every_flow(presets, flow, tmp_path):
    cfg, path = presets["sa_1x1"]
    result = synth(path, "sa_1x1", flow, work_dir=tmp_path)
    # One MAC owns an accumulator and a result (shadow) register of acc_width bits each, and
    # holds one activation and one weight operand: a floor for the flip-flop count.
    floor = 2 * cfg.acc_width + cfg.act_width + cfg.weight_width
    assert result["flops"] >= floor
    if flow == "generic":
        assert result["cells"] > result["flops"]
    elif flow == "liberty":
        assert result["area_um2"] > 0
        assert result["sequential_area_um2"] < result["area_um2"]
        # An 8x8 product and a 32-bit add in one cycle: longer than one gate, shorter than 100.
        assert 1 < result["critical_path_ns"] < 100
    else:
        assert result["luts"] > 0
        assert result["dsps"] == 1                  # the MAC's one 8x8 product
        assert result["fmax_mhz"] > 0
