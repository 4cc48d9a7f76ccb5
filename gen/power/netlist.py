"""The mapped gate-level netlist: read from Yosys JSON, written back as Verilog one net per bit.

:func:`sparseforge.gen.synth.liberty_netlist` maps a design onto library cells and writes
``netlist.json``. :func:`read_netlist` turns it into a :class:`Netlist`: every net is a bit number
of that file, every cell an instance of a library cell (or of a black-box module such as an SRAM
macro) with its pins connected to bits or constants, and every cell knows the RTL block it came
from (:attr:`CellInstance.scope`, from the instance path Yosys's ``flatten`` puts in cell names).
:func:`simulation_verilog` writes the netlist back as Verilog in which net ``b`` is the wire
``n<b>``, so that a simulator's value-change dump names nets exactly as the netlist numbers them.

:func:`icg_map` writes the techmap file that builds the integrated clock-gating cell the flow
inserts (``$__SF_ICG``) from the library's own cells: a latch transparent while the clock is low,
holding the enable, ANDed with the clock, the standard glitch-free clock gate. The OSU 0.18 µm
library has no integrated clock-gating cell, so its parts are an inverter, a latch and an AND gate
of the library, and their power is counted like any other cell's.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CellInstance", "Netlist", "read_netlist", "simulation_verilog", "icg_map",
           "scope_of", "verilog_name"]


@dataclass(frozen=True)
class CellInstance:
    """One cell of the netlist.

    ``pins`` maps each pin to a tuple of bits (one for library cells), each an ``int`` net or a
    constant ``"0"``, ``"1"``, ``"x"`` or ``"z"``.
    """

    name: str
    type: str
    pins: dict
    scope: tuple


@dataclass
class Netlist:
    """A flattened gate-level netlist.

    Attributes
    ----------
    top : str
    ports : dict
        ``{port name: (direction, tuple of bits, LSB first)}``, in declaration order.
    cells : list of CellInstance
    names : dict
        ``{bit: name}`` of the nets Yosys kept a public name for (registers, block ports), for
        reports.
    """

    top: str
    ports: dict
    cells: list
    names: dict

    def nets(self):
        """Every net bit used by a port or a cell pin, sorted."""
        bits = set()
        for _direction, port_bits in self.ports.values():
            bits.update(b for b in port_bits if isinstance(b, int))
        for cell in self.cells:
            for pin_bits in cell.pins.values():
                bits.update(b for b in pin_bits if isinstance(b, int))
        return sorted(bits)


_SCOPE = re.compile(r"\\?([A-Za-z_][\w\[\]]*)\.")


def scope_of(name):
    """The RTL instance path in a flattened cell's name (``$flatten\\a.\\b.$abc$1``: a, b)."""
    rest = name[len("$flatten"):] if name.startswith("$flatten") else name
    scope = []
    match = _SCOPE.match(rest)
    while match:
        scope.append(match.group(1))
        match = _SCOPE.match(rest, match.end())
    return tuple(scope)


def _bits(raw):
    return tuple(b if isinstance(b, int) else str(b) for b in raw)


def read_netlist(path, top):
    """The :class:`Netlist` of module ``top`` in a Yosys ``write_json`` file.

    Raises
    ------
    ValueError
        The file has no module ``top``, or a cell has no connections listed.
    """
    data = json.loads(Path(path).read_text())
    if top not in data.get("modules", {}):
        raise ValueError(f"Netlist {path} has no module {top!r}")
    module = data["modules"][top]
    ports = {name: (port["direction"], _bits(port["bits"]))
             for name, port in module.get("ports", {}).items()}
    cells = []
    for name, cell in module.get("cells", {}).items():
        if cell["type"].startswith("$"):        # $scopeinfo and other non-logic markers
            continue
        cells.append(CellInstance(name=name, type=cell["type"],
                                  pins={pin: _bits(bits)
                                        for pin, bits in cell["connections"].items()},
                                  scope=scope_of(name)))
    names = {}
    for name, net in module.get("netnames", {}).items():
        if net.get("hide_name"):
            continue
        bits = net["bits"]
        for i, bit in enumerate(bits):
            if isinstance(bit, int) and bit not in names:
                names[bit] = name if len(bits) == 1 else f"{name}[{i}]"
    return Netlist(top=top, ports=ports, cells=cells, names=names)


def _ref(bit):
    return f"n{bit}" if isinstance(bit, int) else f"1'b{bit}"


def _connect(bits):
    if len(bits) == 1:
        return _ref(bits[0])
    return "{" + ", ".join(_ref(b) for b in reversed(bits)) + "}"


def simulation_verilog(netlist, extra_lines=()):
    """Verilog of ``netlist`` with one wire ``n<bit>`` per net, ports as in the design.

    ``extra_lines`` are inserted before ``endmodule`` (e.g. a value-change dump).
    """
    lines = [f"module {netlist.top} ({', '.join(netlist.ports)});"]
    for name, (direction, bits) in netlist.ports.items():
        width = f"[{len(bits) - 1}:0] " if len(bits) > 1 else ""
        keyword = {"input": "input", "output": "output"}.get(direction, "inout")
        lines.append(f"  {keyword} {width}{name};")
    for bit in netlist.nets():
        lines.append(f"  wire n{bit};")
    for name, (direction, bits) in netlist.ports.items():
        for i, bit in enumerate(bits):
            index = f"[{i}]" if len(bits) > 1 else ""
            if direction == "input":
                lines.append(f"  assign n{bit} = {name}{index};")
            else:
                lines.append(f"  assign {name}{index} = {_ref(bit)};")
    for i, cell in enumerate(netlist.cells):
        pins = ", ".join(f".{pin}({_connect(bits)})" for pin, bits in cell.pins.items())
        lines.append(f"  {verilog_name(cell.type)} c{i} ({pins});")
    lines += list(extra_lines)
    lines.append("endmodule")
    return "\n".join(lines) + "\n"


def verilog_name(name):
    """``name`` as a Verilog identifier (escaped when it is not a simple one, e.g. ``a.b``)."""
    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*", name) else f"\\{name} "


def _single(library, test):
    found = sorted((c for c in library.cells.values() if test(c)), key=lambda c: c.area)
    return found[0] if found else None


def icg_map(library):
    """Techmap Verilog for ``$__SF_ICG`` (E, CK → GCLK) from cells of ``library``.

    Raises
    ------
    ValueError
        The library has no inverter, no latch or no two-input AND gate.
    """
    def comb(cell, function):
        return (not cell.sequential and len(cell.outputs) == 1 and
                (cell.outputs[0].function or "").replace(" ", "") in function(cell))

    def names(cell):
        return [p.name for p in cell.inputs]

    inv = _single(library, lambda c: len(c.inputs) == 1 and
                  comb(c, lambda c: {f"(!{names(c)[0]})", f"!{names(c)[0]}"}))
    and2 = _single(library, lambda c: len(c.inputs) == 2 and comb(c, lambda c: {
        "({}{})".format(*names(c)), "({}*{})".format(*names(c)), "({}&{})".format(*names(c))}))
    latch = _single(library, lambda c: c.latch is not None and len(c.inputs) == 2 and
                    c.latch.get("enable", "").strip("()") in names(c))
    if inv is None or and2 is None or latch is None:
        raise ValueError(f"Library {library.name!r} lacks an inverter, a latch or an AND2 gate "
                         "for a clock-gating cell")
    enable = latch.latch["enable"].strip("()")
    data = latch.latch["data_in"].strip("()")
    a, b = names(and2)
    return "\n".join([
        "(* techmap_celltype = \"$__SF_ICG\" *)",
        "module sf_icg (input E, input CK, output GCLK);",
        "  wire ck_n, enable;",
        f"  {inv.name} _TECHMAP_REPLACE_.inv (.{inv.inputs[0].name}(CK), "
        f".{inv.outputs[0].name}(ck_n));",
        f"  {latch.name} _TECHMAP_REPLACE_.latch (.{enable}(ck_n), .{data}(E), "
        f".{latch.outputs[0].name}(enable));",
        f"  {and2.name} _TECHMAP_REPLACE_.gate (.{a}(enable), .{b}(CK), "
        f".{and2.outputs[0].name}(GCLK));",
        "endmodule",
    ]) + "\n"
