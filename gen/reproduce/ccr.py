"""Li et al.: *CCR: A Concise Convolution Rule for Sparse Neural Network Accelerators* — its
worked examples, Table I and Sec. V's speed-ups beside the project's CCR rule, cycle models,
RTL regressions and OSU 0.18 µm synthesis.
"""

from dataclasses import replace

import numpy as np

from ...sim import densities
from ...sim.ccr import examples, reduction, rule
from . import committed
from .context import published_table
from .plotting import pyplot, save
from .rows import Published as P
from .rows import Source, cannot, compare

__all__ = ["TITLE", "PUBLISHED", "reproduce", "NETWORKS", "WEIGHT_DENSITY", "ACT_DENSITY"]

TITLE = ("Li et al., *CCR: A Concise Convolution Rule for Sparse Neural Network Accelerators* "
         "(SparseK, SparseI, SparseKI)")

NETWORKS = ("vgg16", "alexnet", "googlenet")
#: Uniform densities (the CCR paper's Sec. I bounds for VGG-16: > 50 % of the synapses and
#: > 30 % of the neurons zero), as benchmarks/ccr_figures.py uses them for GoogLeNet, which has
#: no published per-layer table; VGG-16 and AlexNet run at Han et al.'s (sim/densities.py).
WEIGHT_DENSITY, ACT_DENSITY = 0.5, 0.7
PX = PY = 8

PUBLISHED = published_table(
    P("fig3.macs", "Fig. 3, Sec. III-A", "MACs of CCR-1 on the 4×4 map and sparse 3×3 kernel "
      "(dense: 144)", 80),
    P("fig3.reduction", "Fig. 3, Sec. III-A", "MAC reduction of CCR-1 on Fig. 3", 44.4, "%"),
    P("fig4.macs", "Fig. 4, Sec. III-B", "MACs of CCR-2 on the sparse 6×6 map (dense: 324)", 90),
    P("fig5.macs", "Fig. 5, Sec. III-C", "MACs of CCR-3 on sparse map and kernel (dense: 144)",
      40),
    P("fig45.reduction", "Sec. III-B, III-C", "MAC reduction of CCR-2 and CCR-3 on the worked "
      "examples", 72.2, "%"),
    P("table1.designs", "Table I", "architectures: Dense, SparseK, SparseI, SparseKI", 4),
    P("table1.ccu", "Table I", "CCU complexity of SparseKI over SparseK: O(Px·Py) against O(1), "
      "Px = Py = 8", PX * PY, "×"),
    P("fig8.sparsek_dense", "Fig. 8, Sec. V-B", "SparseK's average speed-up over the dense "
      "baseline (2.3–2.9× across VGG16, AlexNet, GoogLeNet)", 2.6, "×"),
    P("fig8.sparsek_scnn_vgg", "Fig. 8, Sec. V-B", "SparseK over SCNN on VGG16 (the one network "
      "where SCNN is slightly faster; range 0.9–1.4×)", 0.9, "×"),
    P("fig8.sparsek_cnvlutin", "Fig. 8, Sec. V-B", "SparseK's average speed-up over Cnvlutin",
      1.8, "×"),
    P("fig8.sparsek_cambricon", "Fig. 8, Sec. V-B", "SparseK's average speed-up over "
      "Cambricon-X", 1.3, "×"),
    P("fig10.energy", "Fig. 10, Sec. V-B", "SparseK's energy-efficiency gain over dense on VGG16",
      2.23, "×"),
)


def _examples(ctx):
    src = Source("the CCR rule (`sparseforge.sim.ccr`) on the worked example's operands, "
                 "its output checked equal to the full convolution")
    recon = ("; the figure's matrices are not in the text: our operands are reconstructed with "
             "its stated sub-matrix counts")
    counts = {}
    for name in ("fig3", "fig4", "fig5"):
        ex = examples.EXAMPLES[name]()
        r, s = ex.kernel.shape
        h, w = ex.imap.shape
        full = rule.full_conv(ex.imap, ex.kernel)
        kernels = rule.nonzero(ex.kernel_triplets)
        imaps = rule.nonzero(ex.imap_triplets)
        if name == "fig3":
            out, macs = rule.ccr1(ex.imap, kernels, r, s), reduction.macs_ccr1(h, w, kernels)
        elif name == "fig4":
            out, macs = rule.ccr2(imaps, ex.kernel, h, w), reduction.macs_ccr2(imaps, r, s)
        else:
            out, macs = (rule.ccr3(imaps, kernels, h, w, r, s),
                         reduction.macs_ccr3(imaps, kernels))
        if not np.array_equal(out, full):
            raise RuntimeError(f"CCR on {name} differs from the full convolution")
        counts[name] = (macs, h * w * r * s)
        row = compare(PUBLISHED[f"{name}.macs"], macs, src, tolerance=0)
        if name != "fig3":
            row = replace(row, reason=row.reason + recon)
        ctx.add(row)
    macs, dense = counts["fig3"]
    ctx.add(compare(PUBLISHED["fig3.reduction"], round(100 * (1 - macs / dense), 1), src,
                    tolerance=0.001))
    reductions = {round(100 * (1 - m / d), 1) for m, d in (counts["fig4"], counts["fig5"])}
    ours = reductions.pop() if len(reductions) == 1 else None
    if ours is None:
        ctx.add(compare(PUBLISHED["fig45.reduction"], 0.0, src,
                        why="Fig. 4 and Fig. 5 reduce by different amounts here"))
    else:
        ctx.add(compare(PUBLISHED["fig45.reduction"], ours, src, tolerance=0.001))


def _designs(ctx):
    data = committed.load("ccr_rtl")
    pub = PUBLISHED["table1.designs"]
    if data is None:
        ctx.add(cannot(pub, "benchmarks/results/ccr_rtl.json is not in this checkout"))
    else:
        sims = {r["simulator"] for r in data}
        passing = [v for v in {r["variant"] for r in data}
                   if {r["simulator"] for r in data if r["variant"] == v and r["tests"] > 0
                       and r["failures"] == 0} == sims]
        ctx.add(compare(pub, len(passing), committed.source(
            "ccr_rtl", "designs whose cocotb regression passes on Icarus and Verilator"),
            tolerance=0))
    area = (committed.load("ccr_figures") or {}).get("area")
    pub = PUBLISHED["table1.ccu"]
    if not area:
        ctx.add(cannot(pub, "benchmarks/results/ccr_figures.json has no area results"))
        return
    ratio = area["ccu_pxpy"]["area_um2"] / area["ccu_1x1"]["area_um2"]
    ctx.add(compare(pub, ratio, committed.source(
        "ccr_figures", "liberty flow (OSU 0.18 µm) of the CCU: one coordinate against "
                       "8×8 coordinates"),
        why="O(·) gives the growth, not a constant factor; ours is the ratio of the two CCUs' "
            "synthesized areas"))


def _speedups(ctx):
    from ...sim.ccr.network import network_model
    nets = ("alexnet",) if ctx.quick else NETWORKS
    ctx.progress(f"cycle models of dense and SparseK on {', '.join(nets)}")
    models = {net: network_model(("dense", "sparse_k"), PX, PY, net, WEIGHT_DENSITY,
                                 ACT_DENSITY, seed=1, per_layer=_published(net))
              for net in nets}
    speedup = {net: sum(lm.cycles["dense"].cycles for lm in layers) /
               sum(lm.cycles["sparse_k"].cycles for lm in layers)
               for net, layers in models.items()}
    setting = (f"per-layer densities of the pruned models the paper cites ({densities.SOURCE}) "
               f"for {', '.join(n for n in nets if _published(n))}"
               + ("" if all(_published(n) for n in nets) else
                  f"; GoogLeNet, which has no published table, at uniform densities (weights "
                  f"{WEIGHT_DENSITY:.0%}, activations {ACT_DENSITY:.0%})")
               + "; random positions, seed 1; "
               + ", ".join(f"{n} {v:.2f}×" for n, v in speedup.items()))
    src = Source(f"cycle models (dense, SparseK) on an {PX}×{PY} PU, every convolution layer of "
                 f"{', '.join(nets)}")
    ctx.add(compare(PUBLISHED["fig8.sparsek_dense"], sum(speedup.values()) / len(speedup), src,
                    setting=setting + ("; quick: AlexNet only" if ctx.quick else "")))
    data = committed.load("ccr_figures") or {}
    scnn = data.get("scnn")
    pub = PUBLISHED["fig8.sparsek_scnn_vgg"]
    if scnn:
        ratio = sum(r["scnn_cycles"] for r in scnn) / sum(r["sparse_k_cycles"] for r in scnn)
        ctx.add(compare(pub, ratio, committed.source(
            "ccr_figures", "cycle models of SparseK and SCNN (4×4 PEs of 2×2 multipliers) on "
                           "VGG-16's layers, first 16 output channels"),
            setting="VGG-16 at the published per-layer densities with 16 output channels per "
                    "layer (both models are linear in K)"))
    else:
        ctx.add(cannot(pub, "benchmarks/results/ccr_figures.json has no SCNN comparison"))
    for key, name in (("fig8.sparsek_cnvlutin", "Cnvlutin"),
                      ("fig8.sparsek_cambricon", "Cambricon-X")):
        ctx.add(cannot(PUBLISHED[key], f"the project does not implement {name}"))
    energy = (committed.load("ccr_energy") or {}).get("vgg16")
    if energy:
        ctx.add(compare(PUBLISHED["fig10.energy"], energy["ratio"], committed.source(
            "ccr_energy", "the CCR energy model (action counts × per-action energies calibrated "
                          "on gate-level runs, SRAM from the CACTI-based table) of dense and "
                          "SparseK on a 2×2 PU with 128 KB buffers, VGG-16's layers"),
            setting=f"OSU 0.18 µm at 1.8 V and 100 MHz against the paper's TSMC 65 nm; uniform "
                    f"densities, weights {energy['weight_density']:.0%} and activations "
                    f"{energy['act_density']:.0%} non-zero, where the paper's pruned VGG-16 "
                    "has sparser weights; the buffers take over 80 % of the energy"))
    else:
        ctx.add(cannot(PUBLISHED["fig10.energy"], "benchmarks/results/ccr_energy.json is not "
                                                  "in this checkout"))
    net = "alexnet" if ctx.quick else "vgg16"
    layers = models[net]
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.6))
    xs = range(len(layers))
    ax.bar(list(xs), [lm.cycles["dense"].cycles / lm.cycles["sparse_k"].cycles for lm in layers],
           0.6, label="ours: SparseK / dense (cycle models)")
    if scnn and net == "vgg16":
        by = {r["layer"]: r for r in scnn}
        pts = [(x, by[lm.name]["dense_cycles"] / by[lm.name]["scnn_cycles"])
               for x, lm in zip(xs, layers) if lm.name in by]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "k^",
                label="ours: SCNN / dense (K = 16, committed)")
    ax.axhline(2.6, color="r", linestyle="--", linewidth=0.8,
               label="paper: SparseK's average over dense, 2.6x")
    ax.axhline(1.0, color="grey", linewidth=0.6)
    ax.set_xticks(list(xs), [lm.name for lm in layers], rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("speed-up over dense")
    ax.set_title(f"cf. Fig. 9: {net} per layer on an {PX}x{PY} PU, per-layer densities of "
                 "Han et al. 2015", fontsize=9)
    ax.grid(True, axis="y", linewidth=0.3)
    ax.set_ylim(0, 1.35 * max([2.6] + [p.get_height() for p in ax.patches]
                              + [y for line in ax.lines for y in line.get_ydata()]))
    ax.legend(fontsize=7, ncol=3, loc="upper center")
    save(fig, ctx.figure("fig9", f"SparseK's speed-up over the dense baseline per layer of "
                                 f"{net} (cycle models), with the paper's average"))


def _published(net):
    """Han et al.'s per-layer densities of ``net``, or None where none are published."""
    return densities.layer_densities(net) if net in densities.networks() else None


def reproduce(ctx):
    """Fill ``ctx.report`` with the CCR paper's rows and figures."""
    ctx.report.notes.extend([
        "Technology: the paper's SparseK is TSMC 65 nm (Design Compiler); ours are Yosys with "
        "the OSU 0.18 µm cells, buffers as SRAM macros from the per-bit model.",
        "Cycles come from the cycle models (`sparseforge.sim.ccr`), which the RTL of every "
        "design matches on the regression's layers (committed `ccr_rtl.json`).",
        f"Densities: VGG-16 and AlexNet per layer as published for the pruned models the paper "
        f"cites ({densities.SOURCE}); GoogLeNet, without a published table, at uniform "
        f"densities (weights {WEIGHT_DENSITY:.0%}, activations {ACT_DENSITY:.0%}).",
    ])
    ctx.progress("worked examples (Fig. 3, 4, 5)")
    _examples(ctx)
    ctx.progress("Table I: designs and CCU")
    _designs(ctx)
    _speedups(ctx)
