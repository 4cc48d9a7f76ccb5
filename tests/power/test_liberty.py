"""The Liberty reader and the cell models written from it, against the OSU 0.18 µm file itself.

Expected values are read off osu018_stdcells.lib by eye (quoted beside each) or follow from the
Liberty Boolean syntax; the cell models are checked by exhaustive truth tables against functions
written out by hand here.
"""

import itertools

import pytest
from sparseforge.gen.power import cells, liberty
from sparseforge.gen.toolchain import liberty_path


@pytest.fixture(scope="module")
def lib():
    return liberty.load(liberty_path())


def test_units_and_nominal_supply(lib):
    assert lib.capacitance_unit == pytest.approx(1e-12)        # capacitive_load_unit (1,pf)
    assert lib.leakage_unit == pytest.approx(1e-9)             # leakage_power_unit : "1nW"
    assert lib.time_unit == pytest.approx(1e-9)
    assert lib.nominal_voltage == 1.8
    assert lib.energy_unit == pytest.approx(1e-12)             # pF × V² = pJ


def test_cell_pins_tables_and_leakage(lib):
    dff = lib.cells["DFFPOSX1"]
    assert dff.area == 96 and dff.leakage == pytest.approx(0.160725)
    assert dff.ff["next_state"] == "D" and dff.ff["clocked_on"] == "CLK"
    clk = dff.pins["CLK"]
    assert clk.clock and clk.rise_capacitance == pytest.approx(0.0279235)
    (passive,) = clk.internal_power
    assert passive.related_pin is None
    # passive_energy_template_6x1 at the index points and halfway between 0.06 and 0.24 ns.
    assert passive.fall.lookup(input_transition_time=0.06) == pytest.approx(0.11034)
    assert passive.fall.lookup(input_transition_time=0.15) == pytest.approx(
        (0.11034 + 0.129769) / 2)
    nand = lib.cells["NAND2X1"].pins["Y"]
    assert nand.function == "(!(A B))"
    assert {ip.related_pin for ip in nand.internal_power} == {"A", "B"}


def test_two_dimensional_lookup_interpolates_and_extends(lib):
    (group_a, _group_b) = lib.cells["AND2X1"].pins["Y"].internal_power
    table = group_a.rise           # AND2X1 Y, related_pin A, rise_power
    assert table.variables == ("total_output_net_capacitance", "input_transition_time")
    at = table.lookup
    assert at(total_output_net_capacitance=0.0125, input_transition_time=0.18) == \
        pytest.approx(0.017698)
    # Bilinear between loads 0.005/0.0125 and slews 0.06/0.18.
    middle = (0.012351 + 0.01753 + 0.013339 + 0.017698) / 4
    assert at(total_output_net_capacitance=0.00875, input_transition_time=0.12) == \
        pytest.approx(middle)
    # Below the first load: the first segment extended.
    assert at(total_output_net_capacitance=0.0, input_transition_time=0.06) == \
        pytest.approx(0.012351 - (0.013339 - 0.012351) * 0.005 / 0.0075)


def _eval(expr, values):
    """Evaluate a generated Verilog expression of 1-bit operands in Python."""
    text = expr.replace("1'b0", "0").replace("1'b1", "1")
    return eval(text, {}, dict(values)) & 1


GOLDEN = {
    "AOI21X1": lambda A, B, C: not ((A and B) or C),
    "AOI22X1": lambda A, B, C, D: not ((A and B) or (C and D)),
    "OAI21X1": lambda A, B, C: not ((A or B) and C),
    "MUX2X1": lambda A, B, S: not (A if S else B),
    "XNOR2X1": lambda A, B: A == B,
    "NOR3X1": lambda A, B, C: not (A or B or C),
    "FAX1": lambda A, B, C: (A + B + C) >= 2,           # output YC: the carry
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_cell_functions_match_their_truth_tables(lib, name):
    cell = lib.cells[name]
    pin = cell.outputs[0]
    expr = cells.to_verilog(pin.function)
    inputs = [p.name for p in cell.inputs]
    for bits in itertools.product((0, 1), repeat=len(inputs)):
        values = dict(zip(inputs, bits))
        assert _eval(expr, values) == int(GOLDEN[name](**values)), (name, values)


def test_liberty_boolean_syntax():
    assert _eval(cells.to_verilog("A'"), {"A": 0}) == 1
    assert _eval(cells.to_verilog("A*B+C&D"), {"A": 1, "B": 1, "C": 0, "D": 1}) == 1
    assert _eval(cells.to_verilog("A|B^C"), {"A": 0, "B": 1, "C": 1}) == 0
    with pytest.raises(ValueError, match="unbalanced"):
        cells.to_verilog("(A B")


def test_sequential_models(lib):
    dffsr = cells.cell_model(lib.cells["DFFSR"])
    assert "always @(posedge CLK or negedge R or negedge S)" in dffsr
    neg = cells.cell_model(lib.cells["DFFNEGX1"])
    assert "always @(negedge CLK)" in neg
    latch = cells.cell_model(lib.cells["LATCH"])
    assert "always @* if (CLK) iq = D;" in latch
    tbuf = cells.cell_model(lib.cells["TBUFX1"])
    assert "1'bz" in tbuf


def test_malformed_liberty_is_refused():
    with pytest.raises(ValueError, match="not closed"):
        liberty.parse("library (x) { cell (A) { area : 1; }")
