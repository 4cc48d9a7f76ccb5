"""sparseforge from Python: configs, components to instantiate, generation, synthesis and runs.

For an Amaranth user, any architecture's top is a :class:`amaranth.lib.wiring.Component`::

    from amaranth import Module
    from amaranth.lib import wiring
    from sparseforge.gen import api

    cfg = api.config({"arch": "sta", "kind": "sa", "array": {"m": 2, "n": 2}}, name="gemm")
    engine = api.component(cfg)           # ports: job, act, weight (stream sinks), result, busy
    m = Module()
    m.submodules.gemm = engine            # ...and connect its streams to the enclosing design
    wiring.connect(m, my_feeder.act, engine.act)

For a Python user, :func:`generate`, :func:`synth`, :func:`run` and :func:`reproduce` do what
the ``sparseforge`` commands do and return dataclasses; they are what the commands call (the
commands parse their arguments and print the results).
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

from . import registry
from .config import config_to_dict, parse_config
from .errors import InputError
from .presets import load_preset
from .run_result import RunResult

__all__ = ["Generated", "RunResult", "Synthesis", "component", "config", "generate",
           "reproduce", "run", "run_parsed", "synth"]


def config(spec, name=None):
    """A validated config from a mapping (the YAML a user writes) or a preset's name.

    Raises :class:`~sparseforge.gen.errors.ConfigError` (an ``InputError``) naming the first bad
    key, exactly as the CLI does.
    """
    if isinstance(spec, str):
        cfg = load_preset(spec)
        return cfg if name is None else parse_config({**config_to_dict(cfg), "name": name})
    raw = dict(spec)
    if name is not None:
        raw["name"] = name
    return parse_config(raw, default_name=raw.get("name", "design"))


def component(cfg):
    """The top-level :class:`~amaranth.lib.wiring.Component` of ``cfg``, to instantiate in an
    Amaranth design (its ports and contract are its architecture's top's docstring)."""
    return registry.of(cfg).build_top(cfg)


@dataclass(frozen=True)
class Generated:
    """What :func:`generate` wrote."""

    verilog: Path
    manifest: Path
    files: tuple          # every file written, the Verilog first

    def manifest_data(self):
        return json.loads(self.manifest.read_text())


def generate(cfg, out_dir):
    """Write the design's files as ``sparseforge generate`` does; a :class:`Generated`."""
    from .emit import write_design
    files = tuple(write_design(cfg, out_dir))
    return Generated(files[0], files[1], files)


@dataclass(frozen=True)
class Synthesis:
    """One synthesis flow's figures (``figures`` holds all of them, as ``synth --json``)."""

    design: str
    flow: str
    cells: int | None
    flops: int | None
    area_um2: float | None
    figures: dict = field(repr=False)


def synth(cfg, flow="generic", *, sram="macro", booth=False, progress=None):
    """Synthesize ``cfg`` with one flow (``generic``, ``liberty``, ``ecp5``); a
    :class:`Synthesis` (``figures``: what ``sparseforge synth --json`` prints, which calls this).

    ``sram="macro"``: the architecture's SRAM macros stay black boxes in the ASIC flows (an SRAM
    compiler would supply them) and are sized by the per-bit model; the ECP5 flow maps them to
    block RAM. ``sram="logic"`` synthesizes them. ``booth`` (liberty flow): Booth-encoded
    multipliers (Yosys ``synth -booth``). Raises ``ToolFailure`` (with a kept copy of
    the tool's log) if Yosys fails."""
    import tempfile

    from .emit import generate as emit
    from .errors import ToolFailure
    from .synth import sram_figures
    from .synth import synth as run_yosys
    from .toolchain import keep_log

    if booth and flow != "liberty":
        from .errors import InputError
        raise InputError(f"synth: booth is an option of the liberty flow, not of {flow!r}")
    progress = progress or (lambda message: None)
    macros = (registry.of(cfg).memory_macros(cfg)
              if flow != "ecp5" and sram == "macro" else [])
    with tempfile.TemporaryDirectory(prefix="sparseforge-synth-") as tmp:
        progress(f"generating {cfg.name}")
        v_path, _ = emit(cfg, tmp)
        try:
            report = run_yosys(v_path, cfg.name, flow, work_dir=Path(tmp) / "work",
                               progress=progress, blackbox_modules=[m["module"] for m in macros],
                               booth=booth)
        except ToolFailure as e:        # its log lives in the temporary folder: keep a copy
            raise ToolFailure(e.what, keep_log(e.log, f"{cfg.name}-synth-{flow}"),
                              e.detail) from None
    report = {"design": cfg.name, "flow": flow, **report, **sram_figures(macros, flow)}
    if "sram_area_um2" in report:
        report["total_area_um2"] = report["area_um2"] + report["sram_area_um2"]
    if macros:      # the instances Yosys found, summed: one figure, not one per bank
        report["sram_macros"] = sum(report.pop("blackboxes").values())
    return Synthesis(cfg.name, flow, report.get("cells"), report.get("flops"),
                     report.get("total_area_um2", report.get("area_um2")), report)


def run(cfg, **options):
    """Run a workload on ``cfg`` as ``sparseforge run`` does; a
    :class:`~sparseforge.gen.run_result.RunResult` (``data``: what ``run --json`` prints).

    Options by the command's names, values as Python or as the command's text:
    ``gemm=(16, 64, 16)`` or ``gemm="16,64,16"``, ``nnz=2``, ``conv=...``, ``layer=...``,
    ``network=...``, ``model=...``, ``model_only=True``, ``sim="icarus"``, ``wave="run.vcd"``, ...
    No progress lines unless ``quiet=False``.

    Raises
    ------
    TypeError
        An option that ``run`` does not have.
    InputError
        Bad input, with the command's one line (which exits with status 2).
    ToolFailure
        A simulator failed on a valid input.
    """
    from .run_options import parse_run_options
    return run_parsed(cfg, parse_run_options({"quiet": True, **options}))


def run_parsed(cfg, args):
    """:func:`run` with the options already parsed (``args``: the ``run`` command's namespace);
    what the command calls."""
    from ..tb.runner import record_waves
    from .run_options import check_run_options, check_run_paths
    arch = registry.of(cfg)
    check_run_options(args, arch)
    wave = check_run_paths(args)
    with record_waves(wave) as written:
        output = arch.run_function()(cfg, args)
    return RunResult.of(cfg.name, _kind(args, arch), output, written)


def _kind(args, arch):
    for kind in ("model", "network", "layer", "conv", "gemm"):
        if getattr(args, kind, None) is not None:
            return kind
    names = arch.option_names()       # operands from files: the architecture's workload
    return "gemm" if "gemm" in names else "conv" if "conv" in names else "jobs"


def reproduce(paper, out_dir, *, quick=False):
    """Reproduce a seed paper (``sta``, ``scnn``, ``sparseblox``, ``ccr``, ``sparsecore``) as
    ``sparseforge reproduce`` does, writing ``PAPER.md``, ``PAPER.json`` and its plots into
    ``out_dir``; the :class:`~sparseforge.gen.reproduce.rows.Report` (its ``rows``: the paper's
    number, ours, ``matches``/``differs``/``cannot`` and why). Raises ``InputError`` for a paper
    that is not one of them."""
    from .reproduce import PAPERS, reproduce_into
    if paper not in PAPERS:
        raise InputError(f"paper: {paper!r} is not a seed paper; expected one of "
                         f"{', '.join(PAPERS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return reproduce_into(paper, out, quick=quick)[0]
