"""SCNN on VGG-16 at the published per-layer densities of the pruned network (Fig. 9's VGGNet).

    .venv/bin/python benchmarks/scnn_vgg16.py [--update-readme] [--json FILE]

The paper's Fig. 9 runs the pruned networks of Han et al. [17] on its 64-PE SCNN. Their per-layer
densities are published for VGG-16 (Han et al., NIPS 2015, Table 5; `sparseforge.sim.densities`):
each layer here has exactly that share of its weights and of its input activations non-zero, at
random positions (seed 1). The design is the paper's (8×8 PEs of the Table 3 PE: 4×4 multipliers,
32 banks of 32 accumulators) with each layer's planar tile ⌈W/8⌉ × ⌈H/8⌉, the largest K_c ≤ 8
whose accumulator planes fit the Table 3 banks (as the paper chooses K_c per layer: 1 for the
28×28 tiles of conv1, 4 for 14×14, 8 below) and buffers large enough for the layer (as
`benchmarks/scnn_googlenet.py`; one generated design cannot run every VGG-16 layer yet, issue
14). Cycles are the exact cycle model's, the model the RTL matches
on every layer the tests run; 64 PEs are beyond RTL simulation here.

DCNN, the paper's dense baseline, is taken as an ideal dense array of the same 1,024 multipliers
(MACs / 1,024 cycles), so the speed-up is an upper-bound reading of the paper's (its DCNN is
about 1.33× SCNN's dense run, Sec. 6.1, not ideal). AlexNet is not run: its conv1 is strided and
conv2, conv4 and conv5 grouped, which SCNN refuses today (issue 14).
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from sparseforge.gen.config import parse_config
from sparseforge.gen.report import Progress, table
from sparseforge.gen.scnn.run import sparse_operand
from sparseforge.sim import densities, workloads
from sparseforge.sim.scnn import cycles as scnn_cycles
from sparseforge.sim.scnn import streams as scnn_streams

from readme import update_readme

MULTIPLIERS = 1024
BANKS = ENTRIES = 32


def vgg_config(layer):
    """The paper's 8×8 PEs of the Table 3 PE with this layer's planar tile (⌈W/8⌉ × ⌈H/8⌉, at
    least the halo) and the largest K_c ≤ 8 whose planes of (tile + 2·halo)² accumulators fit
    the Table 3 banks; buffers sized for the layer (as benchmarks/scnn_googlenet.py's)."""
    halo = (layer.r - 1) // 2
    tile = max(-(-layer.w // 8), -(-layer.h // 8), halo, 1)
    side = tile + 2 * halo
    kc = min(8, ENTRIES // -(-side * side // BANKS))
    return parse_config({
        "arch": "scnn", "name": "scnn_paper_8x8", "pes": {"x": 8, "y": 8},
        "pe": {"f": 4, "i": 4, "banks": BANKS, "bank_entries": ENTRIES}, "kc": kc,
        "tile": {"w": tile, "h": tile}, "kernel_max": layer.r,
        "widths": {"act": 16, "weight": 16, "acc": 24}, "index_bits": 4,
        "rams": {"iaram": 1 << 16, "oaram": 1 << 16, "weights": 1 << 20,
                 "out_channels": 1024}})


def run(progress):
    """Per-layer rows and the totals of VGG-16 at the published densities."""
    rng = np.random.default_rng(1)
    per_layer = densities.layer_densities("vgg16")
    rows = []
    for layer in workloads.network("vgg16"):
        cfg = vgg_config(layer)
        wd, ad = per_layer[layer.name]
        act = sparse_operand(rng, (layer.c, layer.h, layer.w), cfg.act_width, ad)
        weights = sparse_operand(rng, (layer.k, layer.c, layer.r, layer.s), cfg.weight_width, wd)
        model = scnn_cycles.layer_cycles(cfg, scnn_streams.layer_streams(cfg, act, weights))
        ideal = layer.macs / MULTIPLIERS
        rows.append({"layer": layer.name, "weight_density": wd, "act_density": ad,
                     "tile": cfg.tile_w, "kc": cfg.kc, "macs": layer.macs,
                     "products": model.products,
                     "cycles": model.cycles, "dcnn_cycles": ideal,
                     "speedup_vs_dcnn": ideal / model.cycles,
                     "multiplier_utilization": model.products / (MULTIPLIERS * model.cycles)})
        progress(f"{layer.name}: {model.cycles:,} cycles, {ideal / model.cycles:.2f}x over DCNN")
    cycles = sum(r["cycles"] for r in rows)
    dcnn = sum(r["dcnn_cycles"] for r in rows)
    products = sum(r["products"] for r in rows)
    total = {"cycles": cycles, "dcnn_cycles": dcnn, "speedup_vs_dcnn": dcnn / cycles,
             "oracle_speedup": dcnn / (products / MULTIPLIERS),
             "multiplier_utilization": products / (MULTIPLIERS * cycles)}
    return rows, total


def markdown(rows, total):
    lines = ["| layer | weights | input act. | tile | K_c | cycles | ideal DCNN cycles | "
             "speed-up | mult. utilization |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['layer']} | {r['weight_density']:.0%} | {r['act_density']:.0%} | "
                     f"{r['tile']}×{r['tile']} | {r['kc']} | {r['cycles']:,} | "
                     f"{r['dcnn_cycles']:,.0f} | "
                     f"{r['speedup_vs_dcnn']:.2f}× | {r['multiplier_utilization']:.2f} |")
    lines.append(f"| total | | | | | {total['cycles']:,} | {total['dcnn_cycles']:,.0f} | "
                 f"{total['speedup_vs_dcnn']:.2f}× (oracle {total['oracle_speedup']:.2f}×) | "
                 f"{total['multiplier_utilization']:.2f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--update-readme", action="store_true")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    rows, total = run(Progress())
    text = markdown(rows, total)
    print(text)
    print(table([(r["layer"], r["cycles"], r["speedup_vs_dcnn"]) for r in rows],
                ("layer", "cycles", "vs DCNN")))
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"densities": densities.SOURCE, "multipliers": MULTIPLIERS, "rows": rows,
             "total": total}, indent=2) + "\n")
    if args.update_readme:
        update_readme(text, "scnn-vgg16")
    return 0


if __name__ == "__main__":
    sys.exit(main())
