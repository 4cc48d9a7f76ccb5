"""Area of the SCNN PE by component (liberty flow), beside the paper's Table 4.

    .venv/bin/python benchmarks/scnn_area.py [--sram macro|logic] [--update-readme] [--json FILE]

The PE of ``scnn_paper_pe`` (Table 3: 4×4 multipliers of 16 bits, 32 accumulator banks of 32
24-bit entries, double-buffered; 10 KB IARAM and OARAM) is measured with Yosys and the OSU 0.18 µm
standard cells at the clock target of ``constraints/clocks.toml``:

* logic: each component synthesized on its own (multiplier array, the queued scatter crossbar
  with its F·I queues, the accumulators' adders and multiplexers, the PPU) and the whole PE with
  every RAM as a black box; "other" is the PE's logic minus the components (sequencer,
  block-header fetch, coordinate computation, pipeline registers, the PPU);
* SRAM macros (IARAM with its activation directory, OARAM and its count table, the weight FIFO
  with its block queue, and with ``--sram macro``, the default, each of the 2 × 32 accumulator
  banks, as the paper's HLS flow mapped them to banked RAMs and latch arrays, Sec. 4.4) from one
  per-bit model, :data:`sparseforge.gen.synth.SRAM_UM2_PER_BIT`,
  as an SRAM compiler would supply them;
* with ``--sram logic`` the accumulator banks are flip-flops instead: one 32 × 24-bit bank (a
  register file with a combinational read port, as the RTL has it) synthesized, times 2 × 32.

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
    QueuedCrossbar,
    ScnnPE,
)
from sparseforge.hdl.scnn.pe import pe_memories
from sparseforge.hdl.scnn.rams import Ram

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


def measure(progress, mode="macro"):
    cfg = load_preset("scnn_paper_pe")
    banks = [f"set{s}.bank{b}" for s in range(2) for b in range(cfg.banks)]
    with tempfile.TemporaryDirectory(prefix="scnn-area-") as work:
        mults, _ = logic_area(MultiplierArray(cfg.f, cfg.i, weight_width=cfg.weight_width,
                                              act_width=cfg.act_width,
                                              product_width=cfg.acc_width),
                              "mults", work, progress)
        xbar, _ = logic_area(QueuedCrossbar(cfg), "crossbar", work, progress)
        acc_logic, _ = logic_area(AccumulatorBanks(cfg), "accumulators", work, progress,
                                  blackboxes=banks)
        ppu, _ = logic_area(PostProcessor(cfg, 0, 0), "ppu", work, progress)
        pe, pe_report = logic_area(ScnnPE(cfg, 0, 0), "pe", work, progress,
                                   blackboxes=pe_memories(cfg))
        if mode == "logic":
            bank, _ = logic_area(Ram(signed(cfg.acc_width), cfg.bank_entries, comb=True), "bank",
                                 work, progress)
        else:
            bank = cfg.bank_entries * cfg.acc_width * SRAM_UM2_PER_BIT
    acc_storage = bank * 2 * cfg.banks
    acc_source = "Yosys" if mode == "logic" else "SRAM model + Yosys"
    sram = {name: rows * bits for name, (rows, bits) in pe_memories(cfg).items()
            if not name.startswith("accumulators.")}
    # The weight FIFO with its block queue; IARAM and OARAM with the activation directory and
    # the output count table.
    weights = sram["wbuf"] + sram["wqueue"]
    acts = sram["iaram"] + sram["alist"] + sram["oaram"] + sram["counts"]
    assert set(sram) == {"wbuf", "wqueue", "iaram", "alist", "oaram", "counts"}, sorted(sram)
    rows = {
        "IARAM + OARAM": (f"{acts / 8192:.1f} KB", acts * SRAM_UM2_PER_BIT, "SRAM model"),
        "weight buffer": (f"{weights / 8192:.2f} KB", weights * SRAM_UM2_PER_BIT, "SRAM model"),
        "multiplier array": (f"{cfg.f * cfg.i} multipliers", mults, "Yosys"),
        "scatter crossbar": (f"{cfg.f * cfg.i}×{cfg.banks}", xbar, "Yosys"),
        "accumulator buffers": (f"{2 * cfg.banks * cfg.bank_entries * cfg.acc_width // 8192} KB",
                                acc_storage + acc_logic, acc_source),
        "other": ("sequencer, decode, PPU", pe - mults - xbar - acc_logic, "Yosys"),
    }
    return cfg, rows, {"sram_mode": mode, "pe_logic_um2": pe, "ppu_um2": ppu,
                       "acc_storage_um2": acc_storage, "acc_logic_um2": acc_logic,
                       "crossbar_um2": xbar, "bank_um2": bank, "sram_bits": sram,
                       "pe_cells": pe_report["cells"], "pe_flops": pe_report["flops"]}


def markdown(rows, extra):
    total = sum(area for _size, area, _src in rows.values())
    t4_total = sum(area for _size, area in TABLE4.values())
    lines = [
        "| component | size | area (µm², 0.18 µm) | share | Table 4 size | "
        "Table 4 (mm², 16 nm) | Table 4 share |",
        "| --- | --- | ---: | ---: | --- | ---: | ---: |",
    ]
    for name, (size, area, source) in rows.items():
        t4_size, t4_area = TABLE4[name]
        lines.append(f"| {name} ({source}) | {size} | {area:,.0f} | {area / total:.0%} | "
                     f"{t4_size} | {t4_area:.3f} | {t4_area / t4_total:.0%} |")
    lines.append(f"| total | | {total:,.0f} | 100% | | {t4_total:.3f} | 100% |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sram", choices=("macro", "logic"), default="macro",
                        help="accumulator banks as RAM macros (default) or as flip-flops")
    parser.add_argument("--update-readme", action="store_true")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    progress = Progress()
    cfg, rows, extra = measure(progress, args.sram)
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
        update_readme(text, "scnn-area" if args.sram == "macro" else "scnn-area-logic")
    return 0


if __name__ == "__main__":
    sys.exit(main())
