"""SCNN on GoogLeNet's inception layers at swept densities, as the paper's Fig. 8 (cycle model).

    .venv/bin/python benchmarks/scnn_googlenet.py [--update-readme] [--json FILE] [--plot PNG]

The paper sweeps the weight and activation densities of GoogLeNet's layers together from 1.0/1.0
to 0.1/0.1 on its 64-PE SCNN and reports the speed-up over a dense accelerator. This runs the same
sweep on the paper's configuration (8×8 PEs of the Table 3 PE: 4×4 multipliers, 32 banks of 32
accumulators, K_c = 8) over the 54 convolution layers of the nine inception modules (all stride-1
'same' layers), with the exact cycle model — the model that equals the RTL on every test and run,
because an RTL simulation of 64 PEs is out of reach here. As the paper's planar tiling gives each
PE a W/8 × H/8 tile, each layer uses tiles of ⌈W/8⌉ × ⌈H/8⌉ (at least the kernel's halo); values
are random with exactly the stated fraction non-zero (seed 1).

The speed-up is against SCNN's own 1.0/1.0 run (the paper compares with a dense DCNN, which at
1.0/1.0 is about 1/0.79 faster than SCNN, Sec. 6.1); the oracle speed-up is the dense run's cycles
over the sparse run's products per multiplier (SCNN(oracle), Sec. 6.2).
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from sparseforge.gen.report import Progress, table
from sparseforge.gen.reproduce.scnn import googlenet_config, googlenet_layers
from sparseforge.gen.scnn.run import sparse_operand
from sparseforge.sim.scnn import cycles as scnn_cycles
from sparseforge.sim.scnn import streams as scnn_streams

from readme import update_readme

DENSITIES = [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1]


layer_config, layers = googlenet_config, googlenet_layers


def sweep(progress):
    rng = np.random.default_rng(1)
    totals = {d: {"cycles": 0, "products": 0, "stalls": 0, "waits": 0, "compute": 0}
              for d in DENSITIES}
    per_layer = []
    for layer in layers():
        cfg = layer_config(layer)
        row = {"layer": layer.name, "tile": cfg.tile_w}
        for d in DENSITIES:
            act = sparse_operand(rng, (layer.c, layer.h, layer.w), cfg.act_width, d)
            weights = sparse_operand(rng, (layer.k, layer.c, layer.r, layer.s),
                                     cfg.weight_width, d)
            model = scnn_cycles.layer_cycles(cfg, scnn_streams.layer_streams(cfg, act, weights))
            total = totals[d]
            total["cycles"] += model.cycles
            total["products"] += model.products
            total["stalls"] += model.stall_cycles
            total["waits"] += model.barrier_cycles
            total["compute"] += model.compute_cycles
            row[d] = model.cycles
        progress(f"{layer.name}: {row[DENSITIES[0]]:,} cycles dense, {row[DENSITIES[-1]]:,} at "
                 f"{DENSITIES[-1]}")
        per_layer.append(row)
    multipliers = 1024
    dense = totals[DENSITIES[0]]["cycles"]
    rows = []
    for d in DENSITIES:
        t = totals[d]
        rows.append({
            "density": d, "cycles": t["cycles"], "speedup": dense / t["cycles"],
            "oracle_speedup": dense / (t["products"] / multipliers) if t["products"] else None,
            "multiplier_utilization": t["products"] / (t["compute"] * 16) if t["compute"] else 0,
            "barrier_share": t["waits"] / (t["cycles"] * 64),
            "stall_share": t["stalls"] / (t["cycles"] * 64),
        })
    return rows, per_layer


def markdown(rows):
    lines = ["| density w/a | cycles (54 layers) | speed-up | oracle speed-up | "
             "mult. utilization | PE-time at barriers | PE-time in bank stalls |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['density']:.1f}/{r['density']:.1f} | {r['cycles']:,} | "
                     f"{r['speedup']:.2f} | {r['oracle_speedup']:.1f} | "
                     f"{r['multiplier_utilization']:.2f} | {r['barrier_share']:.0%} | "
                     f"{r['stall_share']:.0%} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--update-readme", action="store_true")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    progress = Progress()
    rows, per_layer = sweep(progress)
    text = markdown(rows)
    print(text)
    print(table([(r["density"], r["cycles"], r["speedup"]) for r in rows],
                ("density", "cycles", "speed-up")))
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"rows": rows, "per_layer": [{str(k): v for k, v in row.items()}
                                         for row in per_layer]}, indent=2) + "\n")
    if args.update_readme:
        update_readme(text, "scnn-googlenet")
    return 0


if __name__ == "__main__":
    sys.exit(main())
