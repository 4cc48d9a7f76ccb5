"""The ``sparseforge`` command: generate, test, lint, synthesize and run sparse CNN accelerators.

Every command takes a CONFIG: a YAML file, or the name of a shipped preset (``sparseforge
presets``). Bad input (a config, a shape, a file) ends with one line on stderr and exit status 2.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from . import registry, spex
from .config import load_config_file
from .errors import InputError, ToolFailure
from .presets import DEFAULT_PRESET, load_preset, presets
from .report import Progress, dump_json, table
from .run_options import add_run_options, check_run_options, check_writable, seed

__all__ = ["main"]

EPILOG = """\
examples:
  sparseforge presets                                  list the shipped designs
  sparseforge generate vdbb_2x8x4_2x2 -o out/          Verilog + manifest
  sparseforge test my_design.yaml --sim all            cocotb regression on Icarus and Verilator
  sparseforge lint sa_8x8                              Verilator lint with the documented waivers
  sparseforge synth vdbb_2x8x4_2x2 --flow liberty      area in µm² (OSU 0.18 µm cells)
  sparseforge power sa_1x1 --gemm 4,16,4               gate-level energy of one GEMM
  sparseforge run vdbb_2x8x4_2x2 --gemm 64,512,64 --nnz 2 --json
  sparseforge layers resnet50                          the layer table of a network
  sparseforge run accel_small --layer resnet50.res5a_branch2b --nnz 3
  sparseforge run accel_paper --network resnet50 --nnz 3 --model-only
  sparseforge run scnn_2x2_small --conv 10,6,4,4,3,3 --weight-density 0.3 --act-density 0.4
  sparseforge spex --population 15 --generations 25 -o out/spex   Sparse-Blox thresholds
  sparseforge reproduce sta -o out/reproduce           the STA paper's numbers beside ours
  sparseforge demo                                     the quick tour (what 'make demo' runs)

A config file for the systolic tensor array family:
  arch: sta
  kind: vdbb            # sa | sta | dbb | vdbb
  tpe: {a: 2, b: 8, c: 4}
  array: {m: 2, n: 2}
  dbb_macs: 2           # dbb only: MACs per sparse dot product (1 <= b < B)
  widths: {act: 8, weight: 8, acc: 32}
  act_zero_gating: true # sa and vdbb only
  name: my_design       # optional; defaults to the file name
"""


def resolve_config(spec):
    """A YAML path or a preset name → validated config."""
    path = Path(spec)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.exists():
            raise InputError(f"config: {spec!r} does not exist")
        return load_config_file(path)
    return load_preset(spec)


# -- commands -------------------------------------------------------------------------------------

def cmd_presets(args):
    shipped = presets()
    if args.json:
        dump_json({name: desc for name, (_arch, desc, _raw) in shipped.items()})
    else:
        rows = [(name, arch, "(default) " + desc if name == DEFAULT_PRESET else desc)
                for name, (arch, desc, _raw) in shipped.items()]
        print(table(rows, ("preset", "arch", "what it is")))
    return 0


def cmd_layers(args):
    from ..sim import workloads
    try:
        layers = workloads.network(args.network)
    except ValueError as e:
        raise InputError(f"network: {e}") from None
    if args.json:
        dump_json([{"name": lay.name, "h": lay.h, "w": lay.w, "c": lay.c, "k": lay.k, "r": lay.r,
                    "s": lay.s, "stride": lay.stride, "pad": lay.pad, "groups": lay.groups,
                    "macs": lay.macs} for lay in layers])
        return 0
    rows = [(lay.name, f"{lay.h}x{lay.w}x{lay.c}", lay.k, f"{lay.r}x{lay.s}", lay.stride,
             lay.pad,
             "dw" if lay.depthwise else (lay.groups if lay.groups > 1 else ""),
             f"{lay.ho}x{lay.wo}", lay.macs) for lay in layers]
    print(f"{args.network}: {workloads.DESCRIPTIONS[args.network]}")
    print(table(rows, ("layer", "input HxWxC", "K", "kernel", "stride", "pad", "groups",
                       "output", "MACs")))
    print(f"{len(layers)} convolution layers, {sum(lay.macs for lay in layers):,} MACs")
    return 0


def _out_dir(text, flag):
    """A directory to write into, from an option, created if missing: refused up front (before
    any work) when it names a file or cannot be created or written into. Files are then written
    atomically (see :mod:`.emit`), so a failure leaves none behind."""
    if not text:
        raise InputError(f"{flag}: {text!r} is not allowed; expected a directory")
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise InputError(f"{flag}: {text!r} is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"{flag}: cannot create {text!r} ({e.strerror or e})") from None
    check_writable(path, flag)
    return path


def cmd_generate(args):
    from .api import generate
    cfg = resolve_config(args.config)
    out = _out_dir(args.out, "-o")
    progress = Progress(not args.quiet)
    progress(f"elaborating {cfg.name} ({cfg.notation})")
    start = time.monotonic()
    v_path, *others = generate(cfg, out).files
    elapsed = time.monotonic() - start
    size = v_path.stat().st_size
    files = [f"{v_path} ({size:,} bytes)", *map(str, others)]
    print(f"wrote {', '.join(files[:-1])} and {files[-1]} in {elapsed:.1f} s")
    return 0


def cmd_lint(args):
    from .emit import generate
    from .lint import lint_verilog
    cfg = resolve_config(args.config)
    with tempfile.TemporaryDirectory(prefix="sparseforge-lint-") as tmp:
        v_path, _ = generate(cfg, tmp)
        result = lint_verilog(v_path, cfg.name)
    if args.json:
        dump_json({"design": cfg.name, "clean": result.ok, "warnings": result.warnings})
    else:
        for line in result.warnings:
            print(line)
        state = "clean" if result.ok else f"{len(result.warnings)} warning(s)"
        print(f"{cfg.name}: Verilator lint -Wall {state} (waivers: constraints/"
              "verilator_waivers.vlt)")
    return 0 if result.ok else 1


def cmd_synth(args):
    from .api import synth
    cfg = resolve_config(args.config)
    progress = Progress(not args.quiet and not args.json)
    report = synth(cfg, args.flow, sram=args.sram, booth=args.booth, progress=progress).figures
    if args.json:
        dump_json(report)
    else:
        rows = [(key, value) for key, value in report.items()
                if not isinstance(value, (dict, list))]
        print(table(rows, ("figure", "value")))
    return 0


def cmd_test(args):
    from ..tb import runner
    cfg = resolve_config(args.config)
    arch = registry.of(cfg)
    logs = (_out_dir(args.log_dir, "--log-dir") if args.log_dir is not None
            else Path(tempfile.mkdtemp(prefix="sparseforge-")))
    seed = runner.fresh_seed() if args.seed is None else args.seed
    progress = Progress(not args.quiet)
    progress(f"seed {seed}")
    rows = []
    failed = False
    for simulator in runner.simulators_for(args.sim):
        start = time.monotonic()
        log = logs / f"{cfg.name}-{simulator}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("")
        bld = runner.build(cfg, simulator, progress=progress, log=log)
        progress(f"running the regression on {simulator} (seed {seed})")
        tests, failures, _ = runner.run_module(bld, arch.regression, seed=seed,
                                               log=log, results_dir=logs)
        failed |= bool(failures) or tests == 0
        rows.append((simulator, tests, failures, round(time.monotonic() - start, 1), str(log)))
    if args.json:
        dump_json([dict(zip(("simulator", "tests", "failures", "seconds", "log"), r))
                   for r in rows])
    else:
        print(table(rows, ("simulator", "tests", "failures", "seconds", "log")))
        print(f"{cfg.name}: {'FAILED' if failed else 'all passed'} (seed {seed})")
        if failed:
            sims = "all" if args.sim == "all" else args.sim
            print(f"reproduce with: sparseforge test {args.config} --sim {sims} --seed {seed}")
    return 1 if failed else 0


def cmd_run(args):
    from .api import run_parsed
    result = run_parsed(resolve_config(args.config), args)
    if args.json:
        dump_json(result.data)
    else:
        print(result.text)
    if args.wave is not None and not result.waves and not args.json:
        print("--wave: this run simulated no RTL; no waveform file written", file=sys.stderr)
    return 0 if result.ok else 1


def cmd_power(args):
    """Gate-level power of one workload: the netlist simulated on it, energy from its toggles."""
    from .power.job import design_power
    from .power.model import hooks_of
    cfg = resolve_config(args.config)
    arch = registry.of(cfg)
    check_run_options(args, arch)
    if args.wave is not None:
        raise InputError("--wave: not allowed with power (its simulation is of the gate-level "
                         "netlist; use 'run --wave')")
    if args.sim != "icarus":
        raise InputError(f"--sim: {args.sim} is not allowed with power; its gate-level netlist "
                         "(cells as Verilog primitives) runs on icarus")
    hooks = hooks_of(cfg)
    if args.cycles is not None and args.cycles < 1:
        raise InputError(f"--cycles: {args.cycles} is not allowed; expected a positive number of "
                         "cycles")
    progress = Progress(not args.quiet and not args.json)
    job = hooks.job(cfg, args)
    result = design_power(cfg, job, hooks, progress=progress, max_cycles=args.cycles)
    report = result.to_dict()
    if args.json:
        dump_json(report)
        return 0 if result.rtl_check is None else 1
    energy = result.energy
    print(f"{cfg.name} ({cfg.notation}): {job.label}")
    print(f"gate-level netlist: {result.cells:,} OSU 0.18 um cells, {result.area_um2:,.0f} um2, "
          f"{result.clock_gated_flops} clock-gated flip-flops; matches the RTL on "
          f"{result.checked:,} output values")
    if result.extra.get("excluded"):
        print(f"left out (black boxes simulated from their RTL, energy not counted): "
              f"{', '.join(result.extra['excluded'])}")
    window = (f"{result.cycles} cycles (the model's {result.model_cycles})"
              if args.cycles is None else f"the first {result.cycles} cycles of the job")
    print(f"{window} at {energy.period_s and 1e-6 / energy.period_s:g} MHz, "
          f"{energy.supply_v:g} V, input slew {energy.slew_ns:g} ns")
    print(table([(k, v, v / energy.total_pj if energy.total_pj else 0.0)
                 for k, v in energy.by_category.items()], ("category", "pJ", "share")))
    total = result.energy_pj            # logic and SRAM macros
    print(table([(k, v, v / total if total else 0.0)
                 for k, v in sorted(result.by_component.items(), key=lambda kv: -kv[1])],
                ("component", "pJ", "share")))
    cg = energy.clock_gating
    if cg["gated_flops"]:
        print(f"clock gating: {cg['gated_flops']} registers clocked in "
              f"{cg['enabled_cycles'] / cg['possible_cycles']:.1%} of their cycles, "
              f"{cg['saved_pj']:,.0f} pJ of clock energy saved (net of the clock gates)")
    sram = (f" ({energy.total_pj:,.0f} pJ logic, {result.sram_pj:,.0f} pJ SRAM macros)"
            if result.sram_pj else "")
    print(f"total {total:,.0f} pJ{sram}, {report['power_mw']:.2f} mW, "
          f"{report['tops_per_w']:.3f} effective TOPS/W")
    if result.rtl_check:
        print(f"RTL check: {result.rtl_check}")
    return 0 if result.rtl_check is None else 1


def cmd_formal(args):
    """Prove the stream handshake rules of every valid/ready channel of a design."""
    from .emit import generate
    from .formal import prove_verilog
    cfg = resolve_config(args.config)
    if args.depth < 1:
        raise InputError(f"--depth: {args.depth} is not allowed; expected a positive number of "
                         "cycles")
    progress = Progress(not args.quiet and not args.json)
    with tempfile.TemporaryDirectory(prefix="sparseforge-formal-") as tmp:
        progress(f"generating {cfg.name}")
        v_path, j_path = generate(cfg, tmp)
        ports = json.loads(j_path.read_text())["ports"]
        result = prove_verilog(v_path, cfg.name, ports, depth=args.depth,
                               work_dir=Path(tmp) / "sby", progress=progress)
    report = {"design": cfg.name, **result.to_dict()}
    if args.json:
        dump_json(report)
    else:
        print(table([(c["valid"], c["driven_by"], ", ".join(c["payload"]) or "-")
                     for c in report["channels"]], ("channel", "driven by", "payload")))
        verdict = {
            "proved": "proved: valid is never withdrawn and the payload stays stable while "
                      "stalled, on every channel the design drives, in every reachable state",
            "failed": "FAILED: a channel the design drives breaks the handshake rules (the "
                      f"counterexample is in {result.log})",
            "unproven": f"not proved: induction did not close at depth {args.depth} (no violation "
                        f"within {args.depth} cycles of reset; try a larger --depth; log "
                        f"{result.log})",
        }[result.status]
        print(f"{cfg.name}: {verdict} ({result.seconds:g} s)")
    return 0 if result.status == "proved" else 1


def cmd_demo(args):
    """The tour of the architecture of CONFIG (``make demo``: the default STA-VDBB design)."""
    cfg = resolve_config(args.config)
    arch = registry.of(cfg)
    if arch.demo is None:
        with_demo = [a.name for a in registry.architectures().values() if a.demo]
        raise InputError(f"demo: {cfg.name!r} is an arch {cfg.arch} design, which has no demo "
                         f"(the demo runs on arch {', '.join(with_demo)})")
    return registry.resolve(arch.demo)(cfg, args)


# -- parser ---------------------------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (exit status 2), like every other input error."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser():
    parser = _Parser(
        prog="sparseforge",
        description="Generate, verify and measure sparse CNN accelerators from the literature.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                parser_class=_Parser)

    def command(name, help_text, func, config=True):
        p = sub.add_parser(name, help=help_text, description=help_text)
        if config:
            p.add_argument("config", metavar="CONFIG",
                           help="a YAML config file or a preset name (see 'sparseforge presets')")
        p.set_defaults(func=func)
        return p

    p = command("presets", "list the shipped designs, one line each", cmd_presets, config=False)
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("layers", help="list the convolution layers of a network table",
                       description="List the convolution layers of a shipped network table "
                                   "(names usable with 'run --layer NET.LAYER').")
    p.add_argument("network", metavar="NET",
                   help="alexnet, googlenet, mobilenet_v1, resnet50 or vgg16")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_layers)

    p = command("generate", "write <name>.v and its manifest <name>.json", cmd_generate)
    p.add_argument("-o", "--out", default=".", metavar="DIR", help="output folder (default .)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")

    p = command("lint", "Verilator --lint-only -Wall with the documented waivers", cmd_lint)
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = command("synth", "Yosys synthesis: cells and flops, µm², or ECP5 LUTs and Fmax",
                cmd_synth)
    p.add_argument("--flow", choices=("generic", "liberty", "ecp5"), default="generic",
                   help="generic: Yosys internal cells; liberty: OSU 0.18 µm standard cells "
                        "(µm²); ecp5: nextpnr place and route (LUTs, DSPs, Fmax)")
    p.add_argument("--sram", choices=("macro", "logic"), default="macro",
                   help="accelerator SRAMs in the generic and liberty flows: macro (default) keeps "
                        "them as black boxes, reported as bits and, for liberty, µm² from a "
                        "per-bit model (area_um2 is logic only, total_area_um2 adds them); logic "
                        "synthesizes them to flip-flops (slow for large SRAMs)")
    p.add_argument("--booth", action="store_true",
                   help="liberty flow: Booth-encoded multipliers (Yosys synth -booth)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")

    p = command("test", "run the cocotb regression of a config on Icarus and/or Verilator",
                cmd_test)
    p.add_argument("--sim", choices=("icarus", "verilator", "all"), default="all")
    p.add_argument("--seed", type=seed,
                   help="seed of the random tests (default: a fresh one, printed)")
    p.add_argument("--log-dir", metavar="DIR", help="where to keep simulator logs")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")

    p = command("run", "run a workload through the generated RTL: result, cycles, model, "
                       "utilization", cmd_run)
    add_run_options(p)

    p = sub.add_parser("spex", help="Spex: search per-layer Sparse-Blox thresholds for a trained "
                                     "network (NSGA-II), Pareto front and thresholds file",
                       description=spex.__doc__.splitlines()[0].split(": ", 1)[1])
    spex.add_arguments(p)
    p.set_defaults(func=spex.cmd_spex)

    from .sweep import command as sweep
    p = sub.add_parser("sweep", help="sweep a design space on Dask (local or a cluster): "
                                      "table, CSV/JSON lines, Pareto plots; resumable",
                       description=sweep.DESCRIPTION, epilog=sweep.EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    sweep.add_arguments(p)
    p.set_defaults(func=sweep.cmd_sweep)

    from .reproduce import command as reproduce
    p = sub.add_parser("reproduce", help="regenerate a seed paper's headline tables and figures "
                                          "beside its own numbers: Markdown report, plots, JSON",
                       description=reproduce.DESCRIPTION, epilog=reproduce.EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    reproduce.add_arguments(p)
    p.set_defaults(func=reproduce.cmd_reproduce)

    p = command("power", "gate-level power of a workload: the OSU 0.18 um netlist simulated on it "
                         "(Icarus), energy from every net's toggles and the liberty's tables",
                cmd_power)
    add_run_options(p)
    p.set_defaults(sim="icarus")        # the gate-level netlist runs on Icarus
    next(a for a in p._actions if a.dest == "sim").help = "icarus (the only simulator of the " \
        "gate-level netlist; the default)"
    p.add_argument("--cycles", type=int, metavar="N",
                   help="measure only the first N cycles of the job (default: all of them)")

    p = command("formal", "prove the valid/ready handshake rules on every stream port "
                          "(SymbiYosys, k-induction with Z3)", cmd_formal)
    p.add_argument("--depth", type=int, default=8, metavar="N",
                   help="induction depth in cycles (default 8)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")

    p = sub.add_parser("demo", help="the tour: generate, lint, run 8/8, 4/8, 2/8, area",
                       description="Generate the default design, lint it, run one GEMM at three "
                                   "densities on Verilator, and synthesize it.")
    p.add_argument("config", metavar="CONFIG", nargs="?", default=DEFAULT_PRESET)
    p.add_argument("-o", "--out", default="out/demo", metavar="DIR")
    p.add_argument("--seed", type=seed, default=1)
    p.set_defaults(func=cmd_demo)
    return parser


def _no_nul(argv):
    """Refuse an argument holding a NUL character, which no file name or value can contain (the
    operating system would refuse it later, as an exception)."""
    for i, arg in enumerate(argv):
        if "\0" in arg:
            option = argv[i - 1] if i and argv[i - 1].startswith("-") else "argument"
            raise InputError(f"{option}: {arg!r} is not allowed; expected text without NUL "
                             "characters")


def main(argv=None):
    """The ``sparseforge`` command: 0 on success, 1 when a check or a tool failed, 2 on bad
    input; every failure is one line on stderr, never a traceback."""
    try:
        _no_nul(sys.argv[1:] if argv is None else list(argv))
        parser = build_parser()
        args = parser.parse_args(argv)
        return args.func(args)
    except InputError as e:
        print(f"sparseforge: error: {e}", file=sys.stderr)
        return 2
    except ToolFailure as e:
        print(f"sparseforge: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sparseforge: interrupted", file=sys.stderr)
        return 130


def main_captured(argv):
    """``main(argv)`` in this process with its output captured: ``(status, stdout, stderr)``.

    For callers that want the command's own figures (its ``--json``) as data: the sweep's jobs
    and :mod:`~sparseforge.gen.api`.
    """
    import contextlib
    import io
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    return status, out.getvalue(), err.getvalue()


if __name__ == "__main__":
    sys.exit(main())
