"""One convolution layer on a SparseCore config: checks, RTL run and report (the body of
``sparseforge run`` for ``arch: sparsecore``; the command-line options are wired by the
architecture registry).

Everything is validated before any tool runs (:func:`check_layer`, :func:`check_weights`); the
layer then runs through the generated Verilog in cocotb (:mod:`sparseforge.tb.sparsecore.run`), its
compressed and decoded outputs are compared with the golden model and its cycles with the cycle
model. The layer is ``--conv H,W,C,K,R,S[,stride[,pad]]`` or ``--layer NET.LAYER``; with
``--model-only`` only the models run. ``--network NET --model-only`` gives the cycle model of
every layer of a network (:mod:`sparseforge.sim.sparsecore.network`; with ``--energy`` priced on
the design and on its dense baseline, :func:`.energy.network_layers`), and ``--model digits_cnn``
runs the trained network (:mod:`.network`, :mod:`sparseforge.gen.run_network`).
"""

from pathlib import Path

import numpy as np

from ...sim import workloads
from ...sim.sparsecore import network as sc_network
from .. import run_network
from ..errors import InputError
from ..operands import load_operand, parse_conv
from ..report import Progress, save_npy, table, write_energy
from ..run_result import RunOutput, Text
from ...sim.sparsecore import cycles, golden, streams
from ...sim.sparsecore import format as kmf

__all__ = ["check_layer", "check_weights", "run_layer_rtl", "model_report", "network_report",
           "run_cli"]


def check_layer(cfg, shape, flag="--conv"):
    """Raise :class:`InputError` (one line) unless ``cfg`` can run ``shape`` (a LayerShape)."""
    limits = (("H", shape.h, cfg.max_h, "limits.h"), ("W", shape.w, cfg.max_w, "limits.w"),
              ("C", shape.c, cfg.max_c, "limits.c"), ("K", shape.k, cfg.max_k, "limits.k"),
              ("R", shape.r, cfg.kernel_max, "limits.kernel"),
              ("S", shape.s, cfg.kernel_max, "limits.kernel"))
    for name, value, top, field in limits:
        if not 1 <= value <= top:
            raise InputError(f"{flag}: {name} = {value} is not allowed; expected 1 to {field} "
                             f"= {top}")
    if shape.k % cfg.m:
        raise InputError(f"{flag}: K = {shape.k} is not allowed; expected a multiple of m = "
                         f"{cfg.m} (k/m groups along the output depth)")
    if shape.stride not in (1, 2, 4):
        raise InputError(f"{flag}: stride {shape.stride} is not allowed; expected 1, 2 or 4")
    if shape.pad >= min(shape.r, shape.s):
        raise InputError(f"{flag}: pad {shape.pad} is not allowed; expected less than the "
                         f"kernel side ({min(shape.r, shape.s)})")
    if shape.ho < 1 or shape.wo < 1 or shape.ho > cfg.max_h or shape.wo > cfg.max_w:
        raise InputError(f"{flag}: the output {shape.ho}×{shape.wo} is not allowed; expected "
                         f"1×1 to {cfg.max_h}×{cfg.max_w}")
    if shape.pool and (shape.ho < 2 or shape.wo < 2):
        raise InputError(f"--pool: not allowed on a {shape.ho}×{shape.wo} output; expected at "
                         "least 2×2 (a 2×2 max-pool of it would be empty)")
    if shape.pool and cfg.band_rows % 2:
        raise InputError(f"--pool: not allowed on a design with band_rows = {cfg.band_rows}; "
                         "expected an even band_rows (a pooling window must not span two "
                         "work units)")


def check_weights(cfg, weights, *, prune=False, flag="--weights"):
    """The weights meeting ``cfg.k / cfg.m`` along K: pruned when ``prune``, else checked
    (:class:`InputError` naming the first group that breaks it)."""
    if prune:
        return kmf.prune(weights, cfg.k, cfg.m)
    try:
        kmf.check_km(weights, cfg.k, cfg.m)
    except ValueError as err:
        raise InputError(f"{flag}: {err}") from None
    return weights


def model_report(cfg, shape, act, weights):
    """The models' figures of a layer (no RTL): cycle model, ideal, dense baseline."""
    res = cycles.layer_cycles(cfg, shape, act, weights)
    return {"model_cycles": res.cycles, "ideal_cycles": res.ideal_cycles,
            "dense_cycles": res.dense_cycles, "useful_macs": res.useful_macs,
            "alu_utilization": res.alu_utilization, "utilization": res.utilization,
            "work_units": res.work_units, "pe_idle_cycles": res.pe_idle_cycles,
            "speedup_over_dense": res.dense_cycles / res.cycles}


def run_layer_rtl(cfg, shape, act, weights, bias, mult, shift, *, relu=False,
                  simulator="verilator", progress=None):
    """Run one layer through the RTL; return ``(report, output)``: the JSON report (``cycles``,
    ``model_cycles``, ``ideal_cycles``, ``utilization``, ``alu_utilization``, ``mismatches``,
    ``stream_matches``, ``work_units``, ``pe_idle_cycles``, ``dense_cycles``) and the decoded
    INT8 output plane."""
    from ...tb import runner
    check_layer(cfg, shape)
    weights = check_weights(cfg, weights)
    inputs = {"act": np.asarray(act, dtype=np.int64), "weights": np.asarray(weights, np.int64),
              "bias": np.broadcast_to(np.asarray(bias, dtype=np.int64), (shape.k,)),
              "mult": np.broadcast_to(np.asarray(mult, dtype=np.int64), (shape.k,)),
              "shift": np.broadcast_to(np.asarray(shift, dtype=np.int64), (shape.k,)),
              "layer": np.array([shape.stride, shape.pad, int(relu), int(shape.pool)])}
    out = runner.run_job(cfg, simulator, "sparseforge.tb.sparsecore.run", inputs,
                         message=f"simulating the layer on {simulator}", progress=progress)
    beats = [(int(out["chunk"][i]), int(out["y"][i]), int(out["x"][i]),
              [(int(out["c"][i, j]), int(out["value"][i, j])) for j in range(out["count"][i])])
             for i in range(len(out["chunk"]))]
    want = golden.layer_output(act, weights, bias, mult, shift, stride=shape.stride,
                               pad=shape.pad, relu=relu, pool=shape.pool,
                               acc_bits=cfg.acc_width)
    store = streams.collect_output(cfg, beats, shape.k, want.shape[1], want.shape[2])
    plane = kmf.decompress_acts(store)
    model = model_report(cfg, shape, act, weights)
    cyc = int(out["cycles"])
    report = {"cycles": cyc, **model,
              "alu_utilization": model["useful_macs"] / (cfg.alus_total * cyc) if cyc else 0.0,
              "utilization": int(out["reg_alu_jobs"]) / (cfg.pes * cyc) if cyc else 0.0,
              "mismatches": int(np.count_nonzero(plane != want)),
              "stream_matches": store == kmf.compress_acts(want, cfg.chunk),
              "register_cycles": int(out["reg_cycles"]),
              "work_units": int(out["reg_work_units"]),
              "pe_idle_cycles": int(out["reg_pe_idle_cycles"])}
    return report, plane


def _km(text, cfg):
    if text is None:
        return cfg.k, cfg.m
    try:
        k, m = (int(v) for v in text.split("/"))
    except ValueError:
        raise InputError(f"--km: {text!r} is not allowed; expected K/M, e.g. 2/4") from None
    if m < 2 or m & (m - 1) or not 1 <= k <= m:
        raise InputError(f"--km: {text!r} is not allowed; expected 1 ≤ K ≤ M with M a power of "
                         "two")
    return k, m


def _operand(rng, shape, density):
    """Random non-zero INT8 values, exactly ``round(density · size)`` of them kept."""
    size = int(np.prod(shape))
    values = rng.integers(1, 128, size) * rng.choice([-1, 1], size)
    keep = np.zeros(size, dtype=bool)
    keep[rng.permutation(size)[:round(density * size)]] = True
    return np.where(keep, values, 0).reshape(shape)


def _shape(args):
    if args.conv is not None and args.layer is not None:
        raise InputError("--conv/--layer: give one of them, not both")
    if args.conv is not None:
        layer = parse_conv(args.conv)
    elif args.layer is not None:
        try:
            layer = workloads.layer(args.layer)
        except ValueError as e:
            raise InputError(f"--layer: {e}") from None
        if layer.groups != 1:
            raise InputError(f"--layer: {args.layer} is a grouped convolution ({layer.groups} "
                             "groups); the RTL runs ungrouped layers (use --network "
                             "--model-only for the model)")
    else:
        raise InputError("--conv: missing; give H,W,C,K,R,S[,stride[,pad]] (or --layer "
                         "NET.LAYER)")
    return cycles.LayerShape(layer.h, layer.w, layer.c, layer.k, layer.r, layer.s, layer.stride,
                             layer.pad, bool(args.pool))


def prepare(cfg, args):
    """``(shape, act, weights, shift)`` from the ``run`` options, every input checked."""
    shape = _shape(args)
    check_layer(cfg, shape, "--conv" if args.layer is None else "--layer")
    rng = np.random.default_rng(args.seed)
    density = 0.5 if args.act_density is None else args.act_density
    if not 0.0 <= density <= 1.0:
        raise InputError(f"--act-density: {density} is not allowed; expected a fraction from 0 "
                         "to 1")
    if args.act is not None:
        act = load_operand(args.act, "--act", cfg.act_width, "C×H×W activations",
                           shape=(shape.c, shape.h, shape.w))
    else:
        act = _operand(rng, (shape.c, shape.h, shape.w), density)
    if args.weights is not None:
        if args.km is not None:
            raise InputError("--km: not allowed with --weights (it prunes random weights; use "
                             "--prune to prune given ones to the design's k/m)")
        weights = load_operand(args.weights, "--weights", cfg.weight_width,
                               "K×C×R×S weights", shape=(shape.k, shape.c, shape.r, shape.s))
        weights = check_weights(cfg, weights, prune=args.prune)
    else:
        k, m = _km(args.km, cfg)
        if shape.k % m:
            raise InputError(f"--km: {k}/{m} is not allowed for K = {shape.k}; expected M "
                             "dividing K")
        weights = kmf.prune(_operand(rng, (shape.k, shape.c, shape.r, shape.s), 1.0), k, m)
        weights = check_weights(cfg, weights, flag=f"--km {k}/{m}")
    if args.shift is not None:
        if not 0 <= args.shift <= 31:
            raise InputError(f"--shift: {args.shift} is not allowed; expected 0 to 31")
        shift = args.shift
    else:
        # The smallest shift that brings the largest |accumulator| into INT8.
        peak = int(np.abs(golden.layer_acc(act, weights, shape.stride, shape.pad,
                                           cfg.acc_width)).max(initial=0))
        shift = min(31, max(0, (peak // 128).bit_length()))
    return shape, act, weights, shift


def network_report(cfg, net, act_density, k, m, seed=1):
    """The cycle model of every convolution layer of ``net`` on ``cfg`` (activations at
    ``act_density``, weights pruned to ``k/m``): per-layer rows and totals."""
    try:
        layers = sc_network.network_model(cfg, net, act_density, k, m, seed=seed)
    except ValueError as e:
        raise InputError(f"--network: {net}: {e}") from None
    rows = []
    for lm in layers:
        try:
            check_layer(cfg, lm.shape, "layer")
            why = None
        except InputError as e:
            why = str(e).split(": ", 1)[1]
        rows.append({
            "layer": lm.name, "groups": lm.groups,
            "shape": {"h": lm.shape.h, "w": lm.shape.w, "c": lm.shape.c * lm.groups,
                      "k": lm.shape.k * lm.groups, "r": lm.shape.r, "s": lm.shape.s,
                      "stride": lm.shape.stride, "pad": lm.shape.pad},
            "macs_dense": lm.macs, "useful_macs": lm.useful_macs,
            "model_cycles": lm.cycles, "ideal_cycles": lm.ideal_cycles,
            "dense_cycles": lm.dense_cycles, "speedup_over_dense": lm.dense_cycles / lm.cycles,
            "alu_utilization": lm.alu_utilization(cfg.alus_total),
            "utilization": lm.utilization(cfg.alus_total),
            "work_units": lm.work_units, "pe_idle_cycles": lm.pe_idle_cycles,
            "fits": why is None, **({"why": why} if why else {}),
        })
    total = sum(r["model_cycles"] for r in rows)
    dense = sum(r["dense_cycles"] for r in rows)
    useful = sum(r["useful_macs"] for r in rows)
    return {"network": net, "design": cfg.name, "km": f"{k}/{m}",
            "act_density": act_density, "seed": seed, "layers": rows,
            "model_cycles": total, "ideal_cycles": sum(r["ideal_cycles"] for r in rows),
            "dense_cycles": dense, "speedup_over_dense": dense / total,
            "macs_dense": sum(r["macs_dense"] for r in rows), "useful_macs": useful,
            "alu_utilization": useful / (cfg.alus_total * total),
            "pe_idle_cycles": sum(r["pe_idle_cycles"] for r in rows),
            "work_units": sum(r["work_units"] for r in rows)}


def _run_network(cfg, args):
    if not args.model_only:
        raise InputError("--network: runs the cycle model only; add --model-only (run a layer "
                         "on the RTL with --layer NET.LAYER)")
    for dest in ("conv", "layer", "act", "weights", "out", "pool", "relu", "shift", "prune"):
        if getattr(args, dest, None) not in (None, False):
            raise InputError(f"--{dest}: not allowed with --network (it takes --km, "
                             "--act-density, --seed)")
    try:
        workloads.network(args.network)
    except ValueError as e:
        raise InputError(f"--network: {e}") from None
    density = 0.5 if args.act_density is None else args.act_density
    if not 0.0 <= density <= 1.0:
        raise InputError(f"--act-density: {density} is not allowed; expected a fraction from 0 "
                         "to 1")
    k, m = _km(args.km, cfg)
    # At most this many of the design's groups of cfg.m can be non-zero after pruning to k/m.
    worst = min(k, cfg.m) if m >= cfg.m else k * (cfg.m // m)
    if worst > cfg.k:
        raise InputError(f"--km: {k}/{m} is not allowed on {cfg.name}; weights pruned to it can "
                         f"hold {worst} non-zeros in a group of {cfg.m}, the design takes "
                         f"{cfg.k}/{cfg.m}")
    report = network_report(cfg, args.network, density, k, m, seed=args.seed)
    write = Text()
    rows = [(r["layer"], r["macs_dense"], r["dense_cycles"], r["model_cycles"],
             f"{r['speedup_over_dense']:.2f}", f"{r['alu_utilization']:.3f}",
             r["pe_idle_cycles"], "" if r["fits"] else "no") for r in report["layers"]]
    rows.append(("total", report["macs_dense"], report["dense_cycles"], report["model_cycles"],
                 f"{report['speedup_over_dense']:.2f}", f"{report['alu_utilization']:.3f}",
                 report["pe_idle_cycles"], ""))
    write(f"{args.network} on {cfg.name} ({cfg.notation}), cycle model: weights pruned to "
          f"{k}/{m}, activation density {density:g}, seed {args.seed}")
    write(table(rows, ("layer", "MACs", "dense cycles", "cycles", "speed-up", "ALU util.",
                       "PE idle", "fits")))
    write("Each layer is modelled as one pass over its whole maps; 'fits' says whether the "
          "design's limits hold it (tiling is not modelled).")
    if args.energy:
        from ..power.network import network_energy, write_energy as write_network_energy
        from .energy import dense_baseline, network_layers
        base_cfg = dense_baseline(cfg)
        network_energy(cfg, report, network_layers(cfg, args.network, density, k, m,
                                                   seed=args.seed),
                       progress=Progress(not args.quiet and not args.json),
                       baseline_cfg=base_cfg,
                       baseline=f"the dense output-stationary array of the same PEs "
                                f"({base_cfg.name}: k = m = {base_cfg.m}, every activation "
                                "an entry) on the same activations")
        write_network_energy(write, report)
    return RunOutput(report, True, str(write))


RUN_HEADERS = ("cycles", "model", "ideal", "dense", "speed-up", "ALU util.", "units",
               "PE idle", "mismatches")


def run_cli(cfg, args):
    """``sparseforge run`` on a SparseCore config: a ``RunOutput``, ``ok`` when bit- and
    cycle-exact."""
    if args.energy and args.model is not None:
        raise InputError("--energy: allowed with one layer (--conv or --layer, on the RTL or "
                         "--model-only) or --network, not with --model")
    if args.model is not None:
        for dest in ("km", "pool"):
            if getattr(args, dest, None) not in (None, False):
                raise InputError(f"--{dest}: not allowed with --model (it takes --prune "
                                 "SCHEME, --images N, --model-only)")
        return run_network.run_cli(cfg, args)
    run_network.check_not_model(args)
    if args.network is not None:
        return _run_network(cfg, args)
    shape, act, weights, shift = prepare(cfg, args)
    relu = bool(args.relu)
    if args.model_only:
        report = model_report(cfg, shape, act, weights)
        report.update({"shift": shift, "seed": args.seed})
        if args.energy:
            report.update(_layer_energy(cfg, shape, act, weights, shift, relu, None,
                                        Progress(not args.quiet and not args.json)))
        write = Text()
        write(table([(report["model_cycles"], report["ideal_cycles"],
                      report["dense_cycles"], f"{report['speedup_over_dense']:.2f}",
                      f"{report['alu_utilization']:.3f}", report["work_units"],
                      report["pe_idle_cycles"])], RUN_HEADERS[1:-1]))
        write_energy(write, report)
        return RunOutput(report, True, str(write))
    progress = Progress(not args.quiet and not args.json)
    report, plane = run_layer_rtl(cfg, shape, act, weights, 0, 1, shift, relu=relu,
                                  simulator=args.sim, progress=progress)
    report.update({"shift": shift, "seed": args.seed, "simulator": args.sim})
    if args.energy:
        report.update(_layer_energy(cfg, shape, act, weights, shift, relu, report["cycles"],
                                    progress))
    if args.out is not None:
        save_npy(Path(args.out), plane.astype(np.int8))
    ok = (report["mismatches"] == 0 and report["stream_matches"] and
          report["cycles"] == report["model_cycles"] == report["register_cycles"])
    write = Text()
    write(f"{cfg.name} ({cfg.notation}) on {args.sim}: {shape.c}x{shape.h}x{shape.w} input, "
          f"{shape.k} outputs, {shape.r}x{shape.s} kernel, stride {shape.stride}, pad "
          f"{shape.pad}{', ReLU' if relu else ''}{', 2x2 pool' if shape.pool else ''}, "
          f"shift {shift}")
    write(table([(report["cycles"], report["model_cycles"], report["ideal_cycles"],
                  report["dense_cycles"], f"{report['speedup_over_dense']:.2f}",
                  f"{report['alu_utilization']:.3f}", report["work_units"],
                  report["pe_idle_cycles"], report["mismatches"])], RUN_HEADERS))
    write(("bit-exact" if report["mismatches"] == 0 and report["stream_matches"] else
           "MISMATCH") + " against the golden model (decoded output and compressed lists); "
          + ("cycle-exact" if ok else "cycles differ from the model"))
    write_energy(write, report)
    return RunOutput(report, ok, str(write))


def _layer_energy(cfg, shape, act, weights, shift, relu, cycles, progress):
    """``--energy`` of one layer: its counts over ``cycles`` (None: the cycle model's)."""
    from ..power.model import job_energy
    from .energy import layer_job
    return job_energy(cfg, layer_job(cfg, shape, act, weights, shift, relu=relu), cycles,
                      progress=progress)
