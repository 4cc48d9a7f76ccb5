"""A Liberty (.lib) reader: the cells, pins, capacitances, power tables and leakage power needs.

Liberty is the standard-cell library format of Synopsys (the *Liberty User Guide*); the OSU 0.18 µm
library of :func:`sparseforge.gen.toolchain.liberty_path` is one. The file is a tree of groups
(``cell (NAND2X1) { ... }``), simple attributes (``capacitance : 0.0129;``) and complex attributes
(``index_1 ("0.06, 0.18");``). :func:`parse` reads the tree; :class:`Library` keeps what power
analysis uses:

* units: capacitance (``capacitive_load_unit``), leakage power (``leakage_power_unit``), time and
  voltage, and the nominal supply (``nom_voltage``) at which the tables were characterised;
* per cell: area, ``cell_leakage_power``, the ``ff``/``latch`` group, and per pin its direction,
  rise/fall capacitance, ``function``, ``three_state``, ``clock`` flag and ``internal_power``
  groups (``rise_power``/``fall_power`` tables, with or without a ``related_pin``).

Internal-power tables hold energy per transition in capacitance × voltage² units (pF·V² = pJ for
OSU 0.18 µm), as the Liberty guide defines them; :meth:`Table.lookup` interpolates them bilinearly
and extrapolates linearly outside the characterised range, as sign-off tools do.
"""

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

__all__ = ["Group", "Table", "InternalPower", "Pin", "Cell", "Library", "parse", "load"]

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[(){}:;,]|[^\s(){}:;,"]+')


@dataclass
class Group:
    """A Liberty group: ``kind (args) { attributes and subgroups }``."""

    kind: str
    args: list
    attrs: dict = field(default_factory=dict)       # name -> value (str) or list of args
    groups: list = field(default_factory=list)

    def find(self, kind):
        return [g for g in self.groups if g.kind == kind]


def _tokens(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = text.replace("\\\r\n", " ").replace("\\\n", " ")
    return _TOKEN.findall(text)


def _unquote(token):
    return token[1:-1] if token.startswith('"') else token


def parse(text):
    """The top-level group (``library (name) {...}``) of a Liberty text.

    Raises
    ------
    ValueError
        The text is not a well-formed Liberty group tree.
    """
    tokens = _tokens(text)
    pos = 0

    def expect(token):
        nonlocal pos
        if pos >= len(tokens) or tokens[pos] != token:
            found = tokens[pos] if pos < len(tokens) else "end of file"
            raise ValueError(f"Liberty: expected {token!r}, not {found!r} (token {pos})")
        pos += 1

    def args():
        nonlocal pos
        expect("(")
        values = []
        while tokens[pos] != ")":
            if tokens[pos] != ",":
                values.append(_unquote(tokens[pos]))
            pos += 1
        pos += 1
        return values

    def body(group):
        nonlocal pos
        while True:
            if pos >= len(tokens):
                raise ValueError(f"Liberty: group {group.kind!r} is not closed")
            name = tokens[pos]
            if name == "}":
                pos += 1
                return group
            pos += 1
            if tokens[pos] == ":":
                pos += 1
                value = []
                while tokens[pos] != ";":
                    value.append(_unquote(tokens[pos]))
                    pos += 1
                pos += 1
                group.attrs[name] = " ".join(value)
            elif tokens[pos] == "(":
                values = args()
                if pos < len(tokens) and tokens[pos] == "{":
                    pos += 1
                    group.groups.append(body(Group(name, values)))
                else:
                    if pos < len(tokens) and tokens[pos] == ";":
                        pos += 1
                    group.attrs[name] = values
            else:
                raise ValueError(f"Liberty: unexpected {tokens[pos]!r} after {name!r}")

    name = tokens[pos]
    pos += 1
    top = Group(name, args())
    expect("{")
    return body(top)


def _floats(text):
    return [float(v) for v in re.split(r"[,\s]+", text.strip()) if v]


@dataclass(frozen=True)
class Table:
    """A characterised table: ``values[i][j]`` at ``index_1[i]``, ``index_2[j]``.

    ``variables`` names what each index is (``total_output_net_capacitance``,
    ``input_transition_time``, ...) from the table's template.
    """

    variables: tuple
    index_1: tuple
    index_2: tuple
    values: tuple           # rows of index_1, columns of index_2 (one column for 1-D tables)

    def lookup(self, **point):
        """The value at the named variables, interpolated (extrapolated) linearly on each axis.

        Every variable of the table must be given, e.g. ``lookup(total_output_net_capacitance=
        0.02, input_transition_time=0.06)``; extra names are ignored.
        """
        missing = [v for v in self.variables if v not in point]
        if missing:
            raise ValueError(f"Table lookup needs {missing}, given {sorted(point)}")
        x = point[self.variables[0]]
        rows = [_interp(self.index_2, row, point[self.variables[1]])
                if len(self.variables) > 1 else row[0] for row in self.values]
        return _interp(self.index_1, rows, x)


def _interp(xs, ys, x):
    """Piecewise-linear y(x) through (xs, ys), extended linearly beyond both ends."""
    if len(xs) == 1:
        return ys[0]
    i = 0
    while i < len(xs) - 2 and x > xs[i + 1]:
        i += 1
    x0, x1, y0, y1 = xs[i], xs[i + 1], ys[i], ys[i + 1]
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


@dataclass(frozen=True)
class InternalPower:
    """One ``internal_power`` group of a pin: energy per rise/fall of the pin (pJ for OSU 0.18 µm).

    ``related_pin`` is None for an input pin's own (passive) power, e.g. a flip-flop's clock pin.
    """

    related_pin: str | None
    rise: Table | None
    fall: Table | None


@dataclass(frozen=True)
class Pin:
    name: str
    direction: str                  # "input", "output" or "inout"
    rise_capacitance: float         # library capacitance units (pF)
    fall_capacitance: float
    function: str | None
    three_state: str | None
    clock: bool
    internal_power: tuple           # of InternalPower


@dataclass(frozen=True)
class Cell:
    name: str
    area: float
    leakage: float                  # library leakage power units (nW)
    pins: dict                      # name -> Pin, in file order
    ff: dict | None                 # the ff group's attributes and its state names ("args")
    latch: dict | None

    @property
    def inputs(self):
        return [p for p in self.pins.values() if p.direction == "input"]

    @property
    def outputs(self):
        return [p for p in self.pins.values() if p.direction in ("output", "inout")]

    @property
    def sequential(self):
        return self.ff is not None or self.latch is not None


_UNIT = re.compile(r"^\s*([0-9.eE+-]+)\s*([a-zA-Z]+)\s*$")
_PREFIX = {"f": 1e-15, "p": 1e-12, "n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1.0, "k": 1e3}


def _unit(text, base):
    """``"1nW"`` with base ``"W"`` → 1e-9 (the unit in SI)."""
    match = _UNIT.match(text)
    if not match or not match.group(2).lower().endswith(base.lower()):
        raise ValueError(f"Liberty: unit {text!r} is not a multiple of {base}")
    prefix = match.group(2)[:-len(base)]
    if prefix not in _PREFIX:
        raise ValueError(f"Liberty: unit prefix {prefix!r} of {text!r} is not known")
    return float(match.group(1)) * _PREFIX[prefix]


@dataclass(frozen=True)
class Library:
    """What a power flow needs of a Liberty library.

    Attributes
    ----------
    name : str
    cells : dict
        ``{cell name: Cell}``.
    capacitance_unit, leakage_unit, time_unit, voltage_unit : float
        The library's units in farads, watts, seconds and volts.
    nominal_voltage : float
        ``nom_voltage``: the supply the tables were characterised at, in ``voltage_unit``.
    energy_unit : float
        Unit of internal-power table entries in joules: capacitance unit × voltage unit².
    """

    name: str
    cells: dict
    capacitance_unit: float
    leakage_unit: float
    time_unit: float
    voltage_unit: float
    nominal_voltage: float

    @property
    def energy_unit(self):
        return self.capacitance_unit * self.voltage_unit ** 2


def _table(group, templates):
    template = group.args[0] if group.args else None
    variables = templates.get(template)
    attrs = group.attrs
    index_1 = tuple(_floats(" ".join(attrs["index_1"]))) if "index_1" in attrs else ()
    index_2 = tuple(_floats(" ".join(attrs["index_2"]))) if "index_2" in attrs else ()
    rows = tuple(tuple(_floats(row)) for row in attrs["values"])
    if variables is None:
        raise ValueError(f"Liberty: table template {template!r} is not defined")
    if len(variables) == 1:
        # A 1-D table has one row of values along index_1: store one value per row.
        rows = tuple((v,) for v in rows[0])
    return Table(tuple(variables), index_1, index_2, rows)


def _pin(group, templates):
    attrs = group.attrs
    cap = float(attrs.get("capacitance", 0.0))
    powers = []
    for ip in group.find("internal_power"):
        rise = [_table(t, templates) for t in ip.find("rise_power")]
        fall = [_table(t, templates) for t in ip.find("fall_power")]
        powers.append(InternalPower(ip.attrs.get("related_pin"), rise[0] if rise else None,
                                    fall[0] if fall else None))
    return Pin(
        name=group.args[0],
        direction=attrs.get("direction", "input"),
        rise_capacitance=float(attrs.get("rise_capacitance", cap)),
        fall_capacitance=float(attrs.get("fall_capacitance", cap)),
        function=attrs.get("function"),
        three_state=attrs.get("three_state"),
        clock=attrs.get("clock", "false") == "true",
        internal_power=tuple(powers),
    )


def _state(group):
    if group is None:
        return None
    return {"args": list(group.args), **group.attrs}


def library(top):
    """A :class:`Library` from a parsed ``library`` group."""
    attrs = top.attrs
    templates = {}
    for kind in ("lu_table_template", "power_lut_template"):
        for t in top.find(kind):
            templates[t.args[0]] = [t.attrs[k] for k in ("variable_1", "variable_2", "variable_3")
                                    if k in t.attrs]
    cap_value, cap_unit = attrs.get("capacitive_load_unit", ["1", "pf"])
    cells = {}
    for g in top.find("cell"):
        pins = {}
        for p in g.find("pin"):
            pin = _pin(p, templates)
            pins[pin.name] = pin
        ff = g.find("ff")
        latch = g.find("latch")
        cells[g.args[0]] = Cell(
            name=g.args[0],
            area=float(g.attrs.get("area", 0.0)),
            leakage=float(g.attrs.get("cell_leakage_power", 0.0)),
            pins=pins,
            ff=_state(ff[0] if ff else None),
            latch=_state(latch[0] if latch else None),
        )
    return Library(
        name=top.args[0] if top.args else "",
        cells=cells,
        capacitance_unit=float(cap_value) * _unit("1" + cap_unit, "f"),
        leakage_unit=_unit(attrs.get("leakage_power_unit", "1nW"), "W"),
        time_unit=_unit(attrs.get("time_unit", "1ns"), "s"),
        voltage_unit=_unit(attrs.get("voltage_unit", "1V"), "V"),
        nominal_voltage=float(attrs.get("nom_voltage", 1.0)),
    )


@lru_cache(maxsize=4)
def _load(path, mtime):
    return library(parse(Path(path).read_text(errors="replace")))


def load(path):
    """The :class:`Library` of a Liberty file (parsed once per file version)."""
    path = Path(path).resolve()
    return _load(str(path), path.stat().st_mtime_ns)
