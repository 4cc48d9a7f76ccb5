"""SparseCore's figures: the paper's layer at 50 %/50 %, a sweep over both sparsities.

    .venv/bin/python benchmarks/sparsecore_figures.py [--quick]
        [--plot benchmarks/results/sparsecore_sweep.png]
        [--json benchmarks/results/sparsecore_figures.json]

The layer of the paper's Fig. 3: a 64×64×64 input, 128 filters of 3×3×64, stride 1, padding 1,
on ``sparsecore_paper`` (64 PEs × 16 ALUs). Activations are random INT8 with exactly the stated
fraction of zeros at uniformly random positions (seed 1); weights random INT8 magnitude-pruned to
k/m. Cycles come from the exact cycle model (:mod:`sparseforge.sim.sparsecore.cycles`), which the
RTL matches cycle for cycle on the small designs the tests simulate; this 64-PE design is not
simulated here. ``dense_cycles`` is the same layer on the same 1 024 ALUs run densely (k = m and
every activation, zero or not, streamed): the dense output-stationary baseline. ALU utilization
is products with both operands non-zero over (ALUs × cycles).
"""

import argparse
import json
import sys
from pathlib import Path

from sparseforge.gen.reproduce.sparsecore import ACT_DENSITIES, KMS, point

run = point


def markdown_headline(row):
    return "\n".join([
        "| layer | k/m | act. sparsity | cycles | dense cycles | speed-up (paper 3.1×) | "
        "ALU utilization (paper ≈ 90 %) | PE idle |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| 64×64×64, 3×3×128 | {row['k']}/{row['m']} | {row['act_sparsity']:.0%} | "
        f"{row['cycles']:,} | {row['dense_cycles']:,} | {row['speedup']:.2f}× | "
        f"{row['alu_utilization']:.1%} | {row['pe_idle_fraction']:.1%} |"])


def markdown_sweep(rows):
    lines = ["| k/m \\ act. sparsity | " + " | ".join(f"{1 - d:.0%}" for d in ACT_DENSITIES)
             + " |", "| --- |" + " ---: |" * len(ACT_DENSITIES)]
    for k, m in KMS:
        cells = [r for r in rows if (r["k"], r["m"]) == (k, m)]
        lines.append(f"| {k}/{m} | " + " | ".join(
            f"{r['speedup']:.2f}× ({r['alu_utilization']:.0%})" for r in cells) + " |")
    return "\n".join(lines)


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for k, m in KMS:
        cells = [r for r in rows if (r["k"], r["m"]) == (k, m)]
        x = [r["act_sparsity"] * 100 for r in cells]
        line, = ax.plot(x, [r["speedup"] for r in cells], marker="o",
                        label=f"{k}/{m} ({1 - k / m:.0%} weight sparsity)")
        ax.plot(x, [r["ideal_speedup"] for r in cells], ls=":", color=line.get_color())
    ax.plot([50], [3.1], "k*", ms=12, label="paper: 3.1× at 50 %/50 %")
    ax.set_xlabel("activation sparsity (%)")
    ax.set_ylabel("speed-up over dense output-stationary")
    ax.set_yscale("log", base=2)
    ax.set_title("SparseCore, 64×64×64 layer, 3×3×128 (dotted: ideal)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="only the 50 %/50 % headline")
    ap.add_argument("--plot", default="benchmarks/results/sparsecore_sweep.png")
    ap.add_argument("--json", default="benchmarks/results/sparsecore_figures.json")
    args = ap.parse_args(argv)
    headline = run(2, 4, 0.5)
    print(markdown_headline(headline))
    out = {"headline": headline}
    if not args.quick:
        rows = []
        for k, m in KMS:
            for d in ACT_DENSITIES:
                rows.append(run(k, m, d))
                print(f"  {k}/{m} act {d:.1f}: {rows[-1]['speedup']:.2f}×", file=sys.stderr)
        print(markdown_sweep(rows))
        out["sweep"] = rows
        plot(rows, args.plot)
    Path(args.json).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
