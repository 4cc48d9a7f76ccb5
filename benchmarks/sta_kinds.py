"""Compare the four STA kinds at equal nominal throughput, as the paper's Fig. 9 does.

    .venv/bin/python benchmarks/sta_kinds.py [--update-readme] [--plot sta_kinds.png]

The ``iso128_*`` presets each deliver 128 dense-equivalent MACs per cycle at the paper's nominal
4/8 weight density for the sparse kinds (see ``StaConfig.nominal_macs_per_cycle``). For each
design this measures

* area: Yosys with the OSU 0.18 µm standard-cell liberty (µm², logic only: there is no SRAM here);
* cycles for one 64×512×64 GEMM at 3/8 weight density (the paper's typical DBB sparsity) and
  50 % activation density, run on the generated RTL (Verilator), checked bit-exact and against
  the cycle model;
* effective throughput per area: dense-equivalent MACs (M·K·N) per cycle per mm².

and prints a table with each figure as a ratio to the ``sa`` baseline. ``--update-readme`` writes
the table into README.md between the ``sta-kinds`` markers.
"""

import argparse
import sys
import tempfile
from pathlib import Path

from sparseforge.gen.emit import generate
from sparseforge.gen.presets import load_preset
from sparseforge.gen.report import Progress
from sparseforge.gen.sta.run import prepare_gemm, run_gemm_rtl
from sparseforge.gen.synth import synth
from sparseforge.sim.sta import dbb

from readme import update_readme

DESIGNS = ["iso128_sa_8x16", "iso128_sta_2x4x2_2x4", "iso128_dbb_2x8x2_2x2",
           "iso128_vdbb_4x8x4_2x2"]
SHAPE = (64, 512, 64)
WEIGHT_NNZ = 3            # of 8: 3/8 weight density


def measure(name, simulator, progress):
    cfg = load_preset(name)
    with tempfile.TemporaryDirectory() as tmp:
        v_path, _ = generate(cfg, tmp)
        progress(f"synthesizing {name} with the OSU 0.18 µm liberty")
        area = synth(v_path, name, "liberty", work_dir=Path(tmp) / "synth")
    # Dense kinds take the 3/8-dense weights as they are; the hardware cannot skip their zeros.
    nnz = WEIGHT_NNZ if cfg.sparse else cfg.max_nnz
    act, weights, nnz = prepare_gemm(cfg, shape=SHAPE, nnz=nnz, act_density=0.5, seed=1)
    if not cfg.sparse:
        weights = dbb.prune(weights, WEIGHT_NNZ, 8, axis=0)
    report, _ = run_gemm_rtl(cfg, act, weights, nnz, simulator=simulator, progress=progress)
    assert report["mismatches"] == 0 and report["cycles"] == report["model_cycles"], name
    macs = SHAPE[0] * SHAPE[1] * SHAPE[2]
    return {
        "design": name, "kind": cfg.kind, "notation": cfg.notation, "macs": cfg.macs_total,
        "area_um2": area["area_um2"], "cycles": report["cycles"],
        "utilization": report["utilization"],
        "throughput_per_mm2": macs / report["cycles"] / (area["area_um2"] / 1e6),
    }


def markdown(rows):
    base = rows[0]
    lines = [
        "| design | kind | MACs | area (µm²) | area vs SA | cycles at 3/8 | speed-up vs SA "
        "| eff. throughput / area vs SA |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| `{r['design']}` | {r['kind']} | {r['macs']} | {r['area_um2']:,.0f} | "
            f"{r['area_um2'] / base['area_um2']:.2f} | {r['cycles']:,} | "
            f"{base['cycles'] / r['cycles']:.2f} | "
            f"{r['throughput_per_mm2'] / base['throughput_per_mm2']:.2f} |")
    return "\n".join(lines)


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    base = rows[0]
    names = [r["kind"] for r in rows]
    series = {
        "area": [r["area_um2"] / base["area_um2"] for r in rows],
        "speed-up at 3/8": [base["cycles"] / r["cycles"] for r in rows],
        "throughput / area": [r["throughput_per_mm2"] / base["throughput_per_mm2"]
                              for r in rows],
    }
    fig, ax = plt.subplots(figsize=(7, 3.6))
    width = 0.26
    for k, (label, values) in enumerate(series.items()):
        xs = [i + (k - 1) * width for i in range(len(rows))]
        bars = ax.bar(xs, values, width, label=label)
        ax.bar_label(bars, fmt="%.2f", fontsize=7)
    ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.set_xticks(range(len(rows)), names)
    ax.set_ylabel("ratio to the SA baseline")
    ax.set_title("STA kinds at 128 nominal MACs/cycle, 64x512x64 GEMM at 3/8 weights")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sim", choices=("icarus", "verilator"), default="verilator")
    parser.add_argument("--update-readme", action="store_true")
    parser.add_argument("--plot", metavar="PNG", help="also draw the ratios as a bar chart")
    args = parser.parse_args(argv)
    progress = Progress()
    rows = [measure(name, args.sim, progress) for name in DESIGNS]
    text = markdown(rows)
    print(text)
    if args.update_readme:
        update_readme(text, "sta-kinds")
    if args.plot:
        plot(rows, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
