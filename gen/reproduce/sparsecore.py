"""*SparseCore* (k/m structured sparsity, weight-local output-stationary dataflow) — its headline
numbers beside the project's exact cycle model, RTL regressions, OSU 0.18 µm synthesis and the
digits CNN pruned to k/m.

Also holds the layer and the model point ``benchmarks/sparsecore_figures.py`` shares with this
report.
"""

import numpy as np

from ...sim.sparsecore import cycles
from ...sim.sparsecore import format as kmf
from ..sparsecore.config import parse_sparsecore
from ..sparsecore.presets import PAPER
from . import committed
from .context import published_table
from .plotting import pyplot, save
from .rows import Published as P
from .rows import Source, cannot, compare

__all__ = ["TITLE", "PUBLISHED", "reproduce", "SHAPE", "KMS", "ACT_DENSITIES", "layer",
           "point"]

TITLE = "*SparseCore*: k/m structured sparsity on a weight-local output-stationary accelerator"

#: The layer of the paper's Fig. 3: 64×64×64 input, 128 filters of 3×3×64, stride 1, padding 1.
SHAPE = cycles.LayerShape(64, 64, 64, 128, 3, 3, 1, 1)
KMS = [(4, 4), (2, 4), (1, 4), (1, 8)]
ACT_DENSITIES = [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1]

_TABLE2 = {"PEs": 2.43, "activation/index memory": 3.35, "weight memory": 0.84,
           "accumulation buffer": 0.84, "misc": 0.2}
_TABLE2_TOTAL = 7.66
_MEMORIES = ("activation/index memory", "weight memory", "accumulation buffer")

PUBLISHED = published_table(
    P("sec4.speedup", "Sec. 4 (Fig. 3), Conclusion", "speed-up at 50 % weight and 50 % "
      "activation sparsity", 3.1, "×"),
    P("abstract.utilization", "Abstract", "ALU utilization ('close to 90 %')", 90.0, "%"),
    P("conclusion.power", "Conclusion", "dynamic power reduction at 50 %/50 % sparsity", 2.5,
      "×"),
    P("sec2.accuracy", "Sec. 2.2, Abstract", "accuracy loss at 75 % k/m weight sparsity "
      "(ResNet-18, ILSVRC2012: 'without loss of accuracy')", 0.0, "pp"),
    *(P(f"table2.{name.split()[0].split('/')[0].lower()}", "Table 2", f"{name}: share of the "
        "accelerator's area", round(100 * area / _TABLE2_TOTAL, 1), "%")
      for name, area in _TABLE2.items()),
    P("sec4.memories", "Sec. 4", "on-chip memories' share of the accelerator core's area "
      "('about 65 %')", 65.0, "%"),
)


# -- computations shared with the benchmark scripts -----------------------------------------------

def layer(k, m, act_density, seed=1, shape=SHAPE):
    """Random INT8 operands of ``shape``: activations with exactly ``1 − act_density`` of them
    zero at uniformly random positions, weights magnitude-pruned to k/m."""
    r = np.random.default_rng(seed)
    act = r.integers(1, 128, (shape.c, shape.h, shape.w)) * r.choice([-1, 1], (shape.c, shape.h,
                                                                                shape.w))
    flat = act.reshape(-1)
    zeros = r.permutation(flat.size)[:round((1 - act_density) * flat.size)]
    flat[zeros] = 0
    w = r.integers(1, 128, (shape.k, shape.c, shape.r, shape.s)) * r.choice([-1, 1], (
        shape.k, shape.c, shape.r, shape.s))
    return act, kmf.prune(w, k, m)


def point(k, m, act_density, shape=SHAPE):
    """The cycle model of ``sparsecore_paper`` (64 PEs × 16 ALUs) at k/m on :func:`layer`:
    cycles, the dense output-stationary baseline on the same ALUs, speed-up, utilization."""
    cfg = parse_sparsecore(dict(PAPER, k=k, m=m, limits=dict(PAPER["limits"], k=shape.k)),
                           "sparsecore_paper")
    act, w = layer(k, m, act_density, shape=shape)
    res = cycles.layer_cycles(cfg, shape, act, w)
    return {"k": k, "m": m, "weight_sparsity": 1 - k / m, "act_sparsity": 1 - act_density,
            "cycles": res.cycles, "ideal_cycles": res.ideal_cycles,
            "dense_cycles": res.dense_cycles, "speedup": res.dense_cycles / res.cycles,
            "ideal_speedup": res.dense_cycles / res.ideal_cycles,
            "alu_utilization": res.alu_utilization, "utilization": res.utilization,
            "work_units": res.work_units,
            "pe_idle_fraction": res.pe_idle_cycles / (cfg.pes * res.cycles)}


# -- the report -----------------------------------------------------------------------------------

def _performance(ctx):
    ctx.progress("cycle model of sparsecore_paper on the Fig. 3 layer at 2/4, 50 % activations")
    head = point(2, 4, 0.5)
    src = Source("cycle model of `sparsecore_paper` (64 PEs × 16 ALUs), 64×64×64 layer, "
                 "3×3×128, random INT8")
    ctx.add(compare(PUBLISHED["sec4.speedup"], head["speedup"], src,
                    why="ours is against the same 1,024 ALUs run densely (every weight and "
                        "activation streamed), with zeros at uniformly random positions; the "
                        "paper states neither its baseline nor its activations"),
            compare(PUBLISHED["abstract.utilization"], 100 * head["alu_utilization"], src))
    energy = (committed.load("sparsecore_energy") or {}).get("dense")
    if energy:
        ctx.add(compare(PUBLISHED["conclusion.power"], energy["dynamic_ratio"], committed.source(
            "sparsecore_energy", "gate-level dynamic energy of one PE of four ALUs at 2/4 on a "
                                 "6×6×8 → 8, 3×3 layer at 50 %/50 %, against the same PE run "
                                 "as the dense output-stationary baseline"),
            setting="OSU 0.18 µm at 1.8 V and 100 MHz on one small PE with its requantizers "
                    "left out, where the paper states no technology and measures 64 PEs × 16 "
                    "ALUs; the blocks whose energy follows the work (ALUs, post-processor, "
                    "SRAM: 82 % of it) save 1.6–1.9×, not the 3.3× of the cycles"))
    else:
        ctx.add(cannot(PUBLISHED["conclusion.power"], "benchmarks/results/sparsecore_energy.json "
                                                      "is not in this checkout"))
    kms = [(2, 4)] if ctx.quick else KMS
    densities = [1.0, 0.5, 0.2] if ctx.quick else ACT_DENSITIES
    ctx.progress(f"speed-up sweep: {len(kms) * len(densities)} points")
    sweep = [point(k, m, d) for k, m in kms for d in densities]
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.2, 4.0))
    for k, m in kms:
        cells = [r for r in sweep if (r["k"], r["m"]) == (k, m)]
        x = [100 * r["act_sparsity"] for r in cells]
        line, = ax.plot(x, [r["speedup"] for r in cells], marker="o",
                        label=f"ours: {k}/{m} ({1 - k / m:.0%} weight sparsity)")
        ax.plot(x, [r["ideal_speedup"] for r in cells], ls=":", color=line.get_color())
    ax.plot([50], [3.1], "k*", ms=12, label="paper: 3.1x at 50 %/50 %")
    ax.set_xlabel("activation sparsity (%)")
    ax.set_ylabel("speed-up over dense output-stationary")
    ax.set_yscale("log", base=2)
    ax.set_title("SparseCore, 64x64x64 layer, 3x3x128 (dotted: ideal)", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    save(fig, ctx.figure("sweep", "Speed-up against activation sparsity per k/m (cycle model "
                                  "of sparsecore_paper), with the paper's 50 %/50 % point"))


def _accuracy(ctx):
    data = committed.load("network_accuracy")
    pub = PUBLISHED["sec2.accuracy"]
    if data is None:
        ctx.add(cannot(pub, "benchmarks/results/network_accuracy.json is not in this checkout"))
        return
    rows = {r["scheme"]: r for r in data["rows"]}
    loss = 100 * (rows["dense"]["int8"] - rows["km:1/4"]["int8"])
    ctx.add(compare(pub, round(loss, 2), committed.source(
        "network_accuracy", "the digits CNN pruned to 1/4 along output depth, fine-tuned, INT8"),
        setting="our 4-layer digits CNN on 450 test images, not ResNet-18 on ILSVRC2012"))


def _area(ctx):
    data = committed.load("sparsecore_area")
    keys = {name: f"table2.{name.split()[0].split('/')[0].lower()}" for name in _TABLE2}
    if data is None:
        for name, key in keys.items():
            ctx.add(cannot(PUBLISHED[key], "benchmarks/results/sparsecore_area.json is not in "
                                           "this checkout"))
        return
    rows = data["rows"]
    measured = {name: r["area_um2"] for name, r in rows.items() if r["area_um2"] is not None}
    total = sum(measured.values())
    src = committed.source("sparsecore_area", "liberty flow (OSU 0.18 µm) of one PE × 64 and "
                                              "of the top with its PEs as black boxes, "
                                              "memories from the per-bit model")
    sizes = ", ".join(f"{name} {rows[name]['size']}" for name in _MEMORIES)
    setting = (f"OSU 0.18 µm logic and the per-bit SRAM model, our memories sized {sizes} "
               "(the paper's 2 MB, 512 KB, 512 KB), the paper's technology not stated")
    if len(measured) < len(rows):
        setting += "; 'misc' not measured, shares are of the measured units"
    for name, key in keys.items():
        if name not in measured:
            ctx.add(cannot(PUBLISHED[key], "the committed result has no figure for it "
                                           "(sparsecore_area.py measures it by synthesizing the "
                                           "top with every PE as a black box)", src))
            continue
        ctx.add(compare(PUBLISHED[key], round(100 * measured[name] / total, 1), src,
                        setting=setting))
    memories = sum(measured[name] for name in _MEMORIES)
    ctx.add(compare(PUBLISHED["sec4.memories"], round(100 * memories / total, 1), src,
                    setting=setting))


def reproduce(ctx):
    """Fill ``ctx.report`` with the SparseCore paper's rows and figures."""
    ctx.report.notes.extend([
        "Cycles come from the exact cycle model (`sparseforge.sim.sparsecore.cycles`), which the "
        "RTL matches cycle for cycle on the small designs the regression simulates (committed "
        "`sparsecore_rtl.json`: k/m 1/4, 2/4, 2/8, 4/8 on Icarus and Verilator); the 64-PE "
        "design is not simulated.",
        "The paper is a short one: it gives its layer (Fig. 3), its speed-up, utilization, "
        "power reduction and area breakdown, but neither technology nor baseline.",
    ])
    _performance(ctx)
    _accuracy(ctx)
    _area(ctx)
