"""SCNN on GoogLeNet's inception layers at swept densities, as the paper's Fig. 8 (cycle model).

    .venv/bin/python benchmarks/scnn_googlenet.py [--densities 1.0,0.5,0.1] [--update-readme]
        [--json benchmarks/results/scnn_googlenet.json]
        [--plot benchmarks/results/scnn_googlenet.png] [--from-json FILE]

The paper sweeps the weight and activation densities of GoogLeNet's layers together from 1.0/1.0
to 0.1/0.1 on its 64-PE SCNN and reports the speed-up over a dense accelerator (Sec. 6.1,
Fig. 8). This runs the same sweep on the paper's configuration (8×8 PEs of the Table 3 PE: 4×4
multipliers, 32 banks of 32 accumulators, crossbar queues of 4, K_c = 8) over the 54 convolution
layers of the nine inception modules (all stride-1 'same' layers), with the exact cycle model
(:mod:`sparseforge.sim.scnn.cycles`) — the model the RTL equals on every test and run, because
an RTL simulation of 64 PEs is out of reach here. As the paper's planar tiling gives each PE a
W/8 × H/8 tile, each layer uses tiles of ⌈W/8⌉ × ⌈H/8⌉ (at least the kernel's halo), activation
buffers large enough for the whole layer and a weight FIFO of one dense block
(:func:`sparseforge.gen.reproduce.scnn.googlenet_config`).
Values are random with exactly the stated fraction non-zero, seeded by (1, layer index, density)
so a density gives the same operands whichever densities are run with it.

Figures, summed over the 54 layers: ``cycles`` as the model counts them, from the first input
beat to the last output beat (activations loaded after ``start``, weights streamed while
computing), and its load,
compute and drain parts; the speed-up over SCNN's own 1.0/1.0 run (whole run and compute part;
1.0 is always run, as the base), over an ideal dense array of the same 1,024 multipliers (MACs /
1,024 cycles: the paper's DCNN is its own dense design, 1/0.79 faster than SCNN at 1.0/1.0;
whole run and compute part, the paper's layers finding their activations on chip), over the
DCNN model (:mod:`sparseforge.sim.scnn.dcnn`: the same PEs and planar tiles, 16-term dot
products of dense operands, the busiest PE's cycles a layer) and
the oracle's (dense cycles over products / 1,024, the paper's SCNN(oracle), Sec. 6.2); the
multipliers' utilization while the PEs compute (products / (16 · PE compute cycles)) and over the
whole run (products / (1,024 · cycles)); the share of the PEs' time in the compute part (64 ·
compute cycles) spent waiting at the output-channel-group barriers and stalled on a full
crossbar queue.

``--json`` is rewritten after each density, so an interrupted run keeps the densities it
finished; ``--from-json`` renders the table, plot and README from such a file without running
the model. ``--update-readme`` writes the table between the ``scnn-googlenet`` markers.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from sparseforge.gen.report import Progress, table
from sparseforge.gen.reproduce.scnn import DENSITIES, googlenet_config, googlenet_layers
from sparseforge.gen.scnn.run import sparse_operand
from sparseforge.sim.scnn import cycles as scnn_cycles
from sparseforge.sim.scnn import dcnn
from sparseforge.sim.scnn import streams as scnn_streams

from readme import update_readme

MULTIPLIERS = 1024   # 64 PEs × 4×4
PES = 64
#: The paper's figures for GoogLeNet beside ours (speed-ups over its DCNN).
PAPER = {1.0: "0.79× (Fig. 8a)", 0.1: "24× (Fig. 8a)"}
FIELDS = ("cycles", "load", "compute", "drain", "products", "stalls", "waits", "ppu_waits",
          "pe_compute", "macs")


def _density_list(text):
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of densities")
    bad = [v for v in values if not 0 < v <= 1]
    if bad or not values:
        raise argparse.ArgumentTypeError(f"densities must lie in (0, 1], not {text!r}")
    return values


def layer_point(index, layer, density):
    """The cycle model's figures for one layer at one weight = activation density."""
    cfg = googlenet_config(layer)
    rng = np.random.default_rng([1, index, round(density * 1000)])
    act = sparse_operand(rng, (layer.c, layer.h, layer.w), cfg.act_width, density)
    weights = sparse_operand(rng, (layer.k, layer.c, layer.r, layer.s), cfg.weight_width,
                             density)
    model = scnn_cycles.layer_cycles(cfg, scnn_streams.layer_streams(cfg, act, weights))
    return {"tile": cfg.tile_w, "cycles": model.cycles, "load": model.load_cycles,
            "compute": model.busy_cycles, "drain": model.drain_cycles,
            "products": model.products, "stalls": model.stall_cycles,
            "waits": model.barrier_cycles, "ppu_waits": model.ppu_wait_cycles,
            "pe_compute": model.compute_cycles, "macs": layer.macs}


def sweep(densities, progress, json_path=None):
    """Per density, the per-layer figures (density outer, so each finished density is whole)."""
    layers = googlenet_layers()
    per_density = {}
    for d in densities:
        rows = []
        for index, layer in enumerate(layers):
            rows.append({"layer": layer.name, **layer_point(index, layer, d)})
        per_density[d] = rows
        progress(f"{d:.1f}/{d:.1f}: {sum(r['cycles'] for r in rows):,} cycles over "
                 f"{len(rows)} layers")
        if json_path:
            write_json(json_path, per_density)
    return per_density


def dcnn_cycles():
    """The dense DCNN baseline's cycles over the 54 layers (:mod:`sparseforge.sim.scnn.dcnn`):
    the same 8×8 PEs and per-layer planar tiles, 16-term dot products, dense operands."""
    total = 0
    for layer in googlenet_layers():
        cfg = googlenet_config(layer)
        total += dcnn.layer_cycles(layer.h, layer.w, layer.c, layer.k, layer.r, layer.s,
                                   pes_x=cfg.px, pes_y=cfg.py, tile_w=cfg.tile_w,
                                   tile_h=cfg.tile_h, multipliers_per_pe=cfg.f * cfg.i).cycles
    return total


def summary(per_density):
    """One row per density, densest first, from the per-layer figures."""
    totals = {d: {f: sum(r[f] for r in rows) for f in FIELDS} for d, rows in per_density.items()}
    dense = totals[1.0]
    base = dcnn_cycles()
    out = []
    for d in sorted(totals, reverse=True):
        t = totals[d]
        ideal_dense = t["macs"] / MULTIPLIERS
        out.append({
            "dcnn_cycles": base, "vs_dcnn": base / t["cycles"],
            "compute_vs_dcnn": base / t["compute"],
            "density": d, "cycles": t["cycles"], "load_cycles": t["load"],
            "compute_cycles": t["compute"], "drain_cycles": t["drain"],
            "products": t["products"],
            "speedup": dense["cycles"] / t["cycles"],
            "compute_speedup": dense["compute"] / t["compute"],
            "vs_ideal_dense": ideal_dense / t["cycles"],
            "compute_vs_ideal_dense": ideal_dense / t["compute"],
            "oracle_speedup": (dense["cycles"] / (t["products"] / MULTIPLIERS)
                               if t["products"] else None),
            "multiplier_utilization": (t["products"] / (t["pe_compute"] * 16)
                                       if t["pe_compute"] else 0.0),
            "utilization": t["products"] / (MULTIPLIERS * t["cycles"]),
            "barrier_share": t["waits"] / (t["compute"] * PES),
            "queue_stall_share": t["stalls"] / (t["compute"] * PES),
            "ppu_wait_cycles": t["ppu_waits"],
        })
    return out


def write_json(path, per_density):
    rows = summary(per_density) if 1.0 in per_density else []
    Path(path).write_text(json.dumps({
        "config": "scnn_paper_8x8 PEs (8x8 of 4x4 multipliers, 32x32 accumulators, queues of "
                  "4, kc 8), per-layer planar tile, buffers sized to the layer",
        "seed": "numpy default_rng([1, layer index, round(density * 1000)])",
        "rows": rows,
        "per_layer": {f"{d:.1f}": layer_rows for d, layer_rows in per_density.items()},
    }, indent=2) + "\n")


def read_json(path):
    data = json.loads(Path(path).read_text())
    return {float(d): rows for d, rows in data["per_layer"].items()}


def markdown(rows):
    lines = ["| density w/a | cycles (54 layers) | load | compute | drain | speed-up | "
             "compute speed-up | vs ideal dense array (whole run / compute) | "
             "vs DCNN model (whole run / compute) | paper: SCNN vs DCNN | oracle speed-up | "
             "mult. utilization (computing) | utilization (whole run) | PE-time at barriers | "
             "PE-time in queue stalls |",
             "| --- |" + " ---: |" * 14]
    for r in rows:
        d = r["density"]
        lines.append(
            f"| {d:.1f}/{d:.1f} | {r['cycles']:,} | {r['load_cycles']:,} | "
            f"{r['compute_cycles']:,} | {r['drain_cycles']:,} | {r['speedup']:.2f} | "
            f"{r['compute_speedup']:.2f} | {r['vs_ideal_dense']:.2f} / "
            f"{r['compute_vs_ideal_dense']:.2f} | {r['vs_dcnn']:.2f} / "
            f"{r['compute_vs_dcnn']:.2f} | {PAPER.get(d, '—')} | "
            f"{r['oracle_speedup']:.1f} | {r['multiplier_utilization']:.2f} | "
            f"{r['utilization']:.2f} | {r['barrier_share']:.0%} | "
            f"{r['queue_stall_share']:.1%} |")
    return "\n".join(lines)


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ds = [r["density"] for r in rows]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
    ax.plot(ds, [r["speedup"] for r in rows], "o-", label="SCNN over its 1.0/1.0 run, whole run")
    ax.plot(ds, [r["compute_speedup"] for r in rows], "^-",
            label="SCNN over its 1.0/1.0 run, compute part")
    ax.plot(ds, [r["vs_ideal_dense"] for r in rows], "d-",
            label="SCNN over an ideal dense array (1,024 mult.), whole run")
    ax.plot(ds, [r["compute_vs_ideal_dense"] for r in rows], "d--",
            label="SCNN over an ideal dense array, compute part")
    ax.plot(ds, [r["compute_vs_dcnn"] for r in rows], "P-",
            label="SCNN over the DCNN model, compute part")
    ax.plot(ds, [r["oracle_speedup"] for r in rows], "s--", label="oracle: products / 1,024")
    ax.plot([1.0, 0.1], [0.79, 24.0], "r*", markersize=11,
            label="paper Fig. 8a: SCNN over DCNN (0.79x, 24x)")
    ax.axhline(1.0, color="grey", linewidth=0.6)
    ax.set_yscale("log")
    ax.set_xlim(1.05, 0.05)
    ax.set_xticks(ds, [f"{d:.1f}" for d in ds], fontsize=8)
    ax.set_xlabel("weight = activation density")
    ax.set_ylabel("speed-up")
    ax.grid(True, which="both", linewidth=0.3)
    ax.legend(fontsize=7)
    ax2.plot(ds, [r["multiplier_utilization"] for r in rows], "o-", label="while computing")
    ax2.plot(ds, [r["utilization"] for r in rows], "s--", label="whole run (load, drain)")
    ax2.plot(ds, [r["barrier_share"] for r in rows], "v:", label="PE-time at barriers")
    ax2.plot(ds, [r["queue_stall_share"] for r in rows], "x:", label="PE-time in queue stalls")
    ax2.axhline(0.59, color="red", linewidth=0.7,
                label="paper Sec. 6.3: 59% average, pruned GoogLeNet")
    ax2.set_ylim(0, 1.05)
    ax2.set_xlim(1.05, 0.05)
    ax2.set_xticks(ds, [f"{d:.1f}" for d in ds], fontsize=8)
    ax2.set_xlabel("weight = activation density")
    ax2.set_ylabel("share")
    ax2.grid(True, linewidth=0.3)
    ax2.legend(fontsize=7)
    fig.suptitle("SCNN 8x8 PEs (Table 3 PE, queues of 4), GoogLeNet's 54 inception layers "
                 "(cycle model)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--densities", type=_density_list, default=DENSITIES,
                        help="weight = activation densities to run (default 1.0,0.9,…,0.1; "
                             "1.0 is always run as the speed-ups' base)")
    parser.add_argument("--update-readme", action="store_true")
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--plot", metavar="PNG")
    parser.add_argument("--from-json", metavar="FILE",
                        help="render from a JSON this script wrote instead of running the model")
    args = parser.parse_args(argv)
    if args.from_json:
        per_density = read_json(args.from_json)
        if 1.0 not in per_density:
            parser.error(f"--from-json: {args.from_json} has no 1.0 density (the speed-ups' "
                         "base)")
    else:
        densities = [1.0] + [d for d in args.densities if d != 1.0]
        per_density = sweep(densities, Progress(), args.json)
    rows = summary(per_density)
    text = markdown(rows)
    print(text)
    print(table([(r["density"], r["cycles"], r["compute_cycles"], r["speedup"],
                  r["multiplier_utilization"]) for r in rows],
                ("density", "cycles", "compute", "speed-up", "mult util")))
    if args.json:
        write_json(args.json, per_density)
    if args.plot:
        plot(rows, args.plot)
    if args.update_readme:
        update_readme(text, "scnn-googlenet")
    return 0


if __name__ == "__main__":
    sys.exit(main())
