"""Energy of a gate-level netlist from its nets' toggle counts and the liberty's power data.

The computation is the one sign-off power tools make from a value-change dump (the Liberty User
Guide's power model, as in PrimeTime PX, which the STA paper used, and OpenSTA), restricted to what
a placed-less, zero-delay netlist knows. For a window of ``W`` clock cycles of period ``T`` at the
library's characterisation supply ``V`` (``nom_voltage``: the internal-power tables hold energies
at that supply only):

Switching energy
    A net that rises ``r`` times and falls ``f`` times charges and discharges the input pins it
    drives: ``½·V²·(r·ΣC_rise + f·ΣC_fall)`` over its sink pins' ``rise_capacitance`` and
    ``fall_capacitance``. Each sink pin's share is charged to that pin's cell. There is no wire
    capacitance (no placement) and no load on the design's output ports.
Internal energy of outputs
    Each rise (fall) of a cell output costs its ``internal_power`` ``rise_power`` (``fall_power``)
    table at the output net's load and the input slew. A cell with tables for several related input
    pins uses their average weighted by how often each of those inputs toggled in the window (the
    input that switched is the one whose table applies).
Internal energy of inputs
    Input pins with an ``internal_power`` group of their own (a flip-flop's clock and data pins)
    cost their table at every rise and fall of the pin.
Leakage
    ``cell_leakage_power`` of every cell, for ``W·T``.

The input slew is one stated value for every pin (``slew_ns``, default 0.06 ns, the smallest
characterised slew and close to the 0.03–0.08 ns the library's transition tables give for gates
driving one to three inputs); an ideal clock tree is assumed (the clock net's capacitance is
counted, no clock buffers are inserted). Glitches are not counted: a zero-delay simulation has none.

Categories (:attr:`Energy.by_category`): ``clock`` (clock pins of ungated registers and latches:
their share of the clock net and their internal energy), ``clock_gated`` (the same for registers on
a gated clock), ``clock_gating`` (the clock-gating cells themselves), ``register`` (the rest of the
sequential cells), ``logic`` (combinational cells), ``blackbox`` (nothing: black boxes such as
SRAM macros have no liberty data; their energy is modelled elsewhere) and ``leakage``.
"""

from collections import defaultdict
from dataclasses import dataclass, field

__all__ = ["DEFAULT_SLEW_NS", "Energy", "netlist_energy", "is_clock_gating_cell"]

DEFAULT_SLEW_NS = 0.06

CATEGORIES = ("clock", "clock_gated", "clock_gating", "register", "logic", "leakage")


def is_clock_gating_cell(cell):
    """Whether a netlist cell belongs to an inserted clock-gating cell (``$__SF_ICG``)."""
    return "clockgate" in cell.name


@dataclass
class Energy:
    """Energy of a window of cycles, in picojoules.

    Attributes
    ----------
    total_pj : float
    cycles : int
    period_s : float
    supply_v, slew_ns : float
    by_category : dict
        ``{category: pJ}`` (see the module docstring).
    by_scope : dict
        ``{instance path tuple: pJ}``: every cell's energy, leakage included, under the RTL block
        it came from (``()`` is the top module's own logic).
    clock_gating : dict
        ``gated_flops`` (registers on a gated clock), ``enabled_cycles`` (their clock pins' rising
        edges over the window, summed), ``possible_cycles`` (``gated_flops · cycles``), ``saved_pj``
        (what their clock pins and clock-net share would have cost on every cycle, minus what they
        cost, minus the clock-gating cells' own energy).
    """

    total_pj: float
    cycles: int
    period_s: float
    supply_v: float
    slew_ns: float
    by_category: dict
    by_scope: dict
    clock_gating: dict = field(default_factory=dict)

    @property
    def power_w(self):
        seconds = self.cycles * self.period_s
        return self.total_pj * 1e-12 / seconds if seconds else 0.0

    def to_dict(self):
        return {
            "energy_pj": self.total_pj,
            "cycles": self.cycles,
            "energy_per_cycle_pj": self.total_pj / self.cycles if self.cycles else 0.0,
            "power_mw": self.power_w * 1e3,
            "clock_mhz": 1e-6 / self.period_s,
            "supply_v": self.supply_v,
            "slew_ns": self.slew_ns,
            "by_category": dict(self.by_category),
            "clock_gating": dict(self.clock_gating),
        }


def _loads(netlist, library):
    """``{net: (ΣC_rise, ΣC_fall)}`` over the library-cell input pins each net drives."""
    rise = defaultdict(float)
    fall = defaultdict(float)
    for cell in netlist.cells:
        lib_cell = library.cells.get(cell.type)
        if lib_cell is None:
            continue
        for pin in lib_cell.inputs:
            bits = cell.pins.get(pin.name, ())
            for bit in bits:
                if isinstance(bit, int):
                    rise[bit] += pin.rise_capacitance
                    fall[bit] += pin.fall_capacitance
    return rise, fall


def netlist_energy(netlist, library, toggles, cycles, period_s, *, slew_ns=DEFAULT_SLEW_NS,
                   clock_net=None):
    """The :class:`Energy` of ``cycles`` cycles in which net ``b`` toggled ``toggles[b]`` times.

    Parameters
    ----------
    toggles : dict
        ``{net bit: (rises, falls)}``; nets missing from it did not toggle.
    cycles : int
        Length of the window the toggles were counted in.
    period_s : float
        Clock period (for leakage and power).
    clock_net : int, optional
        The design's clock input; clock pins on any other net are on a gated clock.
    """
    to_pj = library.energy_unit / 1e-12
    cap_to_pj = library.capacitance_unit * library.voltage_unit ** 2 / 1e-12
    leak_to_pj = library.leakage_unit * cycles * period_s / 1e-12
    load_rise, load_fall = _loads(netlist, library)
    by_category = dict.fromkeys(CATEGORIES, 0.0)
    by_scope = defaultdict(float)
    gated = {"gated_flops": 0, "enabled_cycles": 0, "possible_cycles": 0, "saved_pj": 0.0}
    gating_cells_pj = 0.0

    def tog(bit):
        return toggles.get(bit, (0, 0)) if isinstance(bit, int) else (0, 0)

    for cell in netlist.cells:
        lib_cell = library.cells.get(cell.type)
        if lib_cell is None:
            continue                                    # a black box: modelled elsewhere
        kind = ("clock_gating" if is_clock_gating_cell(cell) else
                "register" if lib_cell.sequential else "logic")
        energy = 0.0
        # Inputs: their share of the net's switching, and their own internal power.
        for pin in lib_cell.inputs:
            bit = cell.pins.get(pin.name, (None,))[0]
            rises, falls = tog(bit)
            e = 0.5 * library.nominal_voltage ** 2 * cap_to_pj * (
                rises * pin.rise_capacitance + falls * pin.fall_capacitance)
            for ip in pin.internal_power:
                if ip.related_pin is None:
                    if ip.rise is not None:
                        e += rises * ip.rise.lookup(input_transition_time=slew_ns) * to_pj
                    if ip.fall is not None:
                        e += falls * ip.fall.lookup(input_transition_time=slew_ns) * to_pj
            if pin.clock and kind != "clock_gating":
                on_gated = clock_net is not None and bit != clock_net
                by_category["clock_gated" if on_gated else "clock"] += e
                if on_gated:
                    gated["gated_flops"] += 1
                    gated["enabled_cycles"] += rises
                    gated["possible_cycles"] += cycles
                    # Every cycle would have cost a rise and a fall of the pin.
                    full = 0.5 * library.nominal_voltage ** 2 * cap_to_pj * (
                        pin.rise_capacitance + pin.fall_capacitance)
                    for ip in pin.internal_power:
                        if ip.related_pin is None and ip.rise is not None and ip.fall is not None:
                            full += (ip.rise.lookup(input_transition_time=slew_ns) +
                                     ip.fall.lookup(input_transition_time=slew_ns)) * to_pj
                    gated["saved_pj"] += full * cycles - e
            else:
                by_category[kind] += e
            energy += e
        # Outputs: internal energy of each transition at the output's load.
        for pin in lib_cell.outputs:
            bit = cell.pins.get(pin.name, (None,))[0]
            rises, falls = tog(bit)
            if not (rises or falls) or not pin.internal_power:
                continue
            c_rise = load_rise.get(bit, 0.0)
            c_fall = load_fall.get(bit, 0.0)
            groups = pin.internal_power
            weights = []
            for ip in groups:
                if ip.related_pin is None:
                    weights.append(1.0)
                    continue
                related = cell.pins.get(ip.related_pin, (None,))[0]
                weights.append(float(sum(tog(related))))
            if sum(weights) == 0:
                weights = [1.0] * len(groups)
            total_w = sum(weights)
            e = 0.0
            for ip, w in zip(groups, weights):
                if not w:
                    continue
                share = w / total_w
                if ip.rise is not None:
                    e += share * rises * ip.rise.lookup(total_output_net_capacitance=c_rise,
                                                        input_transition_time=slew_ns)
                if ip.fall is not None:
                    e += share * falls * ip.fall.lookup(total_output_net_capacitance=c_fall,
                                                        input_transition_time=slew_ns)
            by_category[kind] += e * to_pj
            energy += e * to_pj
        leak = lib_cell.leakage * leak_to_pj
        by_category["leakage"] += leak
        energy += leak
        if kind == "clock_gating":
            gating_cells_pj += energy
        by_scope[cell.scope] += energy
    gated["saved_pj"] -= gating_cells_pj
    total = sum(by_category.values())
    return Energy(total_pj=total, cycles=cycles, period_s=period_s,
                  supply_v=library.nominal_voltage * library.voltage_unit, slew_ns=slew_ns,
                  by_category=by_category, by_scope=dict(by_scope), clock_gating=gated)
