"""Parashar et al.: *SCNN: An Accelerator for Compressed-sparse Convolutional Neural Networks*
(ISCA 2017) — its headline numbers beside the generator's configs, the exact cycle model and
OSU 0.18 µm synthesis.

Also holds what ``benchmarks/scnn_density.py`` and ``benchmarks/scnn_googlenet.py`` share with
this report: the benchmark design and layer of the density sweep, one density point on the cycle
model, and the paper's 8×8-PE configuration for a GoogLeNet layer.
"""

from ...sim import densities, workloads
from ..config import parse_config
from ..presets import load_preset
from . import committed
from .context import published_table
from .plotting import pyplot, save
from .rows import Published as P
from .rows import Source, cannot, compare, compare_text

__all__ = ["TITLE", "PUBLISHED", "reproduce", "DENSITY_DESIGN", "DENSITY_LAYER", "DENSITIES",
           "density_point", "googlenet_config", "googlenet_layers"]

TITLE = ("Parashar et al., *SCNN: An Accelerator for Compressed-sparse Convolutional Neural "
         "Networks* (ISCA 2017)")

#: 2×2 PEs of the Table 3 PE with its weight FIFO (a dense 3×3 block of kc = 8 channels).
DENSITY_DESIGN = {"arch": "scnn", "name": "scnn_bench_2x2",
                  "pe": {"f": 4, "i": 4, "banks": 32, "bank_entries": 32, "queue_depth": 4},
                  "pes": {"x": 2, "y": 2},
                  "kc": 8, "tile": {"w": 8, "h": 8}, "kernel_max": 3,
                  "widths": {"act": 16, "weight": 16, "acc": 24}, "index_bits": 4,
                  "rams": {"iaram": 4096, "oaram": 4096, "weights": 72, "out_channels": 64}}
#: The density sweep's layer: 16×16×32 input, 32 output channels, 3×3, 'same' padding.
DENSITY_LAYER = workloads.ConvLayer("bench", 16, 16, 32, 32, 3, 3, 1, 1)
DENSITIES = [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1]

_TABLE4 = {"IARAM + OARAM": 0.031, "weight buffer": 0.004, "multiplier array": 0.008,
           "scatter crossbar": 0.026, "accumulator buffers": 0.036, "other": 0.019}
_TABLE4_TOTAL = 0.123

PUBLISHED = published_table(
    P("table3.mult_width", "Table 3", "multiplier width", 16, "bits"),
    P("table3.acc_width", "Table 3", "accumulator width", 24, "bits"),
    P("table3.array", "Table 3", "multiplier array F × I", "4×4"),
    P("table3.banks", "Table 3", "accumulator banks", 32),
    P("table3.bank_entries", "Table 3", "accumulator bank entries", 32),
    P("table3.pes", "Table 3", "PEs", 64),
    P("table3.multipliers", "Table 3", "multipliers", 1024),
    P("table3.iaram", "Table 3, Sec. 5", "IARAM (each; 16-bit values with 4-bit indices)", 10.0,
      "KB"),
    P("table3.weight_fifo", "Table 3", "weight FIFO entries", 50),
    P("sec5.peak", "Sec. 5", "peak throughput at 1 GHz (multiply + add)", 2.0, "Tera-ops"),
    *(P(f"table4.{name.split()[0].lower()}", "Table 4", f"{name}: share of the PE's area",
        round(100 * area / _TABLE4_TOTAL, 1), "%") for name, area in _TABLE4.items()),
    P("fig8.dense", "Fig. 8(a), Sec. 6.1", "SCNN performance at 1.0/1.0 density, relative to "
      "DCNN", 0.79, "×"),
    P("fig8.crossover", "Fig. 8(a), Sec. 6.1", "density (weights = activations) below which "
      "SCNN outperforms DCNN", 0.85),
    P("fig8.sparsest", "Fig. 8(a), Sec. 6.1", "SCNN speed-up over DCNN at 0.1/0.1", 24.0, "×"),
    P("fig8.energy", "Fig. 8(b), Sec. 6.1", "SCNN energy relative to DCNN at 0.1/0.1", 6.0, "%"),
    P("fig9.alexnet", "Fig. 9, Sec. 6.2", "AlexNet network-wide speed-up over DCNN", 2.37, "×"),
    P("fig9.googlenet", "Fig. 9, Sec. 6.2", "GoogLeNet network-wide speed-up over DCNN", 2.19,
      "×"),
    P("fig9.vggnet", "Fig. 9, Sec. 6.2", "VGGNet network-wide speed-up over DCNN", 3.52, "×"),
    P("fig10.utilization", "Fig. 10, Sec. 6.2", "multiplier utilization in GoogLeNet's last two "
      "inception modules (pruned densities), at most", 20.0, "%"),
    P("fig11.energy", "Fig. 11, Sec. 6.2", "average energy-efficiency gain over DCNN", 2.3, "×"),
)


# -- computations shared with the benchmark scripts -----------------------------------------------

def density_point(cfg, layer, density, seed=1):
    """``(act, weights, report)``: random operands of ``layer`` with exactly ``density`` of
    weights and activations non-zero, and the cycle model's report on ``cfg``."""
    from ...sim.scnn import streams as scnn_streams
    from ..scnn.run import model_report, prepare_layer
    act, weights = prepare_layer(cfg, layer, weight_density=density, act_density=density,
                                 seed=seed)
    report, _ = model_report(cfg, scnn_streams.layer_streams(cfg, act, weights), act, weights)
    return act, weights, report


def googlenet_config(layer):
    """The paper's 8×8 PEs of the Table 3 PE with this layer's planar tile (⌈W/8⌉ × ⌈H/8⌉, at
    least the kernel's halo) and a weight FIFO of one dense block of the layer's kernel (the
    config's default)."""
    halo = (layer.r - 1) // 2
    tile = max(-(-layer.w // 8), -(-layer.h // 8), halo, 1)
    return parse_config({
        "arch": "scnn", "name": "scnn_paper_8x8", "pes": {"x": 8, "y": 8},
        "pe": {"f": 4, "i": 4, "banks": 32, "bank_entries": 32}, "kc": 8,
        "tile": {"w": tile, "h": tile}, "kernel_max": layer.r,
        "widths": {"act": 16, "weight": 16, "acc": 24}, "index_bits": 4,
        "rams": {"iaram": 1 << 16, "oaram": 1 << 16, "out_channels": 1024}})


def googlenet_layers():
    """GoogLeNet's 54 convolution layers of the nine inception modules."""
    return [layer for layer in workloads.network("googlenet")
            if layer.name.startswith("inception_")]


# -- the report -----------------------------------------------------------------------------------

def _table3(ctx):
    cfg = load_preset("scnn_paper_8x8")
    src = Source("generator config `scnn_paper_8x8`")
    ours = {"mult_width": cfg.weight_width, "acc_width": cfg.acc_width,
            "array": f"{cfg.f}×{cfg.i}", "banks": cfg.banks, "bank_entries": cfg.bank_entries,
            "pes": cfg.pes, "multipliers": cfg.multipliers_total,
            "iaram": cfg.iaram * (cfg.act_width + cfg.index_bits) / 8 / 1024}
    for key, value in ours.items():
        pub = PUBLISHED[f"table3.{key}"]
        ctx.add(compare_text(pub, value, src) if isinstance(value, str)
                else compare(pub, value, src, tolerance=0))
    ctx.add(compare(PUBLISHED["table3.weight_fifo"], cfg.weights, src,
                    why="the weights stream through a weight FIFO per PE during compute, as "
                        f"in the paper; ours has {cfg.weights} entries because a PE replays each "
                        "weight block once per activation row, so it must hold a whole block, "
                        "and a dense 3×3 block of kc = 8 channels has 72 entries"))
    ctx.add(compare(PUBLISHED["sec5.peak"], cfg.multipliers_total * 2 / 1000,
                    Source("`scnn_paper_8x8`: multipliers × 2 operations × 1 GHz"),
                    tolerance=0.05))


def _table4(ctx):
    data = committed.load("scnn_area")
    if data is None:
        for name in _TABLE4:
            ctx.add(cannot(PUBLISHED[f"table4.{name.split()[0].lower()}"],
                           "benchmarks/results/scnn_area.json is not in this checkout"))
        return
    total = sum(r["area_um2"] for r in data["rows"].values())
    banks = ("the accumulator banks as RAM macros of the same model (the paper's banked RAMs "
             "and latch arrays), their adders and multiplexers from Yosys"
             if data.get("sram_mode") == "macro" else "the accumulator banks as flip-flops")
    setting = ("OSU 0.18 µm with Yosys and ABC, SRAMs from the project's per-bit model, "
               f"{banks}; the paper's is 16 nm FinFET from Catapult HLS"
               + (f"; {data['note']}" if data.get("note") else ""))
    for name in _TABLE4:
        row = data["rows"][name]
        ctx.add(compare(PUBLISHED[f"table4.{name.split()[0].lower()}"],
                        round(100 * row["area_um2"] / total, 1),
                        committed.source("scnn_area", f"liberty flow of `scnn_paper_pe` "
                                                      f"({row['source']})"),
                        setting=setting))


def _density_sweep(ctx):
    cfg = parse_config(DENSITY_DESIGN)
    rows = []
    for d in DENSITIES:
        _, _, report = density_point(cfg, DENSITY_LAYER, d)
        rows.append({"density": d, "cycles": report["model_cycles"]})
    ideal = DENSITY_LAYER.macs / cfg.multipliers_total
    for row in rows:
        row["vs_dense"] = ideal / row["cycles"]
    return cfg, rows, ideal


def _googlenet(ctx):
    """The committed GoogLeNet sweep's rows, or None. ``vs_dense`` is the compute part against
    the DCNN model (:mod:`sparseforge.sim.scnn.dcnn`: the same PEs and planar tiles, dense dot
    products): the paper's layers find their activations on chip, ours stream them in over one
    I-wide input (the load part) first."""
    data = committed.load("scnn_googlenet")
    if data is None or not data.get("rows") or "dcnn_cycles" not in data["rows"][0]:
        return None
    return [{"density": r["density"], "cycles": r["compute_cycles"],
             "vs_dense": r["dcnn_cycles"] / r["compute_cycles"],
             "losses": f"compute part only (the whole run, {r['cycles']:,} cycles with loading "
                       f"over one 4-wide input stream and draining, gives "
                       f"{r['dcnn_cycles'] / r['cycles']:.2f}×; against an ideal dense array of "
                       f"1,024 multipliers the compute part gives "
                       f"{r['compute_vs_ideal_dense']:.2f}×); at "
                       f"{r['density']:.1f}/{r['density']:.1f} "
                       f"our multipliers are busy {r['multiplier_utilization']:.0%} of the PEs' "
                       f"compute cycles and the PEs spend {r['barrier_share']:.0%} of the "
                       f"compute part at output-channel-group barriers and "
                       f"{r['queue_stall_share']:.1%} stalled on a full crossbar queue "
                       "(intra-PE fragmentation and load imbalance, Sec. 6.2)"}
            for r in data["rows"]]


def _crossover(rows):
    """The density at which ``vs_dense`` crosses 1, interpolated; None when it never does."""
    ordered = sorted(rows, key=lambda r: -r["density"])
    for hi, lo in zip(ordered, ordered[1:]):
        if hi["vs_dense"] < 1 <= lo["vs_dense"]:
            t = (1 - hi["vs_dense"]) / (lo["vs_dense"] - hi["vs_dense"])
            return round(hi["density"] + t * (lo["density"] - hi["density"]), 3)
    return None


def _fig8(ctx):
    ctx.progress("Fig. 8: density sweep of the benchmark layer on the cycle model")
    cfg, bench, _ = _density_sweep(ctx)
    google = None if ctx.quick else _googlenet(ctx)
    if google is not None and not {1.0, 0.1} <= {r["density"] for r in google}:
        google = None                          # a partial sweep: the paper's points need both
    dcnn = ("DCNN taken as an ideal dense array of the same multipliers (MACs / multipliers "
            "cycles); the paper's DCNN is its own dense design")
    if google is not None:
        dcnn = ("DCNN as modelled by sim/scnn/dcnn.py: the same 8×8 PEs and planar tiles, a "
                "16-term dot product of dense operands a PE a cycle, the busiest PE's cycles a "
                "layer (the paper describes its DCNN no further than PT-IS-DP-dense)")
        rows = google
        src = committed.source("scnn_googlenet", "cycle model of the paper's 8×8 PEs on "
                                                 "GoogLeNet's 54 inception layers, compute "
                                                 "part")
        note = committed.load("scnn_googlenet").get("note")
        setting = (f"{dcnn}; random values at uniform density (seeded per layer and density)"
                   + (f"; {note}" if note else ""))
    else:
        rows = bench
        src = Source(f"cycle model of `{cfg.name}` (2×2 PEs) on a 16×16×32 → 32, 3×3 layer")
        setting = (f"one synthetic 3×3 layer on 2×2 PEs, not GoogLeNet on 8×8 PEs; {dcnn}")
    by = {r["density"]: r for r in rows}

    def at(d):
        return f"{setting}; {by[d]['losses']}" if "losses" in by[d] else setting
    ctx.add(compare(PUBLISHED["fig8.dense"], by[1.0]["vs_dense"], src, setting=at(1.0)))
    cross = _crossover(rows)
    if cross is None:
        ctx.add(cannot(PUBLISHED["fig8.crossover"], "ours never crosses the dense line in the "
                                                    "densities swept", src))
    else:
        ctx.add(compare(PUBLISHED["fig8.crossover"], cross, src, setting=setting))
    ctx.add(compare(PUBLISHED["fig8.sparsest"], by[0.1]["vs_dense"], src, setting=at(0.1)))
    energy = (committed.load("scnn_energy") or {}).get("density")
    sparsest = next((r for r in energy or () if r["density"] == 0.1 and "gate_relative" in r),
                    None)
    if sparsest is not None:
        ctx.add(compare(PUBLISHED["fig8.energy"], round(100 * sparsest["gate_relative"], 1),
                        committed.source("scnn_energy", "gate-level energy of `scnn_tiny` (2×1 "
                                         "PEs of 2×2 multipliers, 3×3 tiles) on a 3×3×6 → 4, "
                                         "3×3 layer at 0.1/0.1 and at 1.0/1.0"),
                        setting="relative to SCNN's own 1.0/1.0 run (the project has no DCNN; "
                                "the paper's SCNN is 1.33× DCNN at 1.0/1.0, so 4.5 % of its own "
                                "dense energy at 0.1/0.1); OSU 0.18 µm at 1.8 V and 100 MHz, "
                                "without clock gating, on one small layer where loading, the "
                                "post-processor and the per-cycle blocks do not shrink with "
                                "density, against GoogLeNet on 64 PEs in 16 nm"))
    else:
        ctx.add(cannot(PUBLISHED["fig8.energy"], "benchmarks/results/scnn_energy.json is not in "
                                                 "this checkout"))
    rtl = committed.load("scnn_density")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 3.9))
    xs = list(range(len(DENSITIES)))
    ax.plot(xs, [r["vs_dense"] for r in bench], "o-",
            label="ours: 2x2 PEs, 16x16x32->32 3x3 layer (model)")
    if rtl is not None:
        ideal = DENSITY_LAYER.macs / cfg.multipliers_total
        checked = [(DENSITIES.index(r["density"]), ideal / r["rtl_cycles"])
                   for r in rtl["rows"] if r.get("rtl")]
        ax.plot([c[0] for c in checked], [c[1] for c in checked], "k*", markersize=10,
                label="RTL-measured (committed, = model)")
    if google is not None:
        ax.plot([DENSITIES.index(r["density"]) for r in google],
                [r["vs_dense"] for r in google], "s-",
                label="ours: 8x8 PEs, GoogLeNet inception layers, compute part (model, "
                      "committed)")
    ax.plot([0, len(xs) - 1], [0.79, 24.0], "r^", markersize=9,
            label="paper: 0.79x at 1.0/1.0, 24x at 0.1/0.1")
    ax.axhline(1.0, color="grey", linewidth=0.6)
    ax.set_yscale("log")
    ax.set_xticks(xs, [f"{d:.1f}" for d in DENSITIES], fontsize=8)
    ax.set_xlabel("weight = activation density")
    ax.set_ylabel("speed-up over an ideal dense array")
    ax.set_title("cf. Fig. 8(a): SCNN against density", fontsize=9)
    ax.grid(True, which="both", linewidth=0.3)
    ax.legend(fontsize=7)
    save(fig, ctx.figure("fig8", "Speed-up over an ideal dense array of the same multipliers "
                                 "against density, with the paper's two stated points"))


def _vggnet(ctx):
    pub = PUBLISHED["fig9.vggnet"]
    data = committed.load("scnn_vgg16")
    if data is None:
        ctx.add(cannot(pub, "benchmarks/results/scnn_vgg16.json is not in this checkout"))
        return
    total = data["total"]
    ctx.add(compare(pub, total["speedup_vs_dcnn"], committed.source(
        "scnn_vgg16", "cycle model of the paper's 8×8 PEs (Table 3 PE, each layer's planar "
                      "tile, buffers sized to the layer) on VGG-16's 13 convolution layers"),
        setting=f"published per-layer densities ({densities.SOURCE}), random positions (seed "
                "1); DCNN taken as an ideal dense array of the same 1,024 multipliers (the "
                "paper's DCNN is its own dense design, slower than ideal); multipliers busy "
                f"{total['multiplier_utilization']:.0%} of the cycles"))


def reproduce(ctx):
    """Fill ``ctx.report`` with the SCNN paper's rows and figures."""
    ctx.report.notes.extend([
        "Technology: the paper's PE is 16 nm FinFET (Catapult HLS, Design Compiler); ours is "
        "Yosys with the OSU 0.18 µm cells. Area shares compare; mm² do not.",
        "Cycles come from the exact cycle model (`sparseforge.sim.scnn.cycles`), which the "
        "RTL matches cycle for cycle on every layer the tests and benchmarks run (the committed "
        "density sweep ran 0.9, 0.5, 0.3 and 0.1 on Verilator); 64-PE layers are model only.",
        "Operands are random with exactly the stated fraction non-zero. VGGNet runs at the "
        f"published per-layer densities of the pruned model the paper uses ({densities.SOURCE}); "
        "GoogLeNet's (Fig. 1) are published only as a plot, so it runs at uniform densities.",
    ])
    ctx.progress("Table 3: design parameters")
    _table3(ctx)
    ctx.progress("Table 4: PE area breakdown")
    _table4(ctx)
    _fig8(ctx)
    nets = ("GoogLeNet's pruned per-layer densities (Fig. 1) are shown only as a plot and the "
            "project has no pruned GoogLeNet to measure them from")
    ctx.add(cannot(PUBLISHED["fig9.alexnet"], "AlexNet's conv1 is strided and conv2, conv4 and "
                                              "conv5 are grouped, which SCNN does not run yet"))
    ctx.add(cannot(PUBLISHED["fig9.googlenet"], nets))
    _vggnet(ctx)
    ctx.add(cannot(PUBLISHED["fig10.utilization"], nets))
    ctx.add(cannot(PUBLISHED["fig11.energy"], "the project has no DCNN: `run --network "
                                              "--energy` gives SCNN's network energy against "
                                              "its own dense point (density 1.0), not DCNN's"))
