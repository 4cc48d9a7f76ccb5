"""Spex's chosen thresholds on the RTL: the digits CNN classified by accel_small_blox with every
layer's output map pruned by the generated hardware (Hotfilter et al., IV-B).

    python benchmarks/sparseblox_network_rtl.py [--images 20] [--sim verilator]

Takes the front point within one percentage point of the unpruned accuracy from
benchmarks/results/sparseblox_spex.json (``benchmarks/sparseblox_figures.py``), writes its
thresholds file (benchmarks/results/sparseblox_thresholds.json, what ``sparseforge spex``
writes), runs ``sparseforge run accel_small_blox --model digits_cnn --thresholds FILE`` on the
RTL and the same images without thresholds, and records both (every layer bit-exact with the
pruned golden network, cycles and cache counters equal to the models) in
benchmarks/results/sparseblox_network_rtl.json and the README between the sparseblox-rtl markers.
"""

import argparse
import json
import time
from pathlib import Path

from readme import update_readme

from sparseforge.gen.cli import main_captured
from sparseforge.sim.network.model import LAYERS
from sparseforge.sim.sparseblox.spex import save_thresholds

RESULTS = Path(__file__).resolve().parent / "results"
CONFIG = "accel_small_blox"


def run(*args):
    start = time.perf_counter()
    status, out, err = main_captured(["run", CONFIG, "--model", "digits_cnn", "--json", "-q",
                                      *map(str, args)])
    if status != 0 and not out:
        raise SystemExit(f"sparseforge run failed ({status}): {err[-2000:]}")
    report = json.loads(out)
    report["exit_status"] = status
    report["seconds"] = time.perf_counter() - start
    return report


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=20)
    ap.add_argument("--sim", default="verilator", choices=("verilator", "icarus"))
    args = ap.parse_args()
    spex = json.loads((RESULTS / "sparseblox_spex.json").read_text())
    chosen = spex["chosen"]["map"]
    thresholds = RESULTS / "sparseblox_thresholds.json"
    save_thresholds(thresholds, [spec.name for spec in LAYERS], chosen["raw"])
    pruned = run("--thresholds", thresholds, "--images", args.images, "--sim", args.sim)
    plain = run("--images", args.images, "--sim", args.sim)
    doc = {"config": CONFIG, "images": args.images, "simulator": args.sim,
           "thresholds_file": thresholds.name, "spex_chosen": chosen, "pruned": pruned,
           "unpruned": plain}
    (RESULTS / "sparseblox_network_rtl.json").write_text(json.dumps(doc, indent=2) + "\n")

    ok = pruned["exit_status"] == 0 and plain["exit_status"] == 0
    rows = ["| layer | threshold | blocks | pruned (model) | cached / refused (RTL) | words saved "
            "| steps dropped (RTL; model) | array MACs skipped | cycles pruned | "
            "cycles unpruned |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in pruned["blox"]:
        name = row["layer"]
        dropped = (f"{row['rtl_steps_dropped']:,}; {row['steps_dropped']:,}"
                   if "rtl_steps_dropped" in row else "–")
        rows.append(f"| {name} | {row['threshold']:.3f} | {row.get('blocks_total', 0):,} | "
                    f"{row.get('blocks_pruned', 0):,} | {row.get('rtl_blocks_cached', 0):,} / "
                    f"{row.get('rtl_blocks_refused', 0):,} | {row.get('act_words_saved', 0):,} | "
                    f"{dropped} | {row.get('macs_skipped', 0):,} | "
                    f"{pruned['cycles'][name]:,} | {plain['cycles'][name]:,} |")
    total_pruned, total_plain = pruned["cycles"]["total"], plain["cycles"]["total"]
    saved = total_plain - total_pruned
    layers = [row["layer"] for row in pruned["blox"] if row.get("rtl_steps_dropped")]
    skipped_layer = layers[0] if layers else None
    layer_saved = (plain["cycles"][skipped_layer] - pruned["cycles"][skipped_layer]
                   if skipped_layer else 0)
    text = "\n".join([
        f"Spex's chosen thresholds (the front point within 1 point of the unpruned accuracy) "
        f"loaded into `{CONFIG}`'s RTL by `run --model digits_cnn --thresholds "
        f"benchmarks/results/{thresholds.name}`, {args.images} test images on {args.sim} "
        f"({pruned['seconds']:.0f} s): "
        + ("every layer bit-exact with the pruned golden network, cycles and the cache's "
           "counters equal to the models" if ok else "**MISMATCH** (see the JSON)")
        + f"; RTL accuracy {100 * pruned['accuracy']:.1f} % pruned, "
          f"{100 * plain['accuracy']:.1f} % unpruned on these images (the whole test set, "
          f"model: {100 * chosen['accuracy']:.1f} % pruned, "
          f"{100 * spex['baseline_accuracy']:.1f} % unpruned).", "", *rows, "",
        f"Blocks pruned: {pruned['blocks_pruned']:,} of {pruned['blocks_total']:,} "
        f"({100 * pruned['blocks_pruned_share']:.1f} %). Cycles on the RTL, all layers: "
        f"{total_plain:,} unpruned, {total_pruned:,} pruned: **{saved:+,} cycles "
        f"({100 * saved / total_plain:+.2f} %)**"
        + (f"; {skipped_layer} alone (it reads conv1's pruned map on chip and drops the engine "
           f"steps whose words are all pruned) {layer_saved:+,} "
           f"({100 * layer_saved / plain['cycles'][skipped_layer]:+.2f} %)"
           if skipped_layer else "")
        + ". Each pruning layer also takes the output stage's fixed tail; the pooled maps "
        "(conv2's, conv3's) reach the next layer through the host, without flags, so only "
        "conv2 drops steps."])
    update_readme(text, "sparseblox-rtl")
    print(text)


if __name__ == "__main__":
    main()
