"""CCR's evaluation (Sec. V, Fig. 8, 9, Table I) on the cycle models and the liberty flow.

    .venv/bin/python benchmarks/ccr_figures.py [--update-readme] [--json FILE] [--plot PNG]
        [--skip-scnn] [--skip-area | --area-only]

* **Speed-up over dense** (Fig. 8): SparseK, SparseI and SparseKI against the dense baseline on
  every convolution layer of VGG-16, AlexNet and GoogLeNet, all on the paper's 8×8 PU
  (64 multipliers), from the cycle models (:mod:`sparseforge.sim.ccr.network`: each layer one
  pass over whole maps; SparseKI's pair loads sampled over input channels on layers above four
  million products). Densities: VGG-16 and AlexNet at the **published per-layer densities**
  of the pruned models both CCR (ref. [7]) and SCNN evaluate, Han et al. 2015, Tables 4 and 5
  (:mod:`sparseforge.sim.densities`: a layer's kept weights and its input's non-zero share);
  GoogLeNet, which has no published table, and a second row of every network at **uniform**
  densities: weights 50% and activations 70% non-zero, the bounds the CCR paper gives for VGG-16
  as a whole (Sec. I: "more than 30% of the neurons and 50% of the synapses in VGG16 are
  zero"). Random positions, exactly that fraction non-zero, seed 1; every variant sees the same
  operands.
* **Per VGG-16 layer** (Fig. 9): at the published densities, layer by layer, and a plot.
* **SparseK against SCNN** with the same 64 multipliers on the same layers: VGG-16's layers with
  their first 16 output channels (two SCNN output-channel groups; both cycle models are linear
  in K), the same operands for both, at the published per-layer densities. SCNN
  (:mod:`sparseforge.sim.scnn.cycles`, the model its RTL matches) as 4×4 PEs of 2×2
  multipliers with the paper's planar tiling (⌈W/4⌉ × ⌈H/4⌉ tiles), K_c = 8 and the banks its
  config derives; the paper's 4×4-multiplier PE would need 2×2 PEs with 112 × 112 tiles for
  conv1, beyond what the SCNN config takes (64).
* **Area** (liberty flow, OSU 0.18 µm, buffers as SRAM macros from the per-bit model): the CCU
  alone (one coordinate for SparseK and SparseI, ``P_x × P_y`` for SparseKI) and each design's
  logic, on the 8×8 PU with the paper's 128 KB buffers.

``--update-readme`` writes the tables between the ``ccr-speedup``, ``ccr-vgg16``, ``ccr-scnn``
and ``ccr-area`` markers of README.md. Each synthesis result is kept in
``benchmarks/results/ccr_area.json`` with the SHA-256 of the Verilog it came from, and a design
whose Verilog has not changed is not synthesized again (the 8×8 designs take minutes each).
"""

import argparse
import hashlib
import json
import re
import sys
import tempfile
from pathlib import Path

from amaranth.back import verilog
from sparseforge.gen.config import parse_config
from sparseforge.gen.presets import load_preset
from sparseforge.gen.report import Progress, table
from sparseforge.gen.synth import SRAM_UM2_PER_BIT, synth
from sparseforge.hdl.ccr import CcrAccelerator
from sparseforge.hdl.ccr.ccu import Ccu
from sparseforge.hdl.ccr.layouts import coord_shape, layer_layout
from sparseforge.sim import densities, workloads
from sparseforge.sim.ccr import layer as ccr_layer
from sparseforge.sim.ccr.cycles import layer_cycles
from sparseforge.sim.ccr.network import masks, network_model
from sparseforge.sim.scnn import cycles as scnn_cycles
from sparseforge.sim.scnn import streams as scnn_streams

from readme import update_readme

VARIANTS = ("dense", "sparse_k", "sparse_i", "sparse_ki")
NAMES = {"dense": "dense", "sparse_k": "SparseK", "sparse_i": "SparseI",
         "sparse_ki": "SparseKI"}
NETWORKS = ("vgg16", "alexnet", "googlenet")
WEIGHT_DENSITY, ACT_DENSITY = 0.5, 0.7
PX = PY = 8
SCNN_K = 16
AREA_CACHE = Path(__file__).resolve().parent / "results" / "ccr_area.json"


PUBLISHED, UNIFORM = "published", "uniform"


def setting_name(net, setting):
    """The densities a network's row ran at, as the tables print it."""
    if setting == PUBLISHED:
        return "Han et al. 2015, per layer"
    return f"uniform {WEIGHT_DENSITY:.0%} / {ACT_DENSITY:.0%}"


def speedups(progress):
    """``{(network, setting): [LayerModel]}`` of every variant on every network, at the
    published per-layer densities where a table exists and at uniform densities."""
    out = {}
    for net in NETWORKS:
        settings = [PUBLISHED, UNIFORM] if net in densities.networks() else [UNIFORM]
        for setting in settings:
            progress(f"cycle models on {net} ({setting} densities)")
            per_layer = densities.layer_densities(net) if setting == PUBLISHED else None
            out[net, setting] = network_model(VARIANTS, PX, PY, net, WEIGHT_DENSITY,
                                              ACT_DENSITY, seed=1, per_layer=per_layer)
    return out


def _totals(layers):
    return {v: sum(lm.cycles[v].cycles for lm in layers) for v in VARIANTS}


def network_results(models):
    """The JSON form of :func:`speedups`: ``{"net/setting": {"totals", "layers"}}``."""
    return {f"{net}/{setting}": {
        "totals": _totals(layers),
        "layers": [{"layer": lm.name, "macs": lm.macs,
                    **{v: lm.cycles[v].cycles for v in VARIANTS},
                    "sparse_ki_sampled": lm.cycles["sparse_ki"].sampled} for lm in layers]}
        for (net, setting), layers in models.items()}


def speedup_markdown(networks):
    """The network table from :func:`network_results`' form (or a results JSON's)."""
    lines = ["| network | densities (weights / activations) | layers | dense cycles | SparseK | "
             "SparseI | SparseKI | SparseKI layers sampled |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for key, data in networks.items():
        net, _, setting = key.partition("/")      # results before the published densities:
        setting = setting or UNIFORM              # the network's name alone, uniform
        t, layers = data["totals"], data["layers"]
        sampled = sum(r["sparse_ki_sampled"] for r in layers)
        lines.append(f"| {net} | {setting_name(net, setting)} | {len(layers)} | {t['dense']:,} | "
                     + " | ".join(f"{t['dense'] / t[v]:.2f}×" for v in VARIANTS[1:])
                     + f" | {sampled} |")
    return "\n".join(lines)


def vgg_rows(layers):
    per_layer = densities.layer_densities("vgg16")
    rows = []
    for lm in layers:
        dense = lm.cycles["dense"].cycles
        ki = lm.cycles["sparse_ki"]
        wd, ad = per_layer[lm.name]
        rows.append({"layer": lm.name, "weight_density": wd, "act_density": ad,
                     "macs": lm.macs, "dense_cycles": dense,
                     **{f"{v}_speedup": dense / lm.cycles[v].cycles for v in VARIANTS[1:]},
                     **{f"{v}_utilization": lm.cycles[v].utilization for v in VARIANTS},
                     "sparse_ki_stall_share": ki.bank_conflict_stalls / ki.cycles})
    return rows


def vgg_markdown(rows):
    lines = ["| layer | weights | input act. | MACs | dense cycles | SparseK | SparseI | SparseKI "
             "| SparseK util. | SparseKI cycles in bank stalls |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['layer']} | {r['weight_density']:.0%} | {r['act_density']:.0%} | "
                     f"{r['macs']:,} | {r['dense_cycles']:,} | "
                     f"{r['sparse_k_speedup']:.2f}× | {r['sparse_i_speedup']:.2f}× | "
                     f"{r['sparse_ki_speedup']:.2f}× | {r['sparse_k_utilization']:.2f} | "
                     f"{r['sparse_ki_stall_share']:.0%} |")
    return "\n".join(lines)


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(9, 3.8))
    width = 0.27
    xs = range(len(rows))
    for n, v in enumerate(VARIANTS[1:]):
        ax.bar([x + (n - 1) * width for x in xs], [r[f"{v}_speedup"] for r in rows], width,
               label=NAMES[v])
    ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.set_xticks(list(xs), [r["layer"] for r in rows], rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("speed-up over dense")
    ax.set_title(f"VGG-16 on an {PX}x{PY} PU, cycle models, per-layer densities of "
                 "Han et al. 2015 (Table 5)", fontsize=9)
    ax.grid(True, axis="y", linewidth=0.3)
    ax.set_ylim(0, 1.25 * max(r["sparse_k_speedup"] for r in rows))
    ax.legend(fontsize=8, ncol=3, loc="upper center")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def scnn_config(layer):
    """SCNN with 64 multipliers: 4×4 PEs of 2×2, the layer's planar tile, K_c = 8."""
    tile = max(-(-layer.w // 4), -(-layer.h // 4), (layer.r - 1) // 2, 1)
    return parse_config({
        "arch": "scnn", "name": "scnn_64", "pes": {"x": 4, "y": 4},
        "pe": {"f": 2, "i": 2}, "kc": 8, "tile": {"w": tile, "h": tile},
        "kernel_max": layer.r, "widths": {"act": 16, "weight": 16, "acc": 24},
        "index_bits": 4, "rams": {"iaram": 1 << 20, "oaram": 1 << 20, "weights": 1 << 20,
                                  "out_channels": 1024}})


def scnn_comparison(progress):
    """Dense, SparseK and SCNN cycles on VGG-16's layers with their first ``SCNN_K`` output
    channels, the same operands for all."""
    import numpy as np
    rng = np.random.default_rng(2)
    rows = []
    per_layer = densities.layer_densities("vgg16")
    for full in workloads.network("vgg16"):
        layer = workloads.ConvLayer(full.name, full.h, full.w, full.c, SCNN_K, full.r, full.s,
                                    full.stride, full.pad)
        wd, ad = per_layer[layer.name]
        x = masks(rng, (layer.c, layer.h, layer.w), ad)
        w = masks(rng, (layer.k, layer.c, layer.r, layer.s), wd)
        win = ccr_layer.window(layer.h, layer.w, layer.r, layer.s, pad=layer.pad)
        cfg = scnn_config(layer)
        progress(f"SCNN model on {layer.name} (K = {SCNN_K})")
        scnn = scnn_cycles.layer_cycles(cfg, scnn_streams.layer_streams(cfg, x, w))
        dense = layer_cycles("dense", PX, PY, x, w, win)
        k = layer_cycles("sparse_k", PX, PY, x, w, win)
        rows.append({"layer": layer.name, "macs": layer.macs, "dense_cycles": dense.cycles,
                     "sparse_k_cycles": k.cycles, "scnn_cycles": scnn.cycles,
                     "scnn_products": scnn.products, "scnn_stalls": scnn.stall_cycles,
                     "scnn_barrier_cycles": scnn.barrier_cycles, "scnn_tile": cfg.tile_w,
                     "scnn_banks": cfg.banks})
    return rows


def scnn_markdown(rows):
    lines = ["| layer (K = 16) | dense cycles | SparseK cycles | SCNN cycles | SparseK speed-up "
             "| SCNN speed-up | SparseK / SCNN |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows + [_sum_row(rows)]:
        lines.append(f"| {r['layer']} | {r['dense_cycles']:,} | {r['sparse_k_cycles']:,} | "
                     f"{r['scnn_cycles']:,} | {r['dense_cycles'] / r['sparse_k_cycles']:.2f}× | "
                     f"{r['dense_cycles'] / r['scnn_cycles']:.2f}× | "
                     f"{r['scnn_cycles'] / r['sparse_k_cycles']:.2f}× |")
    return "\n".join(lines)


def _sum_row(rows):
    return {"layer": "total", **{key: sum(r[key] for r in rows)
                                 for key in ("dense_cycles", "sparse_k_cycles", "scnn_cycles")}}


def area(progress, pu=PX):
    """Liberty-flow area of the CCU and of each design's logic (buffers as macros) on a
    ``pu × pu`` PU with the paper's 128 KB buffers."""
    rows = {}
    with tempfile.TemporaryDirectory(prefix="ccr-area-") as work:
        for name, (kernels, inputs) in (("ccu_1x1", (1, 1)), (f"ccu_{pu}x{pu}", (pu, pu))):
            base = _area_config("dense", pu)
            ccu = Ccu(kernels, inputs, input_bits=base.input_index_bits,
                      kernel_bits=(base.kernel_max + 2 * pu).bit_length(),
                      origin_shape=layer_layout(base)["x0"].shape,
                      coord_shape=coord_shape(base))
            rows[name.replace(f"{pu}x{pu}", "pxpy")] = _synth(ccu, name, work, progress, [])
        for v in VARIANTS:
            cfg = _area_config(v, pu)
            macros = CcrAccelerator.memory_macros(cfg)
            report = _synth(CcrAccelerator(cfg), cfg.name, work, progress,
                            [m["module"] for m in macros])
            bits = sum(m["words"] * m["width"] for m in macros)
            report.update(sram_bits=bits, sram_um2=bits * SRAM_UM2_PER_BIT)
            rows[v] = report
    return rows


def _area_config(variant, pu):
    if pu == PX:
        return load_preset(f"ccr_{variant}_paper")
    raw = dict(load_preset(f"ccr_{variant}_paper").to_dict())
    raw.update(name=f"ccr_{variant}_{pu}x{pu}", pu={"x": pu, "y": pu})
    return parse_config(raw)


#: A memory's initial contents, one word per line (every CCR memory is a black-boxed macro, so
#: dropping them changes no figure; Yosys would spend most of its time parsing them).
_MEMORY_INIT = re.compile(r"  initial begin\n(?:    [\w$]+\[\d+\] = [^;\n]+;\n)+  end\n")


def _synth(top, name, work, progress, blackboxes):
    text = verilog.convert(top, name=name, emit_src=False)
    if blackboxes:
        text = _MEMORY_INIT.sub("", text)
    sha = hashlib.sha256(text.encode()).hexdigest()
    cache = json.loads(AREA_CACHE.read_text()) if AREA_CACHE.exists() else {}
    if cache.get(name, {}).get("verilog_sha256") == sha:
        progress(f"{name}: Verilog unchanged, area from {AREA_CACHE.name}")
        return dict(cache[name])
    path = Path(work) / f"{name}.v"
    path.write_text(text)
    progress(f"synthesizing {name} (liberty)")
    result = synth(path, name, "liberty", work_dir=Path(work) / name,
                   blackbox_modules=blackboxes)
    figures = {"area_um2": result["area_um2"], "cells": result["cells"],
               "flops": result["flops"], "seconds": result["seconds"], "verilog_sha256": sha}
    cache = json.loads(AREA_CACHE.read_text()) if AREA_CACHE.exists() else {}
    cache[name] = figures
    AREA_CACHE.write_text(json.dumps(cache, indent=2, sort_keys=True) + "\n")
    return dict(figures)


def area_markdown(rows, pu):
    dense = rows["dense"]["area_um2"]
    lines = [f"| design ({pu}×{pu} PU) | CCU (µm²) | logic (µm²) | logic vs dense | "
             "SRAM macros (KB) | SRAM model (µm²) | total vs dense |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    total_dense = dense + rows["dense"]["sram_um2"]
    for v in VARIANTS:
        r = rows[v]
        ccu = {"dense": "— (loop counters)", "sparse_ki": f"{rows['ccu_pxpy']['area_um2']:,.0f}"}
        ccu_text = ccu.get(v, f"{rows['ccu_1x1']['area_um2']:,.0f}")
        lines.append(f"| {NAMES[v]} | {ccu_text} | {r['area_um2']:,.0f} | "
                     f"{r['area_um2'] / dense:.2f}× | {r['sram_bits'] / 8192:,.1f} | "
                     f"{r['sram_um2']:,.0f} | "
                     f"{(r['area_um2'] + r['sram_um2']) / total_dense:.2f}× |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--update-readme", action="store_true")
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--plot", metavar="PNG")
    parser.add_argument("--skip-scnn", action="store_true")
    parser.add_argument("--skip-area", action="store_true")
    parser.add_argument("--area-only", action="store_true")
    parser.add_argument("--area-pu", type=int, default=PX, metavar="P",
                        help=f"PU side of the area designs (default {PX}, the paper's)")
    parser.add_argument("--from-json", metavar="FILE",
                        help="render the tables (and --plot) from an earlier run's --json "
                             "instead of running the models")
    args = parser.parse_args(argv)
    if args.from_json:
        return render(json.loads(Path(args.from_json).read_text()), args)
    progress = Progress()
    texts = {}
    result = {"densities": {"weights": WEIGHT_DENSITY, "activations": ACT_DENSITY,
                            "published": densities.SOURCE},
              "pu": [PX, PY]}
    vgg = None
    if not args.area_only:
        models = speedups(progress)
        result["networks"] = network_results(models)
        texts["ccr-speedup"] = speedup_markdown(result["networks"])
        vgg = vgg_rows(models["vgg16", PUBLISHED])
        texts["ccr-vgg16"] = vgg_markdown(vgg)
        result["vgg16"] = vgg
    if not args.skip_scnn and not args.area_only:
        scnn = scnn_comparison(progress)
        texts["ccr-scnn"] = scnn_markdown(scnn)
        result["scnn"] = scnn
    if not args.skip_area:
        areas = area(progress, args.area_pu)
        texts["ccr-area"] = area_markdown(areas, args.area_pu)
        result["area"] = areas
    for marker, text in texts.items():
        print(f"{marker}:\n{text}\n")
    if vgg is not None:
        print(table([(r["layer"], r["sparse_k_speedup"], r["sparse_i_speedup"],
                      r["sparse_ki_speedup"]) for r in vgg], ("VGG-16", "K", "I", "KI")))
    if args.json:       # merged into what an earlier run (e.g. --area-only) wrote
        path = Path(args.json)
        merged = json.loads(path.read_text()) if path.exists() else {}
        merged.update(result)
        path.write_text(json.dumps(merged, indent=2) + "\n")
    if args.plot and vgg is not None:
        plot(vgg, args.plot)
    if args.update_readme:
        for marker, text in texts.items():
            update_readme(text, marker)
    return 0


def render(result, args):
    """Print (and with --update-readme write) the tables of a results JSON; --plot too."""
    texts = {}
    if "networks" in result:
        texts["ccr-speedup"] = speedup_markdown(result["networks"])
    if "vgg16" in result:
        texts["ccr-vgg16"] = vgg_markdown(result["vgg16"])
    if "scnn" in result:
        texts["ccr-scnn"] = scnn_markdown(result["scnn"])
    if "area" in result:
        texts["ccr-area"] = area_markdown(result["area"], args.area_pu)
    for marker, text in texts.items():
        print(f"{marker}:\n{text}\n")
        if args.update_readme:
            update_readme(text, marker)
    if args.plot and "vgg16" in result:
        plot(result["vgg16"], args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
