"""Liu, Whatmough, Mattina: *Sparse Systolic Tensor Array for Efficient CNN Hardware
Acceleration* — its headline numbers beside the generator's configs, cycle models, RTL runs and
OSU 0.18 µm synthesis.

Also holds the computations the STA benchmark scripts share with this report: the VDBB
speed-up table of ``benchmarks/sta_density.py``, the model points of Fig. 12(a)
(``benchmarks/sta_fig12.py``) and the IM2COL read counts of ``benchmarks/accel_figures.py``.
"""

from ..presets import load_preset
from ..sta.run import gemm_model_report
from . import committed
from .context import published_table
from .plotting import pyplot, save
from .rows import Published as P
from .rows import Source, cannot, compare

__all__ = ["TITLE", "PUBLISHED", "reproduce", "vdbb_speedups", "fig12_points", "resnet_3x3"]

TITLE = ("Liu et al., *Sparse Systolic Tensor Array for Efficient CNN Hardware Acceleration* "
         "(STA, STA-DBB, STA-VDBB)")

#: The Fig. 6/7 designs whose Table III resources are evaluated: preset → Table III column.
TABLE3_DESIGNS = {"sa_8x8": "SA", "sta_2x4x2_2x2": "STA", "dbb_2x4x2_2x2": "STA-DBB",
                  "vdbb_2x8x4_2x2": "STA-VDBB"}
#: Table III, the paper's formulas per TPE (n = NNZ of the block, b = MACs of the SDP unit).
TABLE3 = {
    "SA": {"MACs": ("1", lambda a, bz, c, b, n: 1), "ACCs": ("1", lambda a, bz, c, b, n: 1),
           "OPRs": ("2", lambda a, bz, c, b, n: 2)},
    "STA": {"MACs": ("A·B·C", lambda a, bz, c, b, n: a * bz * c),
            "ACCs": ("A·C", lambda a, bz, c, b, n: a * c),
            "OPRs": ("B(A+C)", lambda a, bz, c, b, n: bz * (a + c))},
    "STA-DBB": {"MACs": ("A·b·C", lambda a, bz, c, b, n: a * b * c),
                "ACCs": ("A·C", lambda a, bz, c, b, n: a * c),
                "OPRs": ("AB+bC", lambda a, bz, c, b, n: a * bz + b * c)},
    "STA-VDBB": {"MACs": ("A·C", lambda a, bz, c, b, n: a * c),
                 "ACCs": ("A·C", lambda a, bz, c, b, n: a * c),
                 "OPRs": ("AB+nC", lambda a, bz, c, b, n: a * bz + n * c)},
}
#: Fig. 7's VDBB example runs 2/8 blocks (n = 2).
FIG7_NNZ = 2
FAMILY = ("iso128_sa_8x16", "iso128_sta_2x4x2_2x4", "iso128_dbb_2x8x2_2x2",
          "iso128_vdbb_4x8x4_2x2")
FIG12_SHAPE = (64, 512, 64)
SPEEDUP_K = (64, 256, 2304)


def _table3_entries():
    for preset, column in TABLE3_DESIGNS.items():
        cfg = load_preset(preset)
        b = cfg.dbb_macs if cfg.kind == "dbb" else cfg.b
        for what, (formula, f) in TABLE3[column].items():
            value = f(cfg.a, cfg.b, cfg.c, b, FIG7_NNZ)
            yield P(f"table3.{cfg.kind}.{what.lower()}", "Table III",
                    f"{what} per TPE, {column} = {formula} on {cfg.notation}"
                    + (f" (n = {FIG7_NNZ})" if "n" in formula else ""), value)


PUBLISHED = published_table(
    *_table3_entries(),
    P("fig2.block_bits_2", "Fig. 2, Sec. II", "bits of one 2/8 DBB block (8·NNZ + BZ)", 24),
    P("fig2.block_bits_4", "Fig. 2, Sec. II", "bits of one 4/8 DBB block (8·NNZ + BZ)", 40),
    P("sec3.speedup_1of8", "Sec. III, Fig. 4", "VDBB speed-up at 1/8 over 8/8 (NNZ cycles a block)",
      8.0, "×"),
    P("sec3.speedup_4of8", "Sec. III, Fig. 4", "VDBB speed-up at 4/8 over 8/8", 2.0, "×"),
    P("fig7a.cycles", "Fig. 7(a)", "cycles: dense 4×8 by 2/4-DBB 8×4 on STA-DBB 2×4×2_2×2", 5),
    P("fig7b.cycles", "Fig. 7(b)", "cycles: dense 4×16 by 2/8-DBB 16×8 on STA-VDBB 2×8×4_2×2",
      8),
    P("fig8.im2col", "Sec. IV-C, Fig. 8", "IM2COL activation-SRAM read reduction, 3×3 kernels",
      3.0, "×"),
    P("fig10.dbb_area", "Sec. V-B, Fig. 10", "fixed-DBB area reduction over the SA baseline at "
      "equal peak throughput (paper: 'more than 2×')", 2.0, "×"),
    P("fig10.vdbb_area", "Sec. V-B, Fig. 10", "VDBB area improvement over the SA baseline at "
      "equal peak throughput (paper: '> 2.5×')", 2.5, "×"),
    P("fig12a.sa_flat", "Fig. 12(a), Sec. V-C", "SA throughput gain from 0 % to 87.5 % weight "
      "sparsity ('no throughput improvement')", 1.0, "×"),
    P("fig12a.dbb_flat", "Fig. 12(a), Sec. V-C", "fixed 4/8 DBB throughput gain from 50 % to "
      "87.5 % sparsity ('a step at 50 %', none beyond)", 1.0, "×"),
    P("fig12a.vdbb_tops", "Fig. 12(a), Sec. V-C", "VDBB effective throughput at 87.5 % weight "
      "sparsity, 4 TOPS design at 1 GHz", 30.0, "TOPS"),
    P("fig12b.tops_w_50", "Abstract, Table V", "energy efficiency at 50 % weight sparsity, 16 nm",
      16.8, "TOPS/W"),
    P("fig12b.tops_w_875", "Abstract, Fig. 12(b)", "energy efficiency at 87.5 % weight sparsity, "
      "16 nm", 55.7, "TOPS/W"),
    P("fig12b.scaling", "Abstract, Fig. 12(b)", "energy-efficiency gain of VDBB from 50 % to "
      "87.5 % weight sparsity (55.7 / 16.8)", round(55.7 / 16.8, 2), "×"),
    P("table4.area", "Table IV", "area of 4×8×8_4×8_VDBB_IM2COL with 2.5 MB SRAM, 16 nm", 3.74,
      "mm²"),
    P("table4.array_share", "Table IV", "systolic tensor array's share of that area", 20.0, "%"),
    P("table1.loss", "Table I, Sec. II", "largest accuracy loss of DBB pruning + INT8 over the "
      "five models (2–4× weight compression)", 1.1, "%"),
)


# -- computations shared with the benchmark scripts -----------------------------------------------

def vdbb_speedups(cfg, sizes=SPEEDUP_K, m=1024, n=1024):
    """``{K: {nnz: (cycles, speed-up over 8/8 ÷ (8/nnz))}}`` of M×K×N GEMMs, cycle model."""
    from ...sim.sta.cycles import sta_job_cycles, sta_tiles
    tiles = sta_tiles(cfg, m, n)
    out = {}
    for k in sizes:
        dense = sta_job_cycles(cfg, tiles, k, 8)
        out[k] = {nnz: (c := sta_job_cycles(cfg, tiles, k, nnz), dense / c / (8 / nnz))
                  for nnz in range(1, 9)}
    return out


def fig12_points(cfg, area_um2, shape=FIG12_SHAPE):
    """Fig. 12(a)'s points of one design: for NNZ = 8 … 1 the model cycles of an M×K×N GEMM,
    dense-equivalent MACs per cycle and per mm² of ``area_um2``. The dense kinds cannot skip
    zeros: their job runs every block as it is."""
    m, k, n = shape
    points = []
    for nnz in range(8, 0, -1):
        job_nnz = nnz if cfg.sparse else cfg.max_nnz
        cycles = gemm_model_report(cfg, m, k, n, job_nnz)["model_cycles"]
        per_cycle = m * k * n / cycles
        points.append({"nnz": nnz, "sparsity": 1 - nnz / 8, "cycles": cycles,
                       "effective_macs_per_cycle": per_cycle,
                       "per_mm2": per_cycle / (area_um2 / 1e6)})
    return points


def resnet_3x3(cfg, nnz):
    """ResNet-50's 3×3 stride-1 layers on an ``accel`` config: patch, cycles, utilization, tile
    utilization and IM2COL magnification (activation-SRAM reads without the unit over with it),
    with the patch mapping (the IM2COL unit's; the raster mapping reads through the direct
    reader)."""
    from ...sim import workloads
    from ...sim.accel import cycles as accel_cycles
    from ...sim.accel import plan as accel_plan
    rows = []
    for layer in workloads.network("resnet50"):
        if (layer.r, layer.s, layer.stride) != (3, 3, 1):
            continue
        plan = accel_plan.plan_layer(cfg, layer.h, layer.w, layer.c, layer.k, layer.r, layer.s,
                                     layer.stride, layer.pad, nnz, check_sram=False,
                                     raster=False)
        cycles = accel_cycles.layer_cycles(plan)
        reads = accel_plan.act_sram_reads(plan)
        rows.append({"layer": layer.name, "patch": f"{plan.ph}x{plan.pw}", "cycles": cycles,
                     "utilization": plan.useful_macs / (cfg.array.macs_total * cycles),
                     "tile_utilization": accel_cycles.layer_ideal_cycles(plan) / cycles,
                     "magnification": accel_plan.act_sram_reads_no_im2col(plan) / reads})
    return rows


# -- the report -----------------------------------------------------------------------------------

def _table3(ctx):
    for preset, column in TABLE3_DESIGNS.items():
        cfg = load_preset(preset)
        src = Source(f"generator config `{preset}` (its manifest's per-PE resources)")
        ours = {"MACs": cfg.macs_per_pe, "ACCs": cfg.accumulators_per_pe,
                "OPRs": cfg.operand_registers_per_pe}
        for what in ("MACs", "ACCs", "OPRs"):
            pub = PUBLISHED[f"table3.{cfg.kind}.{what.lower()}"]
            why = ("the generated TPE registers one weight per column per cycle (AB + C); "
                   "Table III counts the n weights of a block that pass through it over n cycles"
                   if cfg.kind == "vdbb" and what == "OPRs" else "")
            ctx.add(compare(pub, ours[what], src, tolerance=0, why=why))


def _speedups(ctx):
    vdbb = load_preset("vdbb_2x8x4_2x2")
    src = Source("generator config `vdbb_2x8x4_2x2` (compressed weight stream)")
    for nnz in (2, 4):
        ctx.add(compare(PUBLISHED[f"fig2.block_bits_{nnz}"], vdbb.block_bits(nnz), src,
                        tolerance=0))
    paper = load_preset("paper_vdbb_4x8x8_4x8")
    table = vdbb_speedups(paper, sizes=(2304,))[2304]
    model = Source("cycle model, `paper_vdbb_4x8x8_4x8`, 1024×2304×1024 GEMM")
    for nnz, key in ((1, "sec3.speedup_1of8"), (4, "sec3.speedup_4of8")):
        ctx.add(compare(PUBLISHED[key], table[8][0] / table[nnz][0], model, tolerance=0.02))
    rtl = committed.load("sta_figures")
    pub = PUBLISHED["sec3.speedup_1of8"]
    pub_rtl = P(pub.key + ".rtl", pub.citation, pub.quantity + ", measured on the RTL",
                pub.value, pub.unit)
    if rtl is None:
        ctx.add(cannot(pub_rtl, "benchmarks/results/sta_figures.json is not in this checkout"))
    else:
        row = next(r for r in rtl["vdbb_speedup"] if r["nnz"] == 1)
        ctx.add(compare(pub_rtl, row["speedup"], committed.source(
            "sta_figures", "Verilator run of `vdbb_2x8x4_2x2`, 8×2048×16 GEMM, bit-exact"),
            tolerance=0.02))
    ctx.progress("plotting the VDBB speed-up against NNZ")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.6, 3.6))
    xs = list(range(1, 9))
    ax.plot(xs, [8 / n for n in xs], "k--", label="paper: 8/NNZ (one cycle per non-zero)")
    ax.plot(xs, [table[8][0] / table[n][0] for n in xs], "o-",
            label="ours: cycle model, paper_vdbb_4x8x8_4x8")
    if rtl is not None:
        pts = [(r["nnz"], r["speedup"]) for r in rtl["vdbb_speedup"]]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "r*", markersize=10,
                label="ours: RTL (vdbb_2x8x4_2x2, committed)")
    ax.set_xlabel("NNZ per block of 8")
    ax.set_ylabel("speed-up over 8/8")
    ax.set_yscale("log", base=2)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title("Sec. III / Fig. 4: time-unrolled VDBB", fontsize=9)
    save(fig, ctx.figure("vdbb-speedup", "VDBB speed-up over 8/8 against NNZ: the paper's "
                                         "8/NNZ, our cycle model and RTL runs"))


def _fig7(ctx):
    cases = (("fig7a.cycles", "dbb_2x4x2_2x2", (4, 8, 4), 2),
             ("fig7b.cycles", "vdbb_2x8x4_2x2", (4, 16, 8), FIG7_NNZ))
    why = ("ours counts from the first input accepted to the last result delivered, draining "
           "the accumulators out of the array (the project's one counting convention); the "
           "figure counts the steps to the last multiply-accumulate")
    for key, preset, (m, k, n), nnz in cases:
        cfg = load_preset(preset)
        if ctx.quick:
            cycles = gemm_model_report(cfg, m, k, n, nnz)["model_cycles"]
            src = Source(f"cycle model of `{preset}` (equal to the RTL in the test suite)")
        else:
            from ..sta.run import prepare_gemm, run_gemm_rtl
            act, weights, nnz = prepare_gemm(cfg, shape=(m, k, n), nnz=nnz, seed=1)
            report, _ = run_gemm_rtl(cfg, act, weights, nnz, simulator="icarus",
                                     progress=ctx.progress)
            if report["mismatches"] or report["cycles"] != report["model_cycles"]:
                raise RuntimeError(f"{preset}: the RTL differs from the golden or cycle model")
            cycles = report["cycles"]
            src = Source(f"RTL of `{preset}` on Icarus, bit-exact, cycles equal to the model")
        ctx.add(compare(PUBLISHED[key], cycles, src, tolerance=0, why=why))


def _im2col(ctx):
    cfg = load_preset("accel_paper")
    rows = resnet_3x3(cfg, 3)
    mean = sum(r["magnification"] for r in rows) / len(rows)
    patches = sorted({r["patch"] for r in rows})
    ctx.add(compare(
        PUBLISHED["fig8.im2col"], mean,
        Source(f"read counts of `accel_paper`'s plan, mean over ResNet-50's {len(rows)} 3×3 "
               "stride-1 layers at 3/8"),
        why=f"our IM2COL unit emits output patches of {', '.join(patches)} pixels (the "
            "planner's choice for the 4×8-TPE array): a 4×4 patch reads a 6×6 window for 16 "
            "outputs, 9 / (36 / 16) = 4× fewer reads, where the paper's 6×4 tile gives 4×2 "
            "outputs, 9 / (24 / 8) = 3×"))


def _fig10_fig12(ctx):
    data = committed.load("sta_fig12")
    family = [load_preset(name) for name in FAMILY]
    if data is None:
        for key in ("fig10.dbb_area", "fig10.vdbb_area"):
            ctx.add(cannot(PUBLISHED[key], "benchmarks/results/sta_fig12.json is not in this "
                                           "checkout"))
        return
    areas = {r["design"]: r["area_um2"] for r in data}
    setting = ("logic area of the 128-MAC/cycle iso-throughput designs (iso128_*) on OSU "
               "0.18 µm; the paper's are the 4 TOPS accelerators with SRAM and IM2COL at 16 nm")
    src = committed.source("sta_fig12", "Yosys liberty flow (OSU 0.18 µm)")
    sa = areas[FAMILY[0]]
    ctx.add(compare(PUBLISHED["fig10.dbb_area"], sa / areas[FAMILY[2]], src, setting=setting),
            compare(PUBLISHED["fig10.vdbb_area"], sa / areas[FAMILY[3]], src, setting=setting))
    points = {cfg.name: fig12_points(cfg, areas[cfg.name]) for cfg in family}

    def gain(name, hi, lo):
        by = {p["nnz"]: p for p in points[name]}
        return by[hi]["effective_macs_per_cycle"] / by[lo]["effective_macs_per_cycle"]
    model = Source("cycle model, 64×512×64 GEMM on the iso128 designs")
    ctx.add(compare(PUBLISHED["fig12a.sa_flat"], gain(FAMILY[0], 1, 8), model, tolerance=0.01),
            compare(PUBLISHED["fig12a.dbb_flat"], gain(FAMILY[2], 1, 4), model, tolerance=0.01))
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.2, 3.8))
    base = points[FAMILY[0]][0]["per_mm2"]
    for cfg in family:
        pts = points[cfg.name]
        ax.plot([100 * p["sparsity"] for p in pts], [p["per_mm2"] / base for p in pts],
                marker="o", label=cfg.kind)
    ax.set_xlabel("weight sparsity (%)")
    ax.set_ylabel("effective throughput / logic area\n(vs the SA at 0 %)")
    ax.set_title("cf. Fig. 12(a): 128 MACs/cycle designs, 64x512x64 GEMM, OSU 0.18 µm",
                 fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save(fig, ctx.figure("fig12a", "Effective throughput per logic area against weight "
                                   "sparsity (cycle model; areas from the committed synthesis)"))


def _throughput(ctx):
    from ..accel.run import network_report
    cfg = load_preset("accel_paper")
    report = network_report(cfg, "resnet50", 1)
    tops = report["effective_macs_per_cycle"] * 2 / 1000
    ideal = cfg.array.macs_total * 2 * 8 / 1000
    ctx.add(compare(
        PUBLISHED["fig12a.vdbb_tops"], tops,
        Source("cycle model of `accel_paper` (4×8×8_4×8 VDBB, IM2COL) on ResNet-50 at 1/8"),
        why=f"ours keeps {report['utilization']:.0%} of its multipliers busy on ResNet-50; "
            f"the ideal of {cfg.array.macs_total:,} MACs at 1/8 and 1 GHz is {ideal:.1f} "
            "effective TOPS (4× the nominal 4 TOPS, which counts 4/8 blocks): the paper's 30 is "
            "above that ideal and its text does not say how it is counted"))


def _energy_and_area(ctx):
    tech = ("energy at 16 nm cannot be measured here: the project's flows use the OSU 0.18 µm "
            "library")
    ctx.add(cannot(PUBLISHED["fig12b.tops_w_50"], tech),
            cannot(PUBLISHED["fig12b.tops_w_875"], tech))
    energy = committed.load("energy_figures")
    pub = PUBLISHED["fig12b.scaling"]
    points = (energy or {}).get("fig12") or []
    vdbb = {p["weight_sparsity"]: p["tops_per_w"] for p in points
            if p["design"] == FAMILY[3] and p["act_density"] == 0.5}
    if 0.875 in vdbb and 0.5 in vdbb:
        ctx.add(compare(pub, vdbb[0.875] / vdbb[0.5], committed.source(
            "energy_figures", "energy model (OSU 0.18 µm), iso128 VDBB, 50 % activations"),
            setting="OSU 0.18 µm energy model of the 128-MAC/cycle VDBB design, array only"))
    else:
        ctx.add(cannot(pub, "the OSU 0.18 µm energy flow exists (`sparseforge power`) but the "
                            "Fig. 12(b) results of benchmarks/energy_figures.py are not "
                            f"committed; `{committed.COMMANDS['energy_figures']}` measures them"))
    why = ("accel_paper (the 4 TOPS array with 2.5 MB of SRAM) is not synthesized: the whole "
           "accel_small already takes Yosys over half an hour (benchmarks/sparseblox_area.py "
           "measures it block by block), and 16 nm areas cannot be measured here")
    ctx.add(cannot(PUBLISHED["table4.area"], why), cannot(PUBLISHED["table4.array_share"], why))


def _accuracy(ctx):
    data = committed.load("network_accuracy")
    pub = PUBLISHED["table1.loss"]
    if data is None:
        ctx.add(cannot(pub, "benchmarks/results/network_accuracy.json is not in this checkout"))
        return
    rows = {r["scheme"]: r for r in data["rows"]}
    base = rows["dense"]["int8"]
    loss = max(base - rows[f"vdbb:{n}/8"]["int8"] for n in (2, 3, 4))
    ctx.add(compare(pub, 100 * loss, committed.source(
        "network_accuracy", "the digits CNN trained, VDBB-pruned (2/8 … 4/8) and run in INT8"),
        setting="our 4-layer digits CNN on 450 test images, not the paper's ImageNet, CIFAR-10 "
                "and MNIST models"))


def reproduce(ctx):
    """Fill ``ctx.report`` with the STA paper's rows and figures."""
    ctx.report.notes.extend([
        "Technology: the paper reports 16 nm (and 65 nm) results at 1 GHz; ours are Yosys with "
        "the OSU 0.18 µm standard cells at 100 MHz. Ratios compare; µm² and TOPS/W do not.",
        "Cycles come from the analytical cycle models, which the test suite checks equal to the "
        "RTL on every job it runs; rows marked RTL were measured on the generated Verilog.",
        "The generated designs are the paper's architectures (SA, STA, STA-DBB, STA-VDBB, the "
        "IM2COL accelerator); the 4 TOPS accelerator is generated but not synthesized.",
    ])
    ctx.progress("Table III: per-TPE resources")
    _table3(ctx)
    ctx.progress("Fig. 2 and Sec. III: compression and VDBB speed-up")
    _speedups(ctx)
    ctx.progress("Fig. 7: the worked dataflow examples" +
                 ("" if ctx.quick else " on the RTL (Icarus)"))
    _fig7(ctx)
    ctx.progress("Fig. 8: IM2COL read reduction on ResNet-50")
    _im2col(ctx)
    ctx.progress("Fig. 10 and 12(a): area and throughput against sparsity")
    _fig10_fig12(ctx)
    _throughput(ctx)
    _energy_and_area(ctx)
    _accuracy(ctx)
