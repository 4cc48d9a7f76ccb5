"""Area of Sparse-Blox on the VDBB accelerator (liberty flow), beside the paper's Table I.

    .venv/bin/python benchmarks/sparseblox_area.py [--json FILE] [--update-readme]
    .venv/bin/python benchmarks/sparseblox_area.py --from-json [--update-readme]   # no synthesis

Every block of ``accel_small`` and of ``accel_small_blox`` (the same design with Sparse-Blox in its
output stage: 8-channel × 8-pixel blocks, a 2 × 1024-position cache of 16-bit positions, Q8.8
thresholds) is synthesized on its own with Yosys onto the OSU 0.18 µm cells at the clock target of
``constraints/clocks.toml``, SRAM macros (the quantization table's lanes, the cache's position
memory) black boxes. (The whole accelerator in one run takes Yosys well over half an hour on the
shared machine; block by block, the host's logic is the sum of its blocks, the sequencer's glue
in the top module left out.)

Sparse-Blox's logic: its own blocks (the pruner with its block adders, decision, row and verdict
queues; the read filter; the cache's control; the pruned-word flags beside both activation SRAM
halves, one flip-flop per activation word, :mod:`sparseforge.hdl.accel.blox_flags`) plus what it
adds to the host's blocks, each the difference of the block synthesized with and without
``sparseblox``: the output stage's and the read-back's multiplexers, its registers, and for the
next layer's step skipping the IM2COL unit's and the direct reader's flag bits and the engine's
skip-capable feeder and unpacker. The cache's storage is an SRAM macro, sized from the per-bit
model :data:`sparseforge.gen.synth.SRAM_UM2_PER_BIT` like the accelerator's SRAMs. Left out of
both sums, as the sequencer's glue: the top module's reader select and counters, and the
multiplexers that zero a flagged word.

A block whose Verilog is unchanged since the last run (the SHA-256 of its Verilog is kept in the
results JSON beside its figures) is not synthesized again; its figures are taken from the JSON.

Table I of the paper (SCNN, 32 nm): Sparse-Blox adds 4.95 % to the accelerator's area. Results
are written to the JSON after every block, so an interrupted run keeps what it measured.
"""

import argparse
import hashlib
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from amaranth.back import verilog
from sparseforge.gen.presets import load_preset
from sparseforge.gen.report import Progress, table
from sparseforge.gen.synth import SRAM_UM2_PER_BIT, synth
from sparseforge.hdl.accel import REGISTERS, Accelerator
from sparseforge.hdl.accel.blox import BloxPruner, BloxReadFilter, blox_registers
from sparseforge.hdl.accel.blox_flags import PrunedWordFlags
from sparseforge.hdl.accel.direct_reader import DirectReader
from sparseforge.hdl.accel.im2col import Im2colMagnifier
from sparseforge.hdl.accel.loaders import ActLoader, Readback, WeightLoader
from sparseforge.hdl.accel.output_stage import OutputStage
from sparseforge.hdl.accel.quant_table import QuantTable, quant_rows
from sparseforge.hdl.accel.weight_reader import WeightReader
from sparseforge.hdl.common.axi import AxiLiteRegisterFile
from sparseforge.hdl.sparseblox import SparseBlockCache
from sparseforge.hdl.sta import StaEngine

from readme import update_readme

#: Table I of Hotfilter et al.: Sparse-Blox's share of the SCNN accelerator's area.
TABLE1_SHARE = 0.0495


def _synth(top, name, work, progress, blackboxes=(), cached=None):
    """Liberty-flow figures of ``top`` as module ``name``; ``cached`` (the figures of the last
    run) is returned as it is when its ``verilog_sha256`` is that of ``top``'s Verilog."""
    text = verilog.convert(top, name=name, emit_src=False)
    sha = hashlib.sha256(text.encode()).hexdigest()
    if cached and cached.get("verilog_sha256") == sha:
        progress(f"{name}: Verilog unchanged, figures from the results JSON")
        return dict(cached)
    path = Path(work) / f"{name}.v"
    path.write_text(text)
    progress(f"synthesizing {name} (liberty flow)")
    start = time.time()
    result = synth(path, name, "liberty", work_dir=Path(work) / name,
                   blackbox_modules=[f"{name}.{box}" for box in blackboxes])
    return {"area_um2": result["area_um2"], "cells": result["cells"], "flops": result["flops"],
            "seconds": round(time.time() - start, 1), "verilog_sha256": sha}


def _blocks(host, blox):
    """``{name: (a function making the elaboratable, black boxes)}`` (made only when measured:
    an elaboratable made and not synthesized draws Amaranth's warning) in the order measured:
    Sparse-Blox's blocks, the blocks Sparse-Blox changes (with and without it; the output stage
    without its quantization table's multipliers, which are the same in both and slow Yosys down
    by many minutes), then the rest of the host, the full output stage last."""
    sb = blox.sparseblox
    lanes = [f"lane{j}" for j in range(host.array.tile_cols)]
    plain, plain_blox = (replace(c, quant_channels=0) for c in (host, blox))
    blocks = {
        "blox_pruner": (lambda: BloxPruner(blox), ()),
        "blox_read_filter": (lambda: BloxReadFilter(blox), ()),
        "blox_cache_control": (lambda: SparseBlockCache(capacity=sb.capacity,
                                                        position_bits=sb.position_bits),
                               ("positions",)),
        "blox_flags_half": (lambda: PrunedWordFlags(blox), ()),
        "engine_blox": (lambda: StaEngine(blox.array, skip=blox.blox_skips), ()),
        "engine": (lambda: StaEngine(host.array), ()),
    }
    if host.im2col:
        blocks.update({"im2col_blox": (lambda: Im2colMagnifier(blox), ()),
                       "im2col": (lambda: Im2colMagnifier(host), ())})
    blocks.update({
        "direct_reader_blox": (lambda: DirectReader(blox), ()),
        "direct_reader": (lambda: DirectReader(host), ()),
        "output_stage_notable_blox": (lambda: OutputStage(plain_blox), ()),
        "output_stage_notable": (lambda: OutputStage(plain), ()),
        "readback_blox": (lambda: Readback(blox), ()),
        "readback": (lambda: Readback(host), ()),
        "registers_blox": (lambda: AxiLiteRegisterFile(REGISTERS + blox_registers(blox),
                                                       addr_width=8), ()),
        "registers": (lambda: AxiLiteRegisterFile(REGISTERS, addr_width=8), ()),
        "weight_reader": (lambda: WeightReader(host), ()),
        "act_loader": (lambda: ActLoader(host), ()),
        "weight_loader": (lambda: WeightLoader(host), ()),
        "quant_table": (lambda: QuantTable(host.array.tile_cols, quant_rows(host)), lanes),
        "output_stage": (lambda: OutputStage(host), ()),
    })
    return blocks


_ORDER = ("blox_pruner", "blox_read_filter", "blox_cache_control", "blox_flags_half",
          "engine_blox", "engine", "im2col_blox", "im2col", "direct_reader_blox", "direct_reader",
          "output_stage_notable_blox", "output_stage_notable", "readback_blox", "readback",
          "registers_blox", "registers", "weight_reader", "act_loader", "weight_loader",
          "quant_table", "output_stage")
HOST_BLOCKS = ("engine", "im2col", "direct_reader", "output_stage", "readback", "registers",
               "weight_reader", "act_loader", "weight_loader", "quant_table")
#: Sparse-Blox's own blocks and how many of each the accelerator holds (a flag memory beside
#: each of the two activation SRAM halves).
BLOX_OWN = {"blox_pruner": 1, "blox_read_filter": 1, "blox_cache_control": 1,
            "blox_flags_half": 2}
BLOX_HOOKS = ("engine", "im2col", "direct_reader", "output_stage_notable", "readback",
              "registers")


def summarize(result):
    """Add the sums and shares to ``result`` from the blocks measured so far. Until the full
    output stage is measured, the one without the table's multipliers stands in for it (the
    host's logic is then a lower bound, named in ``host_blocks``)."""
    s = result["synth"]
    if not all(k in s for k in (*BLOX_OWN, *BLOX_HOOKS, *(f"{h}_blox" for h in BLOX_HOOKS))):
        return result
    stand_in = {"output_stage": "output_stage_notable"}
    host = {k: (k if k in s else stand_in.get(k)) for k in HOST_BLOCKS}
    host = {k: v for k, v in host.items() if v in s}
    host_logic = sum(s[v]["area_um2"] for v in host.values())
    added = sum(n * s[k]["area_um2"] for k, n in BLOX_OWN.items()) + \
        sum(s[f"{h}_blox"]["area_um2"] - s[h]["area_um2"] for h in BLOX_HOOKS)
    flops = sum(n * s[k]["flops"] for k, n in BLOX_OWN.items()) + \
        sum(s[f"{h}_blox"]["flops"] - s[h]["flops"] for h in BLOX_HOOKS)
    host_sram = sum(m["words"] * m["width"] for m in Accelerator.memory_macros(
        load_preset(result["host"]))) * SRAM_UM2_PER_BIT
    flags_logic = BLOX_OWN["blox_flags_half"] * s["blox_flags_half"]["area_um2"]
    flags_sram = result["flag_bits"] * result["sram_um2_per_bit"]
    result.update({
        "host_blocks": host,
        "host_complete": all(k == v for k, v in host.items()) and len(host) == len(HOST_BLOCKS),
        "host_logic_um2": host_logic,
        "blox_logic_um2": added,
        "blox_flops": flops,
        "blox_logic_share_of_host_logic": added / host_logic,
        "host_sram_um2": host_sram,
        "blox_share_of_host_total": (added + result["cache_sram_um2"]) /
                                    (host_logic + host_sram),
        # Not built: the flags as SRAM macro bits (the readers would have to ask a cycle
        # earlier, a macro's read being synchronous), sized by the per-bit model.
        "flags_logic_um2": flags_logic,
        "flags_as_sram_um2": flags_sram,
        # What Table I's model adds to SCNN: a cache, an adder tree and the decision logic (the
        # pruner here, with its row queue, and the cache's control and storage).
        "paper_parts_share_of_host_total":
            (s["blox_pruner"]["area_um2"] + s["blox_cache_control"]["area_um2"] +
             result["cache_sram_um2"]) / (host_logic + host_sram),
        "blox_share_of_host_total_flags_as_sram":
            (added - flags_logic + flags_sram + result["cache_sram_um2"]) /
            (host_logic + host_sram),
    })
    return result


def _last(json_path):
    """Every block's figures in the results JSON (measured, or kept from an earlier run)."""
    last = json.loads(Path(json_path).read_text()) if Path(json_path).exists() else {}
    return {**last.get("not_reached", {}), **last.get("synth", {})}


def measure(progress, json_path, only=None):
    """Synthesize every block (or the blocks named in ``only``) and write the JSON after each.

    The JSON is read again before each block and each write, so that a second run on other
    blocks (``--blocks``) can share it: a block one run has measured is taken from the JSON by
    the other when its Verilog is the same."""
    host = load_preset("accel_small")
    blox = load_preset("accel_small_blox")
    sb = blox.sparseblox
    result = {"host": host.name, "design": blox.name, "sram_um2_per_bit": SRAM_UM2_PER_BIT,
              "table1_share": TABLE1_SHARE, "cache_bits": 2 * sb.capacity * sb.position_bits,
              "flag_bits": 2 * blox.act_banks * blox.act_bank_depth, "synth": {}}
    result["cache_sram_um2"] = result["cache_bits"] * SRAM_UM2_PER_BIT
    with tempfile.TemporaryDirectory(prefix="blox-area-") as work:
        for name, (top, boxes) in _blocks(host, blox).items():
            if only is not None and name not in only:
                continue
            result["synth"][name] = _synth(top(), name, work, progress, boxes,
                                           _last(json_path).get(name))
            # Blocks this run has not reached keep their last figures in the file, apart
            # (``not_reached``, with their SHA, so an interrupted run loses nothing); the sums
            # and the README use only this run's blocks.
            kept = {k: v for k, v in _last(json_path).items() if k not in result["synth"]}
            summarize(result)
            Path(json_path).write_text(json.dumps(
                {**result, **({"not_reached": kept} if kept else {})}, indent=2) + "\n")
    return result


def partial_markdown(result):
    """The README's text while not every block is measured: what is, and what is missing."""
    s = result["synth"]
    done = ", ".join(f"{k} {v['area_um2']:,.0f} µm² ({v['flops']:,} flip-flops)"
                     for k, v in s.items())
    missing = [k for k in _ORDER if k not in s]
    own = sum(n * s[k]["area_um2"] for k, n in BLOX_OWN.items() if k in s)
    return (f"Liberty flow, block by block (OSU 0.18 µm cells at the clock target, SRAM macros "
            f"black boxes), **incomplete**: measured {done}. Sparse-Blox's own blocks come to "
            f"{own:,.0f} µm² of logic (the cache's {result['cache_bits']:,} bits of storage are an "
            f"SRAM macro: {result['cache_sram_um2']:,.0f} µm² at {result['sram_um2_per_bit']:g} "
            f"µm²/bit). Not yet measured: {', '.join(missing)}; so no share of the host's logic "
            f"is given yet (the paper's Table I: {result['table1_share']:.2%} on SCNN).")


def markdown(result):
    """The README's table of ``result`` (what :func:`measure` returns)."""
    if "blox_logic_um2" not in result:
        return partial_markdown(result)
    s = result["synth"]
    own = {"blox_pruner": "pruner (block adders, decision, row and verdict queues)",
           "blox_read_filter": "read filter (position walk, lookup hand-off)",
           "blox_cache_control": "cache control (insert, binary search; storage a macro)",
           "blox_flags_half": "pruned-word flags (one bit per activation word; two, one per "
                              "SRAM half)"}
    hooks = {"engine": "engine's skip-capable feeder and unpacker",
             "im2col": "IM2COL's pruned and zero bits per window word",
             "direct_reader": "direct reader's flag bit per beat",
             "output_stage_notable": "output stage's extra multiplexers",
             "readback": "read-back's zero and hold",
             "registers": f"{len(blox_registers(load_preset(result['design'])))} registers"}
    seconds = sum(v["seconds"] for v in s.values())
    flags_share = result["flags_logic_um2"] / result["blox_logic_um2"]
    lines = [
        f"Liberty flow, block by block (OSU 0.18 µm cells at the clock target, SRAM macros "
        f"black boxes; {seconds:,.0f} s of synthesis over the runs that measured these "
        "blocks):",
        "",
        "| Sparse-Blox part | logic µm² | flip-flops |",
        "| --- | ---: | ---: |",
        *(f"| {label} | {n * s[k]['area_um2']:,.0f} | "
          f"{n * s[k]['flops']:,} |" for (k, label), n in zip(own.items(), BLOX_OWN.values())),
        *(f"| {label} (with − without) | {s[k + '_blox']['area_um2'] - s[k]['area_um2']:,.0f} | "
          f"{s[k + '_blox']['flops'] - s[k]['flops']:,} |" for k, label in hooks.items()),
        f"| **Sparse-Blox logic** | **{result['blox_logic_um2']:,.0f}** | "
        f"**{result['blox_flops']:,}** |",
        "| accel_small's logic (sum of its blocks: "
        + ", ".join(f"{k}{'' if k == v else ' without its requantization multipliers'} "
                    f"{s[v]['area_um2']:,.0f}" for k, v in result["host_blocks"].items())
        + ("" if result["host_complete"] else "; a lower bound, so the shares below are upper "
           "bounds")
        + f") | {result['host_logic_um2']:,.0f} | |",
        "",
        f"Sparse-Blox adds **{'' if result['host_complete'] else 'at most '}"
        f"{result['blox_logic_share_of_host_logic']:.1%} to accel_small's logic** "
        f"({flags_share:.0%} of it the pruned-word flags), plus the "
        f"cache's {result['cache_bits']:,} bits of SRAM "
        f"({result['cache_sram_um2']:,.0f} µm² at {result['sram_um2_per_bit']:g} µm²/bit); "
        f"counting the SRAMs (accel_small's {result['host_sram_um2']:,.0f} µm²; the sequencer's "
        "glue in the top module — the reader select, the skip and zero-read counters, the "
        "multiplexers that zero a flagged word — is in neither sum), "
        f"{result['blox_share_of_host_total']:.2%} of the host's logic and SRAM — against "
        f"{result['table1_share']:.2%} on SCNN in the paper's Table I (32 nm). The flags' "
        f"{result['flag_bits']:,} bits cost {result['flags_logic_um2'] / result['flag_bits']:,.0f}"
        f" µm² each as flip-flops with their write enables and read multiplexers; as SRAM "
        f"macro bits ({result['flags_as_sram_um2']:,.0f} µm² by the per-bit model; not built, "
        "see above) Sparse-Blox would come to "
        f"{result['blox_share_of_host_total_flags_as_sram']:.2%} of the host's logic and SRAM; "
        "the parts Table I's model adds (the cache, the block adders and the decision: here "
        "the pruner, its row queue included, and the cache's control and storage) come to "
        f"{result['paper_parts_share_of_host_total']:.2%}. "
        "A with-minus-without difference of a few thousand µm² (either sign) is within ABC's "
        "mapping noise.",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", metavar="FILE",
                        default=str(Path(__file__).parent / "results" / "sparseblox_area.json"))
    parser.add_argument("--from-json", action="store_true",
                        help="print (and --update-readme) from the JSON, no synthesis")
    parser.add_argument("--update-readme", action="store_true")
    parser.add_argument("--blocks", metavar="NAME,...",
                        help=f"synthesize only these blocks (of: {', '.join(_ORDER)})")
    args = parser.parse_args(argv)
    only = None
    if args.blocks is not None:
        only = args.blocks.split(",")
        unknown = [b for b in only if b not in _ORDER]
        if unknown:
            print(f"--blocks: {unknown[0]!r} is not allowed; expected names among "
                  f"{', '.join(_ORDER)}", file=sys.stderr)
            return 2
    if args.from_json:
        result = summarize(json.loads(Path(args.json).read_text()))
    else:
        result = measure(Progress(), args.json, only)
    rows = [(name, f"{r['area_um2']:,.0f}", r["cells"], r["flops"], r["seconds"])
            for name, r in result["synth"].items()]
    print(table(rows, ("module", "logic µm²", "cells", "flops", "synthesis s")))
    text = markdown(result)
    print(text)
    if args.update_readme:
        update_readme(text, "sparseblox-area")
    return 0


if __name__ == "__main__":
    sys.exit(main())
