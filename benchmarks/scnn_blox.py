"""Sparse-Blox on SCNN: the next layer on the pruned map, on the RTL, and the area it costs.

    .venv/bin/python benchmarks/scnn_blox.py rtl  [--sim icarus] [--json FILE] [--update-readme]
    .venv/bin/python benchmarks/scnn_blox.py area [--json FILE] [--update-readme]
    .venv/bin/python benchmarks/scnn_blox.py rtl|area --from-json FILE [--update-readme]

``rtl``: on ``scnn_2x2_small_blox`` and the same design without Sparse-Blox (``scnn_2x2_small``),
a 4×10×6 → 4 layer (3×3) with non-negative 7-bit activations at density 0.6 and 7-bit weights at
density 0.5 (no accumulator wraps), at t = 0 and at the quartiles of the |means| of the output
map's 4×4 blocks (cut from the map's origin; the PEs cut theirs from their 3×5 tiles' origins).
For each threshold, four RTL runs: the layer on the Sparse-Blox design (its output is the pruned
map, bit-exact against the golden model), the layer on the plain design, and the next layer
(4 → 4, 3×3, seeded weights; :mod:`sparseforge.gen.scnn.blox_run`) on the pruned map (on the
Sparse-Blox design, threshold 0) and on the unpruned map (on the plain design). The products and
cycles are the RTL's registers and measured cycles; beside them, the cycle model's.

``area``: the liberty flow (OSU 0.18 µm, SRAM macros black boxes) of one PE of
``scnn_2x2_small`` with and without Sparse-Blox (4×4 blocks, the preset's cache of 2 × 32 5-bit
positions, every block of a 16-channel layer, as an SRAM macro), and of the block pruner (adder
tree, decision, cache control) on its own; Sparse-Blox's share of the PE's logic, and of its
logic and SRAM, beside Table I's 4.95 % on SCNN (32 nm).
"""

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from amaranth.back import verilog
from sparseforge.gen.presets import load_preset
from sparseforge.gen.report import Progress
from sparseforge.gen.scnn.blox_run import blox_report
from sparseforge.gen.scnn.run import run_layer_rtl
from sparseforge.gen.synth import SRAM_UM2_PER_BIT, synth
from sparseforge.hdl.scnn import ScnnPE
from sparseforge.hdl.scnn.blox import BlockPruner
from sparseforge.hdl.scnn.pe import pe_memories
from sparseforge.sim.scnn.golden import layer_output
from sparseforge.sim.sparseblox import block_stats

from readme import update_readme

#: Table I of Hotfilter et al.: Sparse-Blox's share of the SCNN accelerator's area (32 nm).
TABLE1_SHARE = 0.0495

SEED = 7


def workload(cfg):
    """The layer's operands: C = K = 4, 10 × 6, 3×3 (see the module docstring)."""
    rng = np.random.default_rng(SEED)
    act = rng.integers(1, 128, (4, 10, 6)) * (rng.random((4, 10, 6)) < 0.6)
    weights = rng.integers(-64, 65, (4, 4, 3, 3)) * (rng.random((4, 4, 3, 3)) < 0.5)
    return act.astype(np.int64), weights.astype(np.int64)


def thresholds(cfg, act, weights):
    """Raw thresholds just above the quartiles of the map's 4×4 blocks' |means| (scaled)."""
    out = layer_output(act, weights, cfg.acc_width)
    frac = cfg.sparseblox.frac_bits
    sums, n_valid, _ = block_stats(out, (1, 4, 4))
    means = np.sort((np.abs(sums[n_valid > 0]) << frac) // n_valid[n_valid > 0])
    return [int(np.quantile(means, q)) + 1 for q in (0.25, 0.5, 0.75)]


def rtl(sim, progress):
    blox = load_preset("scnn_2x2_small_blox")
    plain = load_preset("scnn_2x2_small")
    act, weights = workload(blox)
    rows = []
    for raw in [0] + thresholds(blox, act, weights):
        progress(f"threshold {raw}: four RTL runs on {sim}")
        fields, nxt = blox_report(blox, act, weights, raw, weight_density=0.5, seed=SEED)
        this_b, _ = run_layer_rtl(blox, act, weights, simulator=sim, threshold=raw)
        this_p, _ = run_layer_rtl(plain, act, weights, simulator=sim)
        next_b, _ = run_layer_rtl(blox, *nxt["pruned"], simulator=sim, threshold=0)
        next_p, _ = run_layer_rtl(plain, *nxt["unpruned"], simulator=sim)
        exact = all(r["mismatches"] == 0 and r["stream_mismatches"] == 0 and
                    r["cycles"] == r["model_cycles"] for r in (this_b, this_p, next_b, next_p))
        rows.append({
            "threshold": fields["threshold"], "threshold_raw": raw,
            "blocks_total": fields["blocks_total"], "blocks_pruned": fields["blocks_pruned"],
            "blocks_cached": fields["blocks_cached"],
            "rtl_blocks_cached": this_b["rtl_blocks_cached"],
            "act_words_not_written": fields["act_words_not_written"],
            "act_words_total": fields["act_words_total"],
            "next_products_unpruned": next_p["products"],
            "next_products_pruned": next_b["products"],
            "macs_skipped_rtl": next_p["products"] - next_b["products"],
            "macs_skipped_model": fields["macs_skipped"],
            "cycles_layer_blox": this_b["cycles"], "cycles_layer_plain": this_p["cycles"],
            "cycles_next_pruned_blox": next_b["cycles"],
            "cycles_next_unpruned_plain": next_p["cycles"],
            "cycles_saved_rtl": (this_p["cycles"] + next_p["cycles"]) -
                                (this_b["cycles"] + next_b["cycles"]),
            "cycles_saved_model": fields["cycles_saved"],
            "bit_and_cycle_exact": exact,
        })
    return {"design": blox.name, "layer": "4x10x6 -> 4, 3x3", "seed": SEED, "simulator": sim,
            "rows": rows}


def rtl_markdown(result):
    lines = [f"`benchmarks/scnn_blox.py rtl` on {result['simulator']}: {result['design']}, "
             f"a {result['layer']} layer and the next layer (4 → 4, 3×3) reading its output; "
             "RTL figures (the cycle model's agree where shown):", "",
             "| t | blocks pruned | output entries not written | next layer's products "
             "(unpruned → pruned) | MACs skipped (RTL = model) | cycles, both layers, without → "
             "with Sparse-Blox | cycles saved (RTL = model) | bit- and cycle-exact |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in result["rows"]:
        without = r["cycles_layer_plain"] + r["cycles_next_unpruned_plain"]
        with_b = r["cycles_layer_blox"] + r["cycles_next_pruned_blox"]
        same = "=" if r["macs_skipped_rtl"] == r["macs_skipped_model"] else "≠"
        csame = "=" if r["cycles_saved_rtl"] == r["cycles_saved_model"] else "≠"
        lines.append(
            f"| {r['threshold']:g} | {r['blocks_pruned']} of {r['blocks_total']} | "
            f"{r['act_words_not_written']} of {r['act_words_total']} | "
            f"{r['next_products_unpruned']:,} → {r['next_products_pruned']:,} | "
            f"{r['macs_skipped_rtl']:,} ({same}) | {without:,} → {with_b:,} | "
            f"{r['cycles_saved_rtl']:+,} ({csame}) | "
            f"{'yes' if r['bit_and_cycle_exact'] else 'NO'} |")
    return "\n".join(lines)


def _synth(top, name, work, progress, blackboxes=()):
    path = Path(work) / f"{name}.v"
    path.write_text(verilog.convert(top, name=name, emit_src=False))
    progress(f"synthesizing {name} (liberty flow)")
    start = time.time()
    result = synth(path, name, "liberty", work_dir=Path(work) / name,
                   blackbox_modules=[f"{name}.{box}" for box in blackboxes])
    return {"area_um2": result["area_um2"], "flops": result["flops"],
            "seconds": round(time.time() - start, 1)}


def area(progress):
    blox = load_preset("scnn_2x2_small_blox")
    plain = replace(blox, sparseblox=None)
    with tempfile.TemporaryDirectory(prefix="scnn-blox-area-") as work:
        s = {"pruner": _synth(BlockPruner(blox), "pruner", work, progress, ("cache.positions",)),
             "pe_blox": _synth(ScnnPE(blox, 0, 0), "pe_blox", work, progress,
                               pe_memories(blox)),
             "pe": _synth(ScnnPE(plain, 0, 0), "pe", work, progress, pe_memories(plain))}
    sram_bits = sum(rows * bits for rows, bits in pe_memories(plain).values())
    cache_bits = 2 * blox.sparseblox.capacity * blox.sparseblox.position_bits
    added = s["pe_blox"]["area_um2"] - s["pe"]["area_um2"]
    host = s["pe"]["area_um2"]
    host_all = host + sram_bits * SRAM_UM2_PER_BIT
    return {"design": blox.name, "synth": s, "blox_logic_um2": added, "pe_logic_um2": host,
            "share_of_logic": added / host, "pe_sram_bits": sram_bits,
            "cache_bits": cache_bits,
            "share_with_sram": (added + cache_bits * SRAM_UM2_PER_BIT) / host_all,
            "table1_share": TABLE1_SHARE}


def area_markdown(r):
    s = r["synth"]
    return "\n".join([
        f"`benchmarks/scnn_blox.py area`: one PE of {r['design']} (liberty flow, OSU 0.18 µm, "
        "RAMs black boxes):", "",
        "| part | logic µm² | flip-flops |", "| --- | ---: | ---: |",
        f"| block pruner (adder tree, decision, cache control) | {s['pruner']['area_um2']:,.0f} | "
        f"{s['pruner']['flops']} |",
        f"| PE with Sparse-Blox | {s['pe_blox']['area_um2']:,.0f} | {s['pe_blox']['flops']} |",
        f"| PE without | {s['pe']['area_um2']:,.0f} | {s['pe']['flops']} |",
        f"| **Sparse-Blox logic (with − without)** | **{r['blox_logic_um2']:,.0f}** | "
        f"{s['pe_blox']['flops'] - s['pe']['flops']} |", "",
        f"Sparse-Blox adds {r['share_of_logic']:.1%} to the PE's logic; with the cache's "
        f"{r['cache_bits']:,} bits of SRAM beside the PE's {r['pe_sram_bits']:,} (at "
        f"{SRAM_UM2_PER_BIT} µm²/bit), {r['share_with_sram']:.1%} of its logic and SRAM — against "
        f"{TABLE1_SHARE:.2%} on SCNN in the paper's Table I (32 nm)."])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("part", choices=("rtl", "area"))
    parser.add_argument("--sim", choices=("icarus", "verilator"), default="icarus")
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--update-readme", action="store_true")
    parser.add_argument("--from-json", metavar="FILE",
                        help="the tables from an earlier run's --json, without running again")
    args = parser.parse_args(argv)
    progress = Progress()
    if args.from_json:
        result = json.loads(Path(args.from_json).read_text())
        text = rtl_markdown(result) if args.part == "rtl" else area_markdown(result)
        print(text)
        if args.update_readme:
            update_readme(text, f"scnn-blox-{args.part}")
        return 0
    start = time.time()
    if args.part == "rtl":
        result = rtl(args.sim, progress)
        text = rtl_markdown(result)
    else:
        result = area(progress)
        text = area_markdown(result)
    result["seconds"] = round(time.time() - start)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    if args.update_readme:
        update_readme(text, f"scnn-blox-{args.part}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
