"""``sparseforge run`` for the VDBB accelerator: one convolution layer, or a whole network.

``--conv`` and ``--layer`` run one layer through the generated RTL (operands from ``.npy`` files or
made from a seed) and compare it with the golden convolution; ``--network`` reports the cycle
model for every layer of a network, and runs the layers named by ``--rtl-layers`` on the RTL too.
"""

from pathlib import Path

import numpy as np

from ...sim import conv, workloads
from ...sim.accel import cycles as accel_cycles
from ...sim.accel import plan as accel_plan
from ...sim.sta import dbb
from .. import run_network
from ..errors import InputError
from ..operands import load_operand, parse_conv
from ..report import Progress, dump_json, save_npy, table
from .blox_run import blox_report, threshold_raw

__all__ = ["prepare_layer", "run_layer_rtl", "network_report", "run_cli"]


def _plan(cfg, layer, nnz, flag, check_sram=True, int8_out=False):
    try:
        plan = accel_plan.plan_layer(cfg, layer.h, layer.w, layer.c // layer.groups,
                                     layer.k // layer.groups, layer.r, layer.s, layer.stride,
                                     layer.pad, nnz, check_sram=check_sram, int8_out=int8_out)
    except accel_plan.PlanError as e:
        raise InputError(f"{flag}: {e}") from None
    return plan


def prepare_layer(cfg, plan, *, act_density=0.5, act_path=None, weights_path=None, prune=False,
                  seed=1):
    """Operands ``(x, w)`` of a layer: from files (validated) or seeded random INT8 data."""
    rng = np.random.default_rng(seed)
    if not 0.0 <= act_density <= 1.0:
        raise InputError(f"--act-density: {act_density} is not allowed; expected 0 to 1")
    if act_path is not None:
        x = load_operand(act_path, "--act", cfg.array.act_width, "C×H×W activations",
                         shape=(plan.c, plan.h, plan.w))
    else:
        x = rng.integers(-128, 128, (plan.c, plan.h, plan.w))
        x[rng.random(x.shape) >= act_density] = 0
    if weights_path is not None:
        w = load_operand(weights_path, "--weights", cfg.array.weight_width,
                         "K×C×R×S weights", shape=(plan.k, plan.c, plan.r, plan.s))
    else:
        w = rng.integers(-128, 128, (plan.k, plan.c, plan.r, plan.s))
        prune = True
    bz = cfg.block
    if plan.nnz < bz:
        bad = dbb.violations(w, plan.nnz, bz, axis=1)
        if bad and not prune:
            raise InputError(f"--weights: {bad} block(s) of {bz} input channels have more than "
                             f"{plan.nnz} non-zeros; expected at most --nnz {plan.nnz} per block "
                             "(add --prune to prune them by magnitude)")
        w = accel_plan.prune_conv_weights(w, plan.nnz, bz)
    return x, w


def run_layer_rtl(cfg, plan, x, w, *, shift=None, relu=False, simulator="verilator", seed=None,
                  progress=None, blox=None):
    """Run one layer on the RTL; return ``(report, output map)``. ``blox``: the raw Sparse-Blox
    threshold of a pruning layer (INT8 output)."""
    from ...tb import runner

    int8_out = shift is not None
    layer = [plan.h, plan.w, plan.c, plan.k, plan.r, plan.s, plan.stride, plan.pad, plan.nnz,
             plan.ph, plan.pw]
    out = runner.run_job(
        cfg, simulator, "sparseforge.tb.accel.run",
        {"x": x, "w": w, "layer": layer, "out": [int(int8_out), shift or 0, int(relu)],
         **({"blox": [blox]} if blox is not None else {})},
        seed=seed, progress=progress,
        message=f"simulating {plan.h}x{plan.w}x{plan.c} -> {plan.k}, {plan.r}x{plan.s}/"
                f"{plan.stride} at {plan.nnz}/{cfg.block} on {simulator}")
    y, cycles, register = out["y"], int(out["cycles"]), int(out["register_cycles"])
    act_reads, beats = int(out["act_reads"]), int(out["beats"])

    golden = conv.conv2d(x, w, plan.stride, plan.pad, cfg.array.acc_width)
    if int8_out:
        golden = conv.requantize(golden, shift, relu)
    fields = {}
    if blox is not None:
        golden, fields = blox_report(plan, golden, blox, out)
    report = layer_report(plan)
    report.update(fields)
    report.update({
        "simulator": simulator,
        "cycles": cycles,
        "register_cycles": register,
        "utilization": report["ideal_cycles"] / cycles if cycles else 0.0,
        "effective_macs_per_cycle": plan.macs / cycles if cycles else 0.0,
        "mismatches": int(np.count_nonzero(y != golden)),
        "act_sram_reads": act_reads,
        "act_beats": beats,
        "output": "int8" if int8_out else "int32",
    })
    return report, y


def layer_report(plan):
    """The model's figures of a layer (no simulation)."""
    model = accel_cycles.layer_cycles(plan)
    ideal = accel_cycles.layer_ideal_cycles(plan)
    reads = accel_plan.act_sram_reads(plan)
    no_im2col = accel_plan.act_sram_reads_no_im2col(plan)
    return {
        "layer": {"h": plan.h, "w": plan.w, "c": plan.c, "k": plan.k, "r": plan.r,
                  "s": plan.s, "stride": plan.stride, "pad": plan.pad},
        "output_size": [plan.ho, plan.wo],
        "nnz": plan.nnz,
        "block": plan.cfg.block,
        "patch": [plan.ph, plan.pw],
        "tiles": plan.tiles,
        "macs": plan.macs,
        "model_cycles": model,
        "ideal_cycles": ideal,
        "model_act_sram_reads": reads,
        "act_sram_reads_no_im2col": no_im2col,
        "magnification": no_im2col / reads if reads else 0.0,
    }


def _network_layer_plans(cfg, layer, nnz):
    """The plans a network layer runs as: one per group (depthwise layers: one per channel).

    A block of B channels of a group with fewer channels holds at most that many non-zeros, so
    the VDBB steps per block are ``min(nnz, channels per group)``.
    """
    cpg = layer.c // layer.groups
    group_nnz = min(nnz, max(1, cpg)) if cfg.array.kind == "vdbb" else nnz
    plan = _plan(cfg, layer, group_nnz, f"--network {layer.name}", check_sram=False)
    return [plan] * layer.groups


def network_report(cfg, net, nnz):
    """Per-layer and total model figures of a whole network at density ``nnz``/B."""
    rows = []
    for layer in workloads.network(net):
        plans = _network_layer_plans(cfg, layer, nnz)
        cycles = sum(accel_cycles.layer_cycles(p) for p in plans)
        ideal = sum(accel_cycles.layer_ideal_cycles(p) for p in plans)
        fits = all(_fits(p) for p in plans)
        rows.append({"layer": layer.name, "groups": layer.groups, "macs": layer.macs,
                     "model_cycles": cycles, "ideal_cycles": ideal,
                     "utilization": ideal / cycles, "fits_sram": fits,
                     "effective_macs_per_cycle": layer.macs / cycles})
    total_cycles = sum(r["model_cycles"] for r in rows)
    total_macs = sum(r["macs"] for r in rows)
    return {"network": net, "nnz": nnz, "block": cfg.block, "layers": rows,
            "total_cycles": total_cycles, "total_macs": total_macs,
            "effective_macs_per_cycle": total_macs / total_cycles,
            "effective_tops_at_1ghz": 2 * total_macs / total_cycles / 1000}


def _fits(plan):
    try:
        accel_plan.plan_layer(plan.cfg, plan.h, plan.w, plan.c, plan.k, plan.r, plan.s,
                              plan.stride, plan.pad, plan.nnz, (plan.ph, plan.pw))
    except accel_plan.PlanError:
        return False
    return True


def _reject(args, flags):
    for flag in flags:
        value = getattr(args, flag, None)
        if value not in (None, False):
            raise InputError(f"--{flag.replace('_', '-')}: not allowed here (arch accel "
                             "takes --conv, --layer or --network)")


def run_cli(cfg, args):
    """``sparseforge run`` on an accelerator config; exit status 0 when every RTL run matched."""
    raw = threshold_raw(cfg, args)
    if args.model is not None:
        return run_network.run_cli(cfg, args)
    run_network.check_not_model(args)
    _reject(args, ("gemm", "weight_density"))
    chosen = [f for f in ("conv", "layer", "network") if getattr(args, f)]
    if len(chosen) != 1:
        raise InputError("--conv/--layer/--network: give exactly one of them "
                         "(e.g. --conv 56,56,64,64,3,3 or --layer resnet50.res2a_branch2b)")
    nnz = cfg.array.max_nnz if args.nnz is None else args.nnz
    if not 1 <= nnz <= cfg.array.max_nnz:
        raise InputError(f"--nnz: {nnz} is not allowed; expected 1 to {cfg.array.max_nnz}")
    if args.relu and args.shift is None:
        raise InputError("--relu: applies in the requantizing output stage; give --shift S "
                         "too (0 for no shift)")
    if args.shift is not None and not 0 <= args.shift <= 31:
        raise InputError(f"--shift: {args.shift} is not allowed; expected 0 to 31")
    progress = Progress(not args.quiet and not args.json)
    if args.network:
        return _run_network(cfg, args, nnz, progress)
    _reject(args, ("model_only", "rtl_layers"))
    if args.conv:
        layer = parse_conv(args.conv)
    else:
        try:
            layer = workloads.layer(args.layer)
        except ValueError as e:
            raise InputError(f"--layer: {e}") from None
        if layer.groups != 1:
            raise InputError(f"--layer: {args.layer} is a grouped convolution ({layer.groups} "
                             "groups); the RTL runs ungrouped layers (use --network for the model)")
    flag = "--conv" if args.conv else "--layer"
    plan = _plan(cfg, layer, nnz, flag, int8_out=args.shift is not None)
    x, w = prepare_layer(cfg, plan, act_density=0.5 if args.act_density is None
                         else args.act_density, act_path=args.act, weights_path=args.weights,
                         prune=args.prune, seed=args.seed)
    report, y = run_layer_rtl(cfg, plan, x, w, shift=args.shift, relu=args.relu,
                              simulator=args.sim, seed=args.seed, progress=progress, blox=raw)
    report["seed"] = args.seed
    if args.layer:
        report["name"] = args.layer
    if args.out is not None:
        save_npy(Path(args.out), y.astype(np.int8 if args.shift is not None else np.int32))
    if args.json:
        dump_json(report)
    else:
        print(f"{cfg.name} ({cfg.notation}) on {args.sim}: {plan.h}x{plan.w}x{plan.c} -> "
              f"{plan.k} channels, {plan.r}x{plan.s} stride {plan.stride} pad {plan.pad}, "
              f"{plan.tiles} output tiles of a {plan.ph}x{plan.pw} patch")
        print(table([(f"{plan.nnz}/{cfg.block}", report["cycles"], report["register_cycles"],
                      report["model_cycles" if raw is None else "model_cycles_blox"],
                      report["ideal_cycles"], report["utilization"], report["mismatches"],
                      report["act_sram_reads"], report["act_sram_reads_no_im2col"])],
                    ("density", "cycles", "register", "model", "ideal", "util", "mismatches",
                     "act reads", "reads w/o IM2COL")))
        verdict = "bit-exact" if report["mismatches"] == 0 else "MISMATCH"
        print(f"{verdict} against the golden convolution ({report['output']} output); "
              f"{report['effective_macs_per_cycle']:.1f} effective MACs/cycle")
        if raw is not None:
            print(f"Sparse-Blox at t = {report['threshold']:g}: {report['blocks_pruned']} of "
                  f"{report['blocks_total']} blocks pruned ({report['blocks_zero_before']} "
                  f"already zero, {report['blocks_refused']} refused by a full cache), "
                  f"{report['act_words_saved']} activation words saved, "
                  f"{report['cycles_saved']} cycles saved against the layer without pruning "
                  f"({report['model_cycles']}: the next layer's skipping is not built)")
    model = report["model_cycles"] if raw is None else report["model_cycles_blox"]
    ok = report["mismatches"] == 0 and \
        report["cycles"] == report["register_cycles"] == model and \
        report["act_sram_reads"] == report["model_act_sram_reads"]
    if raw is not None:
        ok &= (report["rtl_blocks_cached"], report["rtl_blocks_refused"]) == \
            (report["blocks_cached"], report["blocks_refused"])
    return 0 if ok else 1


def _run_network(cfg, args, nnz, progress):
    _reject(args, ("act", "weights", "out", "relu", "shift"))
    try:
        workloads.network(args.network)
    except ValueError as e:
        raise InputError(f"--network: {e}") from None
    report = network_report(cfg, args.network, nnz)
    names = [n for n in (args.rtl_layers or "").split(",") if n]
    if names and args.model_only:
        raise InputError("--rtl-layers: not allowed with --model-only")
    known = {row["layer"]: row for row in report["layers"]}
    ok = True
    for name in names:
        if name not in known:
            raise InputError(f"--rtl-layers: {args.network} has no layer {name!r} "
                             f"(see 'sparseforge layers {args.network}')")
        layer = workloads.layer(f"{args.network}.{name}")
        if layer.groups != 1:
            raise InputError(f"--rtl-layers: {name} is a grouped convolution; the RTL runs "
                             "ungrouped layers")
        plan = _plan(cfg, layer, nnz, f"--rtl-layers {name}")
        x, w = prepare_layer(cfg, plan, act_density=0.5 if args.act_density is None
                             else args.act_density, seed=args.seed)
        rtl, _ = run_layer_rtl(cfg, plan, x, w, simulator=args.sim, seed=args.seed,
                               progress=progress)
        row = known[name]
        row.update({"rtl_cycles": rtl["cycles"], "rtl_register_cycles": rtl["register_cycles"],
                    "rtl_mismatches": rtl["mismatches"]})
        ok &= rtl["mismatches"] == 0 and \
            rtl["cycles"] == rtl["register_cycles"] == row["model_cycles"]
    if args.json:
        dump_json(report)
    else:
        rows = [(r["layer"], r["macs"], r["model_cycles"], r.get("rtl_cycles", ""),
                 r["utilization"], r["effective_macs_per_cycle"],
                 "" if r["fits_sram"] else "no") for r in report["layers"]]
        rows.append(("total", report["total_macs"], report["total_cycles"], "", "",
                     report["effective_macs_per_cycle"], ""))
        print(f"{args.network} on {cfg.name} ({cfg.notation}) at {nnz}/{cfg.block} weight "
              "density, cycle model" + (" (RTL-checked layers shown)" if names else ""))
        print(table(rows, ("layer", "MACs", "cycles", "RTL cycles", "util", "MACs/cycle",
                           "fits SRAM")))
        print(f"{report['effective_tops_at_1ghz']:.2f} effective TOPS at 1 GHz")
    return 0 if ok else 1
