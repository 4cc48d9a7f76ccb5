"""Energy hooks of SparseCore: workloads, blocks, actions and SRAM macros to price.

SparseCore's headline is energy (*SparseCore*, Sec. 4: 2.5× lower dynamic energy than a dense
output-stationary array at 50 % weight and 50 % activation sparsity); :mod:`sparseforge.gen.power`
measures it on the OSU 0.18 µm netlist. This module tells it what the accelerator is made of:

* no clock gating (the RTL has none);
* components: per PE the tap sequencer (``seq``), the ALUs, the accumulation buffer's row flags,
  the post-processor (requantizers, pooling, compactor) and the PE's pipeline registers; the
  global scheduler, the activation memory's loaders and the rest (register file, layer decoder,
  statistics counters);
* actions (:mod:`sparseforge.sim.sparsecore.actions`) and the small design and layers the
  per-action energies are calibrated on: the same PE in at most two PEs;
* SRAM macros: the activation entries and pointer table, and per PE the weight memory, the
  accumulation buffer and the requantization memory, priced per access by :mod:`..power.sram`;
* the requantizers are left out of every figure (:func:`excluded`: their synthesis is too slow).

A job is one layer (``tb/sparsecore/run.py``), its window the cycles ``busy`` is high (the bench's
cycle count). ``dense_acts`` runs the design as a dense array: every activation an entry, zeros
too, so a ``k = m`` design is the dense output-stationary baseline on the same datapath.
"""

import math
from dataclasses import replace

import numpy as np

from ...sim.sparsecore import cycles as sc_cycles
from ...sim.sparsecore import format as kmf
from ...sim.sparsecore import golden
from ...sim.sparsecore import streams as sc_streams
from ...sim.sparsecore.actions import layer_actions
from ..power.job import EnergyHooks, PowerJob, busy_window, run_mismatch

__all__ = ["HOOKS", "layer_job", "calibration_design", "dense_baseline", "random_layer",
           "layer_ops", "network_layers"]


def layer_ops(shape):
    """Effective operations of a layer: 2 per MAC of the dense convolution."""
    return 2 * shape.k * shape.c * shape.r * shape.s * shape.ho * shape.wo


def _store(cfg, act, dense_acts):
    return (kmf.dense_acts if dense_acts else kmf.compress_acts)(act, cfg.chunk)


def model_cycles(cfg, shape, store):
    """The cycle model's cycles of a layer whose activations are ``store``."""
    # More chunks than PEs (a layer of the network model on a dense baseline's narrower chunks)
    # run in passes of ``pes`` chunks.
    return sc_cycles._run(shape, store, cfg.chunk, cfg.band_rows, cfg.pes,
                          cfg.chunk // cfg.requant_lanes)[0]


def layer_job(cfg, shape, act, weights, shift, *, relu=False, dense_acts=False, label=None):
    """The :class:`~sparseforge.gen.power.job.PowerJob` of one layer on ``cfg`` (bias 0,
    multiplier 1, a rounding right shift by ``shift``).

    Raises
    ------
    InputError
        The layer does not fit ``cfg`` or its weights break ``cfg``'s k/m.
    """
    from .run import check_layer, check_weights

    check_layer(cfg, shape, "layer")
    check_weights(cfg, weights, flag="weights")
    act = np.asarray(act, dtype=np.int64)
    weights = np.asarray(weights, dtype=np.int64)
    store = _store(cfg, act, dense_acts)
    model = model_cycles(cfg, shape, store)
    if label is None:
        label = (f"conv {shape.c}x{shape.h}x{shape.w} -> {shape.k}, {shape.r}x{shape.s}"
                 f"{' stride ' + str(shape.stride) if shape.stride > 1 else ''}"
                 f"{', pooled' if shape.pool else ''}: {np.mean(act != 0):.0%} activations, "
                 f"{np.mean(weights != 0):.0%} weights non-zero"
                 f"{', read densely' if dense_acts else ''}")
    inputs = {"act": act, "weights": weights, "bias": np.zeros(shape.k, dtype=np.int64),
              "mult": np.ones(shape.k, dtype=np.int64),
              "shift": np.full(shape.k, shift, dtype=np.int64),
              "layer": np.array([shape.stride, shape.pad, int(relu), int(shape.pool)]),
              "dense_acts": np.array(int(dense_acts))}

    def actions(cycles):
        return layer_actions(cfg, shape, store, cycles)

    def check(outputs):
        want = golden.layer_output(act, weights, 0, 1, shift, stride=shape.stride, pad=shape.pad,
                                   relu=relu, pool=shape.pool, acc_bits=cfg.acc_width)
        beats = [(int(outputs["chunk"][i]), int(outputs["y"][i]), int(outputs["x"][i]),
                  [(int(outputs["c"][i, j]), int(outputs["value"][i, j]))
                   for j in range(outputs["count"][i])]) for i in range(len(outputs["chunk"]))]
        got = kmf.decompress_acts(sc_streams.collect_output(cfg, beats, shape.k, want.shape[1],
                                                            want.shape[2]))
        return run_mismatch(got, want, outputs["cycles"], model)

    def probes(outputs, shakes):
        cycles = int(outputs["reg_cycles"])
        return {"job": int(outputs["reg_alu_jobs"]), "unit": int(outputs["reg_work_units"]),
                "pe_busy": cfg.pes * cycles - int(outputs["reg_pe_idle_cycles"]),
                "beat": len(outputs["chunk"])}

    return PowerJob(module="sparseforge.tb.sparsecore.run", inputs=inputs, label=label,
                    ops=layer_ops(shape), actions=actions, model_cycles=model, check=check,
                    probes=probes)


def power_job(cfg, args):
    """``sparseforge power`` on a SparseCore design: the layer of ``--conv``/``--layer`` (options
    as ``run``'s)."""
    from .run import prepare

    shape, act, weights, shift = prepare(cfg, args)
    return layer_job(cfg, shape, act, weights, shift, relu=bool(args.relu))


def clock_gated(cfg):
    return ()


def components(cfg):
    return {
        "alus": ("pe*.alus",),
        "sequencer": ("pe*.seq",),
        "accbuf": ("pe*.accbuf",),
        "postproc": ("pe*.pp", "pe*.pp.*"),
        "pe": ("pe*",),
        "scheduler": ("scheduler",),
        "actmem": ("actmem",),
    }


def actions(cfg):
    return {
        "alus": ("pe_cycle", "job"),
        "sequencer": ("pe_cycle", "pe_busy", "pair", "entry", "job"),
        "accbuf": ("pe_cycle", "unit", "job", "pp_read"),
        "postproc": ("pe_cycle", "pe_busy", "pp_read", "pp_step", "beat"),
        "pe": ("pe_cycle", "pe_busy", "job"),
        "scheduler": ("cycle", "unit"),
        "actmem": ("cycle",),
        "top": ("cycle", "job", "unit"),
    }


#: Macro groups of :meth:`SparseCoreAccelerator.memory_macros`, by the module name's tail.
_GROUPS = (("actmem.entries", "entries"), ("actmem.pointers", "pointers"), ("wmem", "weights"),
           ("accbuf.macro", "accbuf"), ("rqmem", "requant"))


def sram(cfg):
    """The SRAM macros with their groups and enable pins (as Amaranth names a ``Ram``'s memory
    ports: ``write__en``, ``read__en`` and ``read__en$<n>`` for further read ports; the
    accumulation buffer's macro: ``wp__en``, ``rp__en``)."""
    from ...hdl.sparsecore.accelerator import SparseCoreAccelerator

    out = []
    for macro in SparseCoreAccelerator.memory_macros(cfg):
        group = next(g for tail, g in _GROUPS if macro["module"].endswith(tail))
        pins = (("rp__en",), ("wp__en",)) if group == "accbuf" else (("read__en*",),
                                                                      ("write__en",))
        out.append({**macro, "group": group, "reads": pins[0], "writes": pins[1]})
    return out


def calibration_design(cfg):
    """The design the energies of ``cfg`` are measured on: the same PE (ALUs, k/m, requantization
    lanes, widths, band rows) in at most two PEs, with limits for 8×8 inputs of two segments."""
    pes = min(cfg.pes, 2)
    small = replace(cfg, pes=pes, max_h=min(cfg.max_h, 8), max_w=min(cfg.max_w, 8),
                    max_c=min(cfg.max_c, 2 * cfg.chunk), max_k=min(cfg.max_k, pes * cfg.chunk),
                    kernel_max=min(cfg.kernel_max, 3))
    return small if small == cfg else replace(small, name=f"{cfg.name}_cal")


def _operand(rng, shape, density, width):
    """Full-range non-zero values, exactly ``round(density · size)`` of them kept."""
    size = int(np.prod(shape))
    top = (1 << (width - 1)) - 1
    values = rng.integers(1, top + 1, size) * rng.choice([-1, 1], size)
    keep = np.zeros(size, dtype=bool)
    keep[rng.permutation(size)[:round(density * size)]] = True
    return np.where(keep, values, 0).reshape(shape)


def random_layer(cfg, rng, shape, act_density, km=None):
    """``(act, weights, shift)``: activations at ``act_density``, weights pruned to ``km``
    (default the design's k/m), the smallest shift bringing the accumulators into INT8."""
    k, m = km or (cfg.k, cfg.m)
    act = _operand(rng, (shape.c, shape.h, shape.w), act_density, cfg.act_width)
    weights = kmf.prune(_operand(rng, (shape.k, shape.c, shape.r, shape.s), 1.0,
                                 cfg.weight_width), k, m)
    peak = int(np.abs(golden.layer_acc(act, weights, shape.stride, shape.pad,
                                       cfg.acc_width)).max(initial=0))
    return act, weights, min(31, max(0, (peak // 128).bit_length()))


def calibration(cfg):
    """Five small layers on :func:`calibration_design`: activation densities 0.15 to 0.9, weights
    at the design's k/m and at half of it, one or two chunks and segments, 1×1 and 3×3 kernels, a
    stride and (with even bands) a pooled layer, so each component's per-cycle and per-action
    energies can be told apart."""
    cal = calibration_design(cfg)
    d = cal.chunk
    h = min(cal.max_h, 6)
    w = min(cal.max_w, 6)
    kern = min(3, cal.kernel_max)
    two_k = min(cal.max_k, 2 * d) if cal.max_k >= 2 * d else cal.max_k
    specs = [
        (sc_cycles.LayerShape(h, w, min(cal.max_c, d), d, kern, kern, 1, kern // 2), 0.9),
        (sc_cycles.LayerShape(h, w, min(cal.max_c, 2 * d), two_k, 1, 1), 0.5),
        (sc_cycles.LayerShape(h, w, min(cal.max_c, d), d, kern, kern, 2, 0), 0.35),
        (sc_cycles.LayerShape(h, w, min(cal.max_c, d + 1), two_k, kern, kern, 1, kern // 2,
                              pool=cal.band_rows % 2 == 0), 0.15),
        (sc_cycles.LayerShape(h - 1, w, min(cal.max_c, d), d, kern, 1, 1, 0), 0.6),
    ]
    rng = np.random.default_rng(12)
    jobs = []
    for n, (shape, density) in enumerate(specs):
        shape = replace(shape, k=shape.k - shape.k % cal.m or cal.m)
        # Every other run with half the design's non-zero weights; on a k = m design (a dense
        # array) every other run reads its activations densely, as the dense baseline does.
        km = (max(1, cal.k // 2), cal.m) if n % 2 else (cal.k, cal.m)
        act, weights, shift = random_layer(cal, rng, shape, density, km=km)
        jobs.append(layer_job(cal, shape, act, weights, shift,
                              dense_acts=cal.k == cal.m and n % 2 == 0))
    return cal, jobs


def dense_baseline(cfg):
    """The dense output-stationary array of the same size: the same PEs and ALUs at ``k = m``
    (every weight a slot), run with every activation an entry (``dense_acts``)."""
    mm = max(2, math.gcd(cfg.alus_per_pe, cfg.m))
    alus = cfg.alus_per_pe if cfg.alus_per_pe % mm == 0 else mm
    lanes = math.gcd(cfg.requant_lanes, alus)
    return replace(cfg, alus_per_pe=alus, k=mm, m=mm, requant_lanes=lanes,
                   max_k=min(cfg.max_k, cfg.pes * alus), name=f"{cfg.name}_dense")


def excluded(cfg):
    """The requantizers: Yosys/ABC maps each (a 33×16-bit multiplier and a 50-bit shifter,
    timing-driven at the clock target) in the better part of an hour of CPU, so they are left
    out of every energy figure (simulated from their RTL, priced nowhere). They do the same work
    in a sparse and a dense design: one requantization per output channel of every pixel."""
    return tuple(f"{cfg.name}.pe{p}.pp.rq{n}" for p in range(cfg.pes)
                 for n in range(cfg.requant_lanes))


def network_layers(cfg, net, act_density, k, m, seed=1):
    """The layers of network ``net`` as :func:`sparseforge.gen.power.network.network_energy`
    prices them: ``(name, 1, job, baseline job)`` for every layer ``run --network`` models
    (:func:`sparseforge.sim.sparsecore.network.network_model`, whether or not it fits the
    design's limits), on its operands (activations at ``act_density``, weights pruned to
    ``k/m``, each layer seeded from ``seed`` and its index). The job is every group's counts on
    ``cfg`` at the cycle model's cycles; the baseline job the same activations read densely
    (every activation an entry) on :func:`dense_baseline`, whose cycles are the network
    model's ``dense_cycles``. The counts do not depend on the weights' values: an ALU job uses
    the PE's ``groups · k`` multipliers whatever they hold."""
    from ...sim import workloads
    from ...sim.sparsecore import network as sc_network
    from ..power.network import counted_job

    base_cfg = dense_baseline(cfg)
    for i, conv in enumerate(workloads.network(net)):
        shape, groups = sc_network.layer_operands(conv, act_density, k, m,
                                                  sc_network.layer_seed(seed, i))
        jobs = []
        for design, dense in ((cfg, False), (base_cfg, True)):
            parts = []
            for act, _weights in groups:
                store = _store(design, act, dense)
                parts.append(layer_actions(design, shape, store,
                                           model_cycles(design, shape, store)))
            jobs.append(counted_job("sparseforge.tb.sparsecore.run",
                                    f"{net}.{conv.name}{' (dense)' if dense else ''}",
                                    2 * conv.macs, parts))
        yield conv.name, 1, jobs[0], jobs[1]


HOOKS = EnergyHooks(job=power_job, clock_gated=clock_gated, components=components,
                    actions=actions, calibration=calibration, window=busy_window,
                    dense_baseline=dense_baseline, sram=sram, excluded=excluded)
