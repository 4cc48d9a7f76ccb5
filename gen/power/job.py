"""Gate-level power of a registered design running one workload, split into its blocks.

An architecture tells the power flow three things through its descriptor's ``power`` hooks
(:class:`EnergyHooks`): how to turn a workload into a cocotb job of its own bench
(:class:`PowerJob`), which registers are clock-gated, and how its RTL blocks group into the
components of its energy model. :func:`design_power` then runs the flow of :mod:`.flow` on the
job, measures the energy of the job's own cycles (from the first input beat accepted to the last
output beat accepted, as every cycle figure of sparseforge) and attributes every cell's energy to
a component.
"""

import fnmatch
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

from ..emit import kept_verilog_text
from ..errors import ToolFailure
from . import flow

__all__ = ["PowerJob", "EnergyHooks", "DesignPower", "design_power", "component_of",
           "stream_window", "busy_window", "handshakes", "sram_enables", "sram_energy",
           "tops_per_w", "run_mismatch"]


@dataclass
class PowerJob:
    """A workload as one run of an architecture's cocotb job module.

    Attributes
    ----------
    module : str
        The cocotb module (``tb/<arch>/run.py``) that reads ``inputs.npz`` and writes
        ``outputs.npz`` in ``$SPARSEFORGE_RUN_DIR``.
    inputs : dict
        Arrays for ``inputs.npz``.
    label : str
        What the workload is, for reports ("GEMM 16x64x16 at 4/8").
    ops : int
        Effective operations of the workload (2 per MAC of the dense computation), for TOPS/W.
    actions : callable
        ``actions(cycles) -> {action: count}``: the energy model's counts for this workload over
        ``cycles`` cycles.
    model_cycles : int
        The cycle model's prediction for the job.
    check : callable or None
        ``check(outputs) -> str or None``: a mismatch message if the RTL's result is wrong.
    probes : callable or None
        ``probes(outputs, handshakes) -> {action: count}``: counts measured in the RTL simulation
        (probe outputs of the job, handshakes of its streams), to check the model's counts.
    """

    module: str
    inputs: Mapping
    label: str
    ops: int
    actions: Callable
    model_cycles: int
    check: Callable | None = None
    probes: Callable | None = None


@dataclass(frozen=True)
class EnergyHooks:
    """What the power flow and the energy model need from one architecture.

    Attributes
    ----------
    job : callable
        ``job(cfg, args) -> PowerJob`` for ``sparseforge power`` (``args`` are its options).
    clock_gated : callable
        ``clock_gated(cfg) -> tuple of register paths`` (``"array.tpe_*.mac_*.acc"``) whose
        enables become clock gates.
    components : callable
        ``components(cfg) -> {component: (scope globs...)}``; a cell belongs to the first component
        with a glob matching its RTL instance path (``array.tpe_0_0.mac_0_1``); cells matching none
        belong to ``"top"``.
    actions : callable
        ``actions(cfg) -> {component: (action names...)}``: the actions whose counts price each
        component.
    calibration : callable
        ``calibration(cfg) -> (config, [PowerJob...])``: a small design with the same blocks as
        ``cfg`` and the workloads its per-action energies are fitted on.
    window_streams : tuple
        ``(input streams, output streams)`` whose first and last handshakes bound a job's cycles.
    window : callable or None
        ``window(trace, start) -> (first cycle, cycles)``: the job's cycles in a port trace (from
        cycle ``start``, the first after reset), for architectures whose jobs are not bounded by
        stream handshakes (``window_streams`` is then unused).
    dense_baseline : callable or None
        ``dense_baseline(cfg) -> config``: the dense design of the family the energies are
        compared with.
    sram : callable or None
        ``sram(cfg) -> [{"module", "words", "width", "group", "reads", "writes"}]``: the SRAM
        macros, kept as black boxes (simulated from their RTL) and priced by :mod:`.sram` per
        access: an access is a cycle with one of the macro's ``reads`` (``writes``) enable pins
        high (each entry a pin name or a glob of them, ``"read__en*"``). The model's counts of
        them are the actions ``sram_<group>_read`` and ``sram_<group>_write``.
    excluded : callable or None
        ``excluded(cfg) -> tuple of module names``: blocks left out of every energy figure of
        the architecture (kept as black boxes simulated from their RTL, priced nowhere), for
        blocks whose synthesis is too slow for the flow; reports list them.
    """

    job: Callable
    clock_gated: Callable
    components: Callable
    actions: Callable
    calibration: Callable
    window_streams: tuple = ((), ())
    window: Callable | None = None
    dense_baseline: Callable | None = None
    sram: Callable | None = None
    excluded: Callable | None = None


def component_of(scope, components):
    """The component of a cell whose RTL instance path is ``scope`` (a tuple)."""
    path = ".".join(scope)
    for name, globs in components.items():
        if any(fnmatch.fnmatchcase(path, glob) for glob in globs):
            return name
    return "top"


def handshakes(trace, stream, start=0, stop=None):
    """Cycles of ``trace`` in which ``stream`` (``<stream>__valid``/``__ready``) handshook."""
    valid, ready = trace.values[f"{stream}__valid"], trace.values[f"{stream}__ready"]
    stop = len(valid) if stop is None else stop
    return [i for i in range(start, stop) if valid[i] and ready[i]]


def stream_window(trace, inputs, outputs, start=0):
    """``(first, cycles)``: from the first handshake on ``inputs`` to the last on ``outputs``."""
    firsts = [h[0] for h in (handshakes(trace, s, start) for s in inputs) if h]
    lasts = [h[-1] for h in (handshakes(trace, s, start) for s in outputs) if h]
    if not firsts or not lasts:
        return None
    return min(firsts), max(lasts) - min(firsts) + 1


def busy_window(trace, start=0, port="busy"):
    """``(first, cycles)``: the first run of cycles after ``start`` with ``port`` high (a job
    started by a register write and timed, as its bench times it, by a ``busy`` output)."""
    busy = trace.values[port]
    first = next((i for i in range(start, len(busy)) if busy[i]), None)
    if first is None:
        return None
    last = first
    while last + 1 < len(busy) and busy[last + 1]:
        last += 1
    return first, last - first + 1


@dataclass
class DesignPower:
    """Gate-level energy of one job on one design."""

    design: str
    label: str
    cycles: int                 # the job's cycles (window)
    model_cycles: int
    energy: object              # energy.Energy of the window
    by_component: dict          # {component: pJ}
    actions: dict               # model counts over the window's cycles
    probed: dict                # counts measured in the RTL simulation
    ops: int
    mismatches: int             # gate-level outputs differing from the RTL's
    checked: int
    cells: int
    area_um2: float
    clock_gated_flops: int
    rtl_check: str | None = None
    sram_pj: float = 0.0            # SRAM macros (black boxes), priced per access
    sram_accesses: dict = field(default_factory=dict)   # {group: {"read": n, "write": n}}
    extra: dict = field(default_factory=dict)

    @property
    def energy_pj(self):
        """Logic (gate level) and SRAM macros (per access)."""
        return self.energy.total_pj + self.sram_pj

    def to_dict(self):
        energy = self.energy.to_dict()
        energy["by_category"]["sram"] = self.sram_pj
        energy["energy_pj"] = self.energy_pj
        energy["power_mw"] = self.energy_pj * 1e-12 / (self.cycles * self.energy.period_s) * 1e3
        energy["energy_per_cycle_pj"] = self.energy_pj / self.cycles if self.cycles else 0.0
        return {
            "design": self.design,
            "workload": self.label,
            "cycles": self.cycles,
            "model_cycles": self.model_cycles,
            **energy,
            "logic_energy_pj": self.energy.total_pj,
            "sram_energy_pj": self.sram_pj,
            "sram_accesses": self.sram_accesses,
            "energy_by_component": self.by_component,
            "tops_per_w": tops_per_w(self.ops, self.energy_pj),
            "ops": self.ops,
            "actions": self.actions,
            "probed_actions": self.probed,
            "gate_level_mismatches": self.mismatches,
            "gate_level_checked": self.checked,
            "cells": self.cells,
            "area_um2": self.area_um2,
            "clock_gated_flops": self.clock_gated_flops,
            **self.extra,
        }


def run_mismatch(got, want, measured, model, what="outputs"):
    """The check of a :class:`PowerJob`'s run: ``None`` when ``got`` equals the golden ``want``
    and the ``measured`` cycles equal the ``model``'s, else the one-line reason."""
    got, want = np.asarray(got), np.asarray(want)
    bad = int(np.count_nonzero(got != want))
    if bad:
        return f"{bad} of {want.size} {what} differ from the golden model"
    if int(measured) != int(model):
        return f"{int(measured)} cycles measured, the cycle model says {int(model)}"
    return None


def tops_per_w(ops, energy_pj):
    """Effective tera-operations per second per watt: operations per picojoule."""
    return ops / energy_pj if energy_pj else 0.0


def design_power(cfg, job, hooks, *, progress=None, text=None, max_cycles=None, exclude=()):
    """Run ``job`` on ``cfg`` through the gate-level flow; measure and attribute its energy.

    The netlist must reproduce the RTL's outputs on every cycle of the window; a mismatch raises
    :class:`~sparseforge.gen.errors.ToolFailure` (the power of a wrong netlist means nothing).
    ``exclude`` (with the hooks' ``excluded``) names modules kept as black boxes like the SRAM
    macros (simulated from their RTL) whose energy is *not* counted: a measurement of the rest
    of the design, for blocks whose synthesis is too slow to repeat (the result's ``excluded``
    lists them).
    """
    text = kept_verilog_text(cfg) if text is None else text
    exclude = tuple(exclude) + (tuple(hooks.excluded(cfg)) if hooks.excluded else ())
    macros = list(hooks.sram(cfg)) if hooks.sram else []
    modules = sorted({m["module"] for m in macros} | set(exclude))
    gate = flow.gate_netlist(text, cfg.name, clock_gated=hooks.clock_gated(cfg),
                             blackbox_modules=modules, progress=progress)
    trace, outputs = flow.rtl_port_trace(cfg, job.module, job.inputs, gate.port_widths(),
                                         text=text, progress=progress)
    rtl_check = job.check(outputs) if job.check else None
    inputs, outs = hooks.window_streams
    start = flow.reset_cycles(trace)
    if hooks.window is not None:
        window = hooks.window(trace, start)
    else:
        window = stream_window(trace, inputs, outs, start=start)
    if window is None:
        raise ToolFailure(f"the power run of {cfg.name}: no job found in the port trace after "
                          "reset")
    first, cycles = window
    if max_cycles is not None:
        cycles = min(cycles, max_cycles)
    enables = sram_enables(gate.netlist, macros)
    replay = flow.replay_energy(gate, trace, start=first, cycles=cycles, progress=progress,
                                extra_verilog=flow.blackbox_sources(text, modules),
                                watch=sorted({bit for bit, *_ in enables if isinstance(bit, int)}))
    if replay.mismatches:
        raise ToolFailure(f"the gate-level simulation of {cfg.name}: {replay.mismatches} of "
                          f"{replay.checked} output values differ from the RTL's")
    components = hooks.components(cfg)
    by_component = {}
    for scope, pj in replay.energy.by_scope.items():
        name = component_of(scope, components)
        by_component[name] = by_component.get(name, 0.0) + pj
    sram_pj, accesses = sram_energy(enables, replay.high_cycles, cycles)
    if macros:
        by_component["sram"] = sram_pj
    stop = first + cycles
    shakes = {s: len(handshakes(trace, s, first, stop)) for s in inputs + outs}
    probed = job.probes(outputs, shakes) if job.probes else {}
    for group, counts in accesses.items():
        for kind, n in counts.items():
            probed[f"sram_{group}_{kind}"] = n
    return DesignPower(
        design=cfg.name, label=job.label, cycles=cycles, model_cycles=job.model_cycles,
        energy=replay.energy, by_component=by_component, actions=job.actions(cycles),
        probed=probed, ops=job.ops, mismatches=replay.mismatches, checked=replay.checked,
        cells=gate.cells, area_um2=gate.area_um2, clock_gated_flops=gate.clock_gated_flops,
        rtl_check=rtl_check, sram_pj=sram_pj, sram_accesses=accesses,
        extra={"excluded": sorted(exclude)} if exclude else {})


def sram_enables(netlist, macros):
    """``[(net or constant, macro, "read" | "write")]``: every enable pin of every SRAM macro
    instance of the netlist."""
    by_module = {m["module"]: m for m in macros}
    found = []
    for cell in netlist.cells:
        macro = by_module.get(cell.type)
        if macro is None:
            continue
        for kind, pins in (("read", macro["reads"]), ("write", macro["writes"])):
            for pattern in pins:
                matched = sorted(p for p in cell.pins if fnmatch.fnmatchcase(p, pattern))
                if not matched:
                    raise ToolFailure(f"the power run: SRAM macro {cell.type} has no pin "
                                      f"{pattern!r}")
                found += [(cell.pins[pin][0], macro, kind) for pin in matched]
    return found


def sram_energy(enables, high_cycles, cycles):
    """``(pJ, {group: {"read": n, "write": n}})`` of the SRAM accesses of a window."""
    from .sram import access_energy_pj

    total = 0.0
    accesses = {}
    for bit, macro, kind in enables:
        if isinstance(bit, int):
            n = high_cycles[bit]
        else:
            n = cycles if bit == "1" else 0
        read, write = access_energy_pj(macro["words"], macro["width"])
        total += n * (read if kind == "read" else write)
        group = accesses.setdefault(macro["group"], {"read": 0, "write": 0})
        group[kind] += n
    return total, accesses
