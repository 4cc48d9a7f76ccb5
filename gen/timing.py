"""Static timing of a liberty-mapped netlist: the critical register-to-register path delay.

The YoWASP build of Yosys runs ABC in-process and loses ABC's own report (``stime``), and Yosys's
``sta`` pass knows no Liberty timing, so the liberty flow measures its critical path here: a
block-based static timing analysis of the mapped netlist (``write_json``) with the library's
non-linear delay model, as sign-off tools compute it, simplified:

* each arc's delay and output transition are ``cell_rise``/``cell_fall`` and
  ``rise_transition``/``fall_transition`` looked up at the input pin's transition and the net's
  load (the sum of the input-pin capacitances it drives; no wire load model), taking the larger
  of rise and fall (unateness is not tracked, so the figure is a little pessimistic);
* a net driving more than :data:`MAX_FANOUT` input pins (the array's enable, a reset) is taken
  as driven through a fanout-of-4 tree of the library's ``BUFX4`` buffers, as placement would
  build it: the driver sees :data:`MAX_FANOUT` pins, each tree level adds a buffer driving 4
  (ABC maps without buffering, and one gate driving thousands of pins would read as hundreds
  of nanoseconds);
* paths start at flip-flop outputs (the clock-to-Q arc) and at the top's inputs (arrival 0) and
  end at flip-flop data pins (plus the setup constraint) or at the top's outputs;
* the clock is ideal (no skew), driven with transition :data:`CLOCK_TRANSITION_NS`.
"""

from collections import defaultdict, deque
from pathlib import Path

from .power.liberty import _table, parse

__all__ = ["critical_path", "CLOCK_TRANSITION_NS", "MAX_FANOUT"]

#: Transition time of the ideal clock and of the top's inputs, ns.
CLOCK_TRANSITION_NS = 0.1

#: Input pins a gate drives directly; larger nets go through a buffer tree.
MAX_FANOUT = 8

#: The buffer of the trees.
BUFFER = "BUFX4"

_DELAY = ("cell_rise", "cell_fall")
_SLEW = ("rise_transition", "fall_transition")


def _timing_library(path):
    top = parse(Path(path).read_text(errors="replace"))
    templates = {t.args[0]: [t.attrs[k] for k in ("variable_1", "variable_2", "variable_3")
                             if k in t.attrs]
                 for t in top.find("lu_table_template")}
    cells = {}
    for g in top.find("cell"):
        pins, arcs, setup = {}, defaultdict(list), {}
        for p in g.find("pin"):
            name = p.args[0]
            pins[name] = (p.attrs.get("direction", "input"),
                          float(p.attrs.get("capacitance", 0.0)))
            for t in p.find("timing"):
                kind = t.attrs.get("timing_type", "combinational")
                related = t.attrs.get("related_pin", "").strip('"')
                if kind == "setup_rising":
                    tables = [_table(c, templates) for k in ("rise_constraint", "fall_constraint")
                              for c in t.find(k)]
                    setup[name] = tables
                elif kind in ("combinational", "rising_edge"):
                    arcs[name].append((related, kind,
                                       [_table(c, templates) for k in _DELAY for c in t.find(k)],
                                       [_table(c, templates) for k in _SLEW for c in t.find(k)]))
        cells[g.args[0]] = {"pins": pins, "arcs": dict(arcs), "setup": setup,
                            "sequential": bool(g.find("ff") or g.find("latch"))}
    return cells


def _lookup(tables, slew, load):
    point = {"input_net_transition": slew, "total_output_net_capacitance": load,
             "constrained_pin_transition": slew, "related_pin_transition": CLOCK_TRANSITION_NS,
             "input_transition_time": slew}
    return max((t.lookup(**point) for t in tables), default=0.0)


def critical_path(netlist, top, liberty):
    """The longest path of module ``top`` in the Yosys JSON ``netlist`` (a dict) mapped to the
    Liberty file ``liberty``: ``{"delay_ns", "startpoint", "endpoint", "levels"}`` (the start
    and end registers by the net their output drives, or a port name), the
    register-to-register delay including clock-to-Q and setup (paths from the top's inputs and to
    its outputs included). ``delay_ns`` is 0.0 for a netlist without timed paths."""
    lib = _timing_library(liberty)
    module = netlist["modules"][top]
    cells = {name: c for name, c in module["cells"].items() if c["type"] in lib}

    load = defaultdict(float)
    fanout = defaultdict(int)
    driver = {}
    for name, c in cells.items():
        pins = lib[c["type"]]["pins"]
        for pin, bits in c["connections"].items():
            direction, cap = pins.get(pin, ("input", 0.0))
            for bit in bits:
                if not isinstance(bit, int):
                    continue
                if direction == "output":
                    driver[bit] = name
                else:
                    load[bit] += cap
                    fanout[bit] += 1
    buffer = lib[BUFFER]
    (buffer_arc,) = [arc for arcs in buffer["arcs"].values() for arc in arcs]

    def drive(delays, slews, slew, bit):
        """Delay and transition from a driver's input to the net's pins, buffer tree included."""
        pins, net_load = fanout[bit], load[bit]
        if pins <= MAX_FANOUT:
            return _lookup(delays, slew, net_load), _lookup(slews, slew, net_load)
        per_pin = net_load / pins
        delay = _lookup(delays, slew, MAX_FANOUT * per_pin)
        slew = _lookup(slews, slew, MAX_FANOUT * per_pin)
        reach = MAX_FANOUT
        while reach < pins:
            delay += _lookup(buffer_arc[2], slew, 4 * per_pin)
            slew = _lookup(buffer_arc[3], slew, 4 * per_pin)
            reach *= 4
        return delay, slew

    # Arrival time, transition, startpoint and logic depth of every net.
    arrival = {}
    for port in module["ports"].values():
        if port["direction"] == "input":
            for bit in port["bits"]:
                if isinstance(bit, int):
                    arrival[bit] = (0.0, CLOCK_TRANSITION_NS, "input", 0)

    def evaluate(name, c, inputs_ready):
        cell = lib[c["type"]]
        for pin, arcs in cell["arcs"].items():
            for bit in c["connections"].get(pin, ()):
                if not isinstance(bit, int):
                    continue
                best = None
                for related, kind, delays, slews in arcs:
                    if (kind == "rising_edge") != cell["sequential"]:
                        continue
                    if kind == "rising_edge":
                        at, slew, start, depth = 0.0, CLOCK_TRANSITION_NS, name, 0
                    else:
                        src = c["connections"].get(related, [None])[0]
                        at, slew, start, depth = arrival.get(src, (0.0, CLOCK_TRANSITION_NS,
                                                                   "constant", 0))
                    delay, out_slew = drive(delays, slews, slew, bit)
                    if best is None or at + delay > best[0]:
                        best = (at + delay, out_slew, start, depth + 1)
                if best is not None:
                    arrival[bit] = best

    # Flip-flops first (their outputs start paths), then combinational cells in topological order.
    pending = {}
    users = defaultdict(list)
    for name, c in cells.items():
        if lib[c["type"]]["sequential"]:
            evaluate(name, c, True)
    for name, c in cells.items():
        if lib[c["type"]]["sequential"]:
            continue
        pins = lib[c["type"]]["pins"]
        sources = {bit for pin, bits in c["connections"].items()
                   if pins.get(pin, ("input",))[0] != "output"
                   for bit in bits if isinstance(bit, int) and bit in driver
                   and not lib[cells[driver[bit]]["type"]]["sequential"]}
        pending[name] = len(sources)
        for bit in sources:
            users[bit].append(name)
    ready = deque(name for name, n in pending.items() if n == 0)
    while ready:
        name = ready.popleft()
        c = cells[name]
        evaluate(name, c, True)
        for pin, bits in c["connections"].items():
            if lib[c["type"]]["pins"].get(pin, ("input",))[0] == "output":
                for bit in bits:
                    for user in users.get(bit, ()):
                        pending[user] -= 1
                        if pending[user] == 0:
                            ready.append(user)

    # Registers by the name of the net their output drives (Yosys keeps the RTL names there).
    names = {}
    for net, info in module.get("netnames", {}).items():
        if not info.get("hide_name"):
            for i, bit in enumerate(info["bits"]):
                if isinstance(bit, int):
                    names.setdefault(bit, net if len(info["bits"]) == 1 else f"{net}[{i}]")

    def register(name):
        if name not in cells:
            return name
        c = cells[name]
        for pin, bits in c["connections"].items():
            if lib[c["type"]]["pins"].get(pin, ("input",))[0] == "output":
                for bit in bits:
                    if bit in names:
                        return names[bit]
        return name

    worst = {"delay_ns": 0.0, "startpoint": None, "endpoint": None, "levels": 0}

    def end(t, start, endpoint, depth):
        if t > worst["delay_ns"]:
            worst.update(delay_ns=t, startpoint=start, endpoint=endpoint, levels=depth)

    for name, c in cells.items():
        cell = lib[c["type"]]
        for pin, tables in cell["setup"].items():
            for bit in c["connections"].get(pin, ()):
                if bit in arrival:
                    at, slew, start, depth = arrival[bit]
                    end(at + _lookup(tables, slew, 0.0), start, name, depth)
    for port_name, port in module["ports"].items():
        if port["direction"] == "output":
            for bit in port["bits"]:
                if bit in arrival:
                    at, _slew, start, depth = arrival[bit]
                    end(at, start, port_name, depth)
    worst["delay_ns"] = round(worst["delay_ns"], 3)
    worst["startpoint"] = register(worst["startpoint"])
    worst["endpoint"] = register(worst["endpoint"])
    return worst
