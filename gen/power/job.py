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

from ..emit import verilog_text
from ..errors import ToolFailure
from . import flow

__all__ = ["PowerJob", "EnergyHooks", "DesignPower", "design_power", "component_of",
           "stream_window", "handshakes"]


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
    dense_baseline : callable or None
        ``dense_baseline(cfg) -> config``: the dense design of the family the energies are
        compared with.
    sram : callable or None
        ``sram(cfg) -> [{"module", "words", "width"}]``: SRAM macros priced by the SRAM model
        (:mod:`.sram`) from the ``<module>.read``/``<module>.write`` counts of the actions.
    """

    job: Callable
    clock_gated: Callable
    components: Callable
    actions: Callable
    calibration: Callable
    window_streams: tuple = ((), ())
    dense_baseline: Callable | None = None
    sram: Callable | None = None


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
    extra: dict = field(default_factory=dict)

    @property
    def energy_pj(self):
        return self.energy.total_pj

    def to_dict(self):
        return {
            "design": self.design,
            "workload": self.label,
            "cycles": self.cycles,
            "model_cycles": self.model_cycles,
            **self.energy.to_dict(),
            "energy_by_component": self.by_component,
            "tops_per_w": tops_per_w(self.ops, self.energy.total_pj),
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


def tops_per_w(ops, energy_pj):
    """Effective tera-operations per second per watt: operations per picojoule."""
    return ops / energy_pj if energy_pj else 0.0


def design_power(cfg, job, hooks, *, progress=None, text=None, max_cycles=None):
    """Run ``job`` on ``cfg`` through the gate-level flow; measure and attribute its energy.

    The netlist must reproduce the RTL's outputs on every cycle of the window; a mismatch raises
    :class:`~sparseforge.gen.errors.ToolFailure` (the power of a wrong netlist means nothing).
    """
    text = verilog_text(cfg) if text is None else text
    gate = flow.gate_netlist(text, cfg.name, clock_gated=hooks.clock_gated(cfg),
                             progress=progress)
    trace, outputs = flow.rtl_port_trace(cfg, job.module, job.inputs, gate.port_widths(),
                                         text=text, progress=progress)
    rtl_check = job.check(outputs) if job.check else None
    inputs, outs = hooks.window_streams
    window = stream_window(trace, inputs, outs, start=flow.reset_cycles(trace))
    if window is None:
        raise ToolFailure(f"the power run of {cfg.name}: no handshake on "
                          f"{', '.join(inputs + outs)} after reset")
    first, cycles = window
    if max_cycles is not None:
        cycles = min(cycles, max_cycles)
    replay = flow.replay_energy(gate, trace, start=first, cycles=cycles, progress=progress)
    if replay.mismatches:
        raise ToolFailure(f"the gate-level simulation of {cfg.name}: {replay.mismatches} of "
                          f"{replay.checked} output values differ from the RTL's")
    components = hooks.components(cfg)
    by_component = {}
    for scope, pj in replay.energy.by_scope.items():
        name = component_of(scope, components)
        by_component[name] = by_component.get(name, 0.0) + pj
    stop = first + cycles
    shakes = {s: len(handshakes(trace, s, first, stop)) for s in inputs + outs}
    probed = job.probes(outputs, shakes) if job.probes else {}
    return DesignPower(
        design=cfg.name, label=job.label, cycles=cycles, model_cycles=job.model_cycles,
        energy=replay.energy, by_component=by_component, actions=job.actions(cycles),
        probed=probed, ops=job.ops, mismatches=replay.mismatches, checked=replay.checked,
        cells=gate.cells, area_um2=gate.area_um2, clock_gated_flops=gate.clock_gated_flops,
        rtl_check=rtl_check)
