"""Energy of SparseCore: the energy model against gate level, and the paper's dense comparison.

    .venv/bin/python benchmarks/sparsecore_energy.py [--part validate|dense|all]

Every figure is OSU 0.18 µm (osu018_stdcells.lib, typical, 1.8 V) at the configured 100 MHz,
logic measured by :mod:`sparseforge.gen.power` (the gate-level netlist simulated on the layer,
energy from every net's toggles and the liberty's tables) and SRAM macros priced per access by the
CACTI-derived model of :mod:`sparseforge.gen.power.sram`; "model" is the energy model (action
counts of :mod:`sparseforge.sim.sparsecore.actions` × per-action energies calibrated on five other
gate-level layers of the same design).

The design, ``sc_tiny``, is the smallest with every block of SparseCore: one PE of four ALUs at
2/4 (chunks of eight channels, requantized one lane a step: eight steps a pixel, the paper
design's 32 channels over 4 lanes), 6×6×8 inputs. Its synthesis is the slow part: Yosys/ABC
maps the requantizer (a 33×16-bit multiplier and a 50-bit shifter, timing-driven at the clock
target) in the better part of an hour of CPU, once per requantizer instance, more than a shared
two-core machine gives a session. Every figure here is therefore **without the requantizers**:
they are kept as black boxes simulated from their RTL (the hooks' ``excluded``) and their
energy is counted nowhere, in the gate-level runs, the calibration and the model alike. They do
the same work in the sparse and the dense design (one requantization per output channel of
every pixel, on the same accumulators).

1. ``validate``: three layers of different activation and weight densities, gate level against
   the model (target: within 15 %), and the model's action counts against those probed in the RTL
   simulation (statistics registers, output beats, SRAM enables).
2. ``dense``: the paper's headline (Sec. 4: 2.5× lower dynamic energy than a dense
   output-stationary array at 50 % weight and 50 % activation sparsity). The same layer on
   ``sc_tiny`` and on its dense baseline (the same PE and ALUs at k = m = 4, every activation
   read, zeros too), both at gate level; dynamic energy excludes leakage. The dense PE holds
   four output channels, so it runs the eight-channel layer in two jobs of four (weights
   reloaded between them, not counted, as the cycle model's ``dense_cycles``).

Results go to benchmarks/results/sparsecore_energy.json.
"""

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from sparseforge.gen.config import parse_config
from sparseforge.gen.power.model import gate_level_against_model
from sparseforge.gen.report import Progress, table
from sparseforge.gen.sparsecore.energy import dense_baseline, layer_job, random_layer
from sparseforge.sim.sparsecore.cycles import LayerShape

RESULTS = Path(__file__).resolve().parent / "results"
OUT = RESULTS / "sparsecore_energy.json"
SEED = 2024

#: The smallest design with every block (see the module docstring).
TINY = {"arch": "sparsecore", "name": "sc_tiny", "pes": 1, "alus_per_pe": 4, "k": 2, "m": 4,
        "band_rows": 1, "requant_lanes": 1,
        "limits": {"h": 6, "w": 6, "c": 8, "k": 8, "kernel": 3},
        "memories": {"act_kib": 1, "weight_kib": 1, "acc_kib": 1}}

#: Layers the calibration never saw: shape, activation density, weights k/m.
LAYERS = [
    (LayerShape(6, 6, 8, 8, 3, 3, 1, 1), 0.8, (2, 4)),
    (LayerShape(6, 6, 6, 8, 3, 3, 1, 1), 0.5, (1, 4)),
    (LayerShape(5, 6, 8, 4, 2, 2, 1, 0), 0.25, (2, 4)),
]

PAPER_DENSE_RATIO = 2.5

#: Why the paper's ratio and this one differ (the technology and the setting, not the method).
TECHNOLOGY = ("The paper states neither its technology nor its power flow; its 2.5x is 'dynamic "
              "power' of 64 PEs x 16 ALUs on a 64x64x64 layer with 3x3x128 filters (read here "
              "as energy, as the issue does). This is OSU 0.18 um at 1.8 V and 100 MHz on one PE "
              "of four ALUs and a 6x6x8 layer, requantizers left out, SRAM priced by CACTI "
              "scaled to 0.18 um. The blocks that cost per cycle (control, sequencer, "
              "scheduler) follow the dense design's 3.3x cycles, but the ALUs (1.9x), the "
              "post-processor (1.9x) and the SRAM (1.6x), 82 % of SparseCore's energy, "
              "do not, which holds the saving near 2x.")


def tiny():
    return parse_config(TINY)


def measure(cfg, job, progress):
    """Gate level and model of one job: the row of a results table."""
    return gate_level_against_model(cfg, job, progress)


def validate(progress):
    cfg = tiny()
    rng = np.random.default_rng(SEED)
    rows = []
    for shape, density, km in LAYERS:
        act, weights, shift = random_layer(cfg, rng, shape, density, km=km)
        row = measure(cfg, layer_job(cfg, shape, act, weights, shift), progress)
        rows.append(row)
        progress(f"gate level {row['gate_level_pj']:,.0f} pJ, model {row['model_pj']:,.0f} pJ "
                 f"({row['error']:+.1%}); counts equal: {row['probed_equal_model']}")
    return rows


def dense(progress):
    """The 50 %/50 % layer on SparseCore and on the dense output-stationary baseline."""
    cfg = tiny()
    base = dense_baseline(cfg)
    rng = np.random.default_rng(SEED + 1)
    shape = LayerShape(6, 6, 8, 8, 3, 3, 1, 1)
    act, weights, shift = random_layer(cfg, rng, shape, 0.5, km=(2, 4))
    sparse = measure(cfg, layer_job(cfg, shape, act, weights, shift), progress)
    parts = []
    for first in range(0, shape.k, base.max_k):       # the dense PE's chunks, one job each
        part = replace(shape, k=min(base.max_k, shape.k - first))
        job = layer_job(base, part, act, weights[first:first + part.k], shift, dense_acts=True)
        parts.append(measure(base, job, progress))
    dense_row = {key: sum(p[key] for p in parts)
                 for key in ("cycles", "gate_level_pj", "model_pj", "dynamic_pj", "leakage_pj",
                             "sram_pj", "ops")}
    dense_row.update({"design": base.name, "jobs": parts,
                      "probed_equal_model": all(p["probed_equal_model"] for p in parts)})
    result = {
        "layer": sparse["workload"], "sparsecore": sparse, "dense": dense_row,
        "dynamic_ratio": dense_row["dynamic_pj"] / sparse["dynamic_pj"],
        "total_ratio": dense_row["gate_level_pj"] / sparse["gate_level_pj"],
        "model_ratio": dense_row["model_pj"] / sparse["model_pj"],
        "cycles_ratio": dense_row["cycles"] / sparse["cycles"],
        "paper_ratio": PAPER_DENSE_RATIO, "technology": TECHNOLOGY,
    }
    progress(f"dense / SparseCore dynamic energy: {result['dynamic_ratio']:.2f}x "
             f"(paper {PAPER_DENSE_RATIO}x)")
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=("validate", "dense", "all"), default="all")
    args = parser.parse_args()
    progress = Progress(True)
    results = json.loads(OUT.read_text()) if OUT.exists() else {}
    parts = ("validate", "dense") if args.part == "all" else (args.part,)
    for part in parts:
        results[part] = {"validate": validate, "dense": dense}[part](progress)
        RESULTS.mkdir(exist_ok=True)
        OUT.write_text(json.dumps(results, indent=1) + "\n")
    if "validate" in results:
        print(table([(r["workload"], r["cycles"], r["gate_level_pj"], r["model_pj"], r["error"],
                      r["probed_equal_model"]) for r in results["validate"]],
                    ("layer", "cycles", "gate level pJ", "model pJ", "error", "counts equal")))
    if "dense" in results:
        d = results["dense"]
        print(table([(name, d[key]["cycles"], d[key]["dynamic_pj"], d[key]["gate_level_pj"])
                     for name, key in (("SparseCore 2/4", "sparsecore"),
                                       ("dense OS", "dense"))],
                    ("design", "cycles", "dynamic pJ", "total pJ")))
        print(f"dense / SparseCore: dynamic {d['dynamic_ratio']:.2f}x, total "
              f"{d['total_ratio']:.2f}x, model {d['model_ratio']:.2f}x (paper "
              f"{d['paper_ratio']}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
