"""The digits CNN classified by generated RTL: 100 test images on Verilator, every layer checked.

    .venv/bin/python benchmarks/network_rtl.py [--images 100] [--update-readme]
        [--json benchmarks/results/network_rtl.json]

Every convolution of the INT8 digits CNN (:mod:`sparseforge.sim.network`) runs through the
generated Verilog of :data:`RUNS`' designs, image after image: on the VDBB accelerator
(``accel_small``, 64 MACs) with per-channel requantization on chip and layers chained in its
activation SRAM, pooling on the host; on SCNN (the ``scnn_digits`` preset: 2×2 PEs of the
Table 3 PE on 4×4 tiles, 64 multipliers) with the bias as an input channel of ones and
requantization and pooling on the host; on SparseCore (``sparsecore_digits``: 4 PEs × 16 ALUs at
2/4) with requantization, ReLU and pooling on chip, layers breaking 2/4 (conv1) spread two
channels to a group of four. Each layer's output is compared element by element with
the golden network, the RTL's classes give its accuracy, and its cycles are compared with the
cycle model.

``--update-readme`` writes the table between the ``network-rtl`` markers of README.md.
"""

import argparse
import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace

from sparseforge.gen.presets import load_preset
from sparseforge.gen.report import Progress, table
from sparseforge.gen.run_network import run_model, target_for

from readme import update_readme


RUNS = [("accel_small", "dense"), ("accel_small", "vdbb:4/8"), ("accel_small", "vdbb:2/8"),
        ("scnn_digits", "density:0.5"), ("scnn_digits", "density:0.3"),
        ("sparsecore_digits", "km:2/4"), ("sparsecore_digits", "km:1/4")]


def _design(name):
    cfg = load_preset(name)
    return cfg, target_for(cfg)


def sweep(images, progress, designs=None):
    rows = []
    for design, prune in RUNS:
        if designs and design not in designs:
            continue
        cfg, target = _design(design)
        args = SimpleNamespace(model="digits_cnn", prune=prune, images=images,
                               model_only=False, sim="verilator")
        start = time.perf_counter()
        report, ok = run_model(cfg, target, args, progress)
        report["seconds"] = time.perf_counter() - start
        report["ok"] = ok
        progress(f"{design} {prune}: accuracy RTL {report['accuracy']:.3f} golden "
                 f"{report['accuracy_golden']:.3f}, mismatches {report['mismatches']['total']}, "
                 f"cycles {report['cycles']['total']} (model {report['model_cycles']['total']})")
        rows.append(report)
    return rows


def markdown(rows):
    lines = ["| design | pruning | conv2–4 density | images | RTL accuracy | golden accuracy | "
             "mismatching elements | cycles per image (RTL = model) | conv1 / conv2 / conv3 / "
             "conv4 | wall time |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |"]
    for r in rows:
        n = r["images"]
        same = r["cycles"] == r["model_cycles"]
        per_layer = " / ".join(f"{r['cycles'][layer['name']] / n:,.0f}" for layer in r["layers"])
        lines.append(
            f"| {r['config']} | {r['prune']} | {r['weight_density']:.2f} | {n} | "
            f"{r['accuracy'] * 100:.1f} % | {r['accuracy_golden'] * 100:.1f} % | "
            f"{r['mismatches']['total']} | {r['cycles']['total'] / n:,.0f}"
            f"{'' if same else ' (model differs)'} | {per_layer} | {r['seconds']:.0f} s |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--update-readme", action="store_true")
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--designs", nargs="+", metavar="PRESET",
                        help="run only these designs; the other rows are kept from --json")
    args = parser.parse_args(argv)
    rows = sweep(args.images, Progress(), args.designs)
    print(table([(r["config"], r["prune"], r["images"], r["accuracy"], r["accuracy_golden"],
                  r["mismatches"]["total"], r["cycles"]["total"], r["model_cycles"]["total"],
                  r["seconds"]) for r in rows],
                ("design", "prune", "images", "RTL acc", "golden acc", "mismatches", "cycles",
                 "model", "seconds")))
    if args.designs and args.json and Path(args.json).exists():
        kept = json.loads(Path(args.json).read_text())["runs"]
        fresh = {(r["config"], r["prune"]): r for r in rows}
        kept = {(r["config"], r["prune"]): r for r in kept if r["config"] not in args.designs}
        rows = [fresh.get(key) or kept[key] for key in RUNS if key in fresh or key in kept]
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": rows},
                                              indent=2) + "\n")
    if args.update_readme:
        update_readme(markdown(rows), "network-rtl")
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
