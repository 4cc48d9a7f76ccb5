"""Test accuracy of the digits CNN against weight sparsity, for each of the papers' schemes.

    .venv/bin/python benchmarks/network_accuracy.py [--update-readme]
        [--plot benchmarks/results/network_accuracy.png]
        [--json benchmarks/results/network_accuracy.json]

The committed network (:mod:`sparseforge.sim.network`: four convolutions and a classifier,
trained 20 epochs from seed 1 on 1,347 of scikit-learn's 8×8 digits) is pruned by each scheme —
VDBB NNZ/8 for NNZ 8…1 (STA paper, Sec. V-A), k/m along the output depth 1/4, 2/4, 2/8, 4/8
(SparseCore, Sec. 2.1), unstructured magnitude pruning to densities 0.9…0.1 (SCNN, CCR) — and
fine-tuned (three pruning steps of one epoch, then four epochs; seeded), then quantized to INT8
calibrated on the training images. Accuracies are on the 450 test images, float and INT8 (the
integer golden inference, the arithmetic the hardware runs). Conv1 and the classifier stay
dense; "density" is the measured fraction of non-zero INT8 weights in conv2–conv4.

``--update-readme`` writes the table between the ``network-accuracy`` markers of README.md.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from sparseforge.gen.report import table
from sparseforge.sim.network import data, model, prune, quantize, train

from readme import update_readme

SCHEMES = (["dense"] + [f"vdbb:{n}/8" for n in range(8, 0, -1)]
           + ["km:4/8", "km:2/4", "km:2/8", "km:1/4"]
           + [f"density:{d / 10:g}" for d in range(9, 0, -1)])


def sweep(schemes=SCHEMES, log=print):
    digits = data.load()
    rows = []
    for text in schemes:
        start = time.perf_counter()
        qnet, params, _ = train.network(text)
        seconds = time.perf_counter() - start
        pruned = [layer.w for layer in qnet.layers[1:]]
        density = sum(np.count_nonzero(w) for w in pruned) / sum(w.size for w in pruned)
        scheme = prune.parse_scheme(text)
        assert all(prune.conforms(scheme, w) for w in pruned), text
        row = {"scheme": text, "kind": scheme.kind, "nominal_density": scheme.weight_density,
               "density": density,
               "float": model.accuracy(params, digits.test_x, digits.test_y),
               "int8": quantize.accuracy(qnet, digits.test_x, digits.test_y),
               "seconds": seconds}
        log(f"{text:12s} density {density:.3f}  float {row['float']:.4f}  "
            f"INT8 {row['int8']:.4f}  ({seconds:.1f} s)")
        rows.append(row)
    return rows


def markdown(rows, meta):
    lines = [
        f"Float network as trained: {float(meta['test_accuracy_float']) * 100:.1f} % "
        f"({int(meta['epochs'])} epochs, {float(meta['train_seconds']):.0f} s on a shared core); "
        f"INT8: {float(meta['test_accuracy_int8']) * 100:.1f} % (450 test images, one image = "
        "0.22 points, so differences under about half a point are noise; the pruned rows had "
        "seven more epochs of training than the dense one).",
        "",
        "| scheme | conv2–4 weight density | float accuracy | INT8 accuracy |",
        "| --- | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(f"| {r['scheme']} | {r['density']:.3f} | {r['float'] * 100:.1f} % | "
                     f"{r['int8'] * 100:.1f} % |")
    return "\n".join(lines)


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4))
    dense = next(r for r in rows if r["kind"] == "dense")
    ax.axhline(dense["int8"] * 100, color="grey", linestyle=":", label="dense INT8")
    for kind, label, style in (("vdbb", "VDBB NNZ/8 (STA)", "o-"),
                               ("km", "k/m along output depth (SparseCore)", "s-"),
                               ("density", "unstructured (SCNN, CCR)", "^-")):
        sel = sorted((r for r in rows if r["kind"] == kind), key=lambda r: r["density"])
        xs, ys = [1 - r["density"] for r in sel], [r["int8"] * 100 for r in sel]
        if kind == "km":    # two schemes per sparsity: points, each named
            ax.plot(xs, ys, style[0], label=label)
            names = {}
            for x, y, r in zip(xs, ys, sel):
                names.setdefault((x, y), []).append(r["scheme"][3:])
            for (x, y), text in names.items():
                ax.annotate(", ".join(text), (x, y), textcoords="offset points",
                            xytext=(5, -3), fontsize=7)
        else:
            ax.plot(xs, ys, style, label=label)
    ax.set_xlabel("weight sparsity of conv2–conv4 (INT8 zeros)")
    ax.set_ylabel("INT8 test accuracy (%)")
    ax.set_title("digits CNN (sklearn digits, 450 test images), pruned + fine-tuned")
    ax.grid(True, linewidth=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--update-readme", action="store_true")
    parser.add_argument("--plot", metavar="PNG")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    _, _, meta = train.load_trained()
    start = time.perf_counter()
    rows = sweep()
    total = time.perf_counter() - start
    print(table([(r["scheme"], r["density"], r["float"], r["int8"], r["seconds"]) for r in rows],
                ("scheme", "density", "float", "INT8", "seconds")))
    print(f"{len(rows)} schemes in {total:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": {k: float(v) for k, v in meta.items()},
                                               "rows": rows}, indent=2) + "\n")
    if args.plot:
        plot(rows, args.plot)
    if args.update_readme:
        update_readme(markdown(rows, meta), "network-accuracy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
