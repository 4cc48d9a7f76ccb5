"""Area (and ECP5 clock speed) of the pipelined MAC and of Booth multipliers on STA designs.

    .venv/bin/python benchmarks/sta_pipeline.py [--runs NAME,...] [--ecp5]

Each run is a design, a ``pipeline`` setting and a liberty-flow option:

* ``sa_8x8`` and ``vdbb_2x8x4_2x2`` without and with MAC pipeline registers (the product for the
  SA, mux and product for VDBB), liberty flow (OSU 0.18 µm, µm², cells, flip-flops) and, with
  ``--ecp5``, the ECP5 flow (nextpnr: LUTs, flip-flops, Fmax; slow: tens of minutes per design
  on a loaded machine);
* ``sa_8x8`` with Booth-encoded multipliers (``synth -booth``) beside the plain mapping.

Results go to ``benchmarks/results/sta_pipeline.json``, merged run by run (several instances may
run different ``--runs``).
"""

import argparse
import json
import sys
from pathlib import Path

from sparseforge.gen.api import synth
from sparseforge.gen.config import config_to_dict, parse_config
from sparseforge.gen.presets import load_preset
from sparseforge.gen.report import Progress

from readme import update_readme

RESULTS = Path(__file__).resolve().parent / "results" / "sta_pipeline.json"

#: run name -> (preset, pipeline setting, Booth multipliers in the liberty flow)
RUNS = {
    "sa_8x8": ("sa_8x8", None, False),
    "sa_8x8_pipe_product": ("sa_8x8", {"product": True}, False),
    "sa_8x8_booth": ("sa_8x8", None, True),
    "vdbb_2x8x4_2x2": ("vdbb_2x8x4_2x2", None, False),
    "vdbb_2x8x4_2x2_pipe_mux_product": ("vdbb_2x8x4_2x2", {"mux": True, "product": True}, False),
}

_KEEP = {"liberty": ("area_um2", "sequential_area_um2", "cells", "flops", "booth", "period_ps",
                     "critical_path_ns", "critical_path_levels", "critical_path_from",
                     "critical_path_to"),
         "ecp5": ("device", "luts", "flops", "dsps", "fmax_mhz", "target_mhz", "abc9")}


def config(preset, pipeline):
    raw = config_to_dict(load_preset(preset))
    if pipeline:
        raw["pipeline"] = pipeline
    return parse_config(raw, preset)


def readme_table(results):
    """The README's table of the results JSON, one row per run."""
    lines = ["| design | MAC registers | Booth | area (µm²) | vs plain | flip-flops | "
             "critical path (ns) | levels | ECP5 LUTs / FFs | ECP5 Fmax (MHz) |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name in RUNS:
        if name not in results:
            continue
        r = results[name]
        lib = r["liberty"]
        plain = results.get(r["design"], {}).get("liberty", lib)["area_um2"]
        stages = " + ".join(k for k, v in sorted(r["pipeline"].items()) if v) or "none"
        ecp5 = r.get("ecp5")
        fpga = (f"{ecp5['luts']:,} / {ecp5['flops']:,}", f"{ecp5['fmax_mhz']:.1f}") if ecp5 \
            else ("—", "—")
        lines.append(f"| `{r['design']}` | {stages} | {'yes' if lib['booth'] else 'no'} | "
                     f"{lib['area_um2']:,.0f} | {lib['area_um2'] / plain:.2f} | "
                     f"{lib['flops']:,} | {lib['critical_path_ns']:.2f} | "
                     f"{lib['critical_path_levels']} | {fpga[0]} | {fpga[1]} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", default=",".join(RUNS), help="subset of " + ", ".join(RUNS))
    parser.add_argument("--ecp5", action="store_true", help="also run the ECP5 flow")
    parser.add_argument("--update-readme", action="store_true",
                        help="write the table of the results JSON into README.md")
    args = parser.parse_args(argv)
    if args.update_readme:
        update_readme(readme_table(json.loads(RESULTS.read_text())), "sta-pipeline")
        return 0
    progress = Progress()
    for name in args.runs.split(","):
        preset, pipeline, booth = RUNS[name]
        cfg = config(preset, pipeline)
        flows = ["liberty"] + (["ecp5"] if args.ecp5 and not booth else [])
        for flow in flows:
            figures = synth(cfg, flow, booth=booth and flow == "liberty",
                            progress=progress).figures
            results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
            entry = results.setdefault(name, {"design": preset, "pipeline": pipeline or {},
                                              "mac_stages": cfg.mac_stages})
            entry[flow] = {key: figures.get(key) for key in _KEEP[flow]}
            RESULTS.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
            progress(f"{name} {flow}: {entry[flow]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
