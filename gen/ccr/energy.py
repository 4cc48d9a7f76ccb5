"""Energy hooks of CCR's four designs (dense, SparseK, SparseI, SparseKI): workloads, blocks,
actions, SRAM buffers.

CCR's headline is energy (CCR paper, Sec. V: SparseK 2.23× more energy-efficient than the dense
design on VGG-16); :mod:`sparseforge.gen.power` measures it on the OSU 0.18 µm netlist. This module
tells it what the accelerator is made of:

* no clock gating (the RTL has none);
* components: the PU (the P_x × P_y multipliers, SparseKI's Cartesian product), the CCU, the
  crossbar and its bank addressing (``scatter``; SparseKI: the output addresses and the bank
  arbiter), the rest of the datapath, AccUnit's pipeline and adders (``acc``), the sequencer,
  the kernels' and channels' count tables (read combinationally, so synthesized as logic rather
  than kept as SRAM macros), the loaders and the rest (register file, control, statistics);
* actions (:mod:`sparseforge.sim.ccr.actions`) and the small design and layers the per-action
  energies are calibrated on: the same variant on a PU of at most 2×2;
* SRAM macros: IB, KB and the P_x·P_y OB banks, priced per access by :mod:`..power.sram`.

A job is one stride-1 layer (a single pass, ``tb/ccr/run.py``), its window the cycles ``busy`` is
high. A network layer (:func:`network_layers`) is priced from the network model's counts: every
pass of every group.
"""

from dataclasses import replace

import numpy as np

from ...sim.ccr import cycles as ccr_cycles
from ...sim.ccr import layer as ccr_layer
from ...sim.ccr.actions import VARIANTS, pass_actions
from ...sim.ccr.network import sparse
from ...sim.gemm import int_range
from ..errors import InputError
from ..power.job import EnergyHooks, PowerJob, busy_window, run_mismatch

__all__ = ["HOOKS", "layer_job", "calibration_design", "dense_baseline", "random_layer",
           "network_layers"]


def _check_variant(cfg):
    if cfg.variant not in VARIANTS:
        raise InputError(f"power: variant {cfg.variant} of {cfg.name} has no energy model yet "
                         f"(variants with one: {', '.join(VARIANTS)})")


def layer_job(cfg, x, w, win, label=None):
    """The :class:`~sparseforge.gen.power.job.PowerJob` of one stride-1 layer on ``cfg``."""
    _check_variant(cfg)
    if win.stride != 1:
        raise InputError(f"power: stride {win.stride} is not allowed; expected 1 (a strided "
                         "layer is several passes, and a power job is one)")
    x = np.asarray(x, dtype=np.int64)
    w = np.asarray(w, dtype=np.int64)
    c, h, wd = x.shape
    k, _, r, s = w.shape
    model = ccr_cycles.layer_cycles(cfg.variant, cfg.px, cfg.py, x, w, win)
    label = label or (f"conv {c}x{h}x{wd} -> {k}, {r}x{s}, {win.ho}x{win.wo} window: "
                      f"{np.mean(x != 0):.0%} inputs, {np.mean(w != 0):.0%} weights non-zero")

    def actions(cycles):
        return pass_actions(cfg.variant, cfg.px, cfg.py, x, w, win.x0, win.y0, win.ho, win.wo,
                            cycles=cycles)

    def check(outputs):
        return run_mismatch(outputs["y"], ccr_layer.golden(x, w, win, cfg.acc_width),
                            np.sum(outputs["cycles"]), model.cycles)

    def probes(outputs, shakes):
        probed = {"step": int(outputs["reg_steps"][0]), "mac": int(outputs["reg_macs"][0])}
        if cfg.variant == "sparse_ki":
            probed.update(stall=int(outputs["reg_stalls"][0]),
                          coord=int(outputs["reg_coords"][0]))
        return probed

    return PowerJob(module="sparseforge.tb.ccr.run",
                    inputs={"x": x, "w": w,
                            "window": [win.x0, win.y0, win.ho, win.wo, win.stride]},
                    label=label, ops=2 * model.macs_dense, actions=actions,
                    model_cycles=model.cycles, check=check, probes=probes)


def power_job(cfg, args):
    """``sparseforge power`` on a CCR design: the layer of ``--conv``/``--layer`` (options as
    ``run``'s)."""
    from ...sim import workloads
    from ..operands import parse_conv
    from .run import _window, check_fit, prepare_layer

    _check_variant(cfg)
    if args.conv is not None:
        layer, flag = parse_conv(args.conv), "--conv"
    elif args.layer is not None:
        try:
            layer, flag = workloads.layer(args.layer), "--layer"
        except ValueError as e:
            raise InputError(f"--layer: {e}") from None
    else:
        raise InputError("--conv: missing; give H,W,C,K,R,S[,stride[,pad]] (or --layer "
                         "NET.LAYER)")
    win = _window(layer, getattr(args, "mode", None), flag)
    x, w = prepare_layer(cfg, layer, weight_density=args.weight_density,
                         act_density=args.act_density, act_path=args.act,
                         weights_path=args.weights, seed=args.seed)
    check_fit(cfg, x, w, win, flag)
    return layer_job(cfg, x, w, win)


def clock_gated(cfg):
    return ()


def components(cfg):
    return {
        "pu": ("datapath.pu", "datapath.pu.*"),
        "ccu": ("datapath.ccu", "datapath.ccu.*"),
        "scatter": ("datapath.scatter", "datapath.scatter.*", "datapath.address",
                    "datapath.address.*", "datapath.arbiter", "datapath.arbiter.*"),
        "datapath": ("datapath",),
        "acc": ("acc", "acc.*"),
        "sequencer": ("seq", "seq.*"),
        "counts": ("kb_counts", "ib_counts"),
        "loaders": ("load_i", "load_k"),
    }


def actions(cfg):
    names = {
        "pu": ("cycle", "step", "mac"),
        "ccu": ("cycle", "step"),
        "scatter": ("cycle", "step", "ob_update"),
        "datapath": ("cycle", "step"),
        "acc": ("cycle", "clear", "ob_update"),
        "sequencer": ("cycle", "step", "empty", "kernel"),
        "counts": ("cycle", "kernel"),
        "loaders": ("cycle",),
        "top": ("cycle", "clear", "step", "mac"),
    }
    if cfg.variant == "sparse_ki":
        # The CCU computes a coordinate per product; the arbiter holds a pair through its
        # stalls (the PU, CCU and sequencer wait).
        names.update(ccu=("cycle", "step", "coord"),
                     scatter=("cycle", "step", "stall", "ob_update"),
                     datapath=("cycle", "step", "stall"),
                     sequencer=("cycle", "step", "empty", "stall", "kernel"))
    return names


def sram(cfg):
    """IB, KB and the OB banks (a ``Buffer``'s memory ports, as Amaranth names them: ``rp__en``,
    ``wp__en``); the count tables are read combinationally and left to synthesis as logic."""
    from ...hdl.ccr.accelerator import CcrAccelerator

    out = []
    for macro in CcrAccelerator.memory_macros(cfg):
        tail = macro["module"].rsplit(".", 1)[1]
        if tail.endswith("_counts"):
            continue
        group = "ob" if tail.startswith("ob_") else tail
        out.append({**macro, "group": group, "reads": ("rp__en",), "writes": ("wp__en",)})
    return out


def calibration_design(cfg):
    """The design the energies of ``cfg`` are measured on: the same variant and widths on a PU of
    at most 2×2, with 1 KB buffers, kernels up to 3×3, maps up to 16×16 and 64 kernels."""
    small = replace(cfg, px=min(cfg.px, 2), py=min(cfg.py, 2), ib_kb=1, kb_kb=1, ob_kb=1,
                    kernel_max=min(cfg.kernel_max, 3), map_max=min(cfg.map_max, 16),
                    kernels_max=min(cfg.kernels_max, 64))
    return small if small == cfg else replace(small, name=f"{cfg.name}_cal")


def random_layer(cfg, rng, c, h, wd, k, r, s, weight_density, act_density, pad=None):
    """``(x, w, window)``: seeded operands at the densities, a stride-1 window with ``pad``
    (default: 'same')."""
    x = sparse(rng, (c, h, wd), *int_range(cfg.act_width), act_density)
    w = sparse(rng, (k, c, r, s), *int_range(cfg.weight_width), weight_density)
    pad = (r - 1) // 2 if pad is None else pad
    return x, w, ccr_layer.window(h, wd, r, s, pad=pad, stride=1)


def calibration(cfg):
    """Five small layers on :func:`calibration_design`: weight densities 0.2 to 1, input
    densities 0.3 to 1, 1×1 to 3×3 kernels, padded and valid windows, so each component's
    per-cycle and per-action energies can be told apart."""
    cal = calibration_design(cfg)
    kern = min(3, cal.kernel_max)
    specs = [  # C, H, W, K, R, S, weight density, input density, pad
        (2, 6, 6, 2, kern, kern, 0.9, 0.8, None),
        (3, 5, 7, 2, kern, kern, 0.35, 0.5, 0),
        (2, 8, 8, 3, 1, 1, 1.0, 0.3, None),
        (4, 6, 5, 2, kern, 1, 0.2, 1.0, None),
        (2, 7, 7, 2, 2, 2, 0.6, 0.6, 1),
    ]
    rng = np.random.default_rng(12)
    jobs = []
    for c, h, wd, k, r, s, wdens, adens, pad in specs:
        x, w, win = random_layer(cal, rng, c, h, wd, k, r, s, wdens, adens, pad)
        jobs.append(layer_job(cal, x, w, win))
    return cal, jobs


def dense_baseline(cfg):
    """The dense design of Table I on the same PU and buffers."""
    return cfg if cfg.variant == "dense" else replace(cfg, variant="dense",
                                                      name=f"{cfg.name}_dense")


def network_layers(cfg, net, models):
    """The layers of network ``net`` as :func:`sparseforge.gen.power.network.network_energy`
    prices them: ``(name, 1, job, baseline job)`` per layer of ``models`` (the
    :class:`~sparseforge.sim.ccr.network.LayerModel` list of ``run --network``, counted with
    ``actions``), the job ``cfg``'s variant and the baseline job the dense design's
    (:func:`dense_baseline`), both on the operands of the network model: every group's passes
    (a strided layer's too) at the cycle model's cycles. The dense variant is its own
    baseline."""
    from ..power.network import counted_job

    _check_variant(cfg)
    for lm in models:
        label = f"{net}.{lm.name}"
        ops = 2 * lm.macs
        job = counted_job("sparseforge.tb.ccr.run", label, ops, [lm.actions[cfg.variant]])
        base = job if cfg.variant == "dense" else counted_job(
            "sparseforge.tb.ccr.run", f"{label} (dense)", ops, [lm.actions["dense"]])
        yield lm.name, 1, job, base


HOOKS = EnergyHooks(job=power_job, clock_gated=clock_gated, components=components,
                    actions=actions, calibration=calibration, window=busy_window,
                    dense_baseline=dense_baseline, sram=sram)
