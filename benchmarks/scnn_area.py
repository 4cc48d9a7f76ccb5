"""Area of the SCNN PE by component (liberty flow), beside the paper's Table 4.

    .venv/bin/python benchmarks/scnn_area.py [--update-readme] [--json FILE]

The PE of ``scnn_paper_pe`` (Table 3: 4×4 multipliers of 16 bits, 32 accumulator banks of 32
24-bit entries, double-buffered; 10 KB IARAM and OARAM) is measured with Yosys and the OSU 0.18 µm
standard cells at the clock target of ``constraints/clocks.toml``:

* logic: each component synthesized on its own (multiplier array, scatter crossbar, the
  accumulators' adders and multiplexers, the PPU) and the whole PE with every RAM as a black box;
  "other" is the PE's logic minus the components (sequencer, block-header fetch, coordinate
  computation, pipeline registers, the PPU);
* accumulator storage: one 32 × 24-bit bank (a register file with a combinational read port, as
  the RTL has it) synthesized to flip-flops and multiplexers, times the 2 × 32 banks;
* SRAM macros (IARAM, OARAM and its count table, weight buffer) from one per-bit model,
  :data:`sparseforge.gen.synth.SRAM_UM2_PER_BIT`, as an SRAM compiler would supply them.

Table 4 is 16 nm FinFET and Catapult HLS, this is 0.18 µm with Yosys and ABC: compare shares, not
µm². ``--update-readme`` writes the table between the ``scnn-area`` markers of README.md.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

from amaranth import signed
from amaranth.back import verilog
from sparseforge.gen.presets import load_preset
from sparseforge.gen.report import Progress, table
from sparseforge.gen.synth import SRAM_UM2_PER_BIT, synth
from sparseforge.hdl.scnn import (
    AccumulatorBanks,
    MultiplierArray,
    PostProcessor,
    ScatterCrossbar,
    ScnnPE,
)
from sparseforge.hdl.scnn.pe import pe_memories
from sparseforge.hdl.scnn.rams import RamBanks

from readme import update_readme

#: Table 4 of the paper: component → (size, area in mm²).
TABLE4 = {
    "IARAM + OARAM": ("20 KB", 0.031),
    "weight buffer": ("0.5 KB", 0.004),
    "multiplier array": ("16 ALUs", 0.008),
    "scatter crossbar": ("16×32", 0.026),
    "accumulator buffers": ("6 KB", 0.036),
    "other": ("—", 0.019),
}


def logic_area(top, name, work, progress, blackboxes=()):
    """Liberty-flow area (µm²) of one component, ``blackboxes`` (module names) left out."""
    path = Path(work) / f"{name}.v"
    path.write_text(verilog.convert(top, name=name, emit_src=False))
    progress(f"synthesizing {name}")
    result = synth(path, name, "liberty", work_dir=Path(work) / name,
                   blackbox_modules=[f"{name}.{box}" for box in blackboxes])
    return result["area_um2"], result


def measure(progress):
    cfg = load_preset("scnn_paper_pe")
    with tempfile.TemporaryDirectory(prefix="scnn-area-") as work:
        mults, _ = logic_area(MultiplierArray(cfg.f, cfg.i, weight_width=cfg.weight_width,
                                              act_width=cfg.act_width,
                                              product_width=cfg.acc_width),
                              "mults", work, progress)
        xbar, _ = logic_area(ScatterCrossbar(cfg), "crossbar", work, progress)
        acc_logic, _ = logic_area(AccumulatorBanks(cfg), "accumulators", work, progress,
                                  blackboxes=("set0", "set1"))
        bank, _ = logic_area(RamBanks(signed(cfg.acc_width), cfg.bank_entries, 1), "bank",
                             work, progress)
        ppu, _ = logic_area(PostProcessor(cfg, 0, 0), "ppu", work, progress)
        pe, pe_report = logic_area(
            ScnnPE(cfg, 0, 0), "pe", work, progress,
            blackboxes=(*pe_memories(cfg), "accumulators.set0", "accumulators.set1"))
    acc_storage = bank * 2 * cfg.banks
    sram = {name: rows * bits for name, (rows, bits) in pe_memories(cfg).items()}
    sram["weights"] = sram.pop("wbuf")
    rows = {
        "IARAM + OARAM": (f"{(sram['iaram'] + sram['oaram'] + sram['counts']) / 8192:.1f} KB",
                          (sram["iaram"] + sram["oaram"] + sram["counts"]) * SRAM_UM2_PER_BIT,
                          "SRAM model"),
        "weight buffer": (f"{sram['weights'] / 8192:.1f} KB",
                          sram["weights"] * SRAM_UM2_PER_BIT, "SRAM model"),
        "multiplier array": (f"{cfg.f * cfg.i} multipliers", mults, "Yosys"),
        "scatter crossbar": (f"{cfg.f * cfg.i}×{cfg.banks}", xbar, "Yosys"),
        "accumulator buffers": (f"{2 * cfg.banks * cfg.bank_entries * cfg.acc_width // 8192} KB",
                                acc_storage + acc_logic, "Yosys"),
        "other": ("sequencer, decode, PPU", pe - mults - xbar - acc_logic, "Yosys"),
    }
    return cfg, rows, {"pe_logic_um2": pe, "ppu_um2": ppu, "acc_storage_um2": acc_storage,
                       "acc_logic_um2": acc_logic, "bank_um2": bank, "sram_bits": sram,
                       "pe_cells": pe_report["cells"], "pe_flops": pe_report["flops"]}


def markdown(rows, extra):
    total = sum(area for _size, area, _src in rows.values())
    t4_total = sum(area for _size, area in TABLE4.values())
    logic = {k: v for k, v in rows.items() if v[2] == "Yosys"}
    logic_total = sum(area for _s, area, _src in logic.values())
    t4_logic = sum(TABLE4[k][1] for k in logic)
    lines = [
        "| component | size | area (µm², 0.18 µm) | share | share of logic | Table 4 size | "
        "Table 4 (mm², 16 nm) | Table 4 share | Table 4 share of logic |",
        "| --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    for name, (size, area, source) in rows.items():
        t4_size, t4_area = TABLE4[name]
        of_logic = f"{area / logic_total:.0%}" if source == "Yosys" else "—"
        t4_of_logic = f"{t4_area / t4_logic:.0%}" if source == "Yosys" else "—"
        lines.append(f"| {name} ({source}) | {size} | {area:,.0f} | {area / total:.0%} | "
                     f"{of_logic} | {t4_size} | {t4_area:.3f} | {t4_area / t4_total:.0%} | "
                     f"{t4_of_logic} |")
    lines.append(f"| total | | {total:,.0f} | 100% | | | {t4_total:.3f} | 100% | |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--update-readme", action="store_true")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    progress = Progress()
    cfg, rows, extra = measure(progress)
    text = markdown(rows, extra)
    print(text)
    print(table([(k, v) for k, v in extra.items() if not isinstance(v, dict)],
                ("figure", "value")))
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"design": cfg.name, "sram_um2_per_bit": SRAM_UM2_PER_BIT,
             "rows": {k: {"size": s, "area_um2": a, "source": src}
                      for k, (s, a, src) in rows.items()}, **extra}, indent=2) + "\n")
    if args.update_readme:
        update_readme(text, "scnn-area")
    return 0


if __name__ == "__main__":
    sys.exit(main())
