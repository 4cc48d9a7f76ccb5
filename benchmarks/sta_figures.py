"""Measure the STA family's acceptance figures on the generated RTL.

    .venv/bin/python benchmarks/sta_figures.py [--sim verilator] [--json out.json]

1. Utilization of a 64×64×64 GEMM on the 8×8 classic systolic array (target ≥ 0.95).
2. VDBB speed-up with a long K (2048) on the default 2×8×4_2×2 design: cycles at 8/8 divided by
   cycles at n/8, against 0.95 × 8/n, for n = 1, 2, 4.
3. For every small STA preset (the paper_ arrays excluded): generation time, byte-identical
   regeneration, Verilator lint, Yosys generic synthesis (cells, flops).

Every run is checked bit-exact against the golden GEMM and its cycles against the cycle model.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from sparseforge.gen.emit import verilog_text
from sparseforge.gen.lint import lint_verilog
from sparseforge.gen import registry
from sparseforge.gen.presets import load_preset
from sparseforge.gen.report import Progress, table
from sparseforge.gen.sta.run import prepare_gemm, run_gemm_rtl
from sparseforge.gen.synth import synth


def gemm_run(name, shape, nnz, simulator, progress):
    cfg = load_preset(name)
    act, weights, nnz = prepare_gemm(cfg, shape=shape, nnz=nnz, act_density=0.5, seed=1)
    report, _ = run_gemm_rtl(cfg, act, weights, nnz, simulator=simulator, progress=progress)
    assert report["mismatches"] == 0, f"{name} {shape} nnz {nnz}: result mismatches"
    assert report["cycles"] == report["model_cycles"], f"{name}: cycles differ from the model"
    return report


def utilization(simulator, progress):
    report = gemm_run("sa_8x8", (64, 64, 64), 1, simulator, progress)
    return {"design": "sa_8x8", "gemm": "64x64x64", "cycles": report["cycles"],
            "ideal_cycles": report["ideal_cycles"], "utilization": report["utilization"],
            "target": 0.95, "met": report["utilization"] >= 0.95}


def vdbb_speedup(simulator, progress):
    shape = (8, 2048, 16)        # 2 × 2 output tiles of the 4×8-tile default design, K = 2048
    cycles = {nnz: gemm_run("vdbb_2x8x4_2x2", shape, nnz, simulator, progress)["cycles"]
              for nnz in (8, 4, 2, 1)}
    rows = []
    for nnz in (4, 2, 1):
        speedup = cycles[8] / cycles[nnz]
        target = 0.95 * 8 / nnz
        rows.append({"nnz": nnz, "cycles": cycles[nnz], "dense_cycles": cycles[8],
                     "speedup": speedup, "target": target, "met": speedup >= target})
    return rows


def preset_checks(progress):
    rows = []
    for name in registry.get("sta").presets:
        if name.startswith("paper_"):         # the 4 TOPS arrays: generation and area runs only
            continue
        cfg = load_preset(name)
        start = time.monotonic()
        text = verilog_text(cfg)
        generation = time.monotonic() - start
        identical = verilog_text(cfg) == text
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{name}.v"
            path.write_text(text)
            lint = lint_verilog(path, name)
            progress(f"synthesizing {name}")
            area = synth(path, name, "generic", work_dir=Path(tmp) / "synth")
        rows.append({"design": name, "generation_s": round(generation, 2),
                     "byte_identical": identical, "lint_clean": lint.ok,
                     "cells": area["cells"], "flops": area["flops"]})
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sim", choices=("icarus", "verilator"), default="verilator")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    progress = Progress()

    util = utilization(args.sim, progress)
    speed = vdbb_speedup(args.sim, progress)
    presets = preset_checks(progress)

    print("\n1. Utilization, 64x64x64 GEMM on sa_8x8")
    print(table([(util["cycles"], util["ideal_cycles"], util["utilization"], util["target"],
                  "yes" if util["met"] else "NO")],
                ("cycles", "ideal", "utilization", "target", "met")))
    print("\n2. VDBB speed-up, 8x2048x16 GEMM on vdbb_2x8x4_2x2 (8/8 cycles / n/8 cycles)")
    print(table([(f"{r['nnz']}/8", r["cycles"], r["speedup"], r["target"],
                  "yes" if r["met"] else "NO") for r in speed],
                ("density", "cycles", "speed-up", "target", "met")))
    print("\n3. Presets: generation, reproducibility, lint, generic synthesis")
    print(table([(r["design"], r["generation_s"], r["byte_identical"], r["lint_clean"],
                  r["cells"], r["flops"]) for r in presets],
                ("design", "gen s", "identical", "lint clean", "cells", "flops")))
    figures = {"utilization": util, "vdbb_speedup": speed, "presets": presets}
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    ok = util["met"] and all(r["met"] for r in speed) and \
        all(r["byte_identical"] and r["lint_clean"] for r in presets)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
