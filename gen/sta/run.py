"""``sparseforge run`` for the STA engine (``--gemm``): operands in, RTL result and cycles out.

The operands come from ``.npy`` files or are made here from a seed; they are validated (shape,
integer range, the DBB bound) before any tool runs. The GEMM goes through the generated Verilog in
cocotb (:mod:`sparseforge.tb.sta.run`); the result is compared with the golden model and the
measured cycles are reported next to the cycle model's prediction.
"""

from pathlib import Path

import numpy as np

from amaranth import Shape

from ...hdl.sta.layouts import K_BITS, weight_word_layout
from ...sim.gemm import gemm, int_range
from ...sim.sta import cycles as sta_cycles
from ...sim.sta import dbb
from ...sim.sta import streams as sta_streams
from ..errors import InputError
from ..operands import MAX_OPERAND_ELEMENTS, load_operand
from ..report import Progress, save_npy, table, write_energy
from ..run_result import RunOutput, Text

__all__ = ["parse_shape", "prepare_gemm", "gemm_model_report", "run_gemm_rtl", "run_cli"]

K_LIMIT = (1 << K_BITS) - 1


def parse_shape(text, names=("M", "K", "N")):
    """``"7,24,9"`` → ``(7, 24, 9)``; every dimension ≥ 1."""
    parts = text.split(",")
    if len(parts) != len(names):
        raise InputError(f"--gemm: {text!r} is not allowed; expected {','.join(names)} "
                         f"(three positive integers, e.g. 64,256,64)")
    values = []
    for name, part in zip(names, parts):
        try:
            value = int(part)
        except ValueError:
            value = 0
        if value < 1:
            raise InputError(f"--gemm: {name} = {part!r} is not allowed; expected an integer ≥ 1")
        values.append(value)
    return tuple(values)


def prepare_gemm(cfg, *, shape=None, nnz=None, act_density=0.5, act_path=None,
                 weights_path=None, prune=False, seed=1):
    """Validated operands ``(act, weights, nnz)`` for a GEMM run on ``cfg``.

    Raises
    ------
    InputError
        Bad shape, density, file, value range, or weights breaking the NNZ bound without
        ``prune``.
    """
    top = cfg.max_nnz
    if nnz is None:
        nnz = top
    if not 1 <= nnz <= top:
        what = f"1 to {top} (non-zeros per block of {cfg.block})"
        raise InputError(f"--nnz: {nnz} is not allowed; expected {what}")
    if not 0.0 <= act_density <= 1.0:
        raise InputError(f"--act-density: {act_density} is not allowed; expected a fraction "
                         "from 0 to 1")
    if shape is None and (act_path is None or weights_path is None):
        raise InputError("--gemm: missing; give M,K,N (or both --act and --weights)")

    rng = np.random.default_rng(seed)
    act = weights = None
    if act_path is not None:
        act = load_operand(act_path, "--act", cfg.act_width, "M×K activation matrix", ndim=2,
                           shape=None if shape is None else (shape[0], shape[1]),
                           context=" for this --gemm")
    if weights_path is not None:
        weights = load_operand(weights_path, "--weights", cfg.weight_width, "K×N weight matrix",
                               ndim=2, shape=None if shape is None else (shape[1], shape[2]),
                               context=" for this --gemm")
    if act is not None and weights is not None and act.shape[1] != weights.shape[0]:
        raise InputError(f"--weights: shape {weights.shape} is not allowed; its K must equal "
                         f"the activations' K = {act.shape[1]}")
    m = shape[0] if shape else act.shape[0]
    k = shape[1] if shape else act.shape[1]
    n = shape[2] if shape else weights.shape[1]
    if k > K_LIMIT:
        raise InputError(f"--gemm: K = {k} is not allowed; expected at most {K_LIMIT} "
                         "(the job's K field)")
    for what, size in (("M×K activations", m * k), ("K×N weights", k * n),
                       ("M×N results", m * n)):
        if size > MAX_OPERAND_ELEMENTS:
            raise InputError(f"--gemm: {m},{k},{n} is not allowed; its {size:,} {what} exceed "
                             f"{MAX_OPERAND_ELEMENTS:,} elements")

    if act is None:
        lo, hi = int_range(cfg.act_width)
        act = rng.integers(lo, hi + 1, (m, k))
        act[rng.random((m, k)) >= act_density] = 0
    if weights is None:
        lo, hi = int_range(cfg.weight_width)
        weights = rng.integers(lo, hi + 1, (k, n))
        prune = True
    if nnz < cfg.block:
        bad = dbb.violations(weights, nnz, cfg.block, axis=0)
        if bad and not prune:
            raise InputError(f"--weights: {bad} block(s) of {cfg.block} along K have more than "
                             f"{nnz} non-zeros; expected at most --nnz {nnz} per block "
                             "(add --prune to prune them by magnitude)")
        weights = dbb.prune(weights, nnz, cfg.block, axis=0)
    return act, weights, nnz


def gemm_model_report(cfg, m, k, n, nnz):
    """The cycle model's figures of an M×K×N GEMM at density ``nnz``/B (no simulation).

    ``utilization`` is useful MACs (M·K·N·NNZ/B) over multiplier-cycles; ``tile_utilization``
    the ideal cycles of the padded tiles over the cycles (mapping loss not counted).
    """
    tiles = sta_cycles.sta_tiles(cfg, m, n)
    model = sta_cycles.sta_job_cycles(cfg, tiles, k, nnz)
    ideal = sta_cycles.sta_ideal_cycles(cfg, tiles, k, nnz)
    useful = sta_cycles.useful_macs(m * k * n, nnz, cfg.block)
    words = tiles * sta_streams.words_per_tile(cfg, k, nnz)
    return {
        "design": cfg.name,
        "kind": cfg.kind,
        "notation": cfg.notation,
        "m": m, "k": k, "n": n,
        "nnz": nnz,
        "block": cfg.block,
        "tiles": tiles,
        "model_cycles": model,
        "ideal_cycles": ideal,
        "useful_macs": useful,
        "utilization": sta_cycles.utilization(cfg, useful, model),
        "tile_utilization": ideal / model if model else 0.0,
        "effective_macs_per_cycle": m * k * n / model if model else 0.0,
        "weight_stream_bits": words * Shape.cast(weight_word_layout(cfg)).width,
    }


def run_gemm_rtl(cfg, act, weights, nnz, *, simulator="verilator", seed=None, progress=None):
    """Run the GEMM through the generated RTL; return the report mapping and the result matrix."""
    from ...tb import runner

    m, k = act.shape
    n = weights.shape[1]
    out = runner.run_job(cfg, simulator, "sparseforge.tb.sta.run",
                         {"act": act, "weights": weights, "nnz": nnz}, seed=seed,
                         progress=progress,
                         message=f"simulating {m}x{k}x{n} at {nnz}/{cfg.block} on {simulator}")
    rows, cycles, gated = out["rows"], int(out["cycles"]), int(out["gated_mac_cycles"])

    result = sta_streams.assemble(cfg, rows, m, n)
    golden = gemm(act, weights, cfg.acc_width)
    report = gemm_model_report(cfg, m, k, n, nnz)
    report.update({
        "simulator": simulator,
        "cycles": cycles,
        "utilization": sta_cycles.utilization(cfg, report["useful_macs"], cycles),
        "tile_utilization": report["ideal_cycles"] / cycles if cycles else 0.0,
        "effective_macs_per_cycle": m * k * n / cycles if cycles else 0.0,
        "mismatches": int(np.count_nonzero(result != golden)),
        "gated_mac_cycles": gated,
        # MAC slots of every step of the job
        "mac_cycles": report["ideal_cycles"] * cfg.macs_total,
        "act_zero_fraction": float(np.mean(act == 0)) if act.size else 0.0,
    })
    return report, result


RUN_HEADERS = ("nnz", "cycles", "model", "ideal", "util", "tile util", "mismatches",
               "gated MAC-cycles")
MODEL_HEADERS = ("nnz", "model cycles", "ideal", "util", "tile util", "MACs/cycle")


def run_cli(cfg, args):
    """``sparseforge run`` on an STA config: a ``RunOutput``, ``ok`` when bit- and cycle-exact."""
    for flag in ("conv", "layer", "network", "weight_density", "shift", "rtl_layers"):
        if getattr(args, flag, None) is not None:
            option = "--" + flag.replace("_", "-")
            raise InputError(f"{option}: not allowed for arch sta (a GEMM engine); use --gemm "
                             "M,K,N with --nnz, or an arch: accel config for convolutions")
    if args.relu:
        raise InputError("--relu: not allowed for arch sta")
    if args.model_only:
        return _model_only(cfg, args)
    shape = parse_shape(args.gemm) if args.gemm else None
    density = 0.5 if args.act_density is None else args.act_density
    act, weights, nnz = prepare_gemm(cfg, shape=shape, nnz=args.nnz,
                                     act_density=density, act_path=args.act,
                                     weights_path=args.weights, prune=args.prune, seed=args.seed)
    progress = Progress(not args.quiet and not args.json)
    report, result = run_gemm_rtl(cfg, act, weights, nnz, simulator=args.sim, seed=args.seed,
                                  progress=progress)
    report["seed"] = args.seed
    if args.energy:
        report.update(_gemm_energy(cfg, act, weights, nnz, report["cycles"], progress))
    if args.out is not None:
        save_npy(Path(args.out), result.astype(np.int32 if cfg.acc_width <= 32 else np.int64))
    write = Text()
    write(f"{cfg.name} ({cfg.notation}) on {args.sim}: {report['m']}x{report['k']}x"
          f"{report['n']} GEMM, {report['tiles']} output tiles")
    write(table([(report["nnz"], report["cycles"], report["model_cycles"],
                  report["ideal_cycles"], report["utilization"],
                  report["tile_utilization"], report["mismatches"],
                  report["gated_mac_cycles"])], RUN_HEADERS))
    verdict = "bit-exact" if report["mismatches"] == 0 else "MISMATCH"
    write(f"{verdict} against the golden model; "
          f"{report['effective_macs_per_cycle']:.1f} effective MACs/cycle")
    write_energy(write, report)
    ok = report["mismatches"] == 0 and report["cycles"] == report["model_cycles"]
    return RunOutput(report, ok, str(write))


def _gemm_energy(cfg, act, weights, nnz, cycles, progress):
    """``--energy`` of one GEMM: its counts over ``cycles`` (None: the cycle model's)."""
    from ..power.model import job_energy
    from .energy import gemm_job
    return job_energy(cfg, gemm_job(cfg, act, weights, nnz), cycles, progress=progress)


def _model_only(cfg, args):
    """``--model-only``: the cycle model's figures of ``--gemm``, no operands, no simulation."""
    for flag in ("act", "weights", "out"):
        if getattr(args, flag, None) is not None:
            raise InputError(f"--{flag}: not used with --model-only (no RTL run)")
    if not args.gemm:
        raise InputError("--gemm: missing; --model-only needs the GEMM shape M,K,N")
    m, k, n = parse_shape(args.gemm)
    if k > K_LIMIT:
        raise InputError(f"--gemm: K = {k} is not allowed; expected at most {K_LIMIT} "
                         "(the job's K field)")
    nnz = cfg.max_nnz if args.nnz is None else args.nnz
    if not 1 <= nnz <= cfg.max_nnz:
        raise InputError(f"--nnz: {nnz} is not allowed; expected 1 to {cfg.max_nnz} "
                         f"(non-zeros per block of {cfg.block})")
    report = gemm_model_report(cfg, m, k, n, nnz)
    if args.energy:
        # The operands the RTL run would take (the same seed), priced at the model's cycles.
        act, weights, nnz = prepare_gemm(cfg, shape=(m, k, n), nnz=nnz, seed=args.seed,
                                         act_density=0.5 if args.act_density is None
                                         else args.act_density, prune=args.prune)
        report["seed"] = args.seed
        report.update(_gemm_energy(cfg, act, weights, nnz, None,
                                   Progress(not args.quiet and not args.json)))
    write = Text()
    write(f"{cfg.name} ({cfg.notation}): {m}x{k}x{n} GEMM, {report['tiles']} output tiles, "
          "cycle model")
    write(table([(nnz, report["model_cycles"], report["ideal_cycles"],
                  report["utilization"], report["tile_utilization"],
                  report["effective_macs_per_cycle"])], MODEL_HEADERS))
    write_energy(write, report)
    return RunOutput(report, True, str(write))
