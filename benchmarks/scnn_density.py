"""SCNN density sweep, as the paper's Fig. 8: speed-up over a dense run of the same layer.

    .venv/bin/python benchmarks/scnn_density.py [--sim verilator] [--update-readme]
        [--plot benchmarks/results/scnn_density.png] [--json benchmarks/results/scnn_density.json]

One 3×3 convolution layer (16×16×32 input, 32 output channels) runs through the generated RTL of
:data:`DESIGN` (2×2 PEs of the paper's Table 3 PE: 4×4 multipliers, 32 accumulator banks of 32
entries, 16-bit operands, 24-bit accumulators, 8×8 tiles) at weight/activation densities 1.0/1.0,
0.9/0.9, … 0.1/0.1 (random values, exactly that fraction non-zero, seed 1). Every run is checked
bit-exact (decoded output and compressed stream) against the golden model, and its cycles and
counters against the cycle model. The table gives the speed-up over the 1.0/1.0 run; the oracle
speed-up (the dense run's cycles over the sparse run's ideal cycles, its non-zero products divided
by the multipliers: what a Cartesian-product array that never idles would reach, the paper's
SCNN(oracle)); the multipliers' utilization while the PEs compute; and the bank-conflict stalls and
barrier waits that make the difference.

``--update-readme`` writes the table between the ``scnn-density`` markers of README.md.
"""

import argparse
import json
import sys
from pathlib import Path

from sparseforge.gen.config import parse_config
from sparseforge.gen.report import Progress, table
from sparseforge.gen.scnn.run import prepare_layer, run_layer_rtl
from sparseforge.sim import workloads

from readme import update_readme

#: 2×2 PEs of the Table 3 PE; the weight buffer holds a dense 3×3 layer of 32×32 channels.
DESIGN = {"arch": "scnn", "name": "scnn_bench_2x2",
          "pe": {"f": 4, "i": 4, "banks": 32, "bank_entries": 32}, "pes": {"x": 2, "y": 2},
          "kc": 8, "tile": {"w": 8, "h": 8}, "kernel_max": 3,
          "widths": {"act": 16, "weight": 16, "acc": 24}, "index_bits": 4,
          "rams": {"iaram": 4096, "oaram": 4096, "weights": 10240, "out_channels": 64}}
LAYER = workloads.ConvLayer("bench", 16, 16, 32, 32, 3, 3, 1, 1)
DENSITIES = [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1]


def sweep(simulator, progress):
    cfg = parse_config(DESIGN)
    rows = []
    for d in DENSITIES:
        act, weights = prepare_layer(cfg, LAYER, weight_density=d, act_density=d, seed=1)
        report, _ = run_layer_rtl(cfg, act, weights, simulator=simulator, progress=progress)
        assert report["mismatches"] == 0 and report["stream_mismatches"] == 0, d
        assert report["cycles"] == report["model_cycles"] and report["counters_match_model"], d
        rows.append({"density": d, **{key: report[key] for key in (
            "weight_density", "act_density", "cycles", "model_cycles", "ideal_cycles",
            "utilization", "multiplier_utilization", "bank_conflict_stalls",
            "barrier_wait_cycles", "ppu_wait_cycles", "products")}})
    dense = rows[0]
    for row in rows:
        row["speedup"] = dense["cycles"] / row["cycles"]
        row["oracle_speedup"] = dense["cycles"] / row["ideal_cycles"] if row["products"] \
            else float("inf")
        row["work_fraction"] = row["products"] / dense["products"]
    return cfg, rows


def markdown(rows):
    lines = [
        "| density w/a | cycles (RTL = model) | speed-up | oracle speed-up | products | "
        "mult. utilization | bank-conflict stalls | barrier waits |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        oracle = f"{r['oracle_speedup']:.1f}"
        lines.append(
            f"| {r['density']:.1f}/{r['density']:.1f} | {r['cycles']:,} | {r['speedup']:.2f} | "
            f"{oracle} | {r['products']:,} | {r['multiplier_utilization']:.2f} | "
            f"{r['bank_conflict_stalls']:,} | {r['barrier_wait_cycles']:,} |")
    return "\n".join(lines)


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    labels = [f"{r['density']:.1f}" for r in rows]
    fig, ax = plt.subplots(figsize=(7, 3.8))
    xs = range(len(rows))
    ax.plot(xs, [r["speedup"] for r in rows], "o-", label="SCNN RTL (measured)")
    ax.plot(xs, [r["oracle_speedup"] for r in rows], "s--", label="oracle: products / multipliers")
    ax.plot(xs, [1 / r["work_fraction"] if r["products"] else None for r in rows], ":",
            color="grey", label="work reduction (dense / sparse products)")
    ax.set_yscale("log")
    ax.set_xticks(list(xs), [f"{lab}/{lab}" for lab in labels])
    ax.set_xlabel("weight / activation density")
    ax.set_ylabel("speed-up over 1.0/1.0")
    ax.set_title("SCNN 2x2 PEs (Table 3 PE), 16x16x32 -> 32 3x3 layer")
    ax.grid(True, which="both", linewidth=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sim", choices=("icarus", "verilator"), default="verilator")
    parser.add_argument("--update-readme", action="store_true")
    parser.add_argument("--plot", metavar="PNG")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    progress = Progress()
    cfg, rows = sweep(args.sim, progress)
    text = markdown(rows)
    print(f"{cfg.name} ({cfg.notation}), layer {LAYER.c}x{LAYER.h}x{LAYER.w} -> {LAYER.k}, "
          f"{LAYER.r}x{LAYER.s}, on {args.sim}")
    print(table([(f"{r['density']:.1f}", r["cycles"], r["speedup"], r["oracle_speedup"],
                  r["multiplier_utilization"], r["bank_conflict_stalls"],
                  r["barrier_wait_cycles"]) for r in rows],
                ("density", "cycles", "speed-up", "oracle", "mult util", "stalls", "waits")))
    if args.json:
        Path(args.json).write_text(json.dumps({"design": DESIGN, "layer": LAYER.__dict__,
                                               "rows": rows}, indent=2) + "\n")
    if args.plot:
        plot(rows, args.plot)
    if args.update_readme:
        update_readme(text, "scnn-density")
    return 0


if __name__ == "__main__":
    sys.exit(main())
