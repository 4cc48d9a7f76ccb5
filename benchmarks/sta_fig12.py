"""Effective throughput per logic area against weight sparsity, as the paper's Fig. 12(a).

    .venv/bin/python benchmarks/sta_fig12.py [--sim verilator] [--update-readme] [--plot F.png]

The four ``iso128_*`` designs deliver 128 dense-equivalent MACs per cycle at the paper's nominal
4/8 density for the sparse kinds: a classic SA (8×16), a dense STA, a fixed-DBB array bounded at
4/8 (denser blocks run in two steps, the paper's dense fallback) and a VDBB array. For every
weight density NNZ/8 from 8/8 (0 % sparse) to 1/8 (87.5 %) this takes

* the cycles of a 64×512×64 GEMM from the cycle model (the dense kinds cannot skip zeros, so
  their cycles do not change; DBB takes ⌈NNZ/4⌉ steps a block, VDBB NNZ);
* the logic area from Yosys with the OSU 0.18 µm liberty (``synth --flow liberty``);
* effective throughput = dense-equivalent MACs (M·K·N) per cycle, per mm² of logic.

Four points per design are also run on the generated RTL (Verilator) and checked bit-exact and
against the model: 8/8, 4/8, 2/8 and 1/8.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

from sparseforge.gen.emit import generate
from sparseforge.gen.presets import load_preset
from sparseforge.gen.report import Progress, table
from sparseforge.gen.reproduce.sta import fig12_points
from sparseforge.gen.sta.run import prepare_gemm, run_gemm_rtl
from sparseforge.gen.synth import synth
from sparseforge.sim.sta import dbb

from readme import update_readme

DESIGNS = ["iso128_sa_8x16", "iso128_sta_2x4x2_2x4", "iso128_dbb_2x8x2_2x2",
           "iso128_vdbb_4x8x4_2x2"]
SHAPE = (64, 512, 64)
DENSITIES = range(8, 0, -1)
RTL_DENSITIES = (8, 4, 2, 1)


def measure(name, simulator, progress):
    cfg = load_preset(name)
    with tempfile.TemporaryDirectory() as tmp:
        v_path, _ = generate(cfg, tmp)
        progress(f"synthesizing {name} with the OSU 0.18 µm liberty")
        area = synth(v_path, name, "liberty", work_dir=Path(tmp) / "synth")["area_um2"]
    points = fig12_points(cfg, area, SHAPE)
    for point in points:
        nnz = point["nnz"]
        # The dense kinds run every block as it is (their job ignores NNZ).
        job_nnz = nnz if cfg.sparse else cfg.max_nnz
        if nnz in RTL_DENSITIES:
            act, weights, job_nnz = prepare_gemm(cfg, shape=SHAPE, nnz=job_nnz, seed=nnz)
            if not cfg.sparse:
                weights = dbb.prune(weights, nnz, 8, axis=0)
            report, _ = run_gemm_rtl(cfg, act, weights, job_nnz, simulator=simulator,
                                     progress=progress)
            assert report["mismatches"] == 0, f"{name} {nnz}/8: result mismatches"
            assert report["cycles"] == point["cycles"], f"{name} {nnz}/8: RTL differs"
            point["rtl_checked"] = True
    return {"design": name, "kind": cfg.kind, "area_um2": area, "points": points}


def markdown(rows):
    base = rows[0]["points"][0]["per_mm2"]          # the SA at 8/8
    lines = ["| design | kind | area (µm²) | " +
             " | ".join(f"{d}/8" for d in DENSITIES) + " |",
             "| --- | --- | ---: |" + " ---: |" * len(DENSITIES)]
    for r in rows:
        lines.append(f"| `{r['design']}` | {r['kind']} | {r['area_um2']:,.0f} | " +
                     " | ".join(f"{p['per_mm2'] / base:.2f}" for p in r["points"]) + " |")
    return "\n".join(lines)


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    base = rows[0]["points"][0]["per_mm2"]
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for r in rows:
        xs = [100 * p["sparsity"] for p in r["points"]]
        ax.plot(xs, [p["per_mm2"] / base for p in r["points"]], marker="o", label=r["kind"])
    ax.set_xlabel("weight sparsity (%)")
    ax.set_ylabel("effective throughput / logic area\n(vs the SA at 0 %)")
    ax.set_title("128 nominal MACs/cycle, 64x512x64 GEMM (cf. Fig. 12(a))")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sim", choices=("icarus", "verilator"), default="verilator")
    parser.add_argument("--update-readme", action="store_true")
    parser.add_argument("--plot", metavar="PNG")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    progress = Progress()
    rows = [measure(name, args.sim, progress) for name in DESIGNS]
    print(table([(r["design"], p["nnz"], p["cycles"], p["effective_macs_per_cycle"],
                  p["per_mm2"], "yes" if p.get("rtl_checked") else "")
                 for r in rows for p in r["points"]],
                ("design", "NNZ", "cycles", "eff. MACs/cycle", "per mm²", "RTL")))
    text = markdown(rows)
    print(text)
    if args.update_readme:
        update_readme(text, "sta-fig12")
    if args.plot:
        plot(rows, args.plot)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
