"""A sweep's table (CSV and JSON lines) and its Pareto plot of area against cycles (and energy).

One row per point: its index, architecture, axis values, each requested metric, the seconds its
jobs took and the errors of failed jobs. The Pareto front is computed per architecture and
workload (cycles of different workloads do not compare): no other point of the group has both less
area and fewer cycles. Points whose design is a shipped preset (the papers'
design points, ``paper_*`` and the like) are labelled in the plot with the preset's name.
"""

import csv
import json
from pathlib import Path

from ..config import config_to_dict, parse_config
from ..presets import presets
from .spec import METRICS

__all__ = ["AREA_METRICS", "COST_METRICS", "group_of", "pareto_front", "preset_matches", "rows_of",
           "write_outputs"]

#: x axis of the Pareto plot, best first; y axes (each a plot).
AREA_METRICS = ("area", "logic_area", "luts", "cells")
COST_METRICS = ("cycles", "energy")


def _pick(result, *names):
    """The first of ``names`` in ``result`` or in its ``totals``/``total`` part."""
    if not isinstance(result, dict):
        return None
    for part in (result, result.get("totals"), result.get("total")):
        if isinstance(part, dict):
            for name in names:
                if part.get(name) is not None:
                    return part[name]
    return None


def _metric(metric, outcomes):
    """``{column: value}`` of ``metric`` from the job outcomes of one point."""
    kind = METRICS[metric][0]
    outcome = outcomes.get(kind)
    result = outcome["result"] if outcome and outcome["ok"] else None
    if metric == "cells":
        return {"cells": _pick(result, "cells")}
    if metric == "flops":
        return {"flops": _pick(result, "flops")}
    if metric == "area":
        return {"area": _pick(result, "total_area_um2", "area_um2")}
    if metric == "logic_area":
        return {"logic_area": _pick(result, "area_um2")}
    if metric == "luts":
        return {"luts": _pick(result, "luts")}
    if metric == "fmax":
        return {"fmax": _pick(result, "fmax_mhz")}
    if metric == "cycles":
        return {"cycles": _pick(result, "model_cycles", "cycles")}
    if metric == "utilization":
        return {"utilization": _pick(result, "utilization")}
    if metric == "energy":
        return {"energy": _pick(result, "energy_pj")}
    # rtl: the simulated cycles and mismatches, and whether both agree with the models
    cycles, model = _pick(result, "cycles"), _pick(result, "model_cycles")
    mismatches = _pick(result, "mismatches")
    ok = None if result is None else (mismatches == 0 and (model is None or cycles == model))
    return {"rtl_cycles": cycles, "rtl_mismatches": mismatches, "rtl_ok": ok}


def rows_of(spec, run):
    """One mapping per point, in the spec's order."""
    rows = []
    for point in run.points:
        outcomes = {kind: run.outcomes[point.index, kind] for kind in spec.kinds}
        row = {"point": point.index, "arch": point.raw.get("arch"),
               **{axis: value for axis, value in point.values.items()}}
        for metric in spec.metrics:
            row.update(_metric(metric, outcomes))
        row["seconds"] = round(sum(o.get("seconds") or 0 for o in outcomes.values()), 2)
        row["errors"] = "; ".join(f"{kind}: {o['error']}" for kind, o in outcomes.items()
                                  if not o["ok"])
        rows.append(row)
    return rows


def preset_matches(points):
    """``{point index: preset name}`` for points whose design equals a shipped preset."""
    def body(raw):
        return {k: v for k, v in raw.items() if k != "name"}
    known = []
    for name, (_, _, raw) in presets().items():
        known.append((name, body(config_to_dict(parse_config(dict(raw), default_name=name)))))
    out = {}
    for point in points:
        for name, preset in known:
            if body(point.raw) == preset:
                out[point.index] = name
                break
    return out


def group_of(row):
    """The label of a row's comparison group: its architecture and its workload axis values."""
    parts = [f"{k.removeprefix('workload.')}={v}" for k, v in row.items()
             if k.startswith("workload.")]
    return " ".join([row["arch"], *parts])


def pareto_front(rows, x, y):
    """Indices (``point``) of the rows no other row of the same group (:func:`group_of`)
    dominates in (``x``, ``y``), both minimized; rows lacking either value are left out."""
    front = []
    usable = [r for r in rows if isinstance(r.get(x), (int, float)) and
              isinstance(r.get(y), (int, float))]
    for r in usable:
        dominated = any(o is not r and group_of(o) == group_of(r) and o[x] <= r[x]
                        and o[y] <= r[y] and (o[x] < r[x] or o[y] < r[y]) for o in usable)
        if not dominated:
            front.append(r["point"])
    return front


def _plot(rows, x, y, front, labels, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for group in dict.fromkeys(group_of(r) for r in rows):
        mine = [r for r in rows if group_of(r) == group and r.get(x) is not None
                and r.get(y) is not None]
        if not mine:
            continue
        points = ax.scatter([r[x] for r in mine], [r[y] for r in mine], s=18, alpha=0.6,
                            label=group)
        best = sorted((r for r in mine if r["point"] in front), key=lambda r: r[x])
        ax.plot([r[x] for r in best], [r[y] for r in best], "-", color=points.get_facecolor()[0],
                lw=1.2)
    for r in rows:
        if r["point"] in labels and r.get(x) is not None and r.get(y) is not None:
            ax.scatter([r[x]], [r[y]], marker="*", s=120, color="k", zorder=3)
            ax.annotate(labels[r["point"]], (r[x], r[y]), textcoords="offset points",
                        xytext=(5, 4), fontsize=7)
    ax.set_xlabel(f"{x}: {METRICS[x][1]}", fontsize=8)
    ax.set_ylabel(f"{y}", fontsize=9)
    ax.set_title(f"{y} against {x}; lines: the Pareto front of each architecture and workload; "
                 "stars: shipped presets", fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_outputs(spec, run, out_dir):
    """Write ``sweep.csv``, ``sweep.jsonl``, ``summary.json`` and the Pareto plots; return the
    summary (rows included)."""
    out = Path(out_dir)
    rows = rows_of(spec, run)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    with open(out / "sweep.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    with open(out / "sweep.jsonl", "w") as f:
        for row in rows:
            f.write(json.dumps(row, default=str) + "\n")
    labels = preset_matches(run.points)
    x = next((m for m in AREA_METRICS if m in spec.metrics), None)
    fronts, plots = {}, []
    for y in (m for m in COST_METRICS if m in spec.metrics):
        if x is None:
            break
        front = pareto_front(rows, x, y)
        fronts[f"{y}_vs_{x}"] = front
        if any(r.get(x) is not None and r.get(y) is not None for r in rows):
            path = out / f"pareto_{y}_vs_{x}.png"
            _plot(rows, x, y, front, labels, path)
            plots.append(str(path))
    summary = {"points": len(rows), "jobs_computed": run.computed, "jobs_reused": run.reused,
               "jobs_failed": run.failed, "pareto": fronts, "presets": labels, "plots": plots,
               "rows": rows}
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    return summary
