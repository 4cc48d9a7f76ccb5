"""Energy of the VDBB accelerator: the energy model against gate level, IM2COL against the direct
reader, and Sparse-Blox pruning.

    .venv/bin/python benchmarks/accel_energy.py [--part validate|im2col|blox|all]

Every figure is OSU 0.18 µm (osu018_stdcells.lib, typical, 1.8 V) at the configured 100 MHz,
logic measured by :mod:`sparseforge.gen.power` (the gate-level netlist of the whole accelerator
simulated on the layer, energy from every net's toggles and the liberty's tables) and the SRAM
macros (activation banks, weight halves) priced per access by the CACTI-derived model of
:mod:`sparseforge.gen.power.sram`; "model" is the energy model (action counts of
:mod:`sparseforge.sim.accel.actions` × per-action energies calibrated on eight other gate-level
layers of the same design, :func:`sparseforge.gen.accel.energy.calibration`).

The design, ``accel_tiny``, is the smallest that exercises every block of the accelerator with
IM2COL: a 2×2 array of 2×4×2 VDBB TPEs (B = 4, 4-pixel × 4-channel output tiles, 32
multipliers), an IM2COL unit with 4×4-word windows (enough for 3×3 kernels at stride 1 with
2×2 patches; stride-2 3×3 layers go to the direct reader), the direct reader, eight activation
banks, and the layer-wide requantization shift (no quantization table: its 33×16-bit
multipliers take Yosys/ABC most of an hour each at the clock target, as SparseCore's do). The
paper's accelerator (4×8×8_4×8, 2 MB + 512 KB SRAM) is far beyond a gate-level simulation on
this machine; per-action energies scale with it through the model, not measured here.
The window of a job is the layer, from the ``start`` write to ``done`` (the cycles of
:mod:`sparseforge.sim.accel.cycles`); loading the SRAMs over AXI4-Stream and reading the map
back are outside it.

1. ``validate``: three layers at 4/4, 2/4 and 1/4 weight density (different shapes and
   activation densities), gate level against the model (target: within 15 %), and the model's
   action counts against those probed in the RTL simulation (``act_reads``, ``beats`` and
   ``cycles`` registers, SRAM enables).
2. ``im2col``: the paper's point (Sec. IV-C: a 3× SRAM read reduction for 3×3 kernels; Table IV:
   the activation SRAM at 31.0 mW with IM2COL and 93.0 mW without, the IM2COL unit 10.0 mW, the
   accelerator 487.5 mW against 539.5 mW without IM2COL). The same 3×3 layer through the IM2COL
   unit and through the design's direct reader, both at gate level; ``im2col_sram``: the same
   layer by the model with the SRAMs priced at larger sizes.
3. ``blox``: ``accel_tiny`` with Sparse-Blox (a 64-position cache): three pruning layers, gate
   level against the model calibrated on the Sparse-Blox design, and one layer with and without
   pruning at gate level (the SRAM writes the pruned blocks save against the pruner's cost).

Results go to benchmarks/results/accel_energy.json.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from sparseforge.gen.accel.energy import layer_job, median_threshold, random_layer
from sparseforge.gen.config import parse_config
from sparseforge.gen.power.model import gate_level_against_model
from sparseforge.gen.report import Progress, table
from sparseforge.sim import conv
from sparseforge.sim.accel import plan as accel_plan

RESULTS = Path(__file__).resolve().parent / "results"
OUT = RESULTS / "accel_energy.json"
SEED = 2025

#: The smallest accelerator with every block (see the module docstring).
TINY = {"arch": "accel", "name": "accel_tiny",
        "array": {"kind": "vdbb", "tpe": {"a": 2, "b": 4, "c": 2}, "array": {"m": 2, "n": 2}},
        "sram": {"act_kb": 4, "weight_kb": 1, "quant_channels": 0},
        "im2col": {"window": [4, 4]}}
TINY_BLOX = {**TINY, "name": "accel_tiny_blox", "sparseblox": {"capacity": 64}}

#: Layers the calibration never saw: (h, w, c, k, r, s, stride, pad), NNZ of 4, act density.
LAYERS = [
    ((6, 6, 8, 4, 3, 3, 1, 1), 4, 0.6),
    ((5, 6, 4, 8, 3, 3, 1, 1), 2, 0.5),
    ((6, 5, 8, 4, 3, 3, 1, 0), 1, 0.75),
]

#: The IM2COL comparison's layer: 3×3, stride 1, 'same' padding, 2/4 weights.
IM2COL_LAYER = ((6, 6, 4, 4, 3, 3, 1, 1), 2, 0.5)

#: Sparse-Blox layers: shape, NNZ, act density, share of blocks below threshold.
BLOX_LAYERS = [
    ((6, 6, 4, 4, 3, 3, 1, 1), 4, 0.5, 0.5),
    ((5, 6, 8, 4, 3, 3, 1, 1), 2, 0.6, 0.25),
    ((6, 4, 4, 8, 3, 3, 1, 1), 3, 0.4, 0.75),
]

TECHNOLOGY = ("The paper's figures are 16 nm at 1 GHz (Table IV) for a 4x8x8_4x8 array with "
              "2 MB + 512 KB of SRAM; these are OSU 0.18 um at 1.8 V and 100 MHz on a 2x2 array "
              "of 2x4x2 TPEs with 8 KB + 2 KB, so absolute energies are not comparable: the "
              "ratios (IM2COL against the direct reader, pruning against none) are.")


def make_layer(cfg, rng, spec, nnz, density, direct=None):
    h, w, c, k, r, s, stride, pad = spec
    plan = accel_plan.plan_layer(cfg, h, w, c, k, r, s, stride, pad, nnz, int8_out=True,
                                 direct=direct, raster=False)
    x, weights, shift = random_layer(cfg, rng, plan, density)
    return plan, x, weights, shift


def validate(progress):
    cfg = parse_config(TINY)
    rng = np.random.default_rng(SEED)
    rows = []
    for spec, nnz, density in LAYERS:
        plan, x, w, shift = make_layer(cfg, rng, spec, nnz, density)
        row = gate_level_against_model(cfg, layer_job(cfg, plan, x, w, shift=shift), progress)
        rows.append(row)
        progress(f"gate level {row['gate_level_pj']:,.0f} pJ, model {row['model_pj']:,.0f} pJ "
                 f"({row['error']:+.1%}); counts equal: {row['probed_equal_model']}")
    return rows


def im2col(progress):
    """The same layer through IM2COL and through the direct reader."""
    cfg = parse_config(TINY)
    rng = np.random.default_rng(SEED + 1)
    spec, nnz, density = IM2COL_LAYER
    plan, x, w, shift = make_layer(cfg, rng, spec, nnz, density)
    direct = make_layer(cfg, rng, spec, nnz, density, direct=True)[0]
    rows = {}
    for name, p in (("im2col", plan), ("direct", direct)):
        rows[name] = gate_level_against_model(cfg, layer_job(cfg, p, x, w, shift=shift),
                                              progress)
        rows[name]["act_sram_reads"] = accel_plan.act_sram_reads(p)
    a, d = rows["im2col"], rows["direct"]

    def act_sram(row):
        return row["sram_accesses"]["act"]["read"]

    result = {
        "layer": a["workload"], "im2col": a, "direct": d,
        "sram_read_ratio": act_sram(d) / act_sram(a),
        "energy_ratio": d["gate_level_pj"] / a["gate_level_pj"],
        "energy_saved_pj": d["gate_level_pj"] - a["gate_level_pj"],
        "sram_saved_pj": d["sram_pj"] - a["sram_pj"],
        "im2col_unit_pj": a["measured_by_component"].get("im2col", 0.0),
        "direct_reader_pj": d["measured_by_component"].get("direct", 0.0),
        "model_energy_ratio": d["model_pj"] / a["model_pj"],
        "paper": "Sec. IV-C: 3x SRAM read reduction for 3x3 kernels; Table IV (16 nm, 4 TOPS): "
                 "activation SRAM 31.0 mW with IM2COL, 93.0 mW without; the IM2COL unit 10.0 mW "
                 "(2 %); total 487.5 mW, 539.5 mW without IM2COL (1.11x)",
        "technology": TECHNOLOGY,
    }
    progress(f"direct / IM2COL: {result['sram_read_ratio']:.2f}x SRAM reads, "
             f"{result['energy_ratio']:.2f}x energy")
    return result


def im2col_sram(progress):
    """The IM2COL comparison's layer by the model, the logic energies of ``accel_tiny`` and its
    SRAMs priced at sizes up to the paper's (2 MB activation, 512 KB weight SRAM): how the
    saving grows with the SRAM's energy per access."""
    from dataclasses import replace

    from sparseforge.gen.power.model import model_energies, predict, sram_energies

    cfg = parse_config(TINY)
    rng = np.random.default_rng(SEED + 1)
    spec, nnz, density = IM2COL_LAYER
    plan, x, w, shift = make_layer(cfg, rng, spec, nnz, density)
    direct = make_layer(cfg, rng, spec, nnz, density, direct=True)[0]
    logic = {c: e for c, e in model_energies(cfg, progress=progress).items() if c != "sram"}
    rows = []
    for act_kb, weight_kb in ((4, 1), (128, 64), (2048, 512)):
        energies = {**logic, **sram_energies(replace(cfg, act_kb=act_kb, weight_kb=weight_kb))}
        row = {"act_kb": act_kb, "weight_kb": weight_kb,
               "sram_act_read_pj": energies["sram"]["sram_act_read"]}
        for name, p in (("im2col", plan), ("direct", direct)):
            job = layer_job(cfg, p, x, w, shift=shift)
            total, parts = predict(energies, job.actions(job.model_cycles))
            row[name] = {"energy_pj": total, "sram_pj": parts["sram"],
                         "cycles": job.model_cycles,
                         "act_reads": job.actions(job.model_cycles)["act_read"]}
        row["energy_ratio"] = row["direct"]["energy_pj"] / row["im2col"]["energy_pj"]
        rows.append(row)
        progress(f"SRAM {act_kb} KB + {weight_kb} KB: direct / IM2COL "
                 f"{row['energy_ratio']:.2f}x by the model")
    return rows


def blox(progress):
    cfg = parse_config(TINY_BLOX)
    rng = np.random.default_rng(SEED + 2)
    rows = []
    pair = None
    for n, (spec, nnz, density, fraction) in enumerate(BLOX_LAYERS):
        plan, x, w, shift = make_layer(cfg, rng, spec, nnz, density)
        y = conv.requantize(conv.conv2d(x, w, plan.stride, plan.pad, cfg.array.acc_width),
                            shift, False)
        raw = median_threshold(cfg, plan, y, fraction)
        row = gate_level_against_model(cfg, layer_job(cfg, plan, x, w, shift=shift, blox=raw),
                                       progress)
        row["threshold"] = cfg.sparseblox.fmt.to_value(raw)
        rows.append(row)
        progress(f"gate level {row['gate_level_pj']:,.0f} pJ, model {row['model_pj']:,.0f} pJ "
                 f"({row['error']:+.1%}); counts equal: {row['probed_equal_model']}")
        if n == 0:
            plain = gate_level_against_model(cfg, layer_job(cfg, plan, x, w, shift=shift),
                                             progress)
            pair = {"layer": plain["workload"], "pruned": row, "unpruned": plain,
                    "saved_pj": plain["gate_level_pj"] - row["gate_level_pj"],
                    "sram_saved_pj": plain["sram_pj"] - row["sram_pj"],
                    "model_saved_pj": plain["model_pj"] - row["model_pj"]}
    return {"validate": rows, "with_and_without": pair}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=("validate", "im2col", "im2col_sram", "blox", "all"),
                        default="all")
    args = parser.parse_args()
    progress = Progress(True)
    parts = ("validate", "im2col", "im2col_sram", "blox") if args.part == "all" else \
        (args.part,)
    for part in parts:
        value = {"validate": validate, "im2col": im2col, "im2col_sram": im2col_sram,
                 "blox": blox}[part](progress)
        # Read again: parts may run in parallel processes.
        results = json.loads(OUT.read_text()) if OUT.exists() else {}
        results[part] = value
        RESULTS.mkdir(exist_ok=True)
        OUT.write_text(json.dumps(results, indent=1) + "\n")
    results = json.loads(OUT.read_text()) if OUT.exists() else {}
    for key, rows in (("validate", results.get("validate")),
                      ("blox", results.get("blox", {}).get("validate"))):
        if rows:
            print(table([(r["workload"], r["cycles"], r["gate_level_pj"], r["model_pj"],
                          r["error"], r["probed_equal_model"]) for r in rows],
                        ("layer", "cycles", "gate level pJ", "model pJ", "error",
                         "counts equal")))
    if "im2col" in results:
        d = results["im2col"]
        print(table([(name, d[name]["cycles"], d[name]["sram_accesses"]["act"]["read"],
                      d[name]["sram_pj"], d[name]["gate_level_pj"], d[name]["model_pj"])
                     for name in ("im2col", "direct")],
                    ("reader", "cycles", "act SRAM reads", "SRAM pJ", "gate level pJ",
                     "model pJ")))
        print(f"direct / IM2COL: {d['sram_read_ratio']:.2f}x SRAM reads, "
              f"{d['energy_ratio']:.2f}x energy (model {d['model_energy_ratio']:.2f}x)")
    pair = results.get("blox", {}).get("with_and_without")
    if pair:
        print(f"Sparse-Blox on {pair['layer']}: {pair['unpruned']['gate_level_pj']:,.0f} pJ "
              f"without pruning, {pair['pruned']['gate_level_pj']:,.0f} pJ with "
              f"({pair['sram_saved_pj']:,.0f} pJ of SRAM writes saved)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
