"""The IM2COL unit's own area beside the SRAM read magnification it gives (STA paper, Fig. 8).

    .venv/bin/python benchmarks/im2col_area.py [--designs NAME,...] [--update-readme]

For each design, :class:`~sparseforge.hdl.accel.im2col.Im2colMagnifier` is elaborated alone with
the design's accelerator config and synthesized by the liberty flow (OSU 0.18 µm, Yosys, as
``sparseforge synth --flow liberty``): its logic area, flip-flops and the window buffers' bits.
Beside it, the activation-SRAM read magnification (reads without the unit over reads with it)
on ResNet-50's 3×3 stride-1 layers at 3/8, from the plan and read counts the accelerator
regression checks exact against the RTL (as ``benchmarks/accel_figures.py``).

Designs: ``accel_small`` and ``accel_paper`` (their default windows, sized for a 7×7 stride-2
kernel over the patch) and ``accel_small`` with the paper's small register window of Fig. 8
(6×4 input words: a 2×4 output patch of a 3×3 stride-1 kernel; layers whose window does not
fit it go through the direct reader). Results in ``benchmarks/results/im2col_area.json``.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

from sparseforge.gen.config import config_to_dict, parse_config
from sparseforge.gen.presets import load_preset
from sparseforge.gen.reproduce.sta import resnet_3x3
from sparseforge.gen.report import Progress
from sparseforge.gen.synth import synth
from sparseforge.hdl.accel.im2col import Im2colMagnifier
from sparseforge.hdl.common import sram_model

from readme import update_readme

RESULTS = Path(__file__).resolve().parent / "results" / "im2col_area.json"

#: The paper's Fig. 8 buffer: a 4-row by 6-column window of input words ("caches 6×4 inputs").
FIG8_WINDOW = [4, 6]


def designs():
    """name -> (description, accelerator config)."""
    small = config_to_dict(load_preset("accel_small"))
    fig8 = parse_config({**small, "name": "accel_small_fig8", "im2col": {"window": FIG8_WINDOW}})
    return {
        "accel_small": ("default window", load_preset("accel_small")),
        "accel_paper": ("default window", load_preset("accel_paper")),
        "accel_small_fig8": ("the paper's Fig. 8 window (4×6 words)", fig8),
    }


def im2col_area(cfg, progress):
    """Liberty-flow figures of the design's IM2COL unit synthesized alone."""
    top = f"{cfg.name}_im2col"
    with tempfile.TemporaryDirectory(prefix="sparseforge-im2col-") as tmp:
        path = Path(tmp) / f"{top}.v"
        path.write_text(sram_model.convert(Im2colMagnifier(cfg), name=top))
        report = synth(path, top, "liberty", progress=progress)
    return {key: report[key] for key in ("area_um2", "sequential_area_um2", "cells", "flops")}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--designs", default=",".join(designs()),
                        help="comma-separated subset of " + ", ".join(designs()) +
                             " (empty: print the table of the results JSON only)")
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args(argv)
    progress = Progress()
    table_designs = designs()
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for name in filter(None, args.designs.split(",")):     # --designs "": the table only
        what, cfg = table_designs[name]
        rows = resnet_3x3(cfg, 3)
        magn = [r["magnification"] for r in rows]
        window_bits = 2 * cfg.window_rows * cfg.window_cols * cfg.word_bits
        figures = im2col_area(cfg, progress)
        results[name] = {
            "what": what, "window": [cfg.window_rows, cfg.window_cols],
            "patch_pixels": cfg.array.tile_rows, "window_buffer_bits": window_bits,
            **figures,
            "magnification_min": min(magn), "magnification_max": max(magn),
            "resnet50_3x3": rows,
        }
        RESULTS.write_text(json.dumps(results, indent=1) + "\n")     # each design as it ends
        progress(f"{name}: {figures['area_um2']:,.0f} um2, magnification {min(magn):.2f}–"
                 f"{max(magn):.2f}")
    lines = ["| design | window (words) | output tile (pixels) | buffer bits | flip-flops | "
             "IM2COL area (µm²) | magnification (ResNet-50 3×3/1) |",
             "| --- | --- | ---: | ---: | ---: | ---: | --- |"]
    for name, r in results.items():
        lines.append(f"| `{name}` | {r['window'][0]}×{r['window'][1]} | {r['patch_pixels']} | "
                     f"{r['window_buffer_bits']:,} | {r['flops']:,} | {r['area_um2']:,.0f} | "
                     f"{r['magnification_min']:.2f}–{r['magnification_max']:.2f}× |")
    text = "\n".join(lines)
    print(text)
    if args.update_readme:
        update_readme(text, "im2col-area")
    return 0


if __name__ == "__main__":
    sys.exit(main())
