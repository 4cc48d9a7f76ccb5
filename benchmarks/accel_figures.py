"""Measure the VDBB accelerator's figures: IM2COL magnification, utilization, ResNet-50 totals.

    .venv/bin/python benchmarks/accel_figures.py [--rtl-layers L1,L2,...] [--update-readme]

1. IM2COL magnification (reads without IM2COL / reads with it) of ResNet-50's 3×3 stride-1
   layers on ``accel_small`` and ``accel_paper`` (target ≥ 2.5; the paper reports 3×).
2. Utilization of ResNet-50's 3×3 layers at 3/8 density on ``accel_small``: useful MACs (dense
   MACs × NNZ/8) over multipliers × cycles, and the tile utilization (the padded tiles' ideal
   cycles over the cycles), which does not count the slots the output tiles pad.
3. ResNet-50 total cycles, speed-up over 8/8 as a fraction of 8/NNZ, utilization and weight bytes
   (the SRAM image against the paper's 8·NNZ + 8 bits a block) at 8/8, 4/8, 3/8, 2/8 and 1/8 on
   ``accel_paper``, from the cycle model; layers larger than the SRAMs run as time tiles with
   their DMA reloads (``--dma-bytes``, default 8 bytes a cycle; sim/accel/tiling.py), and the
   table says how many cycles the reloads add, how many layers are tiled and how many refused
   (counted as one job as if they fit); ``--rtl-layers`` also runs those layers of ResNet-50 on
   the generated RTL (Verilator) at 3/8 and checks them bit-exact and cycle-exact.
4. The time to generate ``accel_paper``'s Verilog (``--generation``).

The cycle model and the read counts are the ones the regression checks exact against the RTL on
every layer it runs (tests/test_accel_regression.py).
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from sparseforge.gen.accel.run import network_report, prepare_layer, run_layer_rtl
from sparseforge.gen.emit import generate
from sparseforge.gen.presets import load_preset
from sparseforge.gen.reproduce.sta import resnet_3x3
from sparseforge.gen.report import Progress, table
from sparseforge.sim import workloads
from sparseforge.sim.accel import plan as accel_plan

from readme import update_readme

DENSITIES = (8, 4, 3, 2, 1)


def resnet_totals(cfg, rtl_layers, simulator, progress, dma_bytes=None):
    totals = {}
    checked = {}
    for nnz in DENSITIES:
        report = network_report(cfg, "resnet50", nnz, dma_bytes=dma_bytes)
        totals[nnz] = report
    for name in rtl_layers:
        layer = workloads.layer(f"resnet50.{name}")
        plan = accel_plan.plan_layer(cfg, layer.h, layer.w, layer.c, layer.k, layer.r, layer.s,
                                     layer.stride, layer.pad, 3)
        x, w = prepare_layer(cfg, plan, seed=1)
        report, _ = run_layer_rtl(cfg, plan, x, w, simulator=simulator, progress=progress)
        assert report["mismatches"] == 0, f"{name}: RTL result differs from the golden model"
        assert report["cycles"] == report["model_cycles"], f"{name}: RTL cycles differ"
        checked[name] = report["cycles"]
    return totals, checked


def readme_table(totals, checked, generation=None):
    base = totals[8]["total_cycles"]
    lines = ["| weight density | total cycles | of which reloads | time-tiled layers (refused) | "
             "speed-up vs 8/8 | ÷ 8/NNZ | utilization | "
             "tile utilization | effective TOPS at 1 GHz | weight bytes | paper's bytes |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for nnz in DENSITIES:
        r = totals[nnz]
        speedup = base / r["total_cycles"]
        refused = len(r["refused_layers"])
        lines.append(f"| {nnz}/8 | {r['total_cycles']:,} | {r['total_reload_cycles']:,} | "
                     f"{r['tiled_layers']}" + (f" ({refused})" if refused else "") +
                     f" | {speedup:.2f} | "
                     f"{speedup / (8 / nnz):.3f} | {r['utilization']:.3f} | "
                     f"{r['tile_utilization']:.3f} | {r['effective_tops_at_1ghz']:.2f} | "
                     f"{r['weight_bytes']:,} | {r['paper_weight_bytes']:,.0f} |")
    if checked:
        lines.append("")
        lines.append("Layers also run on the generated RTL at 3/8 (Verilator), bit-exact and with "
                     "cycles equal to the model: " +
                     ", ".join(f"`{n}` ({c:,} cycles)" for n, c in checked.items()) + ".")
    if generation:
        seconds, megabytes = generation
        lines.append("")
        lines.append(f"Generating `accel_paper`'s Verilog ({megabytes:.1f} MB) took "
                     f"{seconds:.0f} s.")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rtl-layers", default="", metavar="L1,L2",
                        help="ResNet-50 layers to also run on accel_paper's RTL at 3/8")
    parser.add_argument("--sim", choices=("icarus", "verilator"), default="verilator")
    parser.add_argument("--generation", action="store_true",
                        help="time the generation of accel_paper's Verilog")
    parser.add_argument("--dma-bytes", type=int, metavar="N",
                        help="DMA bytes a cycle for time-tiled layers (default 8)")
    parser.add_argument("--update-readme", action="store_true")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    progress = Progress()
    small, paper = load_preset("accel_small"), load_preset("accel_paper")
    figures = {}

    print("1, 2. ResNet-50 3x3 stride-1 layers at 3/8: utilization on accel_small, "
          "IM2COL magnification on both presets")
    rows_small = resnet_3x3(small, 3)
    rows_paper = resnet_3x3(paper, 3)
    print(table([(a["layer"], a["patch"], a["utilization"], a["tile_utilization"],
                  a["magnification"], b["patch"], b["magnification"])
                 for a, b in zip(rows_small, rows_paper)],
                ("layer", "small patch", "small util", "small tile util", "small magn.",
                 "paper patch", "paper magn.")))
    figures["resnet50_3x3"] = {"accel_small": rows_small, "accel_paper": rows_paper}
    print(f"min utilization {min(r['utilization'] for r in rows_small):.4f}, tile utilization "
          f"{min(r['tile_utilization'] for r in rows_small):.4f} (target 0.9); "
          f"min magnification {min(r['magnification'] for r in rows_small + rows_paper):.2f} "
          "(target 2.5)")

    generation = None
    if args.generation:
        with tempfile.TemporaryDirectory() as tmp:
            progress("generating accel_paper's Verilog")
            start = time.monotonic()
            v_path, _ = generate(paper, tmp)
            generation = (time.monotonic() - start, v_path.stat().st_size / 1e6)
        print(f"\n4. accel_paper Verilog generated in {generation[0]:.0f} s "
              f"({generation[1]:.1f} MB)")
        figures["generation_seconds"] = generation[0]

    names = [n for n in args.rtl_layers.split(",") if n]
    totals, checked = resnet_totals(paper, names, args.sim, progress, args.dma_bytes)
    print("\n3. ResNet-50 on accel_paper (4x8x8_4x8 VDBB, IM2COL), cycle model")
    text = readme_table(totals, checked, generation)
    print(text)
    figures["resnet50_paper"] = {str(n): {k: v for k, v in r.items() if k != "layers"}
                                 for n, r in totals.items()}
    figures["rtl_checked"] = checked
    if args.update_readme:
        update_readme(text, "accel-resnet")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
