"""Energy of the STA family: the gate-level flow, the energy model and the paper's Fig. 12(b).

    .venv/bin/python benchmarks/energy_figures.py [--part validate|fig12|gating|all] [--readme]

Every figure is OSU 0.18 µm (osu018_stdcells.lib, typical, 1.8 V) at the configured 100 MHz,
measured by :mod:`sparseforge.gen.power` (gate-level netlist simulated on the workload, energy
from every net's toggles and the liberty's tables) or predicted by its energy model (action
counts × per-action energies calibrated on gate-level runs of a ≤ 2×2 array with the same TPE).

1. ``validate``: model against gate level. Three GEMM layers of different weight densities on the
   default design (vdbb_2x8x4_2x2), and one layer on each design of the iso-throughput family,
   whose larger arrays the model extrapolates from 2×2 calibrations (target: within 15 %).
2. ``fig12``: Fig. 12(b) of the STA paper: energy efficiency (effective TOPS/W) and power against
   weight sparsity for the iso-throughput SA, STA, DBB and VDBB designs (128 dense-equivalent
   MACs per cycle at 4/8), at 50 % and 80 % activation sparsity, each also relative to the SA
   baseline (activation clock gating on) at the same point.
3. ``gating``: the share of energy activation clock gating saves: the same SA and VDBB designs
   with ``act_zero_gating`` off, and the clock energy the gate-level runs attribute to the gates.

Results go to benchmarks/results/energy_figures.json (and a PNG); ``--readme`` rewrites the
README's energy section from them.
"""

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from sparseforge.gen.power.job import design_power
from sparseforge.gen.power.model import calibrate, hooks_of, predict
from sparseforge.gen.presets import load_preset
from sparseforge.gen.report import Progress, table
from sparseforge.gen.sta.energy import gemm_job, random_gemm

RESULTS = Path(__file__).resolve().parent / "results"
OUT = RESULTS / "energy_figures.json"
PLOT = RESULTS / "energy_fig12.png"

FAMILY = ("iso128_sa_8x16", "iso128_sta_2x4x2_2x4", "iso128_dbb_2x8x2_2x2",
          "iso128_vdbb_4x8x4_2x2")
DEFAULT = "vdbb_2x8x4_2x2"
SEED = 2024


def density_point(cfg, eighths):
    """``(nnz, weight density)`` of a model with ``eighths``/8 non-zero weights on ``cfg``:
    VDBB takes NNZ = eighths; fixed DBB takes it when it fits its bound (else None: the design
    cannot run it); dense kinds take the same weights unstructured."""
    if cfg.kind == "vdbb":
        return eighths * cfg.block // 8, 1.0
    if cfg.kind == "dbb":
        nnz = eighths * cfg.block // 8
        return (nnz, 1.0) if 1 <= nnz <= cfg.dbb_macs else None
    return cfg.max_nnz, eighths / 8


def layer(cfg, rng, shape, eighths, act_density):
    point = density_point(cfg, eighths)
    if point is None:
        return None
    nnz, weight_density = point
    act, weights = random_gemm(cfg, rng, *shape, nnz, act_density, weight_density)
    return gemm_job(cfg, act, weights, nnz,
                    label=f"{shape[0]}x{shape[1]}x{shape[2]}, weights {eighths}/8, "
                          f"activations {act_density:.0%} non-zero")


def validate(progress):
    """Model against gate level on layers the calibration never saw."""
    rows = []
    rng = np.random.default_rng(SEED)
    checks = [(DEFAULT, eighths) for eighths in (8, 4, 2)] + [(name, 4) for name in FAMILY]
    for name, eighths in checks:
        cfg = load_preset(name)
        hooks = hooks_of(cfg)
        cal = calibrate(cfg, progress=progress)
        shape = (2 * cfg.tile_rows + 1, 5 * cfg.block + 3, cfg.tile_cols + 3)
        job = layer(cfg, rng, shape, eighths, 0.5)
        progress(f"gate level: {name}, {job.label}")
        measured = design_power(cfg, job, hooks, progress=progress)
        model, parts = predict(cal.energies, measured.actions)
        rows.append({
            "design": name, "calibrated_on": cal.calibrated_on, "workload": job.label,
            "cycles": measured.cycles, "cells": measured.cells,
            "gate_level_pj": measured.energy_pj, "model_pj": model,
            "error": model / measured.energy_pj - 1,
            "measured_by_component": measured.by_component, "model_by_component": parts,
            "by_category": measured.energy.by_category,
            "clock_gating": measured.energy.clock_gating,
            "probed_equal_model": all(measured.actions[a] == v
                                      for a, v in measured.probed.items()),
        })
        progress(f"{name}: gate level {measured.energy_pj:,.0f} pJ, model {model:,.0f} pJ "
                 f"({rows[-1]['error']:+.1%})")
    return rows


def model_energy(cfg, job):
    """Model energy, cycles and power of a job on ``cfg`` (cycles from the cycle model)."""
    cal = calibrate(cfg)
    counts = job.actions(job.model_cycles)
    total, parts = predict(cal.energies, counts)
    seconds = job.model_cycles / (cal.clock_mhz * 1e6)
    return {"energy_pj": total, "cycles": job.model_cycles, "by_component": parts,
            "power_mw": total * 1e-12 / seconds * 1e3, "tops_per_w": job.ops / total}


FIG12_SHAPE = (64, 512, 64)


def fig12(progress):
    """Energy efficiency and power against weight sparsity, iso-throughput family."""
    points = []
    for act_density in (0.5, 0.2):
        for name in FAMILY:
            cfg = load_preset(name)
            calibrate(cfg, progress=progress)
            for eighths in range(8, 0, -1):
                rng = np.random.default_rng(SEED + eighths)
                job = layer(cfg, rng, FIG12_SHAPE, eighths, act_density)
                if job is None:
                    continue
                result = model_energy(cfg, job)
                points.append({"design": name, "kind": cfg.kind, "weight_sparsity":
                               1 - eighths / 8, "act_density": act_density, **result})
                progress(f"{name} {eighths}/8 act {act_density}: "
                         f"{result['tops_per_w']:.3f} TOPS/W")
    for p in points:
        base = next(q for q in points if q["design"] == FAMILY[0] and
                    q["act_density"] == p["act_density"] and
                    q["weight_sparsity"] == p["weight_sparsity"])
        p["energy_vs_sa"] = p["energy_pj"] / base["energy_pj"]
    return points


def gating(progress):
    """Energy with activation clock gating against the same design without it."""
    rows = []
    for name in ("iso128_sa_8x16", "iso128_vdbb_4x8x4_2x2"):
        gated = load_preset(name)
        plain = replace(gated, act_zero_gating=False, name=f"{name}_nocg")
        for act_density in (0.8, 0.5, 0.2):
            rng = np.random.default_rng(SEED)
            job_g = layer(gated, rng, FIG12_SHAPE, 4, act_density)
            rng = np.random.default_rng(SEED)
            job_p = layer(plain, rng, FIG12_SHAPE, 4, act_density)
            e_g = model_energy(gated, job_g)
            e_p = model_energy(plain, job_p)
            rows.append({"design": name, "act_density": act_density,
                         "gated_pj": e_g["energy_pj"], "ungated_pj": e_p["energy_pj"],
                         "saved": 1 - e_g["energy_pj"] / e_p["energy_pj"]})
            progress(f"{name} act {act_density}: clock gating saves {rows[-1]['saved']:.1%}")
    return rows


def plot(points, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for name in FAMILY:
        for act_density, style in ((0.5, "-o"), (0.2, "--s")):
            pts = [p for p in points if p["design"] == name and p["act_density"] == act_density]
            if not pts:
                continue
            xs = [100 * p["weight_sparsity"] for p in pts]
            label = f"{name.split('_', 1)[1]} ({1 - act_density:.0%} act. sparsity)"
            axes[0].plot(xs, [p["tops_per_w"] for p in pts], style, label=label, markersize=3)
            axes[1].plot(xs, [p["power_mw"] for p in pts], style, label=label, markersize=3)
    axes[0].set_ylabel("effective TOPS/W (OSU 0.18 µm, 1.8 V)")
    axes[1].set_ylabel("power at 100 MHz (mW)")
    for ax in axes:
        ax.set_xlabel("weight sparsity (%)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=6)
    fig.suptitle("STA paper Fig. 12(b) on OSU 0.18 µm: iso-throughput designs, 64x512x64 GEMM")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def readme(results):
    from readme import update_readme

    lines = []
    val = results.get("validate", [])
    if val:
        lines.append("Model against gate level (layers the calibration did not see; energy of "
                     "the job's cycles):\n")
        lines.append("| design | calibrated on | layer | cells | gate level (nJ) | model (nJ) "
                     "| model − gate level |")
        lines.append("| --- | --- | --- | ---: | ---: | ---: | ---: |")
        for r in val:
            lines.append(f"| {r['design']} | {r['calibrated_on']} | {r['workload']} | "
                         f"{r['cells']:,} | {r['gate_level_pj'] / 1e3:.1f} | "
                         f"{r['model_pj'] / 1e3:.1f} | {r['error']:+.1%} |")
        lines.append("")
    pts = results.get("fig12", [])
    if pts:
        lines.append("Fig. 12(b) on OSU 0.18 µm (64×512×64 GEMM, energy model; TOPS/W counts "
                     "effective operations, 2 per MAC of the dense GEMM; relative: energy over "
                     "the SA baseline's at the same point):\n")
        lines.append("| weight sparsity | act. sparsity | " +
                     " | ".join(n.split("_", 1)[1] for n in FAMILY) + " | VDBB vs SA |")
        lines.append("| ---: | ---: |" + " ---: |" * (len(FAMILY) + 1))
        for act_density in (0.5, 0.2):
            for eighths in range(8, 0, -1):
                sparsity = 1 - eighths / 8
                row = [f"{sparsity:.1%}", f"{1 - act_density:.0%}"]
                vdbb = None
                for name in FAMILY:
                    p = next((q for q in pts if q["design"] == name and
                              q["act_density"] == act_density and
                              q["weight_sparsity"] == sparsity), None)
                    row.append("—" if p is None else f"{p['tops_per_w']:.3f}")
                    if name == FAMILY[-1] and p is not None:
                        vdbb = p["energy_vs_sa"]
                row.append("—" if vdbb is None else f"{vdbb:.2f}×")
                lines.append("| " + " | ".join(row) + " |")
        lines.append("")
        lines.append(f"![Fig. 12(b) on OSU 0.18 µm](benchmarks/results/{PLOT.name})\n")
    gate = results.get("gating", [])
    if gate:
        lines.append("Activation clock gating (4/8 weights; same design without gating):\n")
        lines.append("| design | activations non-zero | with gating (nJ) | without (nJ) | "
                     "saved |")
        lines.append("| --- | ---: | ---: | ---: | ---: |")
        for r in gate:
            lines.append(f"| {r['design']} | {r['act_density']:.0%} | "
                         f"{r['gated_pj'] / 1e3:.1f} | {r['ungated_pj'] / 1e3:.1f} | "
                         f"{r['saved']:.1%} |")
    update_readme("\n".join(lines), "energy")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=("validate", "fig12", "gating", "all"), default="all")
    parser.add_argument("--readme", action="store_true", help="rewrite the README section")
    args = parser.parse_args()
    progress = Progress(True)
    results = json.loads(OUT.read_text()) if OUT.exists() else {}
    parts = ("validate", "fig12", "gating") if args.part == "all" else (args.part,)
    for part in parts:
        results[part] = {"validate": validate, "fig12": fig12, "gating": gating}[part](progress)
        RESULTS.mkdir(exist_ok=True)
        OUT.write_text(json.dumps(results, indent=1) + "\n")
    if results.get("fig12"):
        plot(results["fig12"], PLOT)
    if "validate" in results:
        print(table([(r["design"], r["workload"], r["gate_level_pj"], r["model_pj"], r["error"])
                     for r in results["validate"]],
                    ("design", "layer", "gate level pJ", "model pJ", "error")))
    if args.readme:
        readme(results)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
