"""Sparse-Blox on SCNN with the trained network: Spex over SCNN's 4×4 blocks, then the chosen
thresholds in scnn_digits_blox's model (Hotfilter et al., III-B, IV-B).

    python benchmarks/sparseblox_scnn_network.py [--population 15] [--generations 10]
                                                 [--limit 6000] [--images 100]

Runs ``sparseforge spex --config scnn_digits_blox --form scnn`` (NSGA-II over Q24.8 thresholds
on ``relu(acc + bias)``), takes the front point within one percentage point of the unpruned
accuracy (its ``thresholds.json``), and runs ``sparseforge run scnn_digits_blox --model
digits_cnn --model-only`` on the first ``--images`` test images with and without it: the
cycle model's cycles per layer (the next layers multiply the pruned maps' fewer non-zeros; every
layer pays the PPU's block pass in both runs, the design being the same). Writes
benchmarks/results/sparseblox_scnn_network.json and the README between the
sparseblox-scnn-net markers. Model figures only: the RTL run of this design is not part of it.
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

from readme import update_readme

from sparseforge.gen.cli import main_captured

RESULTS = Path(__file__).resolve().parent / "results"
CONFIG = "scnn_digits_blox"


def cli(*args):
    status, out, err = main_captured([*map(str, args)])
    if status != 0:
        raise SystemExit(f"sparseforge {args[0]} failed ({status}): {err[-2000:]}")
    return json.loads(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--population", type=int, default=15)
    ap.add_argument("--generations", type=int, default=10)
    ap.add_argument("--limit", type=float, default=6000.0)
    ap.add_argument("--images", type=int, default=100)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        spex = cli("spex", "--config", CONFIG, "--form", "scnn", "--population",
                   args.population, "--generations", args.generations, "--limit", args.limit,
                   "-o", tmp, "--json", "-q")
        spex_seconds = time.perf_counter() - start
        thresholds = Path(tmp) / "thresholds.json"
        kept = RESULTS / "sparseblox_scnn_thresholds.json"
        kept.write_text(thresholds.read_text())
    common = ("run", CONFIG, "--model", "digits_cnn", "--model-only", "--images", args.images,
              "--json", "-q")
    pruned = cli(*common, "--thresholds", kept)
    plain = cli(*common)
    doc = {"config": CONFIG, "spex": {k: spex[k] for k in (
        "form", "blocks", "images", "evaluations", "baseline_accuracy", "front", "chosen")},
           "spex_seconds": spex_seconds, "images": args.images, "pruned": pruned,
           "unpruned": plain}
    (RESULTS / "sparseblox_scnn_network.json").write_text(json.dumps(doc, indent=2) + "\n")

    chosen = spex["chosen"]
    rows = ["| layer | threshold (Q24.8) | blocks | created | already zero | cycles pruned | "
            "cycles unpruned |", "|---|---:|---:|---:|---:|---:|---:|"]
    for row in pruned["blox"]:
        name = row["layer"]
        threshold = "–" if row["threshold"] is None else f"{row['threshold']:g}"
        rows.append(f"| {name} | {threshold} | {row.get('blocks_total', 0):,} | "
                    f"{row.get('blocks_pruned', 0):,} | {row.get('blocks_zero_before', 0):,} | "
                    f"{pruned['model_cycles'][name]:,} | {plain['model_cycles'][name]:,} |")
    total_p, total_u = pruned["model_cycles"]["total"], plain["model_cycles"]["total"]
    text = "\n".join([
        f"Spex over SCNN's blocks (`spex --config {CONFIG} --form scnn`, population "
        f"{args.population} × {args.generations} generations, {spex['evaluations']} evaluations "
        f"of the 450 test images, {spex_seconds:.0f} s; thresholds 0–{args.limit:g} on the "
        f"accumulator scale): {len(spex['front'])} front points; unpruned accuracy "
        f"{100 * spex['baseline_accuracy']:.1f} %. At the point within 1 percentage point "
        f"({100 * chosen['accuracy']:.1f} %): **{100 * chosen['created_share']:.1f} % of the "
        f"blocks created, {100 * chosen['macs_saved_share']:.1f} % of the network's MACs and "
        f"{100 * chosen['transfers_saved_share']:.1f} % of the stored-map transfers saved** "
        "(NetworkPruning's counts: a consumer MAC whose activation was pruned), beside the "
        "paper's ResNet-50 on SCNN (14.9 %, 19.0 %, 18.9 %).", "",
        f"Those thresholds in `{CONFIG}`'s cycle model (`run --model digits_cnn --model-only "
        f"--thresholds`, the first {args.images} test images; accuracy "
        f"{100 * pruned['accuracy_golden']:.1f} % pruned, {100 * plain['accuracy_golden']:.1f} % "
        "unpruned):", "", *rows, "",
        f"All layers: {total_u:,} cycles unpruned, {total_p:,} pruned: **{total_u - total_p:+,} "
        f"({100 * (total_u - total_p) / total_u:+.1f} %)**, from the cycle model (SCNN's layer "
        "after a pruned map multiplies fewer non-zeros; the RTL's cycles equal the model's "
        "where measured, see the `--conv` table above), not from an RTL run of this design."])
    update_readme(text, "sparseblox-scnn-net")
    print(text)


if __name__ == "__main__":
    main()
