"""Energy hooks of the VDBB accelerator: workloads, blocks, actions and SRAM macros to price.

The STA paper's energy figures are of the whole accelerator (Sec. V, Table IV: the array, IM2COL,
SRAMs); :mod:`sparseforge.gen.power` measures it on the OSU 0.18 µm netlist. This module tells
it what the accelerator is made of:

* clock gating: the engine's activation gating (``act_zero_gating``) as on the bare STA engine
  (:mod:`sparseforge.gen.sta.energy`): its MAC accumulators are clock-gated registers;
* components: the engine's (MAC units, TPEs, skew buffers, DBB mask decoders, feeder, drain,
  its control), the IM2COL unit, the direct reader, the weight reader, the output stage, the
  loaders and readback (idle while a layer runs) and the rest (registers, sequencer, SRAM port
  multiplexers);
* actions (:mod:`sparseforge.sim.accel.actions`) and the small design and layers the
  per-action energies are calibrated on (:func:`calibration_design`);
* SRAM macros: the activation banks (``act``), the weight halves (``weights``), the
  quantization table's lanes (``quant``), priced per access by :mod:`..power.sram`.

A job is one layer (``tb/accel/run.py``: the SRAMs loaded over AXI4-Stream, the descriptor
written, ``start``), its window the layer's cycles as the bench times them: from the cycle the
``start`` write is accepted to the cycle before ``done`` rises (:func:`layer_window`). Loading
the SRAMs and reading the map back are outside it.

A layer larger than the SRAMs runs as time tiles (:mod:`sparseforge.sim.accel.tiling`), one
job each; :func:`tiled_layer_job` prices it as its tiles' jobs plus the SRAM accesses of the
DMA reloads between them (:func:`reload_actions`). Off-chip DRAM energy is not priced: the
project has no per-byte DRAM figure.
"""

from dataclasses import replace

import numpy as np

from ...sim import conv
from ...sim.accel import cycles as accel_cycles
from ...sim.accel import blox as accel_blox
from ...sim.accel import plan as accel_plan
from ...sim.accel import tiling as accel_tiling
from ...sim.accel.actions import layer_actions
from ..errors import InputError
from ..power.job import EnergyHooks, PowerJob, run_mismatch
from ..sta import energy as sta_energy

__all__ = ["HOOKS", "layer_job", "tiled_layer_job", "reload_actions", "network_layers",
           "calibration_design", "random_layer", "layer_window", "layer_ops", "median_threshold"]


def layer_ops(plan):
    """Effective operations of a layer: 2 per MAC of the dense convolution."""
    return 2 * plan.macs


def layer_window(trace, start=0):
    """``(H, D − H)``: the cycle ``H`` in which the AXI4-Lite write of 1 to ``start`` (offset 0)
    is accepted (AW and W handshakes in the same cycle, as this register file takes them) and
    the layer's cycles up to the first later cycle ``D`` with ``done`` high."""
    values = trace.values
    n = len(values["done"])
    for h in range(start, n):
        if not (values["s_axil__awvalid"][h] and values["s_axil__awready"][h] and
                values["s_axil__wvalid"][h] and values["s_axil__wready"][h]):
            continue
        if values["s_axil__awaddr"][h] & ~3 == 0 and values["s_axil__wdata"][h] & 1:
            d = next((i for i in range(h + 1, n) if values["done"][i]), None)
            return None if d is None else (h, d - h)
    return None


def layer_job(cfg, plan, x, weights, *, shift=None, relu=False, blox=None, label=None):
    """The :class:`~sparseforge.gen.power.job.PowerJob` of one layer on ``cfg`` (``shift``:
    requantize to INT8 with that layer-wide shift; None: INT32 output; ``blox``: the raw
    Sparse-Blox threshold of a pruning layer, INT8 only)."""
    x = np.asarray(x, dtype=np.int64)
    weights = np.asarray(weights, dtype=np.int64)
    int8_out = shift is not None

    def golden():
        out = conv.conv2d(x, weights, plan.stride, plan.pad, cfg.array.acc_width)
        return conv.requantize(out, shift, relu) if int8_out else out

    # The golden map is computed when a check needs it (a network's energy prices layers
    # without one), except on a pruning layer, whose counts depend on it.
    want, pruned = None, None
    if blox is not None:
        result = accel_blox.prune_output(plan, golden(), blox)
        want, pruned = result.data, result.counts
        model = accel_blox.blox_layer_cycles(plan)
    else:
        model = accel_cycles.layer_cycles(plan)
    bits = sta_energy.skew_bits(cfg.array)
    if label is None:
        label = (f"conv {plan.c}x{plan.h}x{plan.w} -> {plan.k}, {plan.r}x{plan.s}"
                 f"{' stride 2' if plan.stride == 2 else ''} at {plan.nnz}/{cfg.block}, "
                 f"{np.mean(x != 0):.0%} activations non-zero, {plan.reader}"
                 f"{'' if int8_out else ', INT32 out'}")
        if pruned is not None:
            label += (f", Sparse-Blox t = {cfg.sparseblox.fmt.to_value(blox):g}: "
                      f"{pruned.blocks_cached} of {pruned.blocks_total} blocks pruned")
    inputs = {"x": x, "w": weights,
              "layer": np.array([plan.h, plan.w, plan.c, plan.k, plan.r, plan.s, plan.stride,
                                 plan.pad, plan.nnz, plan.ph, plan.pw]),
              "out": np.array([int(int8_out), shift or 0, int(relu)])}
    if plan.direct:
        inputs["direct"] = np.array([1])
    if blox is not None:
        inputs["blox"] = np.array([blox])

    def actions(cycles):
        return layer_actions(plan, x, weights, cycles, int8_out=int8_out, skew_bits=bits,
                             pruned=pruned)

    def check(outputs):
        return run_mismatch(outputs["y"], golden() if want is None else want,
                            outputs["cycles"], model)

    def probes(outputs, shakes):
        beats = int(outputs["beats"])
        probed = {"act_read": int(outputs["act_reads"]),
                  "beats": beats, "cycle": int(outputs["register_cycles"])}
        if pruned is not None:
            probed.update(blox_cached=int(outputs["cached"]),
                          blox_refused=int(outputs["refused"]))
        return probed

    return PowerJob(module="sparseforge.tb.accel.run", inputs=inputs, label=label,
                    ops=layer_ops(plan), actions=actions, model_cycles=model, check=check,
                    probes=probes)


def reload_actions(tiled):
    """The SRAM accesses of a tiled layer's DMA moves (:class:`~sparseforge.sim.accel.tiling.
    TiledLayer`), as the tiling counts them (``act_words``, ``weight_words``, ``out_words`` of
    each tile): ``sram_act_write`` per activation word of a reloaded input band,
    ``sram_weights_write`` per weight word of a reloaded group, ``sram_act_read`` per output
    word read back. An untiled layer moves nothing (its input map and first weights are loaded
    before it, as every layer's are, and are not counted)."""
    return {"sram_act_write": sum(t.act_words for t in tiled.tiles),
            "sram_weights_write": sum(t.weight_words for t in tiled.tiles),
            "sram_act_read": sum(t.out_words for t in tiled.tiles)}


def tiled_layer_job(cfg, tiled, x, weights, *, shift=None, relu=False, label=None):
    """The :class:`~sparseforge.gen.power.job.PowerJob` of a layer run as time tiles: its
    ``actions(cycles)`` are the sum over the tiles of each tile's :func:`layer_job` actions (on
    its operands, :func:`~sparseforge.sim.accel.tiling.tile_operands`) plus
    :func:`reload_actions`. ``cycles``: the tiles' jobs' cycles, a sequence in tile order (an RTL
    run's, measured), or an integer for the cycle model's of every tile (the logic is not priced
    while the DMA moves data: the accelerator idles). ``model_cycles`` is the tiled layer's
    (jobs plus exposed reload cycles), ``ops`` the whole layer's. Not a gate-level job: it has
    no cocotb inputs (``run`` feeds the RTL the whole layer and its tiling)."""
    jobs = [layer_job(cfg, tile.plan, xt, wt, shift=shift, relu=relu, label=label)
            for tile, (xt, wt) in zip(tiled.tiles, accel_tiling.tile_operands(tiled, x,
                                                                               weights))]
    reload = reload_actions(tiled)
    p = tiled.plan

    def actions(cycles):
        per_tile = ([job.model_cycles for job in jobs] if isinstance(cycles, (int, np.integer))
                    else list(cycles))
        counts = dict(reload)
        for job, n in zip(jobs, per_tile, strict=True):
            for action, count in job.actions(n).items():
                counts[action] = counts.get(action, 0) + count
        return counts

    return PowerJob(module="sparseforge.tb.accel.run", inputs={},
                    label=label or (f"conv {p.c}x{p.h}x{p.w} -> {p.k}, {p.r}x{p.s} at "
                                    f"{p.nnz}/{cfg.block}, {tiled.time_tiles} time tiles"),
                    ops=layer_ops(tiled.plan), actions=actions, model_cycles=tiled.cycles)


def network_layers(cfg, net, nnz, *, densities=None, act_density=0.5, seed=1,
                   dma_bytes=None):
    """The layers of network ``net`` on ``cfg`` as :func:`sparseforge.gen.power.network.
    network_energy` prices them: ``(name, groups, job, baseline job)`` per layer.

    A layer runs at ``nnz``/B (or its entry of ``densities``), with INT8 output (layers chain),
    on the operands ``run --conv`` makes for it (:func:`.run.prepare_layer`: activations
    non-zero with probability ``act_density``, weights pruned to the NNZ, from ``seed``); a
    grouped layer as one group's job run ``groups`` times (the groups share one draw of
    operands). The baseline is the same layer at the design's maximum NNZ (B/B on VDBB) on the
    same activations (the same seed), its weights not pruned; a layer already there is its own
    baseline.
    """
    from ...sim import workloads
    from .run import _network_layer_plans, _tile, prepare_layer

    densities = densities or {}
    top = cfg.array.max_nnz
    for layer in workloads.network(net):
        layer_nnz = densities.get(layer.name, nnz)
        jobs = []
        for n in (layer_nnz, top) if layer_nnz != top else (layer_nnz,):
            plan = _network_layer_plans(cfg, layer, n)[0]
            x, w = prepare_layer(cfg, plan, act_density=act_density, seed=seed)
            tiled, _ = _tile(cfg, plan, True, dma_bytes, f"--network {layer.name}")
            if tiled is not None and tiled.time_tiles > 1:
                jobs.append(tiled_layer_job(cfg, tiled, x, w, shift=0,
                                            label=f"{net}.{layer.name}"))
            else:
                jobs.append(layer_job(cfg, plan, x, w, shift=0, label=f"{net}.{layer.name}"))
        yield layer.name, layer.groups, jobs[0], jobs[-1]


def power_job(cfg, args):
    """``sparseforge power`` on an accelerator: the layer of ``--conv``/``--layer`` (options as
    ``run``'s, ``--threshold`` included)."""
    from .blox_run import threshold_raw
    from .run import _plan, prepare_layer
    from ..operands import parse_conv
    from ...sim import workloads

    if args.conv is None and args.layer is None:
        raise InputError("--conv: missing; give H,W,C,K,R,S[,stride[,pad]] (or --layer "
                         "NET.LAYER)")
    try:
        layer = parse_conv(args.conv) if args.conv else workloads.layer(args.layer)
    except ValueError as e:
        raise InputError(f"--layer: {e}") from None
    if layer.groups != 1:
        raise InputError(f"--layer: {args.layer} is a grouped convolution ({layer.groups} "
                         "groups); the RTL runs ungrouped layers")
    nnz = cfg.array.max_nnz if getattr(args, "nnz", None) is None else args.nnz
    shift = getattr(args, "shift", None)
    plan = _plan(cfg, layer, nnz, "--conv" if args.conv else "--layer",
                 int8_out=shift is not None)
    density = getattr(args, "act_density", None)
    x, w = prepare_layer(cfg, plan, act_density=0.5 if density is None else density,
                         act_path=getattr(args, "act", None),
                         weights_path=getattr(args, "weights", None),
                         prune=getattr(args, "prune", False), seed=args.seed)
    return layer_job(cfg, plan, x, w, shift=shift, relu=bool(getattr(args, "relu", False)),
                     blox=threshold_raw(cfg, args))


def clock_gated(cfg):
    return ("engine.array.tpe_*.mac_*.acc",) if cfg.array.act_zero_gating else ()


def components(cfg):
    return {
        "mac": ("engine.array.tpe_*.mac_*",),
        "tpe": ("engine.array.tpe_*",),
        "skew": ("engine.array.act_skew", "engine.array.w_skew"),
        "select": ("engine.feeder.select_*",),
        "feeder": ("engine.feeder",),
        "drain": ("engine.drain",),
        "engine": ("engine", "engine.*"),
        "im2col": ("im2col", "im2col.*", "reader", "reader.*"),
        # The direct reader's instance is ``direct$<n>`` (``direct`` is also a register's name);
        # gen/power/netlist.scope_of stops at a ``$``, so today its cells land in ``top``.
        "direct": ("direct", "direct.*", "direct$*"),
        "weight_reader": ("weights", "weights.*"),
        "output": ("output", "output.*"),
        "loaders": ("act_loader", "act_loader.*", "w_loader", "w_loader.*", "readback",
                    "readback.*"),
        "blox_sum": ("blox_pruner.sum*",),
        "blox_decide": ("blox_pruner.decide", "blox_pruner.decide.*"),
        "blox_pruner": ("blox_pruner", "blox_pruner.*"),
        "blox_cache": ("blox_cache", "blox_cache.*"),
        "blox_reads": ("blox_reads", "blox_reads.*"),
        "blox_flags": ("act*_flags", "act*_flags.*"),
    }


def actions(cfg):
    names = {name: acts for name, acts in sta_energy.actions(cfg.array).items() if name != "top"}
    names["engine"] = ("cycle",)
    if cfg.im2col:
        names["im2col"] = ("cycle", "window", "im2col_fill_row", "act_read", "im2col_latch",
                           "im2col_shift")
        names["direct"] = ("cycle", "act_read", "direct_beat")
    else:
        # Without IM2COL the direct reader is the instance called ``im2col``.
        names["im2col"] = ("cycle", "act_read", "direct_beat")
    names["weight_reader"] = ("cycle", "weight_read")
    names["output"] = ("cycle", "out_row", "out_word", "out_int8_row")
    names["loaders"] = ("cycle",)
    names["top"] = ("cycle", "act_read", "out_word")
    if cfg.sparseblox is not None:
        names.update(blox_sum=("cycle", "blox_row", "blox_block"),
                     blox_decide=("cycle", "blox_block", "blox_cached"),
                     blox_pruner=("cycle", "blox_row", "blox_block", "blox_cached",
                                  "blox_refused"),
                     blox_cache=("cycle", "blox_cached", "blox_refused"),
                     blox_reads=("cycle",),
                     blox_flags=("cycle", "flag_write", "act_read"))
    return names


#: Macro groups of :meth:`Accelerator.memory_macros`, by the module name's tail.
def _group(module):
    tail = module.rsplit(".", 1)[-1]
    if tail.startswith("act"):
        return "act"
    if tail.startswith("w"):
        return "weights"
    if tail.startswith("lane"):
        return "quant"
    return "blox_cache"


def sram(cfg):
    """The SRAM macros with their groups and enable pins (``rd__en``, ``wr__en``). The
    quantization table's lanes and the sparse-block cache have no read enable to count (the
    table's row is addressed every cycle; the cache is looked up only when a map is read back,
    outside a layer): only their writes are priced, and quantization-table reads are in no
    figure."""
    from ...hdl.accel.accelerator import Accelerator

    out = []
    for macro in Accelerator.memory_macros(cfg):
        group = _group(macro["module"])
        reads = ("rd__en",) if group in ("act", "weights") else ()
        out.append({**macro, "group": group, "reads": reads, "writes": ("wr__en",)})
    return out


def calibration_design(cfg):
    """The design the energies of ``cfg`` are measured on: the same TPE in at most 2×2 TPEs, the
    same reader (IM2COL or not) and bank count, small SRAMs (black boxes: their size changes
    only the SRAM table's price, which the model takes from ``cfg``), no quantization table (the
    layer-wide shift: its multipliers' synthesis is too slow for the flow), Sparse-Blox with a
    cache of at most 64 positions (a black box too)."""
    array = cfg.array
    small = replace(array, m=min(array.m, 2), n=min(array.n, 2))
    if small != array:
        small = replace(small, name=f"{cfg.name}_cal_array")
    word_bytes = cfg.word_bits // 8
    act_kb = max(1, -(-2 * cfg.act_banks * 64 * word_bytes // 1024))
    # Weight halves of 256 words: a calibration layer at B/B of a B = 8 design needs 81.
    weight_kb = max(1, -(-2 * 256 * cfg.weight_word_bits // 8 // 1024))
    blox = cfg.sparseblox
    if blox is not None and blox.capacity > 64:
        blox = replace(blox, capacity=64)
    cal = replace(cfg, array=small, act_kb=min(cfg.act_kb, act_kb),
                  weight_kb=min(cfg.weight_kb, weight_kb), quant_channels=0, sparseblox=blox)
    return cal if cal == cfg else replace(cal, name=f"{cfg.name}_cal")


def random_layer(cfg, rng, plan, act_density):
    """``(x, w, shift)``: full-range INT8 activations non-zero with probability
    ``act_density``, weights pruned to the plan's NNZ per block, the smallest shift bringing
    the accumulators into INT8."""
    x = rng.integers(-128, 128, (plan.c, plan.h, plan.w))
    x[rng.random(x.shape) >= act_density] = 0
    w = rng.integers(-128, 128, (plan.k, plan.c, plan.r, plan.s))
    if plan.nnz < cfg.block:
        w = accel_plan.prune_conv_weights(w, plan.nnz, cfg.block)
    peak = int(np.abs(conv.conv2d(x, w, plan.stride, plan.pad, cfg.array.acc_width)).max(
        initial=0))
    return x, w, min(31, max(0, (peak // 128).bit_length()))


def median_threshold(cfg, plan, y, fraction=0.5):
    """The raw Sparse-Blox threshold pruning about ``fraction`` of the blocks of the INT8 map
    ``y`` of ``plan`` (the threshold just above that quantile of the blocks' |mean|)."""
    from ...sim.sparseblox import block_stats

    fmt = cfg.sparseblox.fmt
    sums, n_valid, _ = block_stats(y, (cfg.block, plan.ph, plan.pw))
    means = np.sort((np.abs(sums) / n_valid).reshape(-1))
    value = means[min(len(means) - 1, int(fraction * len(means)))]
    return min(fmt.max_raw, int(value * (1 << fmt.frac_bits)) + 1)


def calibration(cfg):
    """Eight small layers on :func:`calibration_design`: weight densities from 1/B to B/B,
    activation densities 0 to 0.9, 1×1 and 3×3 kernels, stride 2, padding, several column tiles
    and channel blocks, INT8 and INT32 output and (on an IM2COL design) one layer through the
    direct reader, so each component's per-cycle and per-action energies can be told apart. On
    a Sparse-Blox design five of the INT8 layers prune (thresholds at a quarter, half and 95 % of
    their blocks)."""
    cal = calibration_design(cfg)
    bz = cal.block
    top = cal.array.max_nnz
    cols = cal.array.tile_cols
    # (h, w, c, k, r, s, stride, pad, nnz, act density, INT8, direct)
    specs = [
        (5, 5, 2 * bz, cols, 3, 3, 1, 1, top, 0.9, True, False),
        (6, 6, bz, 2 * cols, 3, 3, 1, 0, max(1, top // 2), 0.5, True, False),
        (6, 6, 2 * bz, cols, 1, 1, 1, 0, 1, 0.7, False, False),
        (7, 7, bz, cols, 3, 3, 2, 1, max(1, (3 * top) // 4), 0.3, True, False),
        (4, 6, bz, cols, 3, 3, 1, 1, top, 0.2, True, cal.im2col),
        (5, 4, 2 * bz - 1, cols - 1, 2, 3, 1, 0, max(1, top // 4), 0.6, True, False),
        (6, 6, bz, cols, 1, 1, 2, 0, top, 0.5, True, False),
        (5, 5, bz, 2 * cols, 3, 3, 1, 1, max(1, top // 2), 0.0, True, False),
    ]
    rng = np.random.default_rng(12)
    jobs = []
    for n, (h, w, c, k, r, s, stride, pad, nnz, density, int8, direct) in enumerate(specs):
        plan = accel_plan.plan_layer(cal, h, w, c, k, r, s, stride, pad, nnz, int8_out=int8,
                                     direct=True if direct else None, raster=False)
        x, weights, shift = random_layer(cal, rng, plan, density)
        blox = None
        if cal.sparseblox is not None and int8 and n % 3 != 2:
            # Sparse-Blox: most INT8 layers prune, from a quarter to nearly all of their blocks.
            y = conv.requantize(conv.conv2d(x, weights, stride, pad, cal.array.acc_width),
                                shift, False)
            blox = median_threshold(cal, plan, y, (0.25, 0.5, 0.95)[n % 3])
        jobs.append(layer_job(cal, plan, x, weights, shift=shift if int8 else None, blox=blox))
    return cal, jobs


HOOKS = EnergyHooks(job=power_job, clock_gated=clock_gated, components=components,
                    actions=actions, calibration=calibration, window=layer_window, sram=sram)
