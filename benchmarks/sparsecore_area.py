"""Area of SparseCore by unit (liberty flow), beside the paper's Table 2.

    .venv/bin/python benchmarks/sparsecore_area.py [--json benchmarks/results/sparsecore_area.json]
        [--reuse benchmarks/results/sparsecore_area.partial.json] [--skip-top]

``sparsecore_paper`` (64 PEs × 16 ALUs, 2/4) measured with Yosys and the OSU 0.18 µm standard cells
at the clock target of ``constraints/clocks.toml``:

* PE logic: one PE synthesized with its memories and its requantizers as black boxes, plus its
  ``requant_lanes`` requantizers synthesized once (a requantizer's 33×16-bit multiplier takes ABC
  minutes) — times 64; the ALU array alone is reported beside it;
* the rest ("misc"): the top with every PE and the activation memory as black boxes: register
  file, layer decoder, global scheduler, stream loaders, output lanes, statistics counters. The
  PEs are black boxes from elaboration on (``SparseCoreAccelerator(pe_blackbox=...)``: an
  instance of a ports-only module per PE, :mod:`sparseforge.hdl.common.blackbox`): emitting 64
  copies of a PE that synthesis then drops took 19 minutes and 61 MB of Verilog, which YoWASP's
  Yosys could not read;
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

from sparseforge.gen.report import Progress
from sparseforge.gen.sparsecore.presets import preset
from sparseforge.gen.synth import SRAM_UM2_PER_BIT, synth
from sparseforge.hdl.common import sram_model
from sparseforge.hdl.sparsecore import AluArray, Requantizer, SparseCorePE
from sparseforge.hdl.sparsecore.accelerator import SparseCoreAccelerator

#: Table 2: unit → (size, mm²).
TABLE2 = {"PEs": ("64", 2.43), "activation/index memory": ("2 MB", 3.35),
          "weight memory": ("512 KB", 0.84), "accumulation buffer": ("512 KB", 0.84),
          "misc": ("—", 0.2)}


#: The module that stands for every PE in the top measured for "misc".
PE_BOX = "sparsecore_pe_blackbox"


def area(top, name, work, progress, blackboxes=(), stubs=()):
    """Liberty-flow area of ``top`` with the submodules ``blackboxes`` (hierarchy paths under
    ``name``) as black boxes, and ``stubs`` ({module: Verilog}) appended and black-boxed."""
    path = Path(work) / f"{name}.v"
    text = sram_model.convert(top, name) + "".join("\n" + v for v in dict(stubs).values())
    path.write_text(text)
    modules = set(re.findall(r"^module \\?(\S+?)[\s(]", text, re.M))
    boxes = [mod for mod in modules for box in blackboxes if mod == f"{name}.{box}"]
    assert len(boxes) == len(blackboxes), (sorted(blackboxes), sorted(boxes))
    boxes += list(dict(stubs))
    progress(f"synthesizing {name}")
    return synth(path, name, "liberty", work_dir=Path(work) / name, blackbox_modules=boxes)


def measure(progress, partial=None, reuse=None, top=True):
    """The breakdown; ``partial`` (a path) receives each component's figures as it is measured,
    so a long run that fails late keeps what it measured (the PE's synthesis takes the better
    part of an hour on two shared cores); ``reuse`` (a path to such a file) gives figures
    measured before, not synthesized again; without ``top`` the rest ("misc") is not measured
    (its row is ``None``)."""
    done = json.loads(Path(reuse).read_text()) if reuse else {}

    def keep(name, make, *args, **kw):
        if name in done:
            progress(f"{name}: from {reuse}")
            return done[name]
        result = area(make(), name if name != "top" else cfg.name, work, progress, *args, **kw)
        done[name] = {k: result[k] for k in ("area_um2", "cells", "flops", "seconds")}
        if partial:
            Path(partial).write_text(json.dumps(done, indent=1) + "\n")
        return done[name]

    cfg = preset("sparsecore_paper")
    macros = SparseCoreAccelerator.memory_macros(cfg)
    bits = {}
    for mac in macros:
        kind = mac["module"].split(".")[-1]
        bits[kind] = bits.get(kind, 0) + mac["words"] * mac["width"]
    with tempfile.TemporaryDirectory(prefix="sparsecore-area-") as work:
        alus = keep("alus", lambda: AluArray(cfg))
        rq = keep("rq", lambda: Requantizer(cfg.acc_width))
        pe = keep("pe", lambda: SparseCorePE(cfg, cfg.act_entries, cfg.max_h * cfg.max_segments),
                  ["wmem", "accbuf.macro", "rqmem"] +
                  [f"pp.rq{n}" for n in range(cfg.requant_lanes)])
        misc = keep("top", lambda: SparseCoreAccelerator(cfg, pe_blackbox=PE_BOX),
                    ["actmem.entries", "actmem.pointers"],
                    stubs={PE_BOX: SparseCoreAccelerator.pe_stub_verilog(cfg, PE_BOX)}
                    ) if top else None
    pe_logic = pe["area_um2"] + cfg.requant_lanes * rq["area_um2"]
    pe_sram = bits["rqmem"] * SRAM_UM2_PER_BIT / cfg.pes
    rows = {
        "PEs": (f"{cfg.pes} × {cfg.alus_per_pe} ALUs", cfg.pes * (pe_logic + pe_sram)),
        "activation/index memory": (f"{(bits['entries'] + bits['pointers']) / 8 / 1024:,.0f} KB",
                                    (bits["entries"] + bits["pointers"]) * SRAM_UM2_PER_BIT),
        "weight memory": (f"{bits['wmem'] / 8 / 1024:,.0f} KB", bits["wmem"] * SRAM_UM2_PER_BIT),
        "accumulation buffer": (f"{bits['macro'] / 8 / 1024:,.0f} KB",
                                bits["macro"] * SRAM_UM2_PER_BIT),
        "misc": ("registers, scheduler, loaders", misc["area_um2"] if misc else None),
    }
    extra = {"pe_logic_um2": pe_logic, "pe_logic_without_requantizers_um2": pe["area_um2"],
             "alu_array_um2": alus["area_um2"], "requantizer_um2": rq["area_um2"],
             "requant_memory_bits_per_pe": bits["rqmem"] // cfg.pes,
             "pe_flops": pe["flops"], "misc_flops": misc["flops"] if misc else None,
             "sram_um2_per_bit": SRAM_UM2_PER_BIT, "synthesis": done}
    return cfg, rows, extra


def markdown(rows):
    """The table; without a measured "misc" the shares are of the measured units (Table 2's
    too, so both compare the same units)."""
    measured = {k: v for k, v in rows.items() if v[1] is not None}
    total = sum(a for _s, a in measured.values())
    t2_total = sum(TABLE2[k][1] for k in measured)
    lines = ["| unit | size | area (mm², 0.18 µm) | share | Table 2 size | Table 2 (mm²) | "
             "Table 2 share |", "| --- | --- | ---: | ---: | --- | ---: | ---: |"]
    for name, (size, a) in rows.items():
        t2_size, t2 = TABLE2[name]
        if a is None:
            lines.append(f"| {name} | {size} | not measured | — | {t2_size} | {t2:.2f} | — |")
            continue
        lines.append(f"| {name} | {size} | {a / 1e6:.2f} | {a / total:.1%} | {t2_size} | "
                     f"{t2:.2f} | {t2 / t2_total:.1%} |")
    mems = ("activation/index memory", "weight memory", "accumulation buffer")
    mem = sum(rows[k][1] for k in mems)
    t2_mem = sum(TABLE2[k][1] for k in mems)
    lines.append(f"| memories | | {mem / 1e6:.2f} | {mem / total:.1%} | | {t2_mem:.2f} | "
                 f"{t2_mem / t2_total:.1%} |")
    label = "total" if len(measured) == len(rows) else "total measured"
    lines.append(f"| {label} | | {total / 1e6:.2f} | 100% | | {t2_total:.2f} | 100% |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", default="benchmarks/results/sparsecore_area.json")
    ap.add_argument("--reuse", metavar="PARTIAL",
                    help="figures measured by an earlier run (its .partial.json), not redone")
    ap.add_argument("--skip-top", action="store_true",
                    help="do not synthesize the top (the 'misc' row stays unmeasured)")
    args = ap.parse_args(argv)
    cfg, rows, extra = measure(Progress(), partial=Path(args.json).with_suffix(".partial.json"),
                               reuse=args.reuse, top=not args.skip_top)
    print(markdown(rows))
    for k, v in extra.items():
        print(f"{k}: {v:,.0f}" if isinstance(v, (int, float)) else f"{k}: {v}")
    Path(args.json).write_text(json.dumps(
        {"design": cfg.name, "rows": {k: {"size": s, "area_um2": a} for k, (s, a) in
                                      rows.items()}, **extra}, indent=1) + "\n")


if __name__ == "__main__":
    main()
