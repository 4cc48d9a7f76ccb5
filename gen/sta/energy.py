"""Energy hooks of the systolic tensor array family: workloads, blocks and actions to price.

The STA paper measures power from gate-level switching activity (Section V-C: PrimeTime PX on VCD
traces of RTL simulations); :mod:`sparseforge.gen.power` does the same on the OSU 0.18 µm netlist.
This module tells it what an STA engine is made of:

* clock gating: with ``act_zero_gating`` the accumulator of every MAC unit (``acc``) is enabled
  only by a step with a non-zero activation operand (or the step that restarts it), so those
  registers are clock-gated (Section III, Fig. 3(b): "clock gate (CG) on zero operands");
* components: the MAC units, the TPEs' operand registers, the edge skew buffers, the feeder's DBB
  mask decoders, the rest of the feeder, the result drain and the engine's own control;
* actions (:mod:`sparseforge.sim.sta.actions`) and the small design and workloads the per-action
  energies are calibrated on: the same TPE and widths in an array of at most 2×2 TPEs.
"""

from dataclasses import replace

import numpy as np

from ...sim.gemm import gemm, int_range
from ...sim.sta import cycles as sta_cycles
from ...sim.sta import dbb
from ...sim.sta import streams as sta_streams
from ...sim.sta.actions import sta_actions
from ..power.job import EnergyHooks, PowerJob, run_mismatch

__all__ = ["HOOKS", "skew_bits", "gemm_job", "calibration_design", "dense_baseline"]


def skew_bits(cfg):
    """Register bits of the array's edge skew buffers (row i and column j delayed i, j steps)."""
    from ...hdl.sta.layouts import act_step_layout, weight_step_layout

    return (act_step_layout(cfg).size * cfg.m * (cfg.m - 1) // 2 +
            weight_step_layout(cfg).size * cfg.n * (cfg.n - 1) // 2)


def gemm_job(cfg, act, weights, nnz, label=None):
    """The :class:`~sparseforge.gen.power.job.PowerJob` of one GEMM on ``cfg``."""
    act = np.asarray(act, dtype=np.int64)
    weights = np.asarray(weights, dtype=np.int64)
    m, k = act.shape
    n = weights.shape[1]
    streams = sta_streams.engine_streams(cfg, act, weights, nnz)
    model = sta_cycles.sta_job_cycles(cfg, streams.tiles, k, nnz)
    bits = skew_bits(cfg)
    tpes = cfg.m * cfg.n
    zero = float(np.mean(act == 0)) if act.size else 0.0
    label = label or f"GEMM {m}x{k}x{n} at {nnz}/{cfg.block}, {1 - zero:.0%} activations non-zero"

    def actions(cycles):
        return sta_actions(cfg, streams, cycles, skew_bits=bits)

    def check(outputs):
        return run_mismatch(sta_streams.assemble(cfg, outputs["rows"], m, n),
                            gemm(act, weights, cfg.acc_width), outputs["cycles"], model,
                            "results")

    def probes(outputs, shakes):
        probed = {"operand_shift": tpes * shakes["weight"], "drain_row": shakes["result"]}
        if cfg.kind == "vdbb":
            probed["act_load"] = tpes * shakes["act"]
        if cfg.act_zero_gating:
            probed["gated_mac_step"] = int(outputs["gated_mac_cycles"])
        return probed

    return PowerJob(module="sparseforge.tb.sta.run",
                    inputs={"act": act, "weights": weights, "nnz": nnz}, label=label,
                    ops=2 * m * k * n, actions=actions, model_cycles=model, check=check,
                    probes=probes)


def power_job(cfg, args):
    """``sparseforge power`` on an STA design: the GEMM of ``--gemm`` (options as ``run``'s)."""
    from .run import parse_shape, prepare_gemm

    shape = parse_shape(args.gemm) if args.gemm else None
    density = 0.5 if args.act_density is None else args.act_density
    act, weights, nnz = prepare_gemm(cfg, shape=shape, nnz=args.nnz, act_density=density,
                                     act_path=args.act, weights_path=args.weights,
                                     prune=args.prune, seed=args.seed)
    return gemm_job(cfg, act, weights, nnz)


def clock_gated(cfg):
    return ("array.tpe_*.mac_*.acc",) if cfg.act_zero_gating else ()


def components(cfg):
    return {
        "mac": ("array.tpe_*.mac_*",),
        "tpe": ("array.tpe_*",),
        "skew": ("array.act_skew", "array.w_skew"),
        "select": ("feeder.select_*",),
        "feeder": ("feeder",),
        "drain": ("drain",),
    }


def actions(cfg):
    names = {
        "mac": ("mac_cycle", "mac_step", "zero_weight_step", "gated_mac_step"),
        "tpe": ("tpe_cycle", "operand_shift") + (("act_load",) if cfg.kind == "vdbb" else ()),
        "skew": ("skew_bit_cycle", "skew_bit_step"),
        "feeder": ("feeder_cycle", "feeder_step"),
        "drain": ("drain_cycle", "drain_row"),
        "top": ("top_cycle",),
    }
    if cfg.sparse:
        names["select"] = ("select_cycle", "select_step")
    return names


def calibration_design(cfg):
    """The design the energies of ``cfg`` are measured on: the same TPE in at most 2×2 TPEs."""
    if cfg.m <= 2 and cfg.n <= 2:
        return cfg
    return replace(cfg, m=min(cfg.m, 2), n=min(cfg.n, 2), name=f"{cfg.name}_cal")


def calibration(cfg):
    """Five short GEMMs on :func:`calibration_design`: densities, lengths and gaps that differ.

    Steps per cycle (long reductions, one-step tiles that wait on the drain), operand zeros
    (activation density 0 to 0.9) and VDBB steps per block vary from run to run, so each
    component's per-cycle and per-action energies can be told apart; each run is a few dozen to
    about 130 steps, about 450 cycles in all.
    """
    cal = calibration_design(cfg)
    rows, cols, bz, top = cal.tile_rows, cal.tile_cols, cal.block, cal.step_nnz

    def blocks(steps, nnz):         # blocks of K giving about ``steps`` steps per tile
        return max(1, -(-steps // cal.steps_per_block(nnz)))

    half, most = max(1, top // 2), max(1, (3 * top) // 4)
    # M, K, N, NNZ, activation density, weight density (for dense kinds, which run sparse models
    # unchanged; sparse kinds take NNZ non-zeros per block). Two runs have partial tiles and a
    # partial last block, whose zero padding the array multiplies like any operand.
    specs = [
        (2 * rows, blocks(64, top) * bz, cols, top, 0.9, 1.0),
        (rows, blocks(48, half) * bz, 2 * cols - max(1, cols // 2), half, 0.5, 0.5),
        (4 * rows, bz, 3 * cols, 1, 0.6, 0.25),     # one-step tiles: the array waits on the drain
        (rows, blocks(40, top) * bz, cols, top, 0.0, 1.0),
        (2 * rows - rows // 2, blocks(24, most) * bz - bz // 2, 2 * cols, most, 0.25, 0.75),
    ]
    rng = np.random.default_rng(12)
    jobs = []
    for m, k, n, nnz, act_density, weight_density in specs:
        act, weights = random_gemm(cal, rng, m, k, n, nnz, act_density, weight_density)
        jobs.append(gemm_job(cal, act, weights, nnz))
    return cal, jobs


def random_gemm(cfg, rng, m, k, n, nnz, act_density, weight_density=1.0):
    """Uniform full-range operands: activations non-zero with probability ``act_density``;
    weights magnitude-pruned to ``nnz`` per block of B, and for dense kinds (which take any
    weights) non-zero with probability ``weight_density`` (the workloads of the benchmarks)."""
    lo, hi = int_range(cfg.act_width)
    act = rng.integers(lo, hi + 1, (m, k))
    act[rng.random((m, k)) >= act_density] = 0
    lo, hi = int_range(cfg.weight_width)
    weights = rng.integers(lo, hi + 1, (k, n))
    if nnz < cfg.block:
        weights = dbb.prune(weights, nnz, cfg.block, axis=0)
    if not cfg.sparse:
        weights[rng.random((k, n)) >= weight_density] = 0
    return act, weights


def dense_baseline(cfg):
    """The dense design of the family at the same nominal throughput: a systolic array with
    activation clock gating and as many MACs as ``cfg`` does dense-equivalent MACs per cycle (the
    paper's baseline, Fig. 9–12), as square as the count allows."""
    macs = max(1, int(cfg.nominal_macs_per_cycle()))
    m = max(d for d in range(1, int(macs ** 0.5) + 1) if macs % d == 0)
    return replace(cfg, kind="sa", a=1, b=1, c=1, m=m, n=macs // m, dbb_macs=0,
                   act_zero_gating=True, name=f"sa_{m}x{macs // m}_baseline")


HOOKS = EnergyHooks(job=power_job, clock_gated=clock_gated, components=components,
                    actions=actions, calibration=calibration,
                    window_streams=(("act", "weight"), ("result",)),
                    dense_baseline=dense_baseline)
