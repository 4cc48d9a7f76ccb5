"""ResNet-50 on a dense 32×64 SA accelerator: the cycle model against SCALE-Sim's formula.

    .venv/bin/python benchmarks/accel_scalesim.py [--spec PATH] [--update-readme]

The design is ``benchmarks/specs/accel_sa_32x64.yaml`` (``arch: accel``, a 32×64 output-
stationary SA, 2 MB + 512 KB SRAM). Per ResNet-50 layer (53 convolutions, Caffe v1):

* **model**: the accelerator's cycle model (:func:`sparseforge.sim.accel.cycles.layer_cycles`,
  exact against the RTL in the regression) with the mapping the plan chooses (``raster`` when it
  needs fewer output tiles than the 2-D patch, else the patch through IM2COL or the direct
  reader);
* **patch only**: the same model with the raster mapping off (``raster=False``), the design's
  cycles before the raster mapping;
* **SCALE-Sim**: an independent output-stationary formula after SCALE-Sim v2
  (``systolic_compute_os``): output pixels mapped linearly onto the R = 32 rows, output
  channels onto the C = 64 columns, ``folds = ⌈Ho·Wo / R⌉ · ⌈K / C⌉``, each fold taking
  ``T + R + C − 2`` cycles for a reduction of ``T = R_k·S_k·C_in`` (operands streamed in with the
  array's skew, the outputs drained before the next fold: folds do not overlap).

Utilization is useful MACs over multipliers × cycles. The three figures above count compute
only, as SCALE-Sim's formula does (every layer as if its operands fit the SRAMs). Beside them,
**with time tiles**: the accelerator's cycles when layers larger than its SRAMs run as time tiles
with their DMA reloads (:mod:`sparseforge.sim.accel.tiling`, 8 bytes a cycle by default, at most
one stream word a cycle: 1 byte on this B = 1 design's activation port); a layer whose one-row
tiles still do not fit (its reduction would need partial sums) is counted as one job as if it fit
and listed. Results: the table below and ``benchmarks/results/accel_scalesim.json`` (per layer
``mapping``, ``reader``, ``patch``, ``tiles``, the cycle counts and the tiling fields).
"""

import argparse
import json
import sys
from pathlib import Path

from sparseforge.gen.config import load_config_file
from sparseforge.gen.report import table
from sparseforge.sim import workloads
from sparseforge.sim.accel import cycles as accel_cycles
from sparseforge.sim.accel import plan as accel_plan
from sparseforge.sim.accel import tiling as accel_tiling

from readme import update_readme

HERE = Path(__file__).resolve().parent
SPEC = HERE / "specs" / "accel_sa_32x64.yaml"
RESULTS = HERE / "results" / "accel_scalesim.json"


def scalesim_os_cycles(layer, rows, cols):
    """SCALE-Sim's output-stationary cycles of a convolution on a ``rows × cols`` array:
    ``⌈Ho·Wo/rows⌉·⌈K/cols⌉`` folds of ``T + rows + cols − 2`` cycles, ``T = R·S·C``."""
    pixels = layer.ho * layer.wo
    folds = -(-pixels // rows) * -(-layer.k // cols)
    return folds * (layer.r * layer.s * layer.c + rows + cols - 2)


def measure(cfg, dma_bytes=None):
    array = cfg.array
    if array.sparse or array.kind != "sa":
        raise SystemExit(f"{cfg.name}: expected a dense SA (SCALE-Sim's array), not "
                         f"{array.kind}")
    rows_, cols_ = array.tile_rows, array.tile_cols
    multipliers = array.macs_total
    out = []
    for layer in workloads.network("resnet50"):
        args = (cfg, layer.h, layer.w, layer.c, layer.k, layer.r, layer.s, layer.stride,
                layer.pad, array.max_nnz)
        plan = accel_plan.plan_layer(*args, check_sram=False)
        patch = accel_plan.plan_layer(*args, check_sram=False, raster=False)
        model = accel_cycles.layer_cycles(plan)
        before = accel_cycles.layer_cycles(patch)
        scale = scalesim_os_cycles(layer, rows_, cols_)
        try:
            tiled = accel_tiling.tile_layer(*args, int8_out=True, dma_bytes=dma_bytes)
            tiling = {**tiled.summary(), "tiled_cycles": tiled.cycles}
        except accel_plan.PlanError as e:
            tiling = {"time_tiles": None, "refused": str(e), "reload_cycles": 0,
                      "reload_bytes": 0, "tiled_cycles": model}
        out.append({**tiling,
            "layer": layer.name, "output": [plan.ho, plan.wo], "k": layer.k,
            "kernel": [layer.r, layer.s], "stride": layer.stride,
            "mapping": plan.mapping, "reader": plan.reader, "patch": [plan.ph, plan.pw],
            "tiles": plan.tiles, "model_cycles": model,
            "patch_only_cycles": before, "patch_only_reader": patch.reader,
            "patch_only_patch": [patch.ph, patch.pw],
            "scalesim_cycles": scale, "macs": layer.macs,
            "utilization": layer.macs / (multipliers * model),
            "scalesim_utilization": layer.macs / (multipliers * scale),
            "speedup_vs_scalesim": scale / model})
    totals = {key: sum(r[key] for r in out)
              for key in ("model_cycles", "patch_only_cycles", "scalesim_cycles", "macs",
                          "tiled_cycles", "reload_cycles", "reload_bytes")}
    totals["tiled_layers"] = sum(1 for r in out if r["time_tiles"] and r["time_tiles"] > 1)
    totals["refused_layers"] = [r["layer"] for r in out if r["time_tiles"] is None]
    totals["tiled_utilization"] = totals["macs"] / (multipliers * totals["tiled_cycles"])
    for key, cyc in (("utilization", "model_cycles"),
                     ("patch_only_utilization", "patch_only_cycles"),
                     ("scalesim_utilization", "scalesim_cycles")):
        totals[key] = totals["macs"] / (multipliers * totals[cyc])
    totals["speedup_vs_scalesim"] = totals["scalesim_cycles"] / totals["model_cycles"]
    totals["layers_slower_than_scalesim"] = [r["layer"] for r in out
                                             if r["model_cycles"] > r["scalesim_cycles"]]
    totals["raster_layers"] = sum(r["mapping"] == "raster" for r in out)
    return out, totals


def readme_text(cfg, rows, totals):
    lines = ["| layer (× count) | output | mapping (reader) | model cycles | patch only | "
             "SCALE-Sim OS | SCALE-Sim / model | utilization | with time tiles |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    # One row per distinct layer (shape, mapping and cycles), with its count and first name.
    groups = {}
    for r in rows:
        key = (tuple(r["output"]), r["k"], tuple(r["kernel"]), r["stride"], r["mapping"],
               r["reader"], r["model_cycles"], r["patch_only_cycles"], r["scalesim_cycles"],
               r["tiled_cycles"], r["time_tiles"])
        groups.setdefault(key, []).append(r)
    for members in groups.values():
        r = members[0]
        n = len(members)
        names = f"`{r['layer']}`" + (f" and {n - 1} more" if n > 1 else "")
        lines.append(f"| {names} | {r['output'][0]}×{r['output'][1]}×{r['k']}, "
                     f"{r['kernel'][0]}×{r['kernel'][1]}/{r['stride']} | {r['mapping']} "
                     f"({r['reader']}) | {r['model_cycles']:,} | {r['patch_only_cycles']:,} | "
                     f"{r['scalesim_cycles']:,} | {r['speedup_vs_scalesim']:.2f} | "
                     f"{r['utilization']:.3f} | {_tiled_cell(r)} |")
    t = totals
    lines.append(f"| **ResNet-50 ({len(rows)} layers)** | | {t['raster_layers']} raster | "
                 f"**{t['model_cycles']:,}** | {t['patch_only_cycles']:,} | "
                 f"{t['scalesim_cycles']:,} | **{t['speedup_vs_scalesim']:.3f}** | "
                 f"**{t['utilization']:.3f}** | {t['tiled_cycles']:,} |")
    return "\n".join(lines)


def _tiled_cell(r):
    """The "with time tiles" cell: the cycles, and the tiles (or "refused")."""
    if r["time_tiles"] is None:
        return "refused"
    if r["time_tiles"] == 1:
        return f"{r['tiled_cycles']:,}"
    return f"{r['tiled_cycles']:,} ({r['time_tiles']} tiles)"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", default=str(SPEC), help="the accelerator design (YAML)")
    parser.add_argument("--dma-bytes", type=int, metavar="N",
                        help="DMA bytes a cycle for time-tiled layers (default 8)")
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args(argv)
    cfg = load_config_file(args.spec)
    rows, totals = measure(cfg, args.dma_bytes)
    print(table([(r["layer"], f"{r['output'][0]}x{r['output'][1]}x{r['k']}", r["mapping"],
                  r["reader"], r["tiles"], r["model_cycles"], r["patch_only_cycles"],
                  r["scalesim_cycles"], f"{r['speedup_vs_scalesim']:.2f}",
                  f"{r['utilization']:.3f}") for r in rows],
                ("layer", "output", "mapping", "reader", "tiles", "model", "patch only",
                 "SCALE-Sim OS", "ratio", "util.")))
    print(f"\nResNet-50 on {cfg.name}: model {totals['model_cycles']:,} cycles (utilization "
          f"{totals['utilization']:.3f}); patch mapping only {totals['patch_only_cycles']:,} "
          f"({totals['patch_only_utilization']:.3f}); SCALE-Sim OS {totals['scalesim_cycles']:,} "
          f"({totals['scalesim_utilization']:.3f}): {totals['speedup_vs_scalesim']:.3f}x fewer; "
          f"layers slower than SCALE-Sim: {totals['layers_slower_than_scalesim'] or 'none'}")
    print(f"With time tiles for the {totals['tiled_layers']} layers larger than the SRAMs: "
          f"{totals['tiled_cycles']:,} cycles ({totals['reload_cycles']:,} of DMA reloads, "
          f"{totals['reload_bytes']:,} bytes; utilization {totals['tiled_utilization']:.3f}); "
          f"refused (one job as if it fit): {totals['refused_layers'] or 'none'}")
    RESULTS.write_text(json.dumps({"design": cfg.name, "spec": str(Path(args.spec).name),
                                   "array": [cfg.array.tile_rows, cfg.array.tile_cols],
                                   "scalesim_formula": "folds x (T + R + C - 2), folds = "
                                   "ceil(Ho*Wo/R) * ceil(K/C), T = R_k*S_k*C_in",
                                   "layers": rows, "totals": totals}, indent=2) + "\n")
    if args.update_readme:
        update_readme(readme_text(cfg, rows, totals), "accel-scalesim")
    return 0


if __name__ == "__main__":
    sys.exit(main())
