"""``sparseforge run`` for CCR configs: one convolution layer through the RTL, or a network's
cycle model.

``--conv H,W,C,K,R,S[,stride[,pad]]`` (or ``--layer NET.LAYER``, or ``--act`` and ``--weights``
alone) names the layer; its window is the framework convolution's (``pad`` zeros on each side)
or, with ``--mode``, the paper's 'full', 'same' or 'valid' (Sec. II-A). The operands come from
``.npy`` files or are made from a seed at the given densities. Everything is checked before any
tool runs: the map and kernel sides, the window registers and every buffer (IB, KB, the count
tables and OB) for every stride pass. The layer runs through the generated Verilog in cocotb
(:mod:`sparseforge.tb.ccr.run`); its output is compared with the golden model, its measured
cycles and statistics registers with the cycle model.

``--network NET --model-only`` reports the cycle model of the config's variant and of the dense
baseline on every convolution layer of a network at uniform densities
(:mod:`sparseforge.sim.ccr.network`); with ``--energy`` each layer's action counts are priced
on the config's design and on the dense design of the same PU and buffers
(:func:`.energy.network_layers`).
"""

from pathlib import Path

import numpy as np

from ...sim import workloads
from ...sim.ccr import cycles as ccr_cycles
from ...sim.ccr.cycles import STATISTICS
from ...sim.ccr import format as fmt
from ...sim.ccr import layer as ccr_layer
from ...sim.ccr import network as ccr_network
from ...sim.ccr.network import sparse
from ...sim.gemm import int_range
from ..errors import InputError
from ..operands import load_operand, parse_conv
from ..report import Progress, save_npy, table, write_energy
from ..run_result import RunOutput, Text

__all__ = ["check_fit", "prepare_layer", "run_layer_rtl", "network_models", "network_report",
           "run_cli"]

def _density(value, flag, default):
    value = default if value is None else value
    if not 0.0 <= value <= 1.0:
        raise InputError(f"{flag}: {value} is not allowed; expected a fraction from 0 to 1")
    return value


def check_fit(cfg, x, w, win, flag="--conv"):
    """Raise :class:`InputError` unless every pass of the layer fits ``cfg``'s registers and
    buffers; return the largest use of each buffer over the passes."""
    c, h, wd = x.shape
    k, _, r, s = w.shape
    if max(h, wd) > cfg.map_max:
        raise InputError(f"{flag}: a {h}×{wd} input is not allowed; expected at most map_max = "
                         f"{cfg.map_max} on each side")
    if max(r, s) > cfg.kernel_max:
        raise InputError(f"{flag}: a {r}×{s} kernel is not allowed; expected at most "
                         f"kernel_max = {cfg.kernel_max} on each side")
    if k * c > cfg.kernels_max:
        raise InputError(f"{flag}: K·C = {k * c} kernels are not allowed; expected at most "
                         f"kernels_max = {cfg.kernels_max}")
    limit = (1 << cfg.out_bits) - 1
    if max(win.ho, win.wo) > limit:
        raise InputError(f"{flag}: a {win.ho}×{win.wo} output is not allowed; expected at most "
                         f"{limit} on each side")
    passes = ccr_layer.passes(x, w, win)
    if min(min(p.x0, p.y0) for p in passes) < cfg.origin_min:
        raise InputError(f"{flag}: the window starts {-min(win.x0, win.y0)} outputs before the "
                         f"input; expected at most {-cfg.origin_min} (a pad of at most "
                         f"{-cfg.origin_min})")
    room = {"ib": (cfg.ib_words, "IB words", "buffers.ib_kb", cfg.ib_kb),
            "kb": (cfg.kb_words, "KB words", "buffers.kb_kb", cfg.kb_kb),
            "ob": (cfg.ob_bank_words, "words of each OB bank", "buffers.ob_kb", cfg.ob_kb)}
    most = {}
    for p in passes:
        need = fmt.usage(cfg.variant, cfg.px, cfg.py, p.x, p.w, win.ho, win.wo)
        for key, n in need.items():
            most[key] = max(most.get(key, 0), n)
    for key, (words, what, field, size) in room.items():
        if most[key] > words:
            raise InputError(f"layer: needs {most[key]} {what}; {field} = {size} holds {words}")
    return most


def _window(layer, mode, flag):
    try:
        if mode is not None:
            return ccr_layer.window(layer.h, layer.w, layer.r, layer.s, mode=mode,
                                    stride=layer.stride)
        return ccr_layer.window(layer.h, layer.w, layer.r, layer.s, pad=layer.pad,
                                stride=layer.stride)
    except ValueError as e:
        raise InputError(f"{flag}: {e}") from None


def prepare_layer(cfg, layer, *, weight_density=None, act_density=None, act_path=None,
                  weights_path=None, seed=1):
    """Validated operands ``(x C×H×W, w K×C×R×S)``: from files or seeded at the densities."""
    wd = _density(weight_density, "--weight-density", 0.5)
    ad = _density(act_density, "--act-density", 0.5)
    rng = np.random.default_rng(seed)
    if act_path is not None:
        x = load_operand(act_path, "--act", cfg.act_width, "C×H×W activations",
                         shape=(layer.c, layer.h, layer.w))
    else:
        x = sparse(rng, (layer.c, layer.h, layer.w), *int_range(cfg.act_width), ad)
    if weights_path is not None:
        w = load_operand(weights_path, "--weights", cfg.weight_width, "K×C×R×S weights",
                         shape=(layer.k, layer.c, layer.r, layer.s))
    else:
        w = sparse(rng, (layer.k, layer.c, layer.r, layer.s), *int_range(cfg.weight_width),
                   wd)
    return x, w


def _layer_from_files(act_path, weights_path):
    """The layer's shape from ``--act`` and ``--weights`` alone (no ``--conv``)."""
    try:
        a_shape = np.load(act_path, mmap_mode="r", allow_pickle=False).shape
        w_shape = np.load(weights_path, mmap_mode="r", allow_pickle=False).shape
    except (OSError, ValueError) as e:
        raise InputError(f"--act/--weights: cannot read the arrays ({e})") from None
    if len(a_shape) != 3 or len(w_shape) != 4 or a_shape[0] != w_shape[1]:
        raise InputError(f"--act/--weights: shapes {a_shape} and {w_shape} are not allowed; "
                         "expected C×H×W activations and K×C×R×S weights with the same C")
    c, h, w = a_shape
    k, _, r, s = w_shape
    try:
        return workloads.ConvLayer("files", h, w, c, k, r, s, 1, (r - 1) // 2)
    except (TypeError, ValueError) as e:
        raise InputError(f"--act/--weights: {e}") from None


def run_layer_rtl(cfg, x, w, win, *, simulator="verilator", seed=None, progress=None):
    """Run one layer through the generated RTL; return the report mapping and the K×Ho×Wo
    output.

    Raises
    ------
    ToolFailure
        The build or the simulation failed.
    """
    from ...tb import runner

    usage = check_fit(cfg, x, w, win)
    c, h, wd = x.shape
    k, _, r, s = w.shape
    out = runner.run_job(cfg, simulator, "sparseforge.tb.ccr.run",
                         {"x": x, "w": w, "window": [win.x0, win.y0, win.ho, win.wo, win.stride]},
                         seed=seed, progress=progress,
                         message=f"simulating a {c}x{h}x{wd} -> {k} layer ({r}x{s}, stride "
                                 f"{win.stride}) on {cfg.variant} with {simulator}")
    y = out["y"]
    measured = [int(n) for n in out["cycles"]]
    golden = ccr_layer.golden(x, w, win, cfg.acc_width)
    model = ccr_cycles.layer_cycles(cfg.variant, cfg.px, cfg.py, x, w, win)
    registers = {name: [int(v) for v in out[f"reg_{name}"]] for name in (*STATISTICS, "cycles")}
    cycles = sum(measured)
    report = {
        "design": cfg.name,
        "arch": "ccr",
        "variant": cfg.variant,
        "notation": cfg.notation,
        "simulator": simulator,
        "layer": {"h": h, "w": wd, "c": c, "k": k, "r": r, "s": s, "stride": win.stride},
        "window": {"x0": win.x0, "y0": win.y0, "ho": win.ho, "wo": win.wo},
        "weight_density": float(np.mean(w != 0)),
        "act_density": float(np.mean(x != 0)),
        "multipliers": cfg.multipliers,
        "passes": len(model.passes),
        "cycles": cycles,
        "cycles_per_pass": measured,
        "model_cycles": model.cycles,
        "ideal_cycles": model.ideal_cycles,
        "utilization": model.macs_required / (cfg.multipliers * cycles) if cycles else 0.0,
        "mismatches": int(np.count_nonzero(y != golden)),
        "macs_dense": model.macs_dense,
        "macs_useful": model.macs_required,
        "macs_performed": sum(registers["macs"]),
        "steps": sum(registers["steps"]),
        "ccu_coordinates": sum(registers["coords"]),
        "cycles_register": sum(registers["cycles"]),
        "counters_match_model": all(
            registers[name] == [getattr(p, attr) for p in model.passes]
            for name, attr in STATISTICS.items()) and registers["cycles"] == measured,
        "buffer_words": usage,
        "effective_macs_per_cycle": model.macs_dense / cycles if cycles else 0.0,
    }
    if cfg.variant == "sparse_ki":
        report["bank_conflict_stalls"] = sum(registers["stalls"])
    return report, y


def network_report(cfg, net, weight_density, act_density, seed=1, *, layers=None):
    """The cycle model of ``cfg``'s variant and of the dense baseline on every convolution layer
    of ``net`` at uniform densities: per-layer rows and totals. ``layers``: the network model's
    :class:`~sparseforge.sim.ccr.network.LayerModel` list if already computed (with the same
    arguments)."""
    if layers is None:
        layers = network_models(cfg, net, weight_density, act_density, seed)
    rows = []
    for lm in layers:
        mine, dense = lm.cycles[cfg.variant], lm.cycles["dense"]
        use = lm.usage[cfg.variant]
        rows.append({
            "layer": lm.name, "groups": lm.groups, "macs_dense": lm.macs,
            "model_cycles": mine.cycles, "dense_cycles": dense.cycles,
            "speedup": dense.cycles / mine.cycles,
            "ideal_cycles": mine.ideal_cycles, "utilization": mine.utilization,
            "macs_performed": mine.macs_performed, "ccu_coordinates": mine.ccu_coordinates,
            **({"bank_conflict_stalls": mine.bank_conflict_stalls}
               if cfg.variant == "sparse_ki" else {}),
            "sampled": mine.sampled,
            "fits": (use["ib"] <= cfg.ib_words and use["kb"] <= cfg.kb_words and
                     use["ob"] <= cfg.ob_bank_words and use["kernels"] <= cfg.kernels_max),
        })
    total = sum(r["model_cycles"] for r in rows)
    dense_total = sum(r["dense_cycles"] for r in rows)
    macs = sum(r["macs_dense"] for r in rows)
    return {"network": net, "design": cfg.name, "variant": cfg.variant,
            "weight_density": weight_density, "act_density": act_density, "seed": seed,
            "layers": rows, "total_cycles": total, "total_dense_cycles": dense_total,
            "speedup": dense_total / total, "total_macs_dense": macs,
            "effective_macs_per_cycle": macs / total}


def network_models(cfg, net, weight_density, act_density, seed=1, *, actions=False):
    """The network model of ``cfg``'s variant and of the dense design on ``net``."""
    variants = ("dense",) if cfg.variant == "dense" else ("dense", cfg.variant)
    return ccr_network.network_model(variants, cfg.px, cfg.py, net, weight_density,
                                     act_density, seed=seed, actions=actions)


def _reject(args, flags, why):
    for flag in flags:
        if getattr(args, flag, None) not in (None, False):
            raise InputError(f"--{flag.replace('_', '-')}: not allowed {why}")


def _run_network(cfg, args):
    if not args.model_only:
        raise InputError("--network: runs the cycle model only; add --model-only (run layers "
                         "on the RTL with --layer NET.LAYER)")
    _reject(args, ("act", "weights", "out", "mode", "conv", "layer"), "with --network")
    try:
        workloads.network(args.network)
    except ValueError as e:
        raise InputError(f"--network: {e}") from None
    wd = _density(args.weight_density, "--weight-density", 0.5)
    ad = _density(args.act_density, "--act-density", 0.5)
    progress = Progress(not args.quiet and not args.json)
    models = network_models(cfg, args.network, wd, ad, args.seed, actions=args.energy)
    report = network_report(cfg, args.network, wd, ad, seed=args.seed, layers=models)
    write = Text()
    rows = [(r["layer"], r["macs_dense"], r["dense_cycles"], r["model_cycles"], r["speedup"],
             r["utilization"], "yes" if r["sampled"] else "", "" if r["fits"] else "no")
            for r in report["layers"]]
    rows.append(("total", report["total_macs_dense"], report["total_dense_cycles"],
                 report["total_cycles"], report["speedup"], "", "", ""))
    write(f"{args.network} on {cfg.name} ({cfg.notation}), cycle model at uniform densities "
          f"{wd:g} (weights) and {ad:g} (activations), seed {args.seed}")
    write(table(rows, ("layer", "MACs", "dense cycles", f"{cfg.variant} cycles", "speed-up",
                       "util", "sampled", "fits")))
    write("Each layer is modelled as one pass over whole maps; 'fits' says whether the buffers "
          "hold it (tiling is not modelled).")
    if args.energy:
        from ..power.network import network_energy, write_energy as write_network_energy
        from .energy import dense_baseline, network_layers
        base_cfg = dense_baseline(cfg)
        network_energy(cfg, report, network_layers(cfg, args.network, models),
                       progress=progress, baseline_cfg=base_cfg,
                       baseline=f"the dense design of the same PU and buffers ({base_cfg.name}) "
                                "on the same operands")
        write_network_energy(write, report)
    return RunOutput(report, True, str(write))


def run_cli(cfg, args):
    """``sparseforge run`` on a CCR config: a ``RunOutput``, ``ok`` when bit- and cycle-exact."""
    if args.network is not None:
        return _run_network(cfg, args)
    _reject(args, ("model_only",), "without --network")
    given = [flag for flag in ("conv", "layer") if getattr(args, flag, None) is not None]
    if len(given) > 1:
        raise InputError("--conv/--layer: give one of them, not both")
    if args.conv is not None:
        layer = parse_conv(args.conv)
        if args.mode is not None and len(args.conv.split(",")) == 8:
            raise InputError("--mode: not allowed with a pad in --conv; give one of them")
        flag = "--conv"
    elif args.layer is not None:
        _reject(args, ("mode",), "with --layer (a network layer's window is its pad)")
        try:
            layer = workloads.layer(args.layer)
        except ValueError as e:
            raise InputError(f"--layer: {e}") from None
        if layer.groups != 1:
            raise InputError(f"--layer: {args.layer} is a grouped convolution ({layer.groups} "
                             "groups); the RTL runs ungrouped layers (use --network "
                             "--model-only for the model)")
        flag = "--layer"
    elif args.act is not None and args.weights is not None:
        layer = _layer_from_files(args.act, args.weights)
        flag = "--act/--weights"
    else:
        raise InputError("--conv: missing; give H,W,C,K,R,S[,stride[,pad]] (or --layer "
                         "NET.LAYER, or both --act and --weights)")
    win = _window(layer, args.mode, flag)
    x, w = prepare_layer(cfg, layer, weight_density=args.weight_density,
                         act_density=args.act_density, act_path=args.act,
                         weights_path=args.weights, seed=args.seed)
    check_fit(cfg, x, w, win, flag)
    progress = Progress(not args.quiet and not args.json)
    report, y = run_layer_rtl(cfg, x, w, win, simulator=args.sim, seed=args.seed,
                              progress=progress)
    report["seed"] = args.seed
    if args.layer:
        report["name"] = args.layer
    if args.energy:
        from ..power.model import energy_report
        from .energy import layer_job
        job = layer_job(cfg, x, w, win)
        report.update(energy_report(cfg, job.actions(report["cycles"]), job.ops,
                                    progress=progress))
    if args.out is not None:
        save_npy(Path(args.out), y.astype(np.int32 if cfg.acc_width <= 32 else np.int64))
    write = Text()
    lay = report["layer"]
    write(f"{cfg.name} ({cfg.notation}) on {args.sim}: {lay['c']}x{lay['h']}x{lay['w']} "
          f"input, {lay['k']} outputs, {lay['r']}x{lay['s']} kernel, stride {lay['stride']}, "
          f"{win.ho}x{win.wo} window from ({win.x0}, {win.y0}), {report['passes']} pass(es)")
    write(table([(f"{report['weight_density']:.2f}/{report['act_density']:.2f}",
                  report["cycles"], report["model_cycles"], report["ideal_cycles"],
                  report["utilization"], report["macs_performed"],
                  report["ccu_coordinates"], report.get("bank_conflict_stalls", ""),
                  report["mismatches"])],
                ("density w/a", "cycles", "model", "ideal", "util", "MACs", "CCU coords",
                 "bank stalls", "mismatches")))
    exact = report["mismatches"] == 0
    write(f"{'bit-exact' if exact else 'MISMATCH'} against the golden convolution; "
          f"{report['effective_macs_per_cycle']:.2f} dense-equivalent MACs/cycle")
    write_energy(write, report)
    ok = (report["mismatches"] == 0 and report["cycles"] == report["model_cycles"] and
          report["counters_match_model"])
    return RunOutput(report, ok, str(write))
