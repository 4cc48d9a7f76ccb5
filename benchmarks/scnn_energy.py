"""Energy of SCNN: the energy model against gate level, and energy against density (Fig. 8b).

    .venv/bin/python benchmarks/scnn_energy.py [--part validate|density|all]

Every figure is OSU 0.18 µm (osu018_stdcells.lib, typical, 1.8 V) at the configured 100 MHz:
logic measured by :mod:`sparseforge.gen.power` (the gate-level netlist simulated on the layer,
energy from every net's toggles and the liberty's tables), RAM macros (weight buffer and
directory, IARAM and activation list, OARAM and count table, the accumulator banks) priced per
access by the CACTI-derived model of :mod:`sparseforge.gen.power.sram`; "model" is the energy
model (action counts of :mod:`sparseforge.sim.scnn.actions` × per-action energies calibrated on
five other gate-level layers of the same design).

The design, ``scnn_tiny``, is the smallest with every block: 2×1 PEs of the regression's PE
(2×2 multipliers, 8 accumulator banks of 16 entries per set, 16-bit operands, 24-bit
accumulators, 2-bit indices, kc = 2) on 3×3 tiles, RAMs sized for 3×6 layers.

1. ``validate``: four layers of different densities (one with crossbar stalls), gate level
   against the model (target: within 15 %), and the model's counts against the RTL's statistics
   registers and the RAM enables of the gate-level run.
2. ``density``: the paper's Fig. 8b sweep, weight and activation density scaled together from
   1.0/1.0 to 0.1/0.1, on one layer (C = 3, K = 4, 3×3 kernel, 3×6 input); energy relative to
   the same layer at 1.0/1.0 on the same design, from the model at every density and at gate
   level at 1.0, 0.5 and 0.1.

Results go to benchmarks/results/scnn_energy.json.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from sparseforge.gen.config import parse_config
from sparseforge.gen.power.job import design_power
from sparseforge.gen.power.model import calibrate, hooks_of, model_energies, predict
from sparseforge.gen.report import Progress, table
from sparseforge.gen.scnn.energy import layer_job, random_layer

RESULTS = Path(__file__).resolve().parent / "results"
OUT = RESULTS / "scnn_energy.json"
SEED = 2024

TINY = {"arch": "scnn", "name": "scnn_tiny", "pes": {"x": 2, "y": 1},
        "pe": {"f": 2, "i": 2, "banks": 8, "bank_entries": 16}, "kc": 2,
        "tile": {"w": 3, "h": 3}, "kernel_max": 3, "index_bits": 2,
        "rams": {"iaram": 64, "oaram": 64, "weights": 128, "out_channels": 8}}

#: Layers the calibration never saw (3×6 input): C, K, R, S, weight density, act density, seed
#: (the last one has crossbar stalls, which gate the weight buffer's and IARAM's reads).
LAYERS = [(3, 3, 3, 3, 0.8, 0.9, SEED), (4, 4, 3, 3, 0.5, 0.5, SEED + 1),
          (6, 2, 3, 3, 0.25, 0.35, SEED + 2), (4, 4, 3, 3, 0.7, 0.8, 3)]

#: Fig. 8b's layer here and its densities (weights and activations together).
SWEEP_LAYER = (3, 4, 3, 3)
DENSITIES = [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1]
GATE_DENSITIES = (1.0, 0.5, 0.1)

#: The paper (Sec. 6.1, Fig. 8b, GoogLeNet): SCNN's energy relative to DCNN is 1.33 at 1.0/1.0,
#: 1.0 at about 0.83/0.83 and 0.06 at 0.1/0.1; relative to SCNN's own 1.0/1.0 point, 1/1.33 and
#: 0.06/1.33.
PAPER = {"scnn_over_dcnn": {"1.0": 1.33, "0.83": 1.0, "0.1": 0.06},
         "scnn_over_own_dense": {"1.0": 1.0, "0.83": 1 / 1.33, "0.1": 0.06 / 1.33}}


def _job(cfg, c, k, r, s, wd, ad, seed):
    h, w = cfg.py * cfg.tile_h, cfg.px * cfg.tile_w
    act, weights = random_layer(cfg, np.random.default_rng(seed), c, h, w, k, r, s, wd, ad)
    return layer_job(cfg, act, weights)


def _gate(cfg, job, progress):
    """Gate-level energy of ``job``; the model's counts checked against the RTL's registers and
    the RAM enables."""
    result = design_power(cfg, job, hooks_of(cfg), progress=progress)
    if result.rtl_check:
        sys.exit(f"the RTL run is wrong: {result.rtl_check}")
    wrong = {a: (n, result.actions.get(a)) for a, n in result.probed.items()
             if result.actions.get(a) != n}
    if wrong:
        sys.exit(f"{job.label}: the model's counts differ from the RTL's "
                 f"(probed, model): {wrong}")
    return result


def validate(cfg, energies, progress):
    rows, out = [], []
    for c, k, r, s, wd, ad, seed in LAYERS:
        job = _job(cfg, c, k, r, s, wd, ad, seed)
        progress(f"validate: {job.label}")
        gate = _gate(cfg, job, progress)
        model, by_component = predict(energies, gate.actions)
        err = model / gate.energy_pj - 1
        out.append({"layer": job.label, "cycles": gate.cycles, "gate_pj": gate.energy_pj,
                    "gate_sram_pj": gate.sram_pj, "model_pj": model, "error": err,
                    "gate_by_component": gate.by_component, "model_by_component": by_component,
                    "counts_checked": sorted(gate.probed), "actions": gate.actions})
        rows.append((f"{c}x3x6 -> {k}, {r}x{s}", f"{wd:.0%} / {ad:.0%}", gate.cycles,
                     gate.actions["stall"], gate.energy_pj / 1e3, gate.sram_pj / 1e3,
                     model / 1e3, f"{err:+.1%}"))
    print(table(rows, ("layer", "weights / acts", "cycles", "stalls", "gate nJ", "of which RAM",
                       "model nJ", "model - gate")))
    worst = max(abs(r["error"]) for r in out)
    print(f"worst model error {worst:.1%} (target 15 %); the model's counts equal the RTL's "
          "statistics registers and RAM enables on every layer")
    return out


def density(cfg, energies, progress):
    c, k, r, s = SWEEP_LAYER
    out = []
    for d in DENSITIES:
        job = _job(cfg, c, k, r, s, d, d, SEED)
        counts = job.actions(job.model_cycles)
        model, by_component = predict(energies, counts)
        row = {"density": d, "cycles": job.model_cycles, "products": counts["product"],
               "model_pj": model, "model_by_component": by_component}
        if d in GATE_DENSITIES:
            progress(f"density {d}: gate level, {job.label}")
            gate = _gate(cfg, job, progress)
            row.update(gate_pj=gate.energy_pj, gate_by_component=gate.by_component)
        out.append(row)
    base = out[0]
    for row in out:
        row["model_relative"] = row["model_pj"] / base["model_pj"]
        if "gate_pj" in row:
            row["gate_relative"] = row["gate_pj"] / base["gate_pj"]
            row["model_error"] = row["model_pj"] / row["gate_pj"] - 1
    paper = PAPER["scnn_over_own_dense"]
    print(table([(f"{row['density']:.1f}/{row['density']:.1f}", row["cycles"], row["products"],
                  row.get("gate_pj", 0) / 1e3 or "", row["model_pj"] / 1e3,
                  f"{row['model_error']:+.1%}" if "model_error" in row else "",
                  row.get("gate_relative", ""), row["model_relative"],
                  paper.get(f"{row['density']:.1f}", ""))
                 for row in out],
                ("density", "cycles", "products", "gate nJ", "model nJ", "model - gate",
                 "gate / 1.0", "model / 1.0", "paper / 1.0")))
    for row in out:
        if "gate_by_component" in row:
            parts = row["gate_by_component"]
            total = sum(parts.values())
            top = sorted(parts.items(), key=lambda kv: -kv[1])[:5]
            print(f"{row['density']:.1f}/{row['density']:.1f} at gate level: " +
                  ", ".join(f"{name} {pj / total:.0%}" for name, pj in top))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("validate", "density", "all"), default="all")
    args = parser.parse_args(argv)
    progress = Progress(True)
    cfg = parse_config(TINY)
    cal = calibrate(cfg, progress=progress)
    energies = model_energies(cfg)
    results = json.loads(OUT.read_text()) if OUT.exists() else {}
    results.update({"design": TINY, "library": "OSU 0.18 um (osu018_stdcells.lib), typical",
                    "supply_v": cal.supply_v, "clock_mhz": cal.clock_mhz,
                    "energies_pj": energies, "calibration_runs": cal.runs, "paper": PAPER})
    if args.part in ("validate", "all"):
        results["validate"] = validate(cfg, energies, progress)
    if args.part in ("density", "all"):
        results["density"] = density(cfg, energies, progress)
    RESULTS.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(results, indent=1, default=float) + "\n")
    print(f"results: {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
