"""Area of SparseCore by unit (liberty flow), beside the paper's Table 2.

    .venv/bin/python benchmarks/sparsecore_area.py [--json benchmarks/results/sparsecore_area.json]

``sparsecore_paper`` (64 PEs × 16 ALUs, 2/4) measured with Yosys and the OSU 0.18 µm standard cells
at the clock target of ``constraints/clocks.toml``:

* PE logic: one PE synthesized with its memories and its requantizers as black boxes, plus its
  ``requant_lanes`` requantizers synthesized once (a requantizer's 33×16-bit multiplier takes ABC
  minutes) — times 64; the ALU array alone is reported beside it;
* the rest ("misc"): the top with every PE and the activation memory as black boxes: register
  file, layer decoder, global scheduler, stream loaders;
* memories as SRAM macros from the project's per-bit model (:data:`sparseforge.gen.synth.
  SRAM_UM2_PER_BIT`), sized from the design's ``memory_macros`` — activation/index memory, weight
  memories, accumulation buffers (the PEs' small requantization memories count with the PEs).

Table 2 is the paper's technology (not stated) and flow: compare shares, not mm².
"""

import argparse
import json
import re
import tempfile
from pathlib import Path

from amaranth.back import verilog

from sparseforge.gen.report import Progress
from sparseforge.gen.sparsecore.presets import preset
from sparseforge.gen.synth import SRAM_UM2_PER_BIT, synth
from sparseforge.hdl.sparsecore import AluArray, Requantizer, SparseCorePE
from sparseforge.hdl.sparsecore.accelerator import SparseCoreAccelerator

#: Table 2: unit → (size, mm²).
TABLE2 = {"PEs": ("64", 2.43), "activation/index memory": ("2 MB", 3.35),
          "weight memory": ("512 KB", 0.84), "accumulation buffer": ("512 KB", 0.84),
          "misc": ("—", 0.2)}


def area(top, name, work, progress, blackboxes=()):
    path = Path(work) / f"{name}.v"
    text = verilog.convert(top, name=name, emit_src=False)
    path.write_text(text)
    modules = set(re.findall(r"^module \\?(\S+?)[\s(]", text, re.M))
    boxes = [mod for mod in modules for box in blackboxes if mod == f"{name}.{box}"]
    assert len(boxes) == len(blackboxes), (sorted(blackboxes), sorted(boxes))
    progress(f"synthesizing {name}")
    return synth(path, name, "liberty", work_dir=Path(work) / name, blackbox_modules=boxes)


def measure(progress, partial=None):
    """The breakdown; ``partial`` (a path) receives each component's figures as it is measured,
    so a long run that fails late keeps what it measured (the PE's synthesis takes the better
    part of an hour on two shared cores)."""
    done = {}

    def keep(name, result):
        done[name] = {k: result[k] for k in ("area_um2", "cells", "flops", "seconds")}
        if partial:
            Path(partial).write_text(json.dumps(done, indent=1) + "\n")
        return result

    cfg = preset("sparsecore_paper")
    macros = SparseCoreAccelerator.memory_macros(cfg)
    bits = {}
    for mac in macros:
        kind = mac["module"].split(".")[-1]
        bits[kind] = bits.get(kind, 0) + mac["words"] * mac["width"]
    with tempfile.TemporaryDirectory(prefix="sparsecore-area-") as work:
        alus = keep("alus", area(AluArray(cfg), "alus", work, progress))
        rq = keep("rq", area(Requantizer(cfg.acc_width), "rq", work, progress))
        pe = keep("pe", area(SparseCorePE(cfg, cfg.act_entries, cfg.max_h * cfg.max_segments),
                             "pe", work, progress, ["wmem", "accbuf.macro", "rqmem"] +
                             [f"pp.rq{n}" for n in range(cfg.requant_lanes)]))
        top = keep("top", area(SparseCoreAccelerator(cfg), cfg.name, work, progress,
                               [f"pe{p}" for p in range(cfg.pes)] +
                               ["actmem.entries", "actmem.pointers"]))
    pe_logic = pe["area_um2"] + cfg.requant_lanes * rq["area_um2"]
    pe_sram = bits["rqmem"] * SRAM_UM2_PER_BIT / cfg.pes
    rows = {
        "PEs": (f"{cfg.pes} × {cfg.alus_per_pe} ALUs", cfg.pes * (pe_logic + pe_sram)),
        "activation/index memory": (f"{(bits['entries'] + bits['pointers']) / 8 / 1024:,.0f} KB",
                                    (bits["entries"] + bits["pointers"]) * SRAM_UM2_PER_BIT),
        "weight memory": (f"{bits['wmem'] / 8 / 1024:,.0f} KB", bits["wmem"] * SRAM_UM2_PER_BIT),
        "accumulation buffer": (f"{bits['mem'] / 8 / 1024:,.0f} KB",
                                bits["mem"] * SRAM_UM2_PER_BIT),
        "misc": ("registers, scheduler, loaders", top["area_um2"]),
    }
    extra = {"pe_logic_um2": pe_logic, "pe_logic_without_requantizers_um2": pe["area_um2"],
             "alu_array_um2": alus["area_um2"], "requantizer_um2": rq["area_um2"],
             "requant_memory_bits_per_pe": bits["rqmem"] // cfg.pes,
             "pe_flops": pe["flops"], "misc_flops": top["flops"],
             "sram_um2_per_bit": SRAM_UM2_PER_BIT}
    return cfg, rows, extra


def markdown(rows):
    total = sum(a for _s, a in rows.values())
    t2_total = sum(a for _s, a in TABLE2.values())
    lines = ["| unit | size | area (mm², 0.18 µm) | share | Table 2 size | Table 2 (mm²) | "
             "Table 2 share |", "| --- | --- | ---: | ---: | --- | ---: | ---: |"]
    for name, (size, a) in rows.items():
        t2_size, t2 = TABLE2[name]
        lines.append(f"| {name} | {size} | {a / 1e6:.2f} | {a / total:.0%} | {t2_size} | "
                     f"{t2:.2f} | {t2 / t2_total:.0%} |")
    mem = sum(rows[k][1] for k in ("activation/index memory", "weight memory",
                                   "accumulation buffer"))
    t2_mem = sum(TABLE2[k][1] for k in ("activation/index memory", "weight memory",
                                        "accumulation buffer"))
    lines.append(f"| memories | | {mem / 1e6:.2f} | {mem / total:.0%} | | {t2_mem:.2f} | "
                 f"{t2_mem / t2_total:.0%} |")
    lines.append(f"| total | | {total / 1e6:.2f} | 100% | | {t2_total:.2f} | 100% |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", default="benchmarks/results/sparsecore_area.json")
    args = ap.parse_args(argv)
    cfg, rows, extra = measure(Progress(), partial=Path(args.json).with_suffix(".partial.json"))
    print(markdown(rows))
    for k, v in extra.items():
        print(f"{k}: {v:,.0f}" if isinstance(v, (int, float)) else f"{k}: {v}")
    Path(args.json).write_text(json.dumps(
        {"design": cfg.name, "rows": {k: {"size": s, "area_um2": a} for k, (s, a) in
                                      rows.items()}, **extra}, indent=1) + "\n")


if __name__ == "__main__":
    main()
