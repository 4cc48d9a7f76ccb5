"""``sparseforge run`` for the VDBB accelerator: one convolution layer, or a whole network.

``--conv`` and ``--layer`` run one layer through the generated RTL (operands from ``.npy`` files or
made from a seed; a layer larger than the SRAMs as its time tiles, :func:`run_tiled_rtl`) and
compare it with the golden convolution; ``--network`` reports the cycle
model for every layer of a network, and runs the layers named by ``--rtl-layers`` on the RTL too.
"""

from pathlib import Path

import numpy as np

from ...sim import conv, workloads
from ...sim.accel import cycles as accel_cycles
from ...sim.accel import plan as accel_plan
from ...sim.accel import tiling as accel_tiling
from ...sim.sta import cycles as sta_cycles
from ...sim.sta import dbb
from .. import run_network
from ..errors import InputError
from ..operands import load_operand, parse_conv
from ..report import Progress, save_npy, table, write_energy
from ..run_result import RunOutput, Text
from .blox_run import blox_report, threshold_raw

__all__ = ["prepare_layer", "run_layer_rtl", "run_tiled_rtl", "network_report", "run_cli",
           "energy_fields", "tiled_energy_fields"]


def _plan(cfg, layer, nnz, flag, check_sram=True, int8_out=False):
    args = (cfg, layer.h, layer.w, layer.c // layer.groups, layer.k // layer.groups, layer.r,
            layer.s, layer.stride, layer.pad, nnz)
    try:
        plan = accel_plan.plan_layer(*args, check_sram=check_sram, int8_out=int8_out)
    except accel_plan.PlanError as e:
        hint = ""
        if check_sram:
            try:
                accel_plan.plan_layer(*args, check_sram=False)
                hint = (" (this path takes layers that fit; run --conv/--layer runs larger "
                        "ones on the RTL as time tiles, and --model-only gives their cycles)")
            except accel_plan.PlanError:
                pass
        raise InputError(f"{flag}: {e}{hint}") from None
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
         **({"blox": [blox]} if blox is not None else {}),
         **({"direct": [1]} if plan.direct else {}),
         **({"raster": [1]} if plan.raster else {})},
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
        "utilization": sta_cycles.utilization(cfg.array, report["useful_macs"], cycles),
        "tile_utilization": report["ideal_cycles"] / cycles if cycles else 0.0,
        "effective_macs_per_cycle": plan.macs / cycles if cycles else 0.0,
        "mismatches": int(np.count_nonzero(y != golden)),
        "act_sram_reads": act_reads,
        "act_beats": beats,
        "output": "int8" if int8_out else "int32",
    })
    return report, y


def energy_fields(cfg, plan, x, w, report, args, raw, progress):
    """``run --energy``: the energy model's figures of the layer just run (its window: the
    ``start`` write to ``done``; with ``--model-only``, whose ``report`` has no ``cycles``, the
    cycle model's), and apart the SRAM writes of loading its input map and weights
    (``load_sram_write_pj``: the loaders' logic is not priced). A pruning layer
    (Sparse-Blox) adds the same layer's energy without pruning (the cycle model's cycles, every
    word written), the difference, and the SRAM read energy the next layer saves on the pruned
    words (read as zeros from their flags)."""
    from ..power.model import job_energy, model_energies, predict
    from .energy import layer_job

    job = layer_job(cfg, plan, x, w, shift=args.shift, relu=args.relu, blox=raw)
    fields = job_energy(cfg, job, report.get("cycles"), progress=progress)
    energies = model_energies(cfg)
    # Loading the layer's SRAMs happens before its window: the SRAM writes alone, apart.
    fields["load_sram_write_pj"] = (
        plan.h * plan.w * plan.cb_in * energies["sram"]["sram_act_write"] +
        plan.weight_word_count * energies["sram"]["sram_weights_write"])
    if raw is not None:
        plain = layer_job(cfg, plan, x, w, shift=args.shift, relu=args.relu)
        without, parts = predict(energies, plain.actions(plain.model_cycles))
        read = energies["sram"]["sram_act_read"]
        fields.update({
            "energy_without_pruning_pj": without,
            "energy_by_component_without_pruning": parts,
            "energy_saved_by_pruning_pj": without - fields["energy_pj"],
            "next_layer_sram_read_saved_pj": report["act_words_not_read"] * read,
        })
    return fields


def layer_report(plan):
    """The model's figures of a layer (no simulation).

    ``utilization`` is useful MACs (dense MACs × NNZ/B) over multiplier-cycles;
    ``tile_utilization`` the ideal cycles of its padded output tiles over the cycles, which does
    not count the slots of pixels and channels the tiles pad.
    """
    model = accel_cycles.layer_cycles(plan)
    ideal = accel_cycles.layer_ideal_cycles(plan)
    reads = accel_plan.act_sram_reads(plan)
    no_im2col = accel_plan.act_sram_reads_no_im2col(plan)
    array = plan.array
    return {
        "layer": {"h": plan.h, "w": plan.w, "c": plan.c, "k": plan.k, "r": plan.r,
                  "s": plan.s, "stride": plan.stride, "pad": plan.pad},
        "output_size": [plan.ho, plan.wo],
        "nnz": plan.nnz,
        "block": plan.cfg.block,
        "patch": [plan.ph, plan.pw],
        "reader": plan.reader,
        "mapping": plan.mapping,
        "tiles": plan.tiles,
        "macs": plan.macs,
        "useful_macs": plan.useful_macs,
        "model_cycles": model,
        "ideal_cycles": ideal,
        "utilization": sta_cycles.utilization(array, plan.useful_macs, model),
        "tile_utilization": ideal / model,
        "weight_bytes": plan.weight_bits // 8,
        "paper_weight_bytes": plan.paper_weight_bits / 8,
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


def _tile(cfg, plan, int8_out, dma_bytes, flag):
    """The time tiles of ``plan``'s layer (:func:`~sparseforge.sim.accel.tiling.tile_layer`), or
    ``(None, reason)`` when even its smallest tiles do not fit: ``(tiled, None)``."""
    try:
        return accel_tiling.tile_layer(cfg, plan.h, plan.w, plan.c, plan.k, plan.r, plan.s,
                                       plan.stride, plan.pad, plan.nnz, int8_out=int8_out,
                                       dma_bytes=dma_bytes), None
    except accel_plan.PlanError as e:
        if "dma_bytes" in str(e):
            raise InputError(f"--dma-bytes: {e}") from None
        return None, f"{flag}: {e}"


def tiling_fields(cfg, plan, int8_out, dma_bytes, flag="--layer"):
    """A layer's time-tiling fields (:mod:`sparseforge.sim.accel.tiling`): ``time_tiles``,
    ``tiling``, ``reload_bytes``, ``reload_cycles``, ``job_cycles``, ``dma_bytes_per_cycle``,
    ``fits_sram`` (fits without tiling) and ``model_cycles`` (jobs plus exposed moves). A layer
    whose smallest tiles do not fit gets ``refused`` (the reason), ``time_tiles`` None and the
    cycles of one job as if it fit."""
    tiled, reason = _tile(cfg, plan, int8_out, dma_bytes, flag)
    if tiled is None:
        model = accel_cycles.layer_cycles(plan)
        return {"time_tiles": None, "tiling": None, "reload_bytes": 0, "reload_cycles": 0,
                "job_cycles": model, "model_cycles": model,
                "dma_bytes_per_cycle": accel_tiling.DMA_BYTES if dma_bytes is None
                else dma_bytes, "fits_sram": False, "refused": reason}
    fields = tiled.summary()
    fields["model_cycles"] = fields["job_cycles"] + fields["reload_cycles"]
    return fields


def network_report(cfg, net, nnz, densities=None, dma_bytes=None):
    """Per-layer and total model figures of a whole network.

    Every layer runs at ``nnz``/B except those ``densities`` (``{layer name: nnz}``) names.
    ``utilization`` is useful MACs (dense MACs × NNZ/B per layer) over multiplier-cycles, per
    layer and in total; ``tile_utilization`` the padded tiles' ideal cycles over the cycles.
    ``weight_bytes`` is the weight SRAM image (whole words, K padded to column tiles),
    ``paper_weight_bytes`` the paper's compressed size (8·NNZ + 8 bits a block for INT8).

    A layer larger than the SRAMs (INT8 output map) runs as time tiles
    (:mod:`sparseforge.sim.accel.tiling`, DMA at ``dma_bytes`` bytes a cycle): its
    ``model_cycles`` are its jobs' plus the reload cycles they expose, ``time_tiles`` its jobs per
    group (1: it fits, ``fits_sram``), ``reload_bytes`` the bytes moved. A layer whose smallest
    tiles do not fit is listed in ``refused_layers`` and counted at one job's cycles as if it fit.
    """
    densities = densities or {}
    multipliers = cfg.array.macs_total
    rows, known = [], {}
    for layer in workloads.network(net):
        layer_nnz = densities.get(layer.name, nnz)
        plans = _network_layer_plans(cfg, layer, layer_nnz)
        plan, groups = plans[0], layer.groups
        key = (plan.h, plan.w, plan.c, plan.k, plan.r, plan.s, plan.stride, plan.pad, plan.nnz)
        if key not in known:            # ResNet repeats its blocks' shapes
            known[key] = tiling_fields(cfg, plan, True, dma_bytes, f"--network {layer.name}")
        fields = dict(known[key])
        for name in ("reload_bytes", "reload_cycles", "job_cycles", "model_cycles"):
            fields[name] *= groups
        cycles = fields["model_cycles"]
        ideal = sum(accel_cycles.layer_ideal_cycles(p) for p in plans)
        useful = sum(p.useful_macs for p in plans)
        rows.append({
            "layer": layer.name, "groups": groups, "nnz": layer_nnz, "macs": layer.macs,
            "useful_macs": useful, "patch": [plan.ph, plan.pw],
            "reader": plan.reader, "mapping": plan.mapping,
            "ideal_cycles": ideal,
            **fields,
            "utilization": useful / (multipliers * cycles),
            "tile_utilization": ideal / cycles,
            "weight_bytes": sum(p.weight_bits for p in plans) // 8,
            "paper_weight_bytes": sum(p.paper_weight_bits for p in plans) / 8,
            "effective_macs_per_cycle": layer.macs / cycles})
    total_cycles = sum(r["model_cycles"] for r in rows)
    total_macs = sum(r["macs"] for r in rows)
    total_useful = sum(r["useful_macs"] for r in rows)
    return {"network": net, "nnz": nnz, "densities": dict(densities), "block": cfg.block,
            "dma_bytes_per_cycle": accel_tiling.DMA_BYTES if dma_bytes is None else dma_bytes,
            "layers": rows,
            "total_cycles": total_cycles, "total_macs": total_macs,
            "total_useful_macs": total_useful,
            "total_job_cycles": sum(r["job_cycles"] for r in rows),
            "total_reload_cycles": sum(r["reload_cycles"] for r in rows),
            "total_reload_bytes": sum(r["reload_bytes"] for r in rows),
            "tiled_layers": sum(1 for r in rows if r["time_tiles"] and r["time_tiles"] > 1),
            "refused_layers": [r["layer"] for r in rows if r["time_tiles"] is None],
            "utilization": total_useful / (multipliers * total_cycles),
            "tile_utilization": sum(r["ideal_cycles"] for r in rows) / total_cycles,
            "weight_bytes": sum(r["weight_bytes"] for r in rows),
            "paper_weight_bytes": sum(r["paper_weight_bytes"] for r in rows),
            "effective_macs_per_cycle": total_macs / total_cycles,
            "effective_tops_at_1ghz": 2 * total_macs / total_cycles / 1000}


def load_densities(path, cfg, net):
    """``--densities FILE``: a YAML or JSON mapping ``{layer: nnz}`` for ``net``'s layers.

    The network's first layer runs at B/B unless the file names it (the paper does not prune
    the first layer). Unknown layers and densities out of 1 … B are input errors.
    """
    import yaml

    try:
        raw = yaml.safe_load(Path(path).read_text())
    except OSError as e:
        raise InputError(f"--densities: cannot read {path}: {e.strerror}") from None
    except yaml.YAMLError:
        raise InputError(f"--densities: {path} is not YAML or JSON") from None
    if not isinstance(raw, dict):
        raise InputError(f"--densities: {path} is not allowed; expected a mapping of layer "
                         "names to NNZ (e.g. 'res2a_branch2a: 3')")
    names = [layer.name for layer in workloads.network(net)]
    top = cfg.array.max_nnz
    densities = {names[0]: top}
    for name, value in raw.items():
        if name not in names:
            raise InputError(f"--densities: {net} has no layer {name!r} (see 'sparseforge "
                             f"layers {net}')")
        if type(value) is not int or not 1 <= value <= top:
            raise InputError(f"--densities: {name}: {value!r} is not allowed; expected an "
                             f"integer NNZ from 1 to {top}")
        densities[name] = value
    return densities


def _tiles_cell(row):
    """The "time tiles" cell: ``bands×groups (order)``, blank for an untiled layer, "refused"
    for one whose smallest tiles do not fit."""
    if row["time_tiles"] is None:
        return "refused"
    if row["time_tiles"] == 1:
        return ""
    t = row["tiling"]
    order = f", {t['order']} outer" if t["bands"] > 1 and t["channel_groups"] > 1 else ""
    return f"{row['time_tiles']} = {t['bands']}x{t['channel_groups']}{order}"


def _tiling_note(report, refused, tiled=None):
    """The line under a table on time tiling: the DMA rate, and what was refused."""
    dma = report["dma_bytes_per_cycle"]
    some = (tiled if tiled is not None else int(report["time_tiles"] not in (None, 1)))
    text = (f"time tiles (bands x channel groups) for layers larger than the SRAMs, reloads by "
            f"DMA at {dma} bytes/cycle (--dma-bytes), weights loaded during the previous tile"
            if some else f"no time tiling needed (DMA at {dma} bytes/cycle, --dma-bytes)")
    if refused:
        text += (f"; refused (counted as one job as if it fit): {refused}")
    return text


def _reject(args, flags):
    for flag in flags:
        value = getattr(args, flag, None)
        if value not in (None, False):
            raise InputError(f"--{flag.replace('_', '-')}: not allowed here (arch accel "
                             "takes --conv, --layer or --network)")


def run_cli(cfg, args):
    """``sparseforge run`` on an accelerator config: a ``RunOutput``, ``ok`` when every RTL run
    matched."""
    raw = threshold_raw(cfg, args)
    if args.model is not None:
        return run_network.run_cli(cfg, args)
    run_network.check_not_model(args)
    _reject(args, ("gemm", "weight_density"))
    if args.energy and args.model_only and raw is not None:
        raise InputError("--threshold: not allowed with --model-only --energy (a pruning "
                         "layer's energy needs its RTL run); drop --model-only")
    chosen = [f for f in ("conv", "layer", "network") if getattr(args, f)]
    if len(chosen) != 1:
        raise InputError("--conv/--layer/--network: give exactly one of them "
                         "(e.g. --conv 56,56,64,64,3,3 or --layer resnet50.res2a_branch2b)")
    if args.dma_bytes is not None and args.dma_bytes < 1:
        raise InputError(f"--dma-bytes: {args.dma_bytes} is not allowed; expected an integer "
                         ">= 1 (bytes a cycle)")
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
    _reject(args, ("rtl_layers", "densities"))
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
    if args.model_only:
        return _model_only(cfg, args, layer, nnz, flag)
    int8_out = args.shift is not None
    plan = _plan(cfg, layer, nnz, flag, check_sram=False, int8_out=int8_out)
    tiled, reason = _tile(cfg, plan, int8_out, args.dma_bytes, flag)
    if tiled is None:
        raise InputError(reason)
    if not tiled.fits_sram or tiled.reload_cycles:
        # Time tiles, or one job whose weights need both halves (loaded before it, counted).
        return _run_tiled(cfg, args, tiled, raw, progress, flag)
    plan = _plan(cfg, layer, nnz, flag, int8_out=int8_out)
    x, w = _operands(cfg, plan, args)
    report, y = run_layer_rtl(cfg, plan, x, w, shift=args.shift, relu=args.relu,
                              simulator=args.sim, seed=args.seed, progress=progress, blox=raw)
    # The RTL runs layers that fit: one time tile, nothing reloaded.
    report.update({k: v for k, v in tiling_fields(cfg, plan, args.shift is not None,
                                                   args.dma_bytes, flag).items()
                   if k not in ("model_cycles", "job_cycles")})
    if args.energy:
        report.update(energy_fields(cfg, plan, x, w, report, args, raw, progress))
    _record(report, y, args)
    write = Text()
    write(f"{_layer_line(cfg, plan, args)}, {plan.tiles} output tiles of a "
          f"{plan.ph}x{plan.pw} patch, {plan.reader} reader")
    write(table([(f"{plan.nnz}/{cfg.block}", report["cycles"], report["register_cycles"],
                  report["model_cycles" if raw is None else "model_cycles_blox"],
                  report["ideal_cycles"], report["utilization"],
                  report["tile_utilization"], report["mismatches"],
                  report["act_sram_reads"], report["act_sram_reads_no_im2col"])],
                ("density", "cycles", "register", "model", "ideal", "util", "tile util",
                 "mismatches", "act reads", "reads w/o IM2COL")))
    verdict = "bit-exact" if report["mismatches"] == 0 else "MISMATCH"
    write(f"{verdict} against the golden convolution ({report['output']} output); "
          f"{report['effective_macs_per_cycle']:.1f} effective MACs/cycle")
    if raw is not None:
        write(f"Sparse-Blox at t = {report['threshold']:g}: {report['blocks_pruned']} of "
              f"{report['blocks_total']} blocks pruned ({report['blocks_zero_before']} "
              f"already zero, {report['blocks_refused']} refused by a full cache), "
              f"{report['act_words_saved']} activation words saved; with a next layer reading "
              f"this map: {report['macs_skipped']} MACs skipped, {report['cycles_saved']} "
              f"cycles saved over both layers (this layer's block-pass tail included)")
    if "energy_pj" in report:
        write_energy(write, report)
        if "energy_without_pruning_pj" in report:
            write(f"without pruning: {report['energy_without_pruning_pj']:,.0f} pJ "
                  f"(pruning saves {report['energy_saved_by_pruning_pj']:,.0f} pJ in this "
                  f"layer; the next layer's SRAM reads of the pruned words, "
                  f"{report['next_layer_sram_read_saved_pj']:,.0f} pJ, are saved too)")
    model = report["model_cycles"] if raw is None else report["model_cycles_blox"]
    ok = report["mismatches"] == 0 and \
        report["cycles"] == report["register_cycles"] == model and \
        report["act_sram_reads"] == report["model_act_sram_reads"]
    if raw is not None:
        ok &= (report["rtl_blocks_cached"], report["rtl_blocks_refused"]) == \
            (report["blocks_cached"], report["blocks_refused"])
    return RunOutput(report, ok, str(write))


def run_tiled_rtl(cfg, tiled, x, w, *, shift=None, relu=False, simulator="verilator", seed=None,
                  progress=None):
    """Run a layer larger than the SRAMs on the RTL as its time tiles (``tiled``, a
    :class:`~sparseforge.sim.accel.tiling.TiledLayer`), one job after another in one simulation
    of one build (:func:`sparseforge.tb.accel.tiled.run_tiles`, as the regression's
    ``time_tiled_layer`` runs them); return ``(report, output map)``.

    The assembled map is compared with the golden convolution of the whole layer
    (``mismatches``); ``tile_runs`` has a row per time tile (its output rows and channels, the words
    moved around it, its job's cycles on the ports, in the register and in the model, its
    activation SRAM reads and the model's). ``rtl_job_cycles`` is the jobs' measured cycles,
    ``reload_cycles`` the DMA moves' cycles from the model (the bench's AXI loads are not the
    DMA engine modelled), and ``cycles`` their sum, the measured total (``cycles_source`` says
    so); ``model_cycles`` is the model's total."""
    from ...tb import runner

    plan = tiled.plan
    int8_out = shift is not None
    progress = progress or (lambda line: None)
    layer = [plan.h, plan.w, plan.c, plan.k, plan.r, plan.s, plan.stride, plan.pad, plan.nnz,
             plan.ph, plan.pw]
    out = runner.run_job(
        cfg, simulator, "sparseforge.tb.accel.run",
        {"x": x, "w": w, "layer": layer, "out": [int(int8_out), shift or 0, int(relu)],
         "tiling": [tiled.bands, tiled.groups, accel_tiling.ORDERS.index(tiled.order),
                    tiled.dma_bytes]},
        seed=seed, progress=progress,
        message=f"simulating {plan.h}x{plan.w}x{plan.c} -> {plan.k}, {plan.r}x{plan.s}/"
                f"{plan.stride} at {plan.nnz}/{cfg.block} on {simulator} as "
                f"{tiled.time_tiles} time tiles ({tiled.bands} bands x {tiled.groups} "
                "channel groups)")
    y = out["y"]
    golden = conv.conv2d(x, w, plan.stride, plan.pad, cfg.array.acc_width)
    if int8_out:
        golden = conv.requantize(golden, shift, relu)
    rows = []
    for i, tile in enumerate(tiled.tiles):
        model = accel_cycles.layer_cycles(tile.plan)
        row = {"tile": i, "output_rows": [tile.oy, tile.oy + tile.rows],
               "channels": [tile.k0, tile.k0 + tile.plan.k],
               "input_rows": None if tile.in_rows is None else list(tile.in_rows),
               "patch": [tile.plan.ph, tile.plan.pw], "reader": tile.plan.reader,
               "act_words_loaded": tile.act_words, "weight_words_loaded": tile.weight_words,
               "out_words_read_back": tile.out_words,
               "cycles": int(out["cycles"][i]), "register_cycles": int(out["register_cycles"][i]),
               "model_cycles": model, "act_sram_reads": int(out["act_reads"][i]),
               "model_act_sram_reads": accel_plan.act_sram_reads(tile.plan)}
        rows.append(row)
        progress(f"tile {i + 1} of {tiled.time_tiles}: output rows {tile.oy}-"
                 f"{tile.oy + tile.rows - 1}, channels {tile.k0}-{tile.k0 + tile.plan.k - 1}: "
                 f"{row['cycles']} cycles (model {model}), {row['act_sram_reads']} act reads")
    summary = tiled.summary()
    jobs = sum(r["cycles"] for r in rows)
    cycles = jobs + summary["reload_cycles"]
    report = layer_report(plan)
    report.update(summary)
    report.update({
        "simulator": simulator,
        "tile_runs": rows,
        "rtl_job_cycles": jobs,
        "rtl_register_job_cycles": sum(r["register_cycles"] for r in rows),
        "cycles": cycles,
        "cycles_source": "the jobs' cycles measured on the RTL plus the cycle model's DMA "
                         "reload cycles",
        "model_cycles": summary["job_cycles"] + summary["reload_cycles"],
        "utilization": sta_cycles.utilization(cfg.array, report["useful_macs"], cycles),
        "tile_utilization": report["ideal_cycles"] / cycles,
        "effective_macs_per_cycle": plan.macs / cycles,
        "mismatches": int(np.count_nonzero(y != golden)),
        "act_sram_reads": sum(r["act_sram_reads"] for r in rows),
        "model_act_sram_reads": sum(r["model_act_sram_reads"] for r in rows),
        "output": "int8" if int8_out else "int32",
    })
    return report, y


def _operands(cfg, plan, args):
    """The layer's activations and weights for an RTL run: from ``--act``/``--weights`` files,
    else random at ``--act-density`` (0.5) and the plan's NNZ, from ``--seed``."""
    return prepare_layer(cfg, plan, act_density=0.5 if args.act_density is None
                         else args.act_density, act_path=args.act, weights_path=args.weights,
                         prune=args.prune, seed=args.seed)


def _record(report, y, args):
    """The run's seed and layer name in its report, and its output map in ``--out`` (last, so a
    refused ``--energy`` leaves no file behind)."""
    report["seed"] = args.seed
    if args.layer:
        report["name"] = args.layer
    if args.out is not None:
        save_npy(Path(args.out), y.astype(np.int8 if args.shift is not None else np.int32))


def _layer_line(cfg, plan, args):
    """The first words of a run's text report: design, simulator and layer."""
    return (f"{cfg.name} ({cfg.notation}) on {args.sim}: {plan.h}x{plan.w}x{plan.c} -> "
            f"{plan.k} channels, {plan.r}x{plan.s} stride {plan.stride} pad {plan.pad}")


def _run_tiled(cfg, args, tiled, raw, progress, flag):
    """``run --conv/--layer`` on the RTL of a layer larger than the SRAMs (its time tiles) or
    one whose weights need both weight SRAM halves (one job, its weights loaded before it)."""
    what = ("its weights need both weight SRAM halves" if tiled.fits_sram else
            f"it does not fit the SRAMs and runs as {tiled.time_tiles} time tiles")
    if raw is not None:
        raise InputError(f"--threshold: not allowed on this layer: {what} (Sparse-Blox runs "
                         "layers that fit with their weights in one half)")
    plan = tiled.plan
    x, w = _operands(cfg, plan, args)
    report, y = run_tiled_rtl(cfg, tiled, x, w, shift=args.shift, relu=args.relu,
                              simulator=args.sim, seed=args.seed, progress=progress)
    if args.energy:
        report.update(tiled_energy_fields(cfg, tiled, x, w, args, progress,
                                          [r["cycles"] for r in report["tile_runs"]]))
    _record(report, y, args)
    write = Text()
    write(f"{_layer_line(cfg, plan, args)}: {what}; " +
          ("one job" if tiled.time_tiles == 1 else
           f"{_tiles_cell(report)} time tiles, one job each"))
    write(table([(r["tile"], f"{r['output_rows'][0]}-{r['output_rows'][1] - 1}",
                  f"{r['channels'][0]}-{r['channels'][1] - 1}", r["act_words_loaded"],
                  r["weight_words_loaded"], r["out_words_read_back"], r["cycles"],
                  r["register_cycles"], r["model_cycles"], r["act_sram_reads"])
                 for r in report["tile_runs"]],
                ("tile", "out rows", "channels", "act words in", "weight words in",
                 "words out", "cycles", "register", "model", "act reads")))
    verdict = "bit-exact" if report["mismatches"] == 0 else "MISMATCH"
    write(f"{verdict} against the golden convolution of the whole layer ({report['output']} "
          f"output); {report['cycles']} cycles = {report['rtl_job_cycles']} of the jobs on the "
          f"RTL + {report['reload_cycles']} of DMA reloads from the model ({report['reload_bytes']}"
          f" bytes at {report['dma_bytes_per_cycle']} bytes/cycle; model total "
          f"{report['model_cycles']}); utilization {report['utilization']:.3f}")
    write_energy(write, report)
    ok = report["mismatches"] == 0 and report["cycles"] == report["model_cycles"] and all(
        r["cycles"] == r["register_cycles"] == r["model_cycles"] and
        r["act_sram_reads"] == r["model_act_sram_reads"] for r in report["tile_runs"])
    return RunOutput(report, ok, str(write))


def tiled_energy_fields(cfg, tiled, x, w, args, progress, cycles=None):
    """``run --energy`` of a layer run as time tiles: the energy model's figures of its tiles'
    jobs (at the RTL's measured ``cycles`` per tile, or the cycle model's) plus the SRAM accesses
    of its DMA reloads (:func:`.energy.tiled_layer_job`), with those accesses' energy apart in
    ``reload_sram_pj``; ``load_sram_write_pj`` is the SRAM writes of loading what the first tile
    finds resident (the input map with one band, and the first group's weights)."""
    from ..power.model import job_energy, model_energies
    from .energy import reload_actions, tiled_layer_job

    job = tiled_layer_job(cfg, tiled, x, w, shift=args.shift, relu=args.relu)
    fields = job_energy(cfg, job, tiled.cycles if cycles is None else cycles,
                        progress=progress)
    sram = model_energies(cfg)["sram"]
    fields["reload_sram_pj"] = sum(n * sram[a] for a, n in reload_actions(tiled).items())
    plan, first = tiled.plan, tiled.tiles[0]
    resident = plan.h * plan.w * plan.cb_in if tiled.bands == 1 else 0
    fields["load_sram_write_pj"] = (resident * sram["sram_act_write"] +
                                    first.plan.weight_word_count * sram["sram_weights_write"])
    return fields


def _model_only(cfg, args, layer, nnz, flag):
    """``--model-only`` for one layer: the plan and the cycle model's figures, no operands."""
    for name in ("act", "weights", "out", "prune"):
        if getattr(args, name, None) not in (None, False):
            raise InputError(f"--{name}: not used with --model-only (no RTL run)")
    int8_out = args.shift is not None
    plan = _plan(cfg, layer, nnz, flag, check_sram=False, int8_out=int8_out)
    report = layer_report(plan)
    report.update(tiling_fields(cfg, plan, int8_out, args.dma_bytes, flag))
    cycles = report["model_cycles"]
    report["utilization"] = sta_cycles.utilization(cfg.array, plan.useful_macs, cycles)
    report["tile_utilization"] = report["ideal_cycles"] / cycles
    if args.layer:
        report["name"] = args.layer
    if args.energy:
        # The operands the RTL run would take (the same seed), priced at the model's cycles.
        x, w = prepare_layer(cfg, plan, act_density=0.5 if args.act_density is None
                             else args.act_density, seed=args.seed)
        report["seed"] = args.seed
        progress = Progress(not args.quiet and not args.json)
        tiled, _ = _tile(cfg, plan, int8_out, args.dma_bytes, flag)
        if tiled is not None and tiled.time_tiles > 1:
            report.update(tiled_energy_fields(cfg, tiled, x, w, args, progress))
        else:
            report.update(energy_fields(cfg, plan, x, w, report, args, None, progress))
    write = Text()
    write(f"{cfg.name} ({cfg.notation}): {plan.h}x{plan.w}x{plan.c} -> {plan.k} channels, "
          f"{plan.r}x{plan.s} stride {plan.stride} pad {plan.pad}, {plan.tiles} output "
          f"tiles of a {plan.ph}x{plan.pw} patch, {plan.reader} reader, cycle model")
    write(table([(f"{plan.nnz}/{cfg.block}", report["model_cycles"], report["ideal_cycles"],
                  report["utilization"], report["tile_utilization"],
                  report["weight_bytes"], "" if report["fits_sram"] else "no",
                  _tiles_cell(report), report["reload_bytes"], report["reload_cycles"])],
                ("density", "model cycles", "ideal", "util", "tile util", "weight bytes",
                 "fits SRAM", "time tiles", "reload bytes", "reload cycles")))
    write(_tiling_note(report, report.get("refused")))
    if args.energy:
        write_energy(write, report)
    return RunOutput(report, True, str(write))


def _reload_energy(cfg, report, dma_bytes):
    """Add ``reload_sram_pj`` to every priced row of a network's report (the SRAM energy of its
    time tiles' reloads, :func:`.energy.reload_actions`, already in its ``energy_pj``; 0 for an
    untiled layer) and its total to the report."""
    from ..power.model import sram_energies
    from .energy import reload_actions

    sram = sram_energies(cfg)["sram"]
    layers = {layer.name: layer for layer in workloads.network(report["network"])}
    for row in report["layers"]:
        if "energy_pj" not in row:
            continue
        row["reload_sram_pj"] = 0.0
        if row["time_tiles"] not in (None, 1):
            plan = _network_layer_plans(cfg, layers[row["layer"]], row["nnz"])[0]
            tiled, _ = _tile(cfg, plan, True, dma_bytes, "--network")
            row["reload_sram_pj"] = row["groups"] * sum(
                n * sram[a] for a, n in reload_actions(tiled).items())
    report["reload_sram_pj"] = sum(row.get("reload_sram_pj", 0.0) for row in report["layers"])


def _network_layer_rtl(cfg, args, row, plan, tiled, progress):
    """Run one layer of ``--network`` named by ``--rtl-layers`` on the RTL, as the network's rows
    count it: INT8 output (ReLU, the smallest shift that keeps the layer's largest value,
    :func:`~sparseforge.sim.conv.fitting_shift`), as its time tiles when it does not fit the
    SRAMs. Adds ``rtl_cycles`` (a tiled layer's: its jobs measured plus the model's reloads),
    ``rtl_register_cycles``, ``rtl_shift`` and ``rtl_mismatches`` to ``row``; True when the RTL
    matched the golden map and the model's cycles."""
    x, w = prepare_layer(cfg, plan, act_density=0.5 if args.act_density is None
                         else args.act_density, seed=args.seed)
    shift = conv.fitting_shift(conv.conv2d(x, w, plan.stride, plan.pad, cfg.array.acc_width))
    if tiled.time_tiles == 1 and not tiled.reload_cycles:
        rtl, _ = run_layer_rtl(cfg, plan, x, w, shift=shift, relu=True, simulator=args.sim,
                               seed=args.seed, progress=progress)
        register, jobs = rtl["register_cycles"], rtl["cycles"]
    else:       # time tiles, or one job whose weights need both halves: loaded before it
        rtl, _ = run_tiled_rtl(cfg, tiled, x, w, shift=shift, relu=True, simulator=args.sim,
                               seed=args.seed, progress=progress)
        register, jobs = rtl["rtl_register_job_cycles"], rtl["rtl_job_cycles"]
    row.update({"rtl_cycles": jobs + row["reload_cycles"],
                "rtl_register_cycles": register + row["reload_cycles"], "rtl_shift": shift,
                "rtl_mismatches": rtl["mismatches"]})
    return rtl["mismatches"] == 0 and jobs == register == row["job_cycles"]


def _run_network(cfg, args, nnz, progress):
    _reject(args, ("act", "weights", "out", "relu", "shift"))
    try:
        workloads.network(args.network)
    except ValueError as e:
        raise InputError(f"--network: {e}") from None
    densities = None
    if args.densities is not None:
        densities = load_densities(args.densities, cfg, args.network)
    report = network_report(cfg, args.network, nnz, densities, args.dma_bytes)
    names = [n for n in (args.rtl_layers or "").split(",") if n]
    if names and args.model_only:
        raise InputError("--rtl-layers: not allowed with --model-only")
    known = {row["layer"]: row for row in report["layers"]}
    jobs = []
    for name in names:
        if name not in known:
            raise InputError(f"--rtl-layers: {args.network} has no layer {name!r} "
                             f"(see 'sparseforge layers {args.network}')")
        layer = workloads.layer(f"{args.network}.{name}")
        if layer.groups != 1:
            raise InputError(f"--rtl-layers: {name} is a grouped convolution; the RTL runs "
                             "ungrouped layers")
        flag = f"--rtl-layers {name}"
        plan = _plan(cfg, layer, known[name]["nnz"], flag, check_sram=False, int8_out=True)
        tiled, reason = _tile(cfg, plan, True, args.dma_bytes, flag)
        if tiled is None:
            raise InputError(reason)
        jobs.append((known[name], plan, tiled))
    ok = True
    for row, plan, tiled in jobs:
        ok &= _network_layer_rtl(cfg, args, row, plan, tiled, progress)
    write = Text()
    rows = [(r["layer"], f"{r['nnz']}/{cfg.block}", r["macs"], r["model_cycles"],
             r.get("rtl_cycles", ""), r["utilization"], r["tile_utilization"],
             r["weight_bytes"], "" if r["fits_sram"] else "no", _tiles_cell(r),
             r["reload_cycles"] or "") for r in report["layers"]]
    rows.append(("total", "", report["total_macs"], report["total_cycles"], "",
                 report["utilization"], report["tile_utilization"], report["weight_bytes"],
                 "", "", report["total_reload_cycles"]))
    density = (f"{nnz}/{cfg.block} weight density" if densities is None else
               f"densities from {args.densities} (others {nnz}/{cfg.block})")
    write(f"{args.network} on {cfg.name} ({cfg.notation}) at {density}, cycle model" +
          (" (RTL-checked layers shown)" if names else ""))
    write(table(rows, ("layer", "NNZ", "MACs", "cycles", "RTL cycles", "util",
                       "tile util", "weight bytes", "fits SRAM", "time tiles",
                       "reload cycles")))
    write(f"{report['effective_tops_at_1ghz']:.2f} effective TOPS at 1 GHz")
    write(_tiling_note(report, "; ".join(report["refused_layers"]) or None,
                       tiled=report["tiled_layers"]))
    if args.energy:
        from ..power.network import network_energy, write_energy
        from .energy import network_layers
        layers = network_layers(cfg, args.network, nnz, densities=densities, seed=args.seed,
                                act_density=0.5 if args.act_density is None
                                else args.act_density, dma_bytes=args.dma_bytes)
        network_energy(
            cfg, report, layers, progress=progress,
            baseline=f"NNZ {cfg.array.max_nnz}/{cfg.block} on the same activations")
        _reload_energy(cfg, report, args.dma_bytes)
        write_energy(write, report)
    return RunOutput(report, ok, str(write))
