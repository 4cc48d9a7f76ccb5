"""Spex on the digits CNN (Hotfilter et al., IV-B, Fig. 5): the Pareto front of created sparse
blocks against accuracy, and what the point within one percentage point of the unpruned accuracy
saves, beside the paper's ResNet-50 figures.

    python benchmarks/sparseblox_figures.py [--population 15] [--generations 25] [--workers 2]

Searches in the hardware's block form (accel_small's output tiles on the stored maps), then counts
the chosen thresholds in both forms. Writes benchmarks/results/sparseblox_spex.json, the plot
benchmarks/results/sparseblox_front.png and the README table between the sparseblox-spex markers.
"""

import argparse
import json
import time
from pathlib import Path

from readme import update_readme

from sparseforge.gen import cli, spex
from sparseforge.gen.report import Progress
from sparseforge.sim.network import train
from sparseforge.sim.sparseblox.spex import SpexOptions, plot_front, run_spex, write_front_json

RESULTS = Path(__file__).resolve().parent / "results"
PAPER = {"created_share": 0.149, "transfers_saved_share": 0.189, "macs_saved_share": 0.1904}


def pct(v):
    return f"{100 * v:.1f} %"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--population", type=int, default=15)
    ap.add_argument("--generations", type=int, default=25)
    ap.add_argument("--limit", type=float, default=32.0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    progress = Progress()
    cfg = cli.resolve_config("accel_small")
    qnet, _, _ = train.load_trained()
    ev_map = spex.evaluator(cfg, qnet, "map")
    ev_col = spex.evaluator(cfg, qnet, "im2col")
    opts = SpexOptions(limit=args.limit, pop_size=args.population,
                       generations=args.generations, seed=args.seed, workers=args.workers)
    start = time.perf_counter()
    result = run_spex(ev_map, ev_map.layers, opts,
                      lambda g, n, e: n % opts.pop_size or progress(f"{n} evaluated (gen {g})"))
    seconds = time.perf_counter() - start
    RESULTS.mkdir(exist_ok=True)
    write_front_json(result, RESULTS / "sparseblox_front.json")
    plot_front(result, RESULTS / "sparseblox_front.png",
               title="Spex on the digits CNN (accel_small tiles, 450 test images)")
    base = result.baseline.accuracy
    best = result.best_within(0.01)
    both = {"map": spex.summarize(ev_map, best.raw), "im2col": spex.summarize(ev_col, best.raw)}
    doc = {"config": cfg.name, "population": args.population, "generations": args.generations,
           "limit": args.limit, "seed": args.seed, "seconds": seconds,
           "evaluations": len(result.evaluations), "baseline_accuracy": base,
           "blocks_map": [list(b) for b in ev_map.blocks],
           "blocks_im2col": [list(b) for b in ev_col.blocks],
           "front": [{"accuracy": e.accuracy, "created": e.created, "created_share":
                      e.created_share, "thresholds": [r / 256 for r in e.raw]}
                     for e in result.front],
           "chosen": both, "paper_resnet50": PAPER}
    (RESULTS / "sparseblox_spex.json").write_text(json.dumps(doc, indent=2) + "\n")

    lines = [f"Spex, population {args.population} × {args.generations} generations "
             f"({len(result.evaluations)} evaluations of the 450 test images, "
             f"{seconds:.0f} s on a shared machine), thresholds 0–{args.limit:g} on a 101-step "
             f"grid in Q8.8; unpruned INT8 accuracy {pct(base)}. Pareto front (blocks: "
             f"accel_small's output tiles {', '.join('×'.join(map(str, b)) for b in ev_map.blocks)}"
             f" channels × pixels, {both['map']['blocks_total']:,} in all):", "",
             "| accuracy | blocks created | created share | thresholds conv1 / conv2 / conv3 / "
             "conv4 |", "|---:|---:|---:|---|"]
    for e in result.front:
        lines.append(f"| {pct(e.accuracy)} | {e.created:,} | {pct(e.created_share)} | "
                     + " / ".join(f"{r / 256:.2f}" for r in e.raw) + " |")
    m, c = both["map"], both["im2col"]
    lines += ["", f"At the front point within 1 percentage point of the unpruned accuracy "
              f"({pct(m['accuracy'])}), counted in both block forms, beside the paper's "
              "ResNet-50 at a 1 % drop (8×8 blocks):", "",
              "| | digits CNN, stored-map tiles | digits CNN, im2col 8×8 | ResNet-50 (paper) |",
              "|---|---:|---:|---:|",
              f"| accuracy | {pct(m['accuracy'])} | {pct(c['accuracy'])} | 1 % below |",
              f"| blocks already zero | {pct(m['blocks_zero_before'] / m['blocks_total'])} | "
              f"{pct(c['blocks_zero_before'] / c['blocks_total'])} | — |",
              f"| blocks created | {pct(m['created_share'])} | {pct(c['created_share'])} | "
              f"{pct(PAPER['created_share'])} |",
              f"| activation transfers saved | {pct(m['transfers_saved_share'])} | "
              f"{pct(c['transfers_saved_share'])} | {pct(PAPER['transfers_saved_share'])} |",
              f"| MACs saved (of the network's {m['macs_network'] // 450:,} per image) | "
              f"{pct(m['macs_saved_share'])} | {pct(c['macs_saved_share'])} | "
              f"{pct(PAPER['macs_saved_share'])} |"]
    text = "\n".join(lines)
    update_readme(text, "sparseblox-spex")
    print(text)


if __name__ == "__main__":
    main()
