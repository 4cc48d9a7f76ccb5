"""Energy of a network: each layer's action counts priced by the design's calibrated energies.

A network's energy is the sum of its layers' (:func:`network_energy`): each layer is one
:class:`~.job.PowerJob` of its architecture (``gen/<arch>/energy.py``: the operands, the cycle
model's cycles, the action counts) run ``times`` times (a grouped layer's groups), priced by
:func:`.model.priced` at the per-action energies of the design (:func:`.model.model_energies`:
calibrated logic and CACTI-derived SRAM accesses) — the same pricing as ``run --energy`` of one
layer. Every layer is also priced on a baseline job: the same layer on the same design at its
densest setting (VDBB, SCNN), or on the dense design of the same family and size, a different
design priced at its own calibrated energies (CCR, SparseCore: ``baseline_cfg``), so that
``energy_relative_to_baseline`` compares two figures of one library and clock.

Effective operations are 2 per MAC of the dense layer (``ops``), so ``tops_per_w`` (operations
per picojoule) is comparable across densities.
"""

from . import model
from .job import PowerJob

__all__ = ["counted_job", "network_energy", "write_energy"]


def _scaled(counts, times):
    return {name: n * times for name, n in counts.items()}


def _layer_energy(energies, job, times):
    counts = _scaled(job.actions(job.model_cycles), times)
    fields = model.priced(energies, counts, job.ops * times)
    return {**fields, "ops": job.ops * times, "cycles": job.model_cycles * times}


def counted_job(module, label, ops, parts):
    """A :class:`~.job.PowerJob` that is several jobs run one after the other (a network layer's
    groups, or its stride passes), priced at the cycle model's cycles only: ``parts`` are the
    parts' action counts at their model cycles, ``cycle`` among them; ``actions(cycles)`` is
    their sum and ``model_cycles`` the sum of their ``cycle``. Not a gate-level job (no cocotb
    inputs); ``actions`` raises ``ValueError`` for other cycles than ``model_cycles``."""
    counts = {}
    for part in parts:
        for action, n in part.items():
            counts[action] = counts.get(action, 0) + n
    total = counts.get("cycle", 0)

    def actions(cycles):
        if cycles != total:
            raise ValueError(f"{label}: counted at the model's {total} cycles, not {cycles}")
        return dict(counts)

    return PowerJob(module=module, inputs={}, label=label, ops=ops, actions=actions,
                    model_cycles=total)


def network_energy(cfg, report, layers, *, baseline, progress=None, baseline_cfg=None):
    """Add the energy of a network on ``cfg`` and of its baseline to its cycle-model ``report``
    (``run --network``'s: a ``layers`` list of rows named by ``layer``); return ``report``.

    Parameters
    ----------
    layers : iterable of (name, times, job, baseline_job)
        Every layer priced: its job, run ``times`` times, and the job of the same layer on the
        baseline (the same object when the layer already is at the baseline's density).
        Layers it does not name (those the design cannot run) get no energy.
    baseline : str
        What the baseline is, for the report (e.g. ``"NNZ 8/8"``).
    baseline_cfg : config or None
        The design the baseline jobs run on when it is not ``cfg`` (CCR's and SparseCore's dense
        designs: :func:`.model.calibrate` calibrates it too, and its jobs are priced at its own
        energies); ``None`` (or ``cfg``): ``cfg``.

    Each priced row gains ``energy_pj``, ``energy_by_component``, ``ops`` (2 per MAC of the
    dense layer), ``tops_per_w``, ``baseline_energy_pj``, ``baseline_cycles`` and
    ``energy_relative_to_baseline``; the report gains the totals ``energy_pj``,
    ``energy_by_component``, ``ops``, ``tops_per_w``, ``energy_relative_to_baseline``,
    ``energy_baseline`` (the baseline's ``energy_pj``, ``energy_by_component``, ``ops``,
    ``tops_per_w``, ``cycles`` and ``workload``: ``baseline``; with another ``baseline_cfg``
    also its ``design`` and ``energy_model``) and ``energy_model``.

    Raises
    ------
    InputError
        The architecture has no energy model (:func:`.model.hooks_of`).
    """
    cal = model.calibrate(cfg, progress=progress)
    energies = model.model_energies(cfg)
    other = baseline_cfg is not None and baseline_cfg != cfg
    if other:
        base_cal = model.calibrate(baseline_cfg, progress=progress)
        base_energies = model.model_energies(baseline_cfg)
    else:
        base_energies = energies
    rows = {row["layer"]: row for row in report["layers"]}
    priced, bases = [], []
    for name, times, job, base_job in layers:
        if progress:
            progress(f"energy of {name}")
        mine = _layer_energy(energies, job, times)
        base = (mine if base_job is job and not other else
                _layer_energy(base_energies, base_job, times))
        rows[name].update({
            key: mine[key] for key in ("energy_pj", "energy_by_component", "ops", "tops_per_w")})
        rows[name].update({
            "baseline_energy_pj": base["energy_pj"], "baseline_cycles": base["cycles"],
            "energy_relative_to_baseline": (mine["energy_pj"] / base["energy_pj"]
                                            if base["energy_pj"] else 0.0)})
        priced.append(mine)
        bases.append(base)
    total, base = _totals(priced), _totals(bases)
    report.update({key: total[key] for key in ("energy_pj", "energy_by_component", "ops",
                                               "tops_per_w")})
    report.update({
        "energy_relative_to_baseline": (total["energy_pj"] / base["energy_pj"]
                                        if base["energy_pj"] else 0.0),
        "energy_baseline": {**base, "workload": baseline, **(
            {"design": baseline_cfg.name,
             "energy_model": model.energy_model_info(baseline_cfg, base_cal)} if other else {})},
        "energy_model": model.energy_model_info(cfg, cal)})
    return report


def _totals(parts):
    ops = sum(p["ops"] for p in parts)
    total = sum(p["energy_pj"] for p in parts)
    by_component = {}
    for part in parts:
        for name, e in part["energy_by_component"].items():
            by_component[name] = by_component.get(name, 0.0) + e
    return {"energy_pj": total, "energy_by_component": by_component, "ops": ops,
            "tops_per_w": ops / total if total else 0.0,
            "cycles": sum(p["cycles"] for p in parts)}


def write_energy(write, report):
    """The text of a report :func:`network_energy` priced: per priced layer and in total, the
    cycles, nJ, TOPS/W, the baseline's nJ and the ratio; the model's provenance first."""
    from ..report import table

    rows = [(r["layer"], r["model_cycles"], r["energy_pj"] / 1e3, r["tops_per_w"],
             r["baseline_energy_pj"] / 1e3, r["energy_relative_to_baseline"])
            for r in report["layers"] if "energy_pj" in r]
    base = report["energy_baseline"]
    rows.append(("total", sum(r[1] for r in rows), report["energy_pj"] / 1e3,
                 report["tops_per_w"], base["energy_pj"] / 1e3,
                 report["energy_relative_to_baseline"]))
    info = report["energy_model"]
    write(f"energy model ({info['library']}, {info['supply_v']:g} V, "
          f"{info['clock_mhz']:g} MHz; calibrated on {info['calibrated_on']}); baseline: "
          f"{base['workload']}" + (f" (calibrated on {base['energy_model']['calibrated_on']})"
                                   if "energy_model" in base else ""))
    write(table(rows, ("layer", "cycles", "energy (nJ)", "TOPS/W", "baseline (nJ)",
                       "/ baseline")))
