"""``sparseforge run`` for SCNN configs: one convolution layer through the RTL, or the cycle model.

``--conv H,W,C,K,R,S`` (or ``--layer NET.LAYER`` for a stride-1 'same' layer of a shipped network
table) names the layer; the operands come from ``.npy`` files or are made from a seed at the given
weight and activation densities. Everything is validated before any tool runs: the layer must be a
stride-1 'same' convolution with odd kernel sides the PEs support, fit the PE array, and its
compressed weights, activations and outputs must fit each PE's RAMs. The layer runs through the
generated Verilog in cocotb (:mod:`sparseforge.tb.scnn.run`); its decoded output and its compressed
output stream are compared with the golden model, and the measured cycles (the whole run and its
load, compute and drain parts) and statistics with the cycle model. ``--model-only`` gives the
cycle model's figures without simulating; ``--network NET`` gives them for every convolution
layer of a network (layers the design cannot run are listed with the reason), with totals.
``--shift S`` requantizes the layer's outputs to the activation width (the PPU's ``requant``
mode); ``--chain K2`` runs a second layer of ``K2`` output channels (same kernel, weights at the
same density) chained on chip after it: the first requantizes (``--shift``, by default the
smallest shift that saturates no output) and keeps its outputs, the second takes them as its
input where they lie and streams its raw outputs, which are compared with the golden model of
the two layers; the cycles of both are compared with the cycle model.
"""

from pathlib import Path

import numpy as np

from ...sim import conv, workloads
from ...sim.gemm import int_range
from ...sim.scnn import cycles as scnn_cycles
from ...sim.scnn import streams as scnn_streams
from ...sim.scnn.schedule import oversized_blocks
from .. import run_network
from ..errors import InputError
from ..operands import MAX_OPERAND_ELEMENTS, load_operand, npy_shape, parse_conv
from ..report import Progress, save_npy, table, write_energy
from ..run_result import RunOutput, Text

__all__ = ["check_layer", "prepare_layer", "run_layer_rtl", "run_cli", "chain_shift"]


def check_layer(cfg, layer, flag="--conv"):
    """Raise :class:`InputError` unless ``cfg``'s accelerator can run ``layer`` (a ConvLayer).

    Checks the dataflow's rules, not the RAMs (see :func:`check_rams`).
    """
    if layer.stride != 1:
        raise InputError(f"{flag}: stride {layer.stride} is not allowed; expected 1 (SCNN runs "
                         "stride-1 'same' convolutions)")
    if layer.groups != 1:
        raise InputError(f"{flag}: groups {layer.groups} is not allowed; expected 1 (SCNN runs "
                         "full convolutions)")
    for side, value in (("R", layer.r), ("S", layer.s)):
        if value % 2 == 0 or value > cfg.kernel_max:
            raise InputError(f"{flag}: {side} = {value} is not allowed; expected an odd kernel "
                             f"side from 1 to kernel_max = {cfg.kernel_max}")
    if layer.pad != (layer.r - 1) // 2:
        raise InputError(f"{flag}: pad {layer.pad} is not allowed; expected (R−1)/2 = "
                         f"{(layer.r - 1) // 2} ('same' output)")
    if layer.h > cfg.max_h or layer.w > cfg.max_w:
        raise InputError(f"{flag}: a {layer.h}×{layer.w} input is not allowed; expected at most "
                         f"{cfg.max_h}×{cfg.max_w} (pes {cfg.px}×{cfg.py} of {cfg.tile_w}×"
                         f"{cfg.tile_h} tiles)")
    if layer.k > cfg.out_channels:
        raise InputError(f"{flag}: K = {layer.k} is not allowed; expected at most "
                         f"rams.out_channels = {cfg.out_channels}")
    if layer.c > cfg.iaram_rows:
        raise InputError(f"{flag}: C = {layer.c} is not allowed; expected at most "
                         f"{cfg.iaram_rows} (every input channel takes a row of the IARAM: "
                         f"rams.iaram = {cfg.iaram} entries of pe.i = {cfg.i})")
    for what, size in (("C×H×W activations", layer.c * layer.h * layer.w),
                       ("K×C×R×S weights", layer.k * layer.c * layer.r * layer.s)):
        if size > MAX_OPERAND_ELEMENTS:
            raise InputError(f"{flag}: {size:,} {what} are not allowed; expected at most "
                             f"{MAX_OPERAND_ELEMENTS:,}")


def ram_problem(cfg, streams):
    """``(usage, message)``: what the layer needs of every PE's RAMs, and why it does not fit
    (``None`` when it does). The weights stream through each PE's weight FIFO one block after
    the other, so only the largest weight block must fit it."""
    usage = scnn_streams.ram_usage(cfg, streams)
    big = oversized_blocks(cfg, streams)
    if big:
        g, c, rows = big[0]
        return usage, (f"layer: weight block (g, c) = ({g}, {c}) needs {rows} rows of the weight "
                       f"FIFO ({rows * cfg.f} entries); rams.weights = {cfg.weights} holds "
                       f"{cfg.weight_rows} rows (of pe.f = {cfg.f})")
    limits = {"iaram": (cfg.iaram_rows, cfg.i, "IARAM", "rams.iaram"),
              "oaram": (cfg.oaram_rows, cfg.i, "OARAM", "rams.oaram")}
    for key, (rows, lanes, what, field) in limits.items():
        if usage[key] > rows:
            return usage, (f"layer: needs {usage[key]} rows of the {what} ({usage[key] * lanes} "
                           f"entries); {field} = {rows * lanes} holds {rows} rows")
    return usage, None


def check_rams(cfg, streams):
    """Raise :class:`InputError` unless the layer's compressed data fits every PE's RAMs."""
    usage, problem = ram_problem(cfg, streams)
    if problem:
        raise InputError(problem)
    return usage


def _density(value, flag, default):
    value = default if value is None else value
    if not 0.0 <= value <= 1.0:
        raise InputError(f"{flag}: {value} is not allowed; expected a fraction from 0 to 1")
    return value


def sparse_operand(rng, shape, width, density):
    """Seeded integers of ``width`` bits, exactly ``round(density · size)`` of them non-zero."""
    lo, hi = int_range(width)
    size = int(np.prod(shape))
    values = rng.integers(lo, hi + 1, size)
    while (values == 0).any():
        values[values == 0] = rng.integers(lo, hi + 1, int((values == 0).sum()))
    keep = np.zeros(size, dtype=bool)
    keep[rng.permutation(size)[:round(density * size)]] = True
    return np.where(keep, values, 0).reshape(shape)


def prepare_layer(cfg, layer, *, weight_density=None, act_density=None, act_path=None,
                  weights_path=None, seed=1, flag="--conv"):
    """Validated operands ``(act C×H×W, weights K×C×R×S)`` of ``layer`` on ``cfg``."""
    check_layer(cfg, layer, flag)
    wd = _density(weight_density, "--weight-density", 0.5)
    ad = _density(act_density, "--act-density", 0.5)
    rng = np.random.default_rng(seed)
    if act_path is not None:
        act = load_operand(act_path, "--act", cfg.act_width, "C×H×W activations",
                           shape=(layer.c, layer.h, layer.w))
    else:
        act = sparse_operand(rng, (layer.c, layer.h, layer.w), cfg.act_width, ad)
    if weights_path is not None:
        weights = load_operand(weights_path, "--weights", cfg.weight_width, "K×C×R×S weights",
                               shape=(layer.k, layer.c, layer.r, layer.s))
    else:
        weights = sparse_operand(rng, (layer.k, layer.c, layer.r, layer.s), cfg.weight_width, wd)
    return act, weights


def _layer_from_files(act_path, weights_path):
    """The layer shape from ``--act`` and ``--weights`` alone (no ``--conv``)."""
    a_shape = npy_shape(act_path, "--act")
    w_shape = npy_shape(weights_path, "--weights")
    if len(a_shape) != 3 or len(w_shape) != 4 or a_shape[0] != w_shape[1]:
        raise InputError(f"--act/--weights: shapes {a_shape} and {w_shape} are not allowed; "
                         "expected C×H×W activations and K×C×R×S weights with the same C")
    c, h, w = a_shape
    k, _, r, s = w_shape
    try:
        return workloads.ConvLayer("files", h, w, c, k, r, s, 1, (r - 1) // 2)
    except (TypeError, ValueError) as e:
        raise InputError(f"--act/--weights: {e}") from None


def model_report(cfg, streams, act, weights, *, chained=False, keep=False):
    """The cycle model's figures for one layer (no simulation; ``chained``, ``keep``: as
    :func:`sparseforge.sim.scnn.cycles.layer_cycles`)."""
    layer = streams.layer
    model = scnn_cycles.layer_cycles(cfg, streams, chained=chained, keep=keep)
    return {
        "design": cfg.name,
        "arch": "scnn",
        "notation": cfg.notation,
        "h": layer.h, "w": layer.w, "c": layer.c, "k": layer.k, "r": layer.r, "s": layer.s,
        "weight_density": float(np.mean(weights != 0)) if weights.size else 0.0,
        "act_density": float(np.mean(act != 0)) if act.size else 0.0,
        "pes": cfg.pes,
        "multipliers": cfg.multipliers_total,
        "groups": -(-layer.k // cfg.kc),
        "model_cycles": model.cycles,
        "model_load_cycles": model.load_cycles,
        "model_busy_cycles": model.busy_cycles,
        "model_drain_cycles": model.drain_cycles,
        "ideal_cycles": model.ideal_cycles(cfg),
        "utilization": model.utilization(cfg),
        "multiplier_utilization": model.multiplier_utilization(cfg),
        "bank_conflict_stalls": model.stall_cycles,
        "weight_stall_cycles": model.weight_stall_cycles,
        "barrier_wait_cycles": model.barrier_cycles,
        "ppu_wait_cycles": model.ppu_wait_cycles,
        "compute_cycles": model.compute_cycles,
        "products": model.products,
        "dense_macs": layer.macs,
        "effective_macs_per_cycle": layer.macs / model.cycles if model.cycles else 0.0,
    }, model


def chain_shift(cfg, output):
    """The smallest shift that requantizes a ReLU ``output`` to the activation width with no
    value saturating (rounding half up, :func:`sparseforge.sim.scnn.golden.requantized`)."""
    return conv.fitting_shift(output, bits=cfg.act_width)


def run_layer_rtl(cfg, act, weights, *, simulator="verilator", seed=None, progress=None,
                  threshold=0, shift=None, weights2=None):
    """Run one layer through the generated RTL; return the report mapping and the K×H×W output.
    On a design with Sparse-Blox, the layer prunes at raw ``threshold`` and is compared with the
    golden model of the pruned layer. With ``shift`` it requantizes its outputs. With
    ``weights2`` a second layer follows, chained on chip (the first keeps its outputs, which
    must be requantized): the report is the second layer's, with the first's in ``layers``
    (both) and the cycles of both in ``cycles``; the output is the second layer's.

    Raises
    ------
    InputError
        The layers' data does not fit the RAMs.
    ToolFailure
        The build or the simulation failed.
    """
    from ...tb import runner

    streams = scnn_streams.layer_streams(cfg, act, weights, threshold, shift)
    golden = scnn_streams.golden(cfg, act, weights, threshold, shift)
    layers = [(streams, act, weights, golden, check_rams(cfg, streams), "")]
    inputs = {"act": act, "weights": weights}
    if cfg.sparseblox is not None:
        inputs["threshold"] = np.int64(threshold)
    if shift is not None:
        inputs["shift"] = np.int64(shift)
    if weights2 is not None:
        streams2 = scnn_streams.layer_streams(cfg, golden, weights2)
        golden2 = scnn_streams.golden(cfg, golden, weights2)
        layers.append((streams2, golden, weights2, golden2, usage_of(cfg, streams2, "--chain"),
                       "l2_"))
        inputs["weights2"] = weights2
    layer = streams.layer
    out = runner.run_job(cfg, simulator, "sparseforge.tb.scnn.run", inputs, seed=seed,
                         progress=progress,
                         message=f"simulating a {layer.c}x{layer.h}x{layer.w} -> {layer.k} layer "
                                 f"({layer.r}x{layer.s})" +
                                 (f" and a chained one -> {weights2.shape[0]}"
                                  if weights2 is not None else "") + f" on {simulator}")
    reports = []
    for n, (streams_n, act_n, weights_n, golden_n, usage, prefix) in enumerate(layers):
        report, result = _rtl_report(cfg, streams_n, act_n, weights_n, golden_n, out, prefix,
                                     chained=n > 0, keep=n == 0 and len(layers) > 1)
        report.update({"simulator": simulator, "ram_rows": usage})
        if n == 0 and len(layers) > 1:
            report["kept_on_chip"] = True
        reports.append(report)
    if len(reports) == 1:
        return reports[0], result
    report = dict(reports[-1])
    report.update({
        "layers": reports, "shift": shift,
        "cycles": sum(r["cycles"] for r in reports),
        "model_cycles": sum(r["model_cycles"] for r in reports),
        "counters_match_model": all(r["counters_match_model"] for r in reports),
        "measured_match_registers": all(r["measured_match_registers"] for r in reports),
        "cycles_match_model": all(r["cycles"] == r["model_cycles"] for r in reports),
    })
    return report, result


def usage_of(cfg, streams, flag):
    """The layer's RAM rows (:func:`check_rams`), its error naming ``flag``."""
    try:
        return check_rams(cfg, streams)
    except InputError as e:
        raise InputError(f"{flag}: {str(e).split(': ', 1)[1]}") from None


def _rtl_report(cfg, streams, act, weights, golden, out, prefix, *, chained, keep):
    """One layer's figures from a run's ``outputs.npz`` arrays (``prefix``: the layer's), against
    the golden output and the cycle model: ``(report, decoded output)``."""
    layer = streams.layer
    measured = {key[len(prefix) + 9:]: int(value) for key, value in out.items()
                if key.startswith(prefix + "measured_")}
    registers = {key[len(prefix) + 4:]: int(value) for key, value in out.items()
                 if key.startswith(prefix + "reg_")}
    rows = [(out[f"{prefix}counts_{n}"], out[f"{prefix}values_{n}"], out[f"{prefix}zeros_{n}"])
            for n in range(cfg.pes)]
    report, model = model_report(cfg, streams, act, weights, chained=chained, keep=keep)
    if keep:
        result = None
        mismatches = stream_mismatches = 0            # nothing leaves: checked by the next layer
    else:
        blocks = [scnn_streams.decode_output_rows(cfg, pe_rows, layer.k) for pe_rows in rows]
        result = scnn_streams.assemble_output(cfg, blocks, layer)
        want_rows, _ = scnn_streams.output_rows(cfg, golden)
        mismatches = int(np.count_nonzero(result != golden))
        stream_mismatches = sum(
            int(not all(np.array_equal(a, b) for a, b in zip(got, want)) or
                len(got[0]) != len(want[0]))
            for got, want in zip(rows, want_rows))
    cycles = measured["cycles"]
    counters = {"cycles": model.cycles, "load_cycles": model.load_cycles,
                "busy_cycles": model.busy_cycles, "drain_cycles": model.drain_cycles,
                "stall_cycles": model.stall_cycles, "barrier_cycles": model.barrier_cycles,
                "products": model.products, "ppu_wait_cycles": model.ppu_wait_cycles,
                "compute_cycles": model.compute_cycles,
                "weight_stall_cycles": model.weight_stall_cycles}
    report.update({
        "cycles": cycles,
        "load_cycles": measured["load_cycles"],
        "busy_cycles": measured["busy_cycles"],
        "drain_cycles": measured["drain_cycles"],
        "utilization": model.ideal_cycles(cfg) / cycles if cycles else 0.0,
        "multiplier_utilization": (registers["products"] /
                                   (registers["compute_cycles"] * cfg.multipliers_per_pe)
                                   if registers["compute_cycles"] else 0.0),
        "bank_conflict_stalls": registers["stall_cycles"],
        "weight_stall_cycles": registers["weight_stall_cycles"],
        "barrier_wait_cycles": registers["barrier_cycles"],
        "ppu_wait_cycles": registers["ppu_wait_cycles"],
        "products": registers["products"],
        "effective_macs_per_cycle": layer.macs / cycles if cycles else 0.0,
        "mismatches": mismatches,
        "stream_mismatches": stream_mismatches,
        "counters_match_model": all(registers[k] == v for k, v in counters.items()),
        "measured_match_registers": all(measured[k] == registers[k] for k in measured),
        "cycles_register": registers["cycles"],
        "error_flag": bool(registers["status"] & 4),
        **{f"rtl_{name}": registers[name] for name in registers if name.startswith("blocks_")},
    })
    return report, result


def network_report(cfg, net, *, weight_density=0.5, act_density=0.5, seed=1, progress=None):
    """Per-layer and total cycle-model figures of a network's convolution layers on ``cfg``.

    Layers the design cannot run (stride, kernel, image size, RAMs) are listed with the reason and
    left out of the totals.
    """
    rows = []
    for layer in workloads.network(net):
        row = {"layer": layer.name, "h": layer.h, "w": layer.w, "c": layer.c, "k": layer.k,
               "r": layer.r, "s": layer.s, "stride": layer.stride, "macs": layer.macs}
        try:
            act, weights = prepare_layer(cfg, layer, weight_density=weight_density,
                                         act_density=act_density, seed=seed,
                                         flag=f"--network {layer.name}")
        except InputError as e:
            rows.append({**row, "supported": False, "reason": str(e)})
            continue
        if progress:
            progress(f"{net}.{layer.name}: cycle model")
        streams = scnn_streams.layer_streams(cfg, act, weights)
        report, model = model_report(cfg, streams, act, weights)
        _, problem = ram_problem(cfg, streams)
        rows.append({**row, "supported": True, "fits_rams": problem is None,
                     **{key: report[key] for key in (
                         "model_cycles", "model_load_cycles", "model_busy_cycles",
                         "model_drain_cycles", "ideal_cycles", "utilization",
                         "multiplier_utilization", "products", "compute_cycles",
                         "effective_macs_per_cycle")}})
    run = [r for r in rows if r["supported"]]
    cycles = sum(r["model_cycles"] for r in run)
    products = sum(r["products"] for r in run)
    compute = sum(r["compute_cycles"] for r in run)
    macs = sum(r["macs"] for r in run)
    return {
        "network": net, "design": cfg.name, "notation": cfg.notation,
        "weight_density": weight_density, "act_density": act_density, "seed": seed,
        "layers": rows,
        "supported_layers": len(run), "unsupported_layers": len(rows) - len(run),
        "total_cycles": cycles,
        "total_load_cycles": sum(r["model_load_cycles"] for r in run),
        "total_busy_cycles": sum(r["model_busy_cycles"] for r in run),
        "total_drain_cycles": sum(r["model_drain_cycles"] for r in run),
        "total_macs": macs,
        "total_products": products,
        "utilization": products / (cfg.multipliers_total * cycles) if cycles else 0.0,
        "multiplier_utilization": (products / (compute * cfg.multipliers_per_pe)
                                   if compute else 0.0),
        "effective_macs_per_cycle": macs / cycles if cycles else 0.0,
    }


RUN_HEADERS = ("density w/a", "cycles", "model", "load", "compute", "drain", "ideal", "util",
               "mult util", "stalls", "weight stalls", "barrier waits", "mismatches")


def _print_layer(write, cfg, report, rtl):
    write(f"{cfg.name} ({cfg.notation})" + (f" on {report['simulator']}" if rtl else
                                             ", cycle model") +
          f": {report['c']}x{report['h']}x{report['w']} input, {report['k']} outputs, "
          f"{report['r']}x{report['s']} kernel, {report['groups']} group(s) of {cfg.kc}")
    cycles = report["cycles"] if rtl else report["model_cycles"]
    parts = ([report[k] for k in ("load_cycles", "busy_cycles", "drain_cycles")] if rtl else
             [report[k] for k in ("model_load_cycles", "model_busy_cycles",
                                  "model_drain_cycles")])
    write(table([(f"{report['weight_density']:.2f}/{report['act_density']:.2f}", cycles,
                  report["model_cycles"], *parts, report["ideal_cycles"],
                  report["utilization"], report["multiplier_utilization"],
                  report["bank_conflict_stalls"], report["weight_stall_cycles"],
                  report["barrier_wait_cycles"], report.get("mismatches", ""))], RUN_HEADERS))
    if rtl and report.get("kept_on_chip"):
        write("outputs kept on chip (compared through the chained layer's)")
    elif rtl:
        exact = report["mismatches"] == 0 and report["stream_mismatches"] == 0
        write(f"{'bit-exact' if exact else 'MISMATCH'} against the golden model (decoded output "
              f"and compressed stream); {report['effective_macs_per_cycle']:.1f} "
              "dense-equivalent MACs/cycle")


def _print_blox(write, report):
    nxt = report["next_layer"]
    write(f"Sparse-Blox at t = {report['threshold']:g} ({report['threshold_format']}, 4x4 "
          f"blocks): {report['blocks_pruned']} of {report['blocks_total']} blocks pruned "
          f"({report['blocks_zero_before']} all-zero before, {report['blocks_refused']} refused "
          f"by a full cache), {report['act_words_not_written']} of "
          f"{report['act_words_total']} compressed output entries not written")
    write(f"next layer ({nxt['c']} -> {nxt['k']}, {nxt['r']}x{nxt['s']}, cycle model): "
          f"{report['macs_skipped']} of {nxt['products_unpruned']} products skipped; both "
          f"layers {report['cycles_saved']:+d} cycles saved against the design without "
          "Sparse-Blox")


def _layer_energy(cfg, act, weights, cycles, progress, check_fit=True):
    """``--energy`` of one layer: its counts over ``cycles`` (None: the cycle model's)."""
    from ..power.model import job_energy
    from .energy import layer_job
    return job_energy(cfg, layer_job(cfg, act, weights, check_fit=check_fit), cycles,
                      progress=progress)


def _run_network(cfg, args, progress):
    for flag in ("conv", "layer", "act", "weights", "out"):
        if getattr(args, flag, None) is not None:
            raise InputError(f"--{flag}: not allowed with --network (random operands at "
                             "--weight-density and --act-density)")
    try:
        workloads.network(args.network)
    except (KeyError, ValueError) as e:
        raise InputError(f"--network: {e}") from None
    wd = _density(args.weight_density, "--weight-density", 0.5)
    ad = _density(args.act_density, "--act-density", 0.5)
    report = network_report(cfg, args.network, weight_density=wd, act_density=ad,
                            seed=args.seed, progress=progress)
    write = Text()
    rows = []
    for r in report["layers"]:
        if r["supported"]:
            rows.append((r["layer"], r["macs"], r["model_cycles"], r["model_load_cycles"],
                         r["model_busy_cycles"], r["model_drain_cycles"], r["utilization"],
                         r["multiplier_utilization"], "" if r["fits_rams"] else "no"))
        else:
            rows.append((r["layer"], r["macs"], "—", "", "", "", "", "",
                         r["reason"].split(";")[0]))
    rows.append(("total", report["total_macs"], report["total_cycles"],
                 report["total_load_cycles"], report["total_busy_cycles"],
                 report["total_drain_cycles"], report["utilization"],
                 report["multiplier_utilization"], ""))
    write(f"{args.network} on {cfg.name} ({cfg.notation}) at {wd}/{ad} weight/activation "
          f"density, cycle model: {report['supported_layers']} layers run, "
          f"{report['unsupported_layers']} not")
    write(table(rows, ("layer", "MACs", "cycles", "load", "compute", "drain", "util",
                       "mult util", "fits RAMs / why not")))
    if getattr(args, "energy", False):
        from ..power.network import network_energy, write_energy
        from .energy import network_layers
        layers = network_layers(cfg, args.network, weight_density=wd, act_density=ad,
                                seed=args.seed)
        network_energy(cfg, report, layers, progress=progress,
                       baseline="weights and activations at density 1.0")
        write_energy(write, report)
    return RunOutput(report, True, str(write))


def run_cli(cfg, args):
    """``sparseforge run`` on an SCNN config: a :class:`~sparseforge.gen.run_result.RunOutput`,
    ``ok`` when bit-exact and cycle-exact."""
    from .blox_run import blox_report, threshold_raw    # it builds on this module

    raw = threshold_raw(cfg, args)
    energy = getattr(args, "energy", False)
    if energy and args.model is not None:
        raise InputError("--energy: not allowed with --model (give --conv, --layer or "
                         "--network)")
    if energy and cfg.sparseblox is not None:
        raise InputError(f"--energy: not allowed for {cfg.name}: Sparse-Blox designs have no "
                         "energy model yet (SCNN designs without sparseblox have one)")
    if args.model is not None:
        return run_network.run_cli(cfg, args)
    run_network.check_not_model(args)
    for flag in ("gemm", "nnz", "rtl_layers"):
        if getattr(args, flag, None) is not None:
            option = "--" + flag.replace("_", "-")
            raise InputError(f"{option}: not allowed for arch scnn (a convolution accelerator); "
                             "use --conv H,W,C,K,R,S with --weight-density and --act-density")
    if getattr(args, "prune", False):
        raise InputError("--prune: not allowed for arch scnn: it computes any sparsity pattern")
    progress = Progress(not args.quiet and not args.json)
    chain = getattr(args, "chain", None)
    shift = getattr(args, "shift", None)
    if args.network is not None:
        for flag, value in (("--chain", chain), ("--shift", shift)):
            if value is not None:
                raise InputError(f"{flag}: not allowed with --network (give --conv, --layer or "
                                 "--act and --weights)")
        return _run_network(cfg, args, progress)
    given = [flag for flag in ("conv", "layer") if getattr(args, flag, None) is not None]
    if len(given) > 1:
        raise InputError("--conv/--layer: give one of them, not both")
    flag = "--conv"
    if args.conv is not None:
        layer = parse_conv(args.conv)
    elif args.layer is not None:
        try:
            layer = workloads.layer(args.layer)
        except (KeyError, ValueError) as e:
            raise InputError(f"--layer: {e}") from None
        flag = "--layer"
    elif args.act is not None and args.weights is not None:
        layer = _layer_from_files(args.act, args.weights)
    else:
        raise InputError("--conv: missing; give H,W,C,K,R,S (or --layer NET.LAYER, --network "
                         "NET, or both --act and --weights)")
    act, weights = prepare_layer(cfg, layer, weight_density=args.weight_density,
                                 act_density=args.act_density, act_path=args.act,
                                 weights_path=args.weights, seed=args.seed, flag=flag)
    shift, weights2 = _chain_operands(cfg, args, act, weights, raw or 0)
    if energy and shift is not None:
        raise InputError("--energy: not allowed with --shift or --chain (the energy model counts "
                         "the compression of the raw outputs)")
    if weights2 is not None:
        return _run_chain(cfg, args, act, weights, weights2, shift, raw or 0, progress)
    blox = None
    if raw is not None:
        blox, _ = blox_report(cfg, act, weights, raw, seed=args.seed,
                              weight_density=_density(args.weight_density, "--weight-density",
                                                      0.5))
    if args.model_only:
        streams = scnn_streams.layer_streams(cfg, act, weights, raw or 0, shift)
        report, _ = model_report(cfg, streams, act, weights)
        report.update(blox or {})
        _, problem = ram_problem(cfg, streams)
        report.update({"seed": args.seed, "fits_rams": problem is None})
        if args.layer:
            report["name"] = args.layer
        if args.out is not None:
            golden = scnn_streams.golden(cfg, act, weights, raw or 0, shift)
            save_npy(Path(args.out), golden.astype(np.int32 if cfg.acc_width <= 32 else np.int64))
        write = Text()
        if energy:
            report.update(_layer_energy(cfg, act, weights, None, progress, check_fit=False))
        _print_layer(write, cfg, report, rtl=False)
        if blox is not None:
            _print_blox(write, report)
        if problem:
            write(f"the RTL would refuse it: {problem}")
        write_energy(write, report)
        return RunOutput(report, True, str(write))
    report, result = run_layer_rtl(cfg, act, weights, simulator=args.sim, seed=args.seed,
                                   progress=progress, threshold=raw or 0, shift=shift)
    report["seed"] = args.seed
    if shift is not None:
        report["shift"] = shift
    if blox is not None:
        report.update(blox)
    if args.layer:
        report["name"] = args.layer
    if energy:
        report.update(_layer_energy(cfg, act, weights, report["cycles"], progress))
    if args.out is not None:
        save_npy(Path(args.out), result.astype(np.int32 if cfg.acc_width <= 32 else np.int64))
    write = Text()
    _print_layer(write, cfg, report, rtl=True)
    if blox is not None:
        _print_blox(write, report)
    write_energy(write, report)
    ok = (report["mismatches"] == 0 and report["stream_mismatches"] == 0 and
          report["cycles"] == report["model_cycles"] and report["counters_match_model"] and
          report["measured_match_registers"])
    return RunOutput(report, ok, str(write))


def _chain_operands(cfg, args, act, weights, threshold):
    """``(shift, weights2)`` of ``--shift`` and ``--chain K2``: the second layer's K2×K×R×S
    weights at the weight density (seeded by ``--seed``), None without ``--chain``; the shift
    by default (with ``--chain``) the smallest that saturates no output of the first layer."""
    from ...hdl.scnn.requant import shift_bits

    shift, k2 = getattr(args, "shift", None), getattr(args, "chain", None)
    top = (1 << shift_bits(cfg.acc_width)) - 1
    if shift is not None and not 0 <= shift <= top:
        raise InputError(f"--shift: {shift} is not allowed; expected 0 to {top} (the shift "
                         f"register of {cfg.name})")
    if k2 is None:
        return shift, None
    if not 1 <= k2 <= cfg.out_channels:
        raise InputError(f"--chain: {k2} is not allowed; expected the second layer's output "
                         f"channels, 1 to rams.out_channels = {cfg.out_channels}")
    k, _, r, s = weights.shape
    if k > cfg.iaram_rows:
        raise InputError(f"--chain: the first layer's {k} output channels cannot be chained: "
                         f"its directory has rams.iaram / pe.i = {cfg.iaram_rows} entries")
    if shift is None:
        shift = chain_shift(cfg, scnn_streams.golden(cfg, act, weights, threshold))
    rng = np.random.default_rng([args.seed, 2])
    wd = _density(args.weight_density, "--weight-density", 0.5)
    return shift, sparse_operand(rng, (k2, k, r, s), cfg.weight_width, wd)


def _run_chain(cfg, args, act, weights, weights2, shift, threshold, progress):
    """``run --chain``: two layers chained on chip (RTL), or their cycle model."""
    streams = scnn_streams.layer_streams(cfg, act, weights, threshold, shift)
    golden = scnn_streams.golden(cfg, act, weights, threshold, shift)
    streams2 = scnn_streams.layer_streams(cfg, golden, weights2)
    write = Text()
    if args.model_only:
        reports = [model_report(cfg, streams, act, weights, keep=True)[0],
                   model_report(cfg, streams2, golden, weights2, chained=True)[0]]
        problems = [ram_problem(cfg, x)[1] for x in (streams, streams2)]
        report = dict(reports[-1])
        report.update({"layers": reports, "shift": shift, "seed": args.seed,
                       "model_cycles": sum(r["model_cycles"] for r in reports),
                       "fits_rams": not any(problems)})
        for n, layer_report in enumerate(reports):
            write(f"layer {n + 1}" + (f" (requantized, shift {shift}, kept on chip)" if n == 0
                                      else " (chained: its input on chip)") + ":")
            _print_layer(write, cfg, layer_report, rtl=False)
        write(f"two layers: {report['model_cycles']:,} cycles (cycle model)")
        for problem in filter(None, problems):
            write(f"the RTL would refuse it: {problem}")
        if args.out is not None:
            save_npy(Path(args.out), scnn_streams.golden(cfg, golden, weights2).astype(
                np.int32 if cfg.acc_width <= 32 else np.int64))
        return RunOutput(report, True, str(write))
    report, result = run_layer_rtl(cfg, act, weights, simulator=args.sim, seed=args.seed,
                                   progress=progress, threshold=threshold, shift=shift,
                                   weights2=weights2)
    report["seed"] = args.seed
    for n, layer_report in enumerate(report["layers"]):
        write(f"layer {n + 1}" + (f" (requantized, shift {shift}, kept on chip)" if n == 0
                                  else " (chained: its input on chip)") + ":")
        _print_layer(write, cfg, layer_report, rtl=True)
    write(f"two layers: {report['cycles']:,} cycles measured, {report['model_cycles']:,} by the "
          "cycle model")
    if args.out is not None:
        save_npy(Path(args.out), result.astype(np.int32 if cfg.acc_width <= 32 else np.int64))
    ok = (report["mismatches"] == 0 and report["stream_mismatches"] == 0 and
          report["cycles_match_model"] and report["counters_match_model"] and
          report["measured_match_registers"] and not report["error_flag"])
    return RunOutput(report, ok, str(write))
