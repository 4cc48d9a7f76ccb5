"""The energy model: action counts × per-action energies calibrated on gate-level runs.

A design's energy over a workload is ``Σ_a n_a · e_a``: for every action ``a`` of its
architecture (a MAC step, a gated MAC step, an operand-register shift, a result row drained, a
cycle of a block's clock and leakage, ...) the count ``n_a`` from the cycle model times an energy
``e_a`` per action. The energies come from :func:`calibrate`: a few small workloads run through
the gate-level flow (:func:`.job.design_power`) on a small design with the same blocks (the
architecture's ``calibration`` hook), every cell's energy is attributed to a component
(``components``), and each component's energies per action are fitted to its measured energies by
non-negative least squares on relative errors (the small runs weigh as much as the large).

Calibrations are cached by the calibration design's Verilog, the calibration workloads, the flow,
the architecture's components and actions and this model, so a design is calibrated once.
"""

import hashlib
import itertools
import json
from dataclasses import dataclass

import numpy as np

from .. import registry
from ..config import config_to_dict
from ..emit import kept_verilog_text
from ..errors import InputError
from ..toolchain import cache_dir, content_hash
from . import flow
from .energy import DEFAULT_SLEW_NS
from .job import design_power, tops_per_w

__all__ = ["MODEL_VERSION", "Calibration", "hooks_of", "fit_component", "calibrate",
           "predict", "priced", "energy_model_info", "energy_report", "job_energy",
           "sram_energies", "model_energies", "gate_level_against_model"]

MODEL_VERSION = 2


def hooks_of(cfg):
    """The :class:`~.job.EnergyHooks` of a config's architecture.

    Raises
    ------
    InputError
        The architecture has no energy hooks.
    """
    arch = registry.of(cfg)
    if arch.power is None:
        have = [a.name for a in registry.architectures().values() if a.power]
        raise InputError(f"power: arch {cfg.arch} has no power hooks yet (architectures with "
                         f"them: {', '.join(have) or 'none'})")
    return registry.resolve(arch.power)


def fit_component(rows, targets):
    """Non-negative per-action energies ``e`` minimising Σ((rows·e − t)/t)².

    ``rows`` is runs × actions (counts), ``targets`` the runs' measured energies. Every subset of
    actions is solved by least squares and the best solution without negative energies kept
    (exact for the handful of actions a component has).
    """
    rows = np.asarray(rows, dtype=float)
    targets = np.asarray(targets, dtype=float)
    scale = np.where(targets > 0, targets, 1.0)
    a = rows / scale[:, None]
    b = targets / scale
    best, best_err = np.zeros(rows.shape[1]), float(np.sum(b ** 2))
    columns = [j for j in range(rows.shape[1]) if np.any(rows[:, j])]
    for size in range(1, len(columns) + 1):
        for subset in itertools.combinations(columns, size):
            sol, *_ = np.linalg.lstsq(a[:, subset], b, rcond=None)
            if np.any(sol < 0):
                continue
            err = float(np.sum((a[:, subset] @ sol - b) ** 2))
            if err < best_err - 1e-15:
                best = np.zeros(rows.shape[1])
                best[list(subset)] = sol
                best_err = err
    return best


@dataclass
class Calibration:
    """Per-action energies of one design (pJ), and how well they fit the calibration runs."""

    design: str
    calibrated_on: str
    energies: dict              # {component: {action: pJ per action}}
    runs: list                  # per run: label, cycles, measured and fitted pJ per component
    clock_mhz: float
    supply_v: float
    slew_ns: float

    def to_dict(self):
        return dict(self.__dict__)


def predict(energies, counts):
    """``(total pJ, {component: pJ})`` of action ``counts`` at per-action ``energies``."""
    by_component = {}
    for component, per_action in energies.items():
        by_component[component] = sum(e * counts.get(a, 0) for a, e in per_action.items())
    return sum(by_component.values()), by_component


def _key(cal_cfg, jobs, exclude=(), hooks=None):
    digest = hashlib.sha256()
    if exclude:
        digest.update(repr(sorted(exclude)).encode())
    if hooks is not None:
        # The components and their actions are part of the model: a calibration fitted with
        # other ones must not be reused.
        digest.update(repr(sorted(hooks.components(cal_cfg).items())).encode())
        digest.update(repr(sorted(hooks.actions(cal_cfg).items())).encode())
    for job in jobs:
        digest.update(job.label.encode())
        for name in sorted(job.inputs):
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(job.inputs[name]).tobytes())
    return content_hash(kept_verilog_text(cal_cfg), digest.hexdigest(), flow.FLOW_VERSION,
                        MODEL_VERSION, DEFAULT_SLEW_NS, flow.clock_period_s())


def calibrate(cfg, *, progress=None, refresh=False, exclude=()):
    """The :class:`Calibration` of ``cfg`` (computed with gate-level runs once, then cached).

    ``exclude``: modules of the calibration design whose energy is left out (see
    :func:`.job.design_power`); the calibration then prices the rest of the design only.
    """
    hooks = hooks_of(cfg)
    cal_cfg, jobs = hooks.calibration(cfg)
    left_out = tuple(exclude) + (tuple(hooks.excluded(cal_cfg)) if hooks.excluded else ())
    path = cache_dir() / "energy" / f"{cal_cfg.name}-{_key(cal_cfg, jobs, left_out, hooks)}.json"
    if path.exists() and not refresh:
        data = json.loads(path.read_text())
        data.pop("calibration_config", None)
        data["design"] = cfg.name
        return Calibration(**data)
    progress = progress or (lambda line: None)
    runs = []
    for i, job in enumerate(jobs, 1):
        progress(f"calibrating {cal_cfg.name}: run {i} of {len(jobs)}, {job.label}")
        runs.append(design_power(cal_cfg, job, hooks, progress=progress, exclude=exclude))
    actions = hooks.actions(cal_cfg)
    energies = {}
    for component, names in actions.items():
        rows = [[run.actions.get(a, 0) for a in names] for run in runs]
        targets = [run.by_component.get(component, 0.0) for run in runs]
        e = fit_component(rows, targets)
        energies[component] = dict(zip(names, map(float, e)))
    missing = {c for run in runs for c in run.by_component} - set(actions) - {"sram"}
    if missing:
        raise InputError(f"power: components {sorted(missing)} of {cal_cfg.name} have no actions")
    energies.update(sram_energies(cal_cfg))
    summary = []
    for run in runs:
        total, fitted = predict(energies, run.actions)
        summary.append({"workload": run.label, "cycles": run.cycles,
                        "measured_pj": run.energy_pj, "model_pj": total,
                        "measured_by_component": run.by_component,
                        "model_by_component": fitted})
    energy = runs[0].energy
    cal = Calibration(design=cfg.name, calibrated_on=cal_cfg.name, energies=energies,
                      runs=summary, clock_mhz=1e-6 / energy.period_s, supply_v=energy.supply_v,
                      slew_ns=energy.slew_ns)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    data = cal.to_dict()
    data["calibration_config"] = config_to_dict(cal_cfg)
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)
    return cal


def sram_energies(cfg):
    """``{"sram": {"sram_<group>_read": pJ, "sram_<group>_write": pJ}}`` of ``cfg``'s macros
    (:mod:`.sram`); empty without SRAM hooks. Every macro of a group has one shape."""
    from .sram import access_energy_pj

    hooks = hooks_of(cfg)
    energies = {}
    for macro in (hooks.sram(cfg) if hooks.sram else []):
        read, write = access_energy_pj(macro["words"], macro["width"])
        group = macro["group"]
        for kind, e in (("read", read), ("write", write)):
            name = f"sram_{group}_{kind}"
            if name in energies and abs(energies[name] - e) > 1e-9 * e:
                raise ValueError(f"SRAM group {group!r} of {cfg.name} has macros of different "
                                 "shapes")
            energies[name] = e
    return {"sram": energies} if energies else {}


def model_energies(cfg, *, progress=None, exclude=()):
    """Per-action energies of ``cfg``: calibrated logic, and its SRAM macros per access."""
    return {**calibrate(cfg, progress=progress, exclude=exclude).energies, **sram_energies(cfg)}


def priced(energies, counts, ops):
    """``energy_pj``, ``energy_by_component`` and ``tops_per_w`` of action ``counts`` doing
    ``ops`` effective operations at per-action ``energies`` (:func:`model_energies`)."""
    total, by_component = predict(energies, counts)
    return {"energy_pj": total, "energy_by_component": by_component,
            "tops_per_w": tops_per_w(ops, total)}


def energy_model_info(cfg, cal):
    """The ``energy_model`` entry of a report: what the energies of ``cfg`` were measured on."""
    hooks = hooks_of(cfg)
    excluded = list(hooks.excluded(cfg)) if hooks.excluded else []
    return {
        "calibrated_on": cal.calibrated_on,
        "library": "OSU 0.18 um (osu018_stdcells.lib), typical corner",
        "supply_v": cal.supply_v,
        "clock_mhz": cal.clock_mhz,
        **({"excluded": excluded} if excluded else {}),
    }


def energy_report(cfg, counts, ops, *, progress=None):
    """What ``run --energy --json`` adds for a workload with action ``counts`` and ``ops``."""
    cal = calibrate(cfg, progress=progress)
    return {**priced(model_energies(cfg), counts, ops),
            "energy_model": energy_model_info(cfg, cal)}


def job_energy(cfg, job, cycles=None, *, progress=None):
    """The energy report of one :class:`~.job.PowerJob` of ``cfg``: its action counts over
    ``cycles`` (a run's measured cycles; None: the cycle model's, ``job.model_cycles``) priced
    by :func:`energy_report`. ``run --energy`` on the RTL and ``run --model-only --energy`` both
    price a layer here, so they differ only if the RTL's cycles differ from the model's (which
    the run reports as a failure)."""
    counts = job.actions(job.model_cycles if cycles is None else cycles)
    return energy_report(cfg, counts, job.ops, progress=progress)


def gate_level_against_model(cfg, job, progress=None):
    """One job measured at gate level and predicted by the calibrated model: the row of a
    benchmark's validation table (energies, their relative ``error``, components, SRAM,
    and whether the counts probed in the RTL equal the model's). Raises ``SystemExit`` when the
    RTL run behind the gate-level one does not check out."""
    progress = progress or (lambda message: None)
    progress(f"gate level: {cfg.name}, {job.label}")
    measured = design_power(cfg, job, hooks_of(cfg), progress=progress)
    if measured.rtl_check:
        raise SystemExit(f"{cfg.name}: {measured.rtl_check}")
    cal = calibrate(cfg, progress=progress)
    model, parts = predict(model_energies(cfg), measured.actions)
    leakage = measured.energy.by_category["leakage"]
    return {
        "design": cfg.name, "calibrated_on": cal.calibrated_on, "workload": job.label,
        "excluded": measured.extra.get("excluded", []),
        "cycles": measured.cycles, "model_cycles": measured.model_cycles,
        "cells": measured.cells, "area_um2": measured.area_um2,
        "gate_level_pj": measured.energy_pj, "model_pj": model,
        "error": model / measured.energy_pj - 1,
        "dynamic_pj": measured.energy_pj - leakage, "leakage_pj": leakage,
        "sram_pj": measured.sram_pj, "sram_accesses": measured.sram_accesses,
        "measured_by_component": measured.by_component, "model_by_component": parts,
        "by_category": measured.energy.by_category,
        "ops": job.ops, "tops_per_w": job.ops / measured.energy_pj,
        "probed": measured.probed,
        "probed_equal_model": all(measured.actions[a] == v for a, v in measured.probed.items()),
    }
