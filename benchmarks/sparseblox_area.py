"""Area of Sparse-Blox on the VDBB accelerator (liberty flow), beside the paper's Table I.

    .venv/bin/python benchmarks/sparseblox_area.py [--json FILE] [--update-readme]
    .venv/bin/python benchmarks/sparseblox_area.py --from-json [--update-readme]   # no synthesis

``accel_small`` and ``accel_small_blox`` (the same design with Sparse-Blox in its output stage:
8-channel × 8-pixel blocks, a 2 × 1024-position cache of 16-bit positions, Q8.8 thresholds) are
synthesized whole with Yosys onto the OSU 0.18 µm cells at the clock target of
``constraints/clocks.toml``, every SRAM macro (activation and weight banks, quantization table
lanes, the cache's position memory) a black box. Sparse-Blox's logic is the difference of the two
logic areas (the pruner with its block adders, decision, row queue and verdict queue, the read
filter, the cache's control, the output stage's and read-back's extra multiplexers, the added
registers); its parts are also synthesized alone. The cache's storage is an SRAM macro, sized
from the per-bit model :data:`sparseforge.gen.synth.SRAM_UM2_PER_BIT` like the other SRAMs.

Table I of the paper (SCNN, 32 nm): Sparse-Blox adds 4.95 % to the accelerator's area.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from amaranth.back import verilog
from sparseforge.gen import emit
from sparseforge.gen.presets import load_preset
from sparseforge.gen.report import Progress, table
from sparseforge.gen.synth import SRAM_UM2_PER_BIT, synth
from sparseforge.hdl.accel import Accelerator
from sparseforge.hdl.accel.blox import BloxPruner, BloxReadFilter
from sparseforge.hdl.sparseblox import SparseBlockCache

from readme import update_readme

#: Table I of Hotfilter et al.: Sparse-Blox's share of the SCNN accelerator's area.
TABLE1_SHARE = 0.0495


def _synth(text, name, work, progress, blackboxes=()):
    path = Path(work) / f"{name}.v"
    path.write_text(text)
    progress(f"synthesizing {name} (liberty flow)")
    start = time.time()
    result = synth(path, name, "liberty", work_dir=Path(work) / name,
                   blackbox_modules=list(blackboxes))
    return {"area_um2": result["area_um2"], "cells": result["cells"], "flops": result["flops"],
            "seconds": round(time.time() - start, 1)}


def measure(progress):
    host = load_preset("accel_small")
    blox = load_preset("accel_small_blox")
    out = {}
    with tempfile.TemporaryDirectory(prefix="blox-area-") as work:
        for cfg in (host, blox):
            macros = [m["module"] for m in Accelerator.memory_macros(cfg)]
            out[cfg.name] = _synth(emit.verilog_text(cfg), cfg.name, work, progress, macros)
            out[cfg.name]["sram_bits"] = sum(m["words"] * m["width"]
                                             for m in Accelerator.memory_macros(cfg))
        parts = {
            "pruner": (BloxPruner(blox), ()),
            "read_filter": (BloxReadFilter(blox), ()),
            "cache_control": (SparseBlockCache(capacity=blox.sparseblox.capacity,
                                               position_bits=blox.sparseblox.position_bits),
                              ("cache_control.positions",)),
        }
        out["parts"] = {}
        for name, (top, boxes) in parts.items():
            out["parts"][name] = _synth(verilog.convert(top, name=name, emit_src=False), name,
                                        work, progress, boxes)
    sb = blox.sparseblox
    cache_bits = 2 * sb.capacity * sb.position_bits
    host_logic = out[host.name]["area_um2"]
    added = out[blox.name]["area_um2"] - host_logic
    host_total = host_logic + out[host.name]["sram_bits"] * SRAM_UM2_PER_BIT
    return {
        "host": host.name, "design": blox.name, "sram_um2_per_bit": SRAM_UM2_PER_BIT,
        "synth": out,
        "blox_logic_um2": added,
        "blox_logic_share_of_host_logic": added / host_logic,
        "cache_bits": cache_bits,
        "cache_sram_um2": cache_bits * SRAM_UM2_PER_BIT,
        "host_total_um2": host_total,
        "blox_share_of_host_total": (added + cache_bits * SRAM_UM2_PER_BIT) / host_total,
        "table1_share": TABLE1_SHARE,
    }


def markdown(result):
    """The README's table of ``result`` (what :func:`measure` returns)."""
    s = result["synth"]
    host, blox = s[result["host"]], s[result["design"]]
    names = {"pruner": "pruner (block adders, decision, row and verdict queues)",
             "read_filter": "read filter (position walk, lookup hand-off)",
             "cache_control": "cache control (insert, binary search; storage a macro)"}
    lines = [
        f"Liberty flow (OSU 0.18 µm cells at the clock target, SRAM macros black boxes; "
        f"{host['seconds'] + blox['seconds']:,.0f} s of synthesis):",
        "",
        "| design or part | logic µm² | cells | flip-flops |",
        "| --- | ---: | ---: | ---: |",
        f"| {result['host']} (host) | {host['area_um2']:,.0f} | {host['cells']:,} | "
        f"{host['flops']:,} |",
        f"| {result['design']} | {blox['area_um2']:,.0f} | {blox['cells']:,} | "
        f"{blox['flops']:,} |",
        *(f"| — alone: {names[k]} | {v['area_um2']:,.0f} | {v['cells']:,} | {v['flops']:,} |"
          for k, v in s["parts"].items()),
        "",
        f"Sparse-Blox adds **{result['blox_logic_um2']:,.0f} µm² of logic, "
        f"{result['blox_logic_share_of_host_logic']:.1%} of accel_small's logic**, plus the "
        f"cache's {result['cache_bits']:,} bits of SRAM ({result['cache_sram_um2']:,.0f} µm² at "
        f"{result['sram_um2_per_bit']:g} µm²/bit); with the SRAMs counted, "
        f"{result['blox_share_of_host_total']:.2%} of the host's logic and SRAM — against "
        f"{result['table1_share']:.2%} on SCNN in the paper's Table I (32 nm, a 4×4-pixel "
        f"block adder per PE).",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", metavar="FILE",
                        default=str(Path(__file__).parent / "results" / "sparseblox_area.json"))
    parser.add_argument("--from-json", action="store_true",
                        help="print (and --update-readme) from the JSON, no synthesis")
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args(argv)
    if args.from_json:
        result = json.loads(Path(args.json).read_text())
    else:
        result = measure(Progress())
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    s = result["synth"]
    rows = [(name, f"{r['area_um2']:,.0f}", r["cells"], r["flops"], r["seconds"])
            for name, r in [*((k, s[k]) for k in (result["host"], result["design"])),
                            *s["parts"].items()]]
    print(table(rows, ("module", "logic µm²", "cells", "flops", "synthesis s")))
    text = markdown(result)
    print(text)
    if args.update_readme:
        update_readme(text, "sparseblox-area")
    return 0


if __name__ == "__main__":
    sys.exit(main())
