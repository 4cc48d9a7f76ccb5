"""Energy hooks of SCNN: workloads, blocks, actions and SRAM macros to price.

SCNN's energy figure (SCNN paper, Sec. 6, Fig. 8: energy relative to a dense accelerator across
weight/activation densities) is measured by :mod:`sparseforge.gen.power` on the OSU 0.18 µm
netlist. This module tells it what the accelerator is made of:

* no clock gating (the RTL has none);
* components, per PE: the multiplier array, the crossbar, the accumulator banks' adders and
  multiplexers, the product addresses, the channel sequencer, the loaders, the post-processor
  (halo exchange, ReLU, compressor) and the rest of the PE (operand decode, pipeline registers);
  the output streamer and the rest (register file, layer sequencer, statistics);
* actions (:mod:`sparseforge.sim.scnn.actions`) and the small design and layers the per-action
  energies are calibrated on: the same PE (F, I, banks, widths, index bits, queue depth) in at
  most 2×1 PEs of at most 3×3 tiles;
* SRAM macros: per PE the weight FIFO and its block queue, IARAM and activation directory,
  OARAM and its count table, and the 2·A accumulator banks, priced per access by
  :mod:`..power.sram`.

A job is one layer (``tb/scnn/run.py``, the bench ``run`` uses): its window runs from the first
input beat to the last output beat, the layer's ``cycles``, so loading (which writes the RAMs)
is inside it. Designs with Sparse-Blox have no energy model (their pruner's actions are not
counted).
"""

from dataclasses import replace

import numpy as np

from ...sim.scnn import cycles as scnn_cycles
from ...sim.scnn import streams as scnn_streams
from ...sim.scnn.actions import layer_actions
from ..errors import InputError
from ..power.job import EnergyHooks, PowerJob

__all__ = ["HOOKS", "layer_job", "network_layers", "calibration_design", "random_layer",
           "stream_window"]


def _check_design(cfg):
    if cfg.sparseblox is not None:
        raise InputError(f"power: design {cfg.name} has Sparse-Blox, which has no energy model "
                         "yet (SCNN designs without sparseblox have one)")


def layer_job(cfg, act, weights, label=None, *, check_fit=True):
    """The :class:`~sparseforge.gen.power.job.PowerJob` of one stride-1 'same' layer on ``cfg``
    (``check_fit=False``: also a layer larger than the RAMs, as a network's cycle model takes
    it; such a job is for the model only).

    Raises
    ------
    InputError
        The design has Sparse-Blox, or (``check_fit``) the layer does not fit its RAMs.
    """
    from .run import check_rams

    _check_design(cfg)
    act = np.asarray(act, dtype=np.int64)
    weights = np.asarray(weights, dtype=np.int64)
    streams = scnn_streams.layer_streams(cfg, act, weights)
    if check_fit:
        check_rams(cfg, streams)
    layer = streams.layer
    model = scnn_cycles.layer_cycles(cfg, streams)
    if label is None:
        label = (f"conv {layer.c}x{layer.h}x{layer.w} -> {layer.k}, {layer.r}x{layer.s}: "
                 f"{np.mean(act != 0):.0%} activations, {np.mean(weights != 0):.0%} weights "
                 "non-zero")

    def actions(cycles):
        return layer_actions(cfg, streams, act, weights, cycles, model=model)

    def check(outputs):
        want, _ = scnn_streams.output_rows(cfg, scnn_streams.golden(cfg, act, weights))
        bad = sum(int(not np.array_equal(outputs[f"{name}_{n}"], want[n][j]))
                  for n in range(cfg.pes) for j, name in enumerate(("counts", "values", "zeros")))
        if bad:
            return f"{bad} of {3 * cfg.pes} output row arrays differ from the golden model"
        if int(outputs["measured_cycles"]) != model.cycles:
            return (f"{int(outputs['measured_cycles'])} cycles measured, the cycle model says "
                    f"{model.cycles}")
        return None

    def probes(outputs, shakes):
        return {"product": int(outputs["reg_products"]),
                "stall": int(outputs["reg_stall_cycles"]),
                "compute": int(outputs["reg_compute_cycles"]),
                "cycle": int(outputs["reg_cycles"])}

    return PowerJob(module="sparseforge.tb.scnn.run", inputs={"act": act, "weights": weights},
                    label=label, ops=2 * layer.macs, actions=actions, model_cycles=model.cycles,
                    check=check, probes=probes)


def network_layers(cfg, net, *, weight_density=0.5, act_density=0.5, seed=1):
    """The layers of network ``net`` that ``cfg`` runs (those ``run --network`` lists as
    supported) as :func:`sparseforge.gen.power.network.network_energy` prices them:
    ``(name, 1, job, baseline job)``, on the operands ``run --network`` makes (seeded, exactly
    that share of each operand non-zero). The baseline is the same layer at weight and
    activation density 1.0 (the paper's dense point, Fig. 8), from the same seed; a layer
    already there is its own baseline.
    """
    from ...sim import workloads
    from .run import prepare_layer

    _check_design(cfg)
    points = [(weight_density, act_density)]
    if (weight_density, act_density) != (1.0, 1.0):
        points.append((1.0, 1.0))
    for layer in workloads.network(net):
        jobs = []
        for wd, ad in points:
            try:
                act, weights = prepare_layer(cfg, layer, weight_density=wd, act_density=ad,
                                             seed=seed, flag=f"--network {layer.name}")
            except InputError:
                break                       # a layer the design cannot run: no energy
            jobs.append(layer_job(cfg, act, weights, label=f"{net}.{layer.name}",
                                  check_fit=False))
        if jobs:
            yield layer.name, 1, jobs[0], jobs[-1]


def power_job(cfg, args):
    """``sparseforge power`` on an SCNN design: the layer of ``--conv``/``--layer`` (options as
    ``run``'s)."""
    from ...sim import workloads
    from ..operands import parse_conv
    from .run import prepare_layer

    _check_design(cfg)
    if args.conv is not None:
        layer, flag = parse_conv(args.conv), "--conv"
    elif args.layer is not None:
        try:
            layer, flag = workloads.layer(args.layer), "--layer"
        except (KeyError, ValueError) as e:
            raise InputError(f"--layer: {e}") from None
    else:
        raise InputError("--conv: missing; give H,W,C,K,R,S (or --layer NET.LAYER)")
    act, weights = prepare_layer(cfg, layer, weight_density=args.weight_density,
                                 act_density=args.act_density, act_path=args.act,
                                 weights_path=args.weights, seed=args.seed, flag=flag)
    return layer_job(cfg, act, weights)


def stream_window(trace, start=0):
    """``(first, cycles)``: from the first beat accepted on ``s_axis_w`` or ``s_axis_act`` to
    the last on ``m_axis_out`` (the layer's ``cycles``)."""
    def beats(stream):
        valid, ready = trace.values[f"{stream}__tvalid"], trace.values[f"{stream}__tready"]
        return [i for i in range(start, len(valid)) if valid[i] and ready[i]]

    firsts = [b[0] for b in (beats("s_axis_w"), beats("s_axis_act")) if b]
    outs = beats("m_axis_out")
    if not firsts or not outs:
        return None
    return min(firsts), outs[-1] - min(firsts) + 1


def clock_gated(cfg):
    return ()


def components(cfg):
    return {
        "multipliers": ("pe_*.mults", "pe_*.mults.*"),
        "crossbar": ("pe_*.crossbar", "pe_*.crossbar.*"),
        "accumulators": ("pe_*.accumulators", "pe_*.accumulators.*"),
        "addresses": ("pe_*.addresses", "pe_*.addresses.*"),
        "sequencer": ("pe_*.sequencer",),
        "loaders": ("pe_*.wload", "pe_*.aload"),
        "ppu": ("pe_*.ppu", "pe_*.ppu.*"),
        "pe": ("pe_*",),
        "outputs": ("outputs",),
    }


def actions(cfg):
    return {
        "multipliers": ("pe_cycle", "slot", "product"),
        "crossbar": ("pe_cycle", "product", "stall"),
        "accumulators": ("pe_cycle", "product", "ppu_write"),
        "addresses": ("pe_cycle", "slot", "product"),
        "sequencer": ("pe_cycle", "slot", "channel"),
        "loaders": ("pe_cycle", "load_beat"),
        "ppu": ("pe_cycle", "ppu_cycle", "entry"),
        "pe": ("pe_cycle", "slot", "product"),
        "outputs": ("cycle", "beat"),
        "top": ("cycle", "compute", "beat"),
    }


def sram(cfg):
    """The SRAM macros with their groups and enable pins (as Amaranth names a ``Ram``'s memory
    ports: ``read__en``, ``write__en``). An accumulator bank's read port is combinational, with no
    enable: its reads are counted by its write enable (every read feeds a write of the entry)."""
    from ...hdl.scnn.accelerator import ScnnAccelerator

    out = []
    for macro in ScnnAccelerator.memory_macros(cfg):
        tail = macro["module"].split(".", 2)[2]
        if tail.startswith("accumulators.") or tail == "wqueue":
            # Combinational reads, counted by the writes (each entry is read once).
            out.append({**macro, "group": "acc" if tail != "wqueue" else tail,
                        "reads": ("write__en",), "writes": ("write__en",)})
        else:
            out.append({**macro, "group": tail, "reads": ("read__en",), "writes": ("write__en",)})
    return out


def calibration_design(cfg):
    """The design the energies of ``cfg`` are measured on: the same PE (F, I, banks, queue
    depth, widths, index bits, kc) in at most 2×1 PEs of at most 3×3 tiles, 3×3 kernels at most,
    with RAMs for those layers."""
    tile_w, tile_h = min(cfg.tile_w, 3), min(cfg.tile_h, 3)
    small = replace(cfg, px=min(cfg.px, 2), py=1, tile_w=tile_w, tile_h=tile_h,
                    kernel_max=min(cfg.kernel_max, 3), iaram=min(cfg.iaram, 32 * cfg.i),
                    oaram=min(cfg.oaram, 32 * cfg.i), weights=min(cfg.weights, 64 * cfg.f),
                    out_channels=min(cfg.out_channels, 8))
    return small if small == cfg else replace(small, name=f"{cfg.name}_cal")


def random_layer(cfg, rng, c, h, w, k, r, s, weight_density, act_density):
    """``(act, weights)``: seeded full-range operands, exactly ``round(density · size)`` non-zero
    (as ``run``'s)."""
    from .run import sparse_operand

    act = sparse_operand(rng, (c, h, w), cfg.act_width, act_density)
    weights = sparse_operand(rng, (k, c, r, s), cfg.weight_width, weight_density)
    return act, weights


def calibration(cfg):
    """Five small layers on :func:`calibration_design`: weight and activation densities 0.2 to 1,
    1×1 to 3×3 kernels, so each component's per-cycle and per-action energies can be told
    apart."""
    cal = calibration_design(cfg)
    kern = min(3, cal.kernel_max)
    h, w = cal.py * cal.tile_h, cal.px * cal.tile_w
    specs = [  # C, K, R, S, weight density, activation density
        (3, 4, kern, kern, 0.9, 0.8),
        (4, 3, kern, kern, 0.35, 0.5),
        (3, 4, 1, 1, 1.0, 0.3),
        (5, 2, kern, 1, 0.2, 1.0),
        (3, 3, kern, kern, 0.6, 0.25),
    ]
    rng = np.random.default_rng(12)
    jobs = []
    for c, k, r, s, wdens, adens in specs:
        act, weights = random_layer(cal, rng, c, h, w, k, r, s, wdens, adens)
        jobs.append(layer_job(cal, act, weights))
    return cal, jobs


HOOKS = EnergyHooks(job=power_job, clock_gated=clock_gated, components=components,
                    actions=actions, calibration=calibration, window=stream_window,
                    sram=sram)
