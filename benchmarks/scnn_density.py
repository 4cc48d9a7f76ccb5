"""SCNN density sweep, as the paper's Fig. 8: utilization and speed-up over a dense run.

    .venv/bin/python benchmarks/scnn_density.py [--sim verilator] [--rtl 1.0,0.9,0.5,0.1]
        [--update-readme] [--plot benchmarks/results/scnn_density.png]
        [--json benchmarks/results/scnn_density.json]

One 3×3 convolution layer (16×16×32 input, 32 output channels) on :data:`DESIGN` (2×2 PEs of the
paper's Table 3 PE: 4×4 multipliers, 32 accumulator banks of 32 entries, crossbar queues of 4,
16-bit operands, 24-bit accumulators, 8×8 tiles) at weight/activation densities 1.0/1.0,
0.9/0.9, … 0.1/0.1 (random values, exactly that fraction non-zero, seed 1). Every density goes
through the cycle model (:mod:`sparseforge.sim.scnn.cycles`); the densities given to ``--rtl``
also run through the generated RTL, where the output is checked bit-exact (decoded and
compressed) against the golden model and the measured cycles (whole run, load, compute, drain)
and every counter against the model — the script stops if any differ.

Columns: ``cycles`` from the first input beat to the last output beat, split into load (the
activations; the weights stream while the PEs compute, through 72-entry FIFOs), compute and
drain; the speed-up over the 1.0/1.0 run (whole run, and compute part); the oracle speed-up
(dense cycles over products / multipliers: the paper's SCNN(oracle)); the multipliers' utilization
while the PEs compute (products / (F·I · PE compute cycles)) and over the whole run (products /
(all multipliers · cycles)); crossbar-queue stalls, cycles the weight broadcast waited for a
PE's free FIFO row, and barrier waits. A second table sweeps the
crossbar queue depth at 0.5/0.5 on the model.

``--update-readme`` writes the tables between the ``scnn-density`` and ``scnn-queue`` markers.
"""

import argparse
import json
import sys
from pathlib import Path

from sparseforge.gen.config import parse_config
from sparseforge.gen.report import Progress, table
from sparseforge.gen.reproduce.scnn import (
    DENSITIES,
    DENSITY_DESIGN,
    DENSITY_LAYER,
    density_point,
)
from sparseforge.gen.scnn.run import run_layer_rtl

from readme import update_readme

DESIGN, LAYER, DENSITIES = DENSITY_DESIGN, DENSITY_LAYER, DENSITIES
QUEUE_DEPTHS = [2, 3, 4, 6, 8, 16]
MODEL_KEYS = ("weight_density", "act_density", "model_cycles", "model_load_cycles",
              "model_busy_cycles", "model_drain_cycles", "ideal_cycles", "utilization",
              "multiplier_utilization", "bank_conflict_stalls", "barrier_wait_cycles",
              "ppu_wait_cycles", "products", "weight_stall_cycles")


def _model(cfg, d):
    return density_point(cfg, LAYER, d)


def sweep(simulator, rtl, progress):
    cfg = parse_config(DESIGN)
    rows = []
    for d in DENSITIES:
        progress(f"{d:.1f}/{d:.1f}: cycle model")
        act, weights, model = _model(cfg, d)
        row = {"density": d, **{key: model[key] for key in MODEL_KEYS}, "rtl": False}
        if any(abs(d - x) < 1e-9 for x in rtl):
            report, _ = run_layer_rtl(cfg, act, weights, simulator=simulator, progress=progress)
            exact = report["mismatches"] == 0 and report["stream_mismatches"] == 0
            timed = (report["cycles"] == report["model_cycles"] and
                     report["counters_match_model"] and report["measured_match_registers"])
            if not (exact and timed):
                raise SystemExit(f"{d}: the RTL differs from the models: {report}")
            row.update({"rtl": True, "simulator": simulator, "rtl_cycles": report["cycles"],
                        "rtl_load_cycles": report["load_cycles"],
                        "rtl_busy_cycles": report["busy_cycles"],
                        "rtl_drain_cycles": report["drain_cycles"],
                        "rtl_products": report["products"]})
        rows.append(row)
    dense = rows[0]
    for row in rows:
        row["speedup"] = dense["model_cycles"] / row["model_cycles"]
        row["compute_speedup"] = dense["model_busy_cycles"] / row["model_busy_cycles"]
        row["oracle_speedup"] = (dense["model_cycles"] / row["ideal_cycles"] if row["products"]
                                 else float("inf"))
        row["work_fraction"] = row["products"] / dense["products"]
    return cfg, rows


def queue_sweep(progress, density=0.5):
    rows = []
    for depth in QUEUE_DEPTHS:
        progress(f"queue depth {depth}: cycle model at {density}/{density}")
        cfg = parse_config({**DESIGN, "pe": {**DESIGN["pe"], "queue_depth": depth}})
        _, _, model = _model(cfg, density)
        rows.append({"queue_depth": depth, "density": density,
                     **{key: model[key] for key in MODEL_KEYS}})
    return rows


def markdown(rows):
    lines = [
        "| density w/a | cycles | load | compute | drain | on RTL | speed-up | compute speed-up | "
        "oracle speed-up | mult. utilization (computing) | utilization (whole run) | "
        "queue stalls | weight stalls | barrier waits |",
        "| --- | ---: | ---: | ---: | ---: | --- |" + " ---: |" * 8,
    ]
    for r in rows:
        lines.append(
            f"| {r['density']:.1f}/{r['density']:.1f} | {r['model_cycles']:,} | "
            f"{r['model_load_cycles']:,} | {r['model_busy_cycles']:,} | "
            f"{r['model_drain_cycles']:,} | {'= model' if r['rtl'] else '—'} | "
            f"{r['speedup']:.2f} | {r['compute_speedup']:.2f} | {r['oracle_speedup']:.1f} | "
            f"{r['multiplier_utilization']:.2f} | {r['utilization']:.2f} | "
            f"{r['bank_conflict_stalls']:,} | {r['weight_stall_cycles']:,} | "
            f"{r['barrier_wait_cycles']:,} |")
    return "\n".join(lines)


def queue_markdown(rows):
    lines = ["| queue depth | cycles | compute | mult. utilization (computing) | queue stalls |",
             "| ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['queue_depth']} | {r['model_cycles']:,} | "
                     f"{r['model_busy_cycles']:,} | {r['multiplier_utilization']:.2f} | "
                     f"{r['bank_conflict_stalls']:,} |")
    return "\n".join(lines)


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    labels = [f"{r['density']:.1f}" for r in rows]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
    xs = list(range(len(rows)))
    ax.plot(xs, [r["speedup"] for r in rows], "o-", label="SCNN, whole run (model)")
    ax.plot(xs, [r["compute_speedup"] for r in rows], "^-", label="SCNN, compute part (model)")
    rtl = [(x, r) for x, r in zip(xs, rows) if r["rtl"]]
    ax.plot([x for x, _ in rtl], [r["speedup"] for _, r in rtl], "k*", markersize=10,
            label="RTL-checked (cycles = model)")
    ax.plot(xs, [r["oracle_speedup"] for r in rows], "s--", label="oracle: products / multipliers")
    ax.set_yscale("log")
    ax.set_xticks(xs, [f"{lab}/{lab}" for lab in labels], fontsize=7)
    ax.set_xlabel("weight / activation density")
    ax.set_ylabel("speed-up over 1.0/1.0")
    ax.grid(True, which="both", linewidth=0.3)
    ax.legend(fontsize=7)
    ax2.plot(xs, [r["multiplier_utilization"] for r in rows], "o-", label="while computing")
    ax2.plot(xs, [r["utilization"] for r in rows], "s--", label="whole run (load, drain)")
    ax2.axhline(0.8, color="grey", linewidth=0.5)
    ax2.set_ylim(0, 1.05)
    ax2.set_xticks(xs, [f"{lab}/{lab}" for lab in labels], fontsize=7)
    ax2.set_xlabel("weight / activation density")
    ax2.set_ylabel("multiplier utilization")
    ax2.grid(True, linewidth=0.3)
    ax2.legend(fontsize=7)
    fig.suptitle("SCNN 2x2 PEs (Table 3 PE, queues of 4), 16x16x32 -> 32 3x3 layer")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def _densities(text):
    try:
        return [float(x) for x in text.split(",") if x]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of densities")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sim", choices=("icarus", "verilator"), default="verilator")
    parser.add_argument("--rtl", type=_densities, default=[0.9, 0.5, 0.3, 0.1],
                        help="densities also run on the RTL (default 0.9,0.5,0.3,0.1)")
    parser.add_argument("--update-readme", action="store_true")
    parser.add_argument("--plot", metavar="PNG")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    progress = Progress()
    cfg, rows = sweep(args.sim, args.rtl, progress)
    queues = queue_sweep(progress)
    print(f"{cfg.name} ({cfg.notation}), layer {LAYER.c}x{LAYER.h}x{LAYER.w} -> {LAYER.k}, "
          f"{LAYER.r}x{LAYER.s}; RTL on {args.sim} at {args.rtl}")
    print(table([(f"{r['density']:.1f}", r["model_cycles"], r["model_load_cycles"],
                  r["model_busy_cycles"], r["model_drain_cycles"], "yes" if r["rtl"] else "",
                  r["speedup"], r["compute_speedup"], r["oracle_speedup"],
                  r["multiplier_utilization"], r["utilization"], r["bank_conflict_stalls"],
                  r["barrier_wait_cycles"]) for r in rows],
                ("density", "cycles", "load", "compute", "drain", "RTL", "speed-up",
                 "compute s-u", "oracle", "mult util", "util", "stalls", "waits")))
    print(table([(r["queue_depth"], r["model_cycles"], r["model_busy_cycles"],
                  r["multiplier_utilization"], r["bank_conflict_stalls"]) for r in queues],
                ("queue depth", "cycles", "compute", "mult util", "stalls")))
    if args.json:
        Path(args.json).write_text(json.dumps({"design": DESIGN, "layer": LAYER.__dict__,
                                               "rtl_simulator": args.sim, "rows": rows,
                                               "queue_depths": queues}, indent=2) + "\n")
    if args.plot:
        plot(rows, args.plot)
    if args.update_readme:
        update_readme(markdown(rows), "scnn-density")
        update_readme(queue_markdown(queues), "scnn-queue")
    return 0


if __name__ == "__main__":
    sys.exit(main())
