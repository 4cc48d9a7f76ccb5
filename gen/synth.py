"""Synthesis flows: Yosys cell counts, OSU 0.18 µm standard-cell area, ECP5 place-and-route figures.

Three flows, all from the YoWASP builds of Yosys and nextpnr (see :mod:`.toolchain`), each run as a
subprocess with its script and log kept in a work directory:

``generic``
    ``synth -flatten`` to Yosys's internal gate library: technology-independent cell and flip-flop
    counts, the quickest figure to compare designs by.
``liberty``
    The same, then flip-flops and logic mapped onto the OSU 0.18 µm standard cells
    (``dfflibmap``, ``abc -D`` at the clock period): chip area in µm², as the STA paper's
    Table IV reports logic area, and the critical path's delay (:mod:`.timing`).
``ecp5``
    ``synth_ecp5`` and nextpnr-ecp5 out of context on the smallest LFE5U that fits: LUTs,
    flip-flops, DSP multipliers and the Fmax achieved.

The clock target of the last two comes from ``constraints/clocks.toml`` (:data:`CLOCKS`).
Large memories can be kept out of the logic figures as black boxes (``blackbox_modules``), as an
ASIC flow with an SRAM compiler would; the black-box instances are counted, not sized.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import tomllib
from functools import lru_cache
from pathlib import Path

from .errors import InputError, ToolFailure
from .timing import critical_path
from .toolchain import CONSTRAINTS, ToolError, liberty_path, nextpnr_ecp5_command, yosys_command

__all__ = ["FLOWS", "CLOCKS", "CLOCK_PORT", "ECP5_DEVICES", "SRAM_UM2_PER_BIT", "clock_constraints",
           "target_mhz", "synth", "sram_figures", "liberty_netlist"]

FLOWS = ("generic", "liberty", "ecp5")

#: The clock constraint file of the synthesis flows.
CLOCKS = CONSTRAINTS / "clocks.toml"

#: Area of one bit of an SRAM macro in 0.18 µm, µm²: a 6T cell of about 4.6 µm² with its share of
#: decoders, sense amplifiers and I/O at the array efficiency of macros of a few KB (≈ 58 %). An
#: assumption standing for an SRAM compiler's figures, used for every black-boxed SRAM macro.
SRAM_UM2_PER_BIT = 8.0

#: The clock port of every generated design: Amaranth's default ``sync`` domain.
CLOCK_PORT = "clk"

#: ECP5 parts tried in order of size: (nextpnr option, part, LUT4s, MULT18X18Ds, DP16KDs).
ECP5_DEVICES = (
    ("--25k", "LFE5U-25F", 24288, 28, 56),
    ("--45k", "LFE5U-45F", 43848, 72, 108),
    ("--85k", "LFE5U-85F", 83640, 156, 208),
)
_ECP5_PACKAGE = "CABGA381"      # offered by all three; unused out of context, but must be named
_ECP5_LUT_FILL = 0.9            # leave the packer and placer some room

# Yosys's internal flip-flop gates ($_DFF_P_, $_SDFFE_PP0P_, $_DFFSR_PNN_, $_ALDFFE_..., $_FF_)
# and latches ($_DLATCH_P_, $_DLATCHSR_...), each one bit.
_YOSYS_FLOP = re.compile(r"\$_(DFF|DFFE|DFFSR|DFFSRE|SDFF|SDFFE|SDFFCE|ALDFF|ALDFFE|FF)_")
_YOSYS_LATCH = re.compile(r"\$_DLATCH")
# Cells that carry no logic: flatten leaves one $scopeinfo per former module instance.
_NOT_LOGIC = ("$scopeinfo",)


def clock_constraints(path=CLOCKS):
    """The clock targets of a constraint file: ``{port name: frequency in MHz}``.

    Raises
    ------
    InputError
        The file is missing, is not TOML, or a clock has no positive ``frequency_mhz``.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except OSError as e:
        raise InputError(f"clocks: cannot read {str(path)!r} ({e.strerror})") from None
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"clocks: {str(path)!r} is not valid TOML ({e})") from None
    clocks = raw.get("clocks")
    if not isinstance(clocks, dict) or not clocks:
        raise InputError(f"clocks: {str(path)!r} has no [clocks.<port>] table")
    targets = {}
    for port, table in clocks.items():
        mhz = table.get("frequency_mhz") if isinstance(table, dict) else None
        if isinstance(mhz, bool) or not isinstance(mhz, (int, float)) or not mhz > 0:
            raise InputError(f"clocks.{port}.frequency_mhz: {mhz!r} is not allowed; expected a "
                             f"positive number of MHz (in {path})")
        targets[port] = float(mhz)
    return targets


def target_mhz(port=CLOCK_PORT, path=CLOCKS):
    """The target frequency of clock ``port`` in MHz, from the constraint file."""
    targets = clock_constraints(path)
    if port not in targets:
        raise InputError(f"clocks: no [clocks.{port}] in {path}")
    return targets[port]


def _path(path, work_dir):
    """A file as a YoWASP tool running in ``work_dir`` must name it: relative, quoted."""
    # YoWASP tools run in WebAssembly and see their own private /tmp, so an absolute path under
    # /tmp (pytest's, tempfile's) names nothing; relative paths reach the host's directories
    # through the parent directories of the working directory, which YoWASP maps.
    relative = os.path.relpath(path, work_dir)
    # Yosys scripts split arguments on blanks; double quotes keep a path with spaces whole.
    return '"' + relative.replace('"', '\\"') + '"'


def _front_end(verilog_path, work_dir, blackbox_modules):
    lines = [f"read_verilog {_path(verilog_path, work_dir)}"]
    for module in blackbox_modules:
        # Amaranth names submodules by hierarchy path ("top.array.tpe_0_0"); the dots are plain
        # characters to Yosys's selection syntax, so the name selects exactly that module.
        lines.append(f"blackbox {module}")
    return lines


def _last_error(log_path, marker="ERROR:"):
    """The last error line of a tool log, for a one-line message."""
    try:
        lines = Path(log_path).read_text(errors="replace").splitlines()
    except OSError:
        return None
    errors = [line.strip() for line in lines if line.lstrip().startswith(marker)]
    return errors[-1] if errors else None


def _run(command, log_path, cwd, what):
    """Run a tool with all its output in ``log_path``; raise ToolFailure if it fails."""
    with open(log_path, "w") as log:
        try:
            result = subprocess.run(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        except OSError as e:
            raise ToolError(f"{what}: cannot run {command[0]!r} ({e.strerror})") from None
    if result.returncode != 0:
        error = _last_error(log_path)
        detail = f": {error}" if error else ""
        raise ToolFailure(what, log_path, detail=f"status {result.returncode}{detail}")


def _run_yosys(script_lines, work_dir, what):
    (work_dir / "synth.ys").write_text("\n".join(script_lines) + "\n")
    log = work_dir / "yosys.log"
    _run(yosys_command() + ["-s", "synth.ys"], log, work_dir, what)
    return log


def _read_stat(path):
    """The design-wide totals of a ``stat -json`` file, with non-logic cells left out."""
    stat = json.loads(Path(path).read_text())
    design = stat.get("design")
    if design is None:              # a single module and no hierarchy: its entry is the design
        (design,) = stat["modules"].values()
    types = {name.lstrip("\\"): count
             for name, count in design.get("num_cells_by_type", {}).items()
             if name not in _NOT_LOGIC}
    return design, dict(sorted(types.items()))


def _counts(cell_types, is_flop, is_latch, blackbox_modules):
    return {
        "cells": sum(n for name, n in cell_types.items() if name not in blackbox_modules),
        "flops": sum(n for name, n in cell_types.items() if is_flop(name)),
        "latches": sum(n for name, n in cell_types.items() if is_latch(name)),
    }


def _blackbox_counts(cell_types, blackbox_modules):
    return {name: cell_types[name] for name in blackbox_modules if name in cell_types}


@lru_cache(maxsize=None)
def _liberty_sequential(path):
    """Names of the flip-flop cells and of the latch cells of a liberty file."""
    text = Path(path).read_text(errors="replace")
    flops, latches = set(), set()
    cell = re.compile(r'\bcell\s*\(\s*"?([\w$.]+)"?\s*\)')
    starts = [(m.start(), m.group(1)) for m in cell.finditer(text)]
    for (start, name), (end, _) in zip(starts, starts[1:] + [(len(text), None)]):
        body = text[start:end]
        if re.search(r"\bff\s*\(", body):
            flops.add(name)
        elif re.search(r"\blatch\s*\(", body):
            latches.add(name)
    return frozenset(flops), frozenset(latches)


def _generic(verilog_path, top, work_dir, blackbox_modules, progress):
    progress(f"synth: yosys generic synthesis of {top}")
    _run_yosys(_front_end(verilog_path, work_dir, blackbox_modules) + [
        f"synth -flatten -top {top}",
        "stat",
        "tee -q -o stat.json stat -json",
    ], work_dir, f"yosys: generic synthesis of {top!r}")
    _design, types = _read_stat(work_dir / "stat.json")
    result = _counts(types, lambda t: bool(_YOSYS_FLOP.match(t)),
                     lambda t: bool(_YOSYS_LATCH.match(t)), blackbox_modules)
    result["cell_types"] = types
    return result


def _liberty(verilog_path, top, work_dir, blackbox_modules, progress, booth=False):
    lib = liberty_path()
    lib_arg = _path(lib, work_dir)
    mhz = target_mhz()
    period_ps = round(1e6 / mhz)
    progress(f"synth: yosys synthesis of {top} to OSU 0.18 um cells at {mhz:g} MHz")
    _run_yosys(_front_end(verilog_path, work_dir, blackbox_modules) + [
        f"synth -flatten{' -booth' if booth else ''} -top {top}",
        f"dfflibmap -liberty {lib_arg}",
        f"abc -liberty {lib_arg} -D {period_ps}",
        "opt_clean",
        f"stat -liberty {lib_arg}",
        f"tee -q -o stat.json stat -json -liberty {lib_arg}",
        "write_json mapped.json",
    ], work_dir, f"yosys: liberty synthesis of {top!r}")
    design, types = _read_stat(work_dir / "stat.json")
    path = critical_path(json.loads((work_dir / "mapped.json").read_text()), top, lib)
    flops, latches = _liberty_sequential(str(lib))
    result = _counts(types, flops.__contains__, latches.__contains__, blackbox_modules)
    result.update({
        "area_um2": float(design["area"]),
        "sequential_area_um2": float(design.get("sequential_area", 0.0)),
        "period_ps": period_ps,
        "critical_path_ns": path["delay_ns"],
        "critical_path_levels": path["levels"],
        "critical_path_from": path["startpoint"],
        "critical_path_to": path["endpoint"],
        "booth": booth,
        "cell_types": types,
    })
    return result


def liberty_netlist(verilog_path, top, work_dir, *, icg_map, clock_gated=(),
                    blackbox_modules=(), progress=None):
    """The liberty flow's mapped netlist for gate-level simulation and power: ``netlist.json``.

    The same steps as the ``liberty`` flow (OSU 0.18 µm cells, ``abc -D`` at the clock target),
    with three differences that power analysis needs:

    * each module is mapped on its own and the design is flattened only at the end, so every cell
      keeps the instance path of its RTL block in its name (``$flatten\\array.\\tpe_0_0.$abc$…``)
      and energy can be attributed to blocks (cross-module optimisation is lost: the area is a
      little larger than the ``liberty`` flow's, and is reported);
    * the registers named by ``clock_gated`` get clock gating: Yosys ``clockgate`` moves their
      enable onto an integrated clock-gating cell ``$__SF_ICG`` (E, CK, GCLK), which ``icg_map``
      (a techmap file) builds from library cells, so the gated clock is an ordinary net of the
      netlist. Their synchronous reset is first folded into data and enable (the enable becomes
      ``enable | reset``, the reset stays on the register), and the other flip-flops of the same
      modules lose their enables to logic, because ``clockgate`` works on whole modules;
    * the mapped netlist is written as JSON (``write_json``) for :mod:`sparseforge.gen.power`.

    Parameters
    ----------
    clock_gated : sequence of str
        Registers as hierarchical paths below the top with ``*`` wildcards, e.g.
        ``"array.tpe_*.mac_*.acc"``: the flip-flops driving those signals are clock-gated.
    icg_map : str or Path
        Techmap file defining module ``$__SF_ICG`` from library cells.

    Returns
    -------
    dict
        ``netlist`` (path of the JSON netlist), ``area_um2``, ``cells``, ``cell_types``,
        ``period_ps``, ``clock_gated_flops`` (flip-flops moved onto gated clocks).
    """
    lib = liberty_path()
    lib_arg = _path(lib, work_dir)
    mhz = target_mhz()
    period_ps = round(1e6 / mhz)
    progress = progress or (lambda line: None)
    progress(f"power: yosys synthesis of {top} to OSU 0.18 um cells, block by block")
    lines = [f"read_liberty -lib {lib_arg}"] + _front_end(verilog_path, work_dir, blackbox_modules)
    lines.append(f"synth -top {top}")
    if clock_gated:
        wires = " ".join(_hier_wire(top, path) for path in clock_gated)
        lines += [
            f"select -set sf_cg_wires {wires}",
            "select -set sf_cg_ffs @sf_cg_wires %ci1:+[Q] @sf_cg_wires %d",
            "select -set sf_cg_mods @sf_cg_ffs %m",
            "select -set sf_other_ffs @sf_cg_mods t:$_*DFF* %i @sf_cg_ffs %d",
            # A synchronous reset has priority over the enable; as "enable over reset" with the
            # enable widened to enable | reset the register behaves the same, and clockgate can
            # move that enable onto the clock (the reset stays on the register).
            "dfflegalize -cell $_SDFFCE_PP?P_ 01 -cell $_DFFE_PP_ 01 -cell $_SDFF_PP?_ 01 "
            "-cell $_DFF_P_ 01 @sf_cg_ffs",
            "dfflegalize -cell $_SDFF_PP?_ 01 -cell $_DFF_P_ 01 @sf_other_ffs",
            # One enable net (and one clock gate) per register, not one per bit.
            "opt_merge",
            "opt_clean",
            "tee -q -o clockgate.txt select -count @sf_cg_ffs",
            "clockgate -pos $__SF_ICG E:CK:GCLK @sf_cg_mods",
            f"techmap -map {_path(icg_map, work_dir)} t:$__SF_ICG",
        ]
    lines += [
        f"dfflibmap -liberty {lib_arg}",
        f"abc -liberty {lib_arg} -D {period_ps}",
        "opt_clean",
        "flatten",
        "opt_clean",
        f"tee -q -o stat.json stat -json -liberty {lib_arg}",
        "write_json netlist.json",
    ]
    _run_yosys(lines, work_dir, f"yosys: power netlist of {top!r}")
    design, types = _read_stat(work_dir / "stat.json")
    gated = 0
    if clock_gated:
        text = (work_dir / "clockgate.txt").read_text()
        match = re.search(r"(\d+) objects", text)
        gated = int(match.group(1)) if match else 0
    return {
        "netlist": work_dir / "netlist.json",
        "area_um2": float(design.get("area", 0.0)),     # absent when no library cell is left
        "cells": sum(n for name, n in types.items() if name not in blackbox_modules),
        "cell_types": types,
        "period_ps": period_ps,
        "clock_gated_flops": gated,
    }


def _hier_wire(top, path):
    """A Yosys selection of the wire at hierarchical ``path`` (``a.b.sig``) below ``top``."""
    scope, _, wire = path.rpartition(".")
    module = f"{top}.{scope}" if scope else top
    return f"{module}/w:{wire}"


def _ecp5_fits(types):
    """The ECP5 parts whose resources hold a synthesized netlist, smallest first."""
    # A CCU2C (two bits of carry chain) occupies two LUT4 sites; a 16x4 LUT RAM two as well.
    luts = types.get("LUT4", 0) + 2 * types.get("CCU2C", 0) + 2 * types.get("TRELLIS_DPR16X4", 0)
    dsps = types.get("MULT18X18D", 0)
    brams = types.get("DP16KD", 0)
    fits = [device for device in ECP5_DEVICES
            if luts <= _ECP5_LUT_FILL * device[2] and dsps <= device[3] and brams <= device[4]]
    return fits, luts, dsps


def _fmax(report, clock):
    """Achieved Fmax of ``clock`` from a nextpnr report (its net may be renamed $glbnet$clk)."""
    for net, timing in report.get("fmax", {}).items():
        if net == clock or net.endswith("$" + clock):
            return float(timing["achieved"])
    return None


def _ecp5(verilog_path, top, work_dir, blackbox_modules, progress):
    if blackbox_modules:
        raise InputError("synth: the ecp5 flow cannot place black boxes; "
                         "use the generic or liberty flow for blackbox_modules")
    mhz = target_mhz()
    progress(f"synth: yosys synth_ecp5 of {top}")
    abc9 = True
    for option in ("", " -noabc9"):
        try:
            _run_yosys(_front_end(verilog_path, work_dir, ()) + [
                f"synth_ecp5{option} -top {top} -json netlist.json",
                "stat",
                "tee -q -o stat.json stat -json",
            ], work_dir, f"yosys: ECP5 synthesis of {top!r}")
            break
        except ToolFailure:
            # Yosys 0.70's ABC9 reintegration asserts on some designs (the VDBB arrays:
            # "Assert `GetSize(conn.first) == GetSize(conn.second)' failed", a message the
            # WebAssembly build does not always flush to its log); the classic ABC LUT mapper
            # maps them. A failure without ABC9 is reported.
            if option:
                raise
            progress(f"synth: ABC9 failed on {top}; mapping with synth_ecp5 -noabc9")
            abc9 = False
    _design, types = _read_stat(work_dir / "stat.json")
    fits, luts, dsps = _ecp5_fits(types)
    if not fits:
        raise ToolError(f"ecp5: {top!r} needs about {luts} LUTs and {dsps} multipliers, more "
                        f"than an {ECP5_DEVICES[-1][1]} holds")
    log = work_dir / "nextpnr.log"
    for option, part, *_ in fits:
        progress(f"synth: nextpnr-ecp5 place and route of {top} on {part} at {mhz:g} MHz")
        # Out of context: the generated tops have hundreds of port bits, more than any package
        # has pins, and stand for a block inside a larger chip. No I/O buffers are inserted and
        # Fmax is the register-to-register figure. A missed target is a result, not a failure.
        command = nextpnr_ecp5_command() + [
            option, "--package", _ECP5_PACKAGE, "--json", "netlist.json",
            "--out-of-context", "--freq", f"{mhz:g}", "--timing-allow-fail", "--seed", "1",
            "--report", "report.json",
        ]
        try:
            _run(command, log, work_dir, f"nextpnr-ecp5: place and route of {top!r} on {part}")
            break
        except ToolFailure:
            # Only a full device is worth a bigger one; any other failure is reported at once.
            error = (_last_error(log) or "").lower()
            if option == fits[-1][0] or not ("utilisation" in error or "place" in error):
                raise
    report = json.loads((work_dir / "report.json").read_text())
    used = {name: entry["used"] for name, entry in report.get("utilization", {}).items()}
    return {
        "device": part,
        "luts": used.get("TRELLIS_COMB", luts),
        "flops": used.get("TRELLIS_FF", types.get("TRELLIS_FF", 0)),
        "dsps": used.get("MULT18X18D", dsps),
        "brams": used.get("DP16KD", types.get("DP16KD", 0)),
        "fmax_mhz": _fmax(report, CLOCK_PORT),
        "target_mhz": mhz,
        "abc9": abc9,
        "cell_types": types,
    }


_FLOW_FUNCTIONS = {"generic": _generic, "liberty": _liberty, "ecp5": _ecp5}


def synth(verilog_path, top, flow="generic", *, work_dir=None, progress=None,
          blackbox_modules=(), booth=False):
    """Synthesize ``top`` from ``verilog_path`` with one flow and return its figures.

    Parameters
    ----------
    verilog_path : str or Path
        A Verilog file holding ``top`` and every module below it (``sparseforge generate``'s
        ``<name>.v``).
    top : str
        Name of the top module.
    flow : {"generic", "liberty", "ecp5"}
        Which flow to run (see the module docstring).
    work_dir : str or Path, optional
        Where the scripts, logs (``yosys.log``, ``nextpnr.log``), ``stat.json``, the ECP5 netlist
        and ``report.json`` are kept. By default a temporary directory, removed on success and
        kept on failure so that the error can name its log.
    progress : callable, optional
        Called with one line of text as each tool starts (for a user-visible progress display).
    blackbox_modules : sequence of str
        Modules to keep as black boxes (e.g. large memories, sized separately like SRAM macros);
        their instances are counted under ``"blackboxes"`` and contribute no cells or area.
        Not supported by the ``ecp5`` flow.
    booth : bool
        ``liberty`` flow only: map multipliers to Booth-encoded ones (Yosys ``synth -booth``).

    Returns
    -------
    dict
        For every flow: ``flow``, ``top``, ``seconds`` (wall time), ``work_dir`` (None if it was
        temporary), ``flops``, ``cell_types`` ({cell type: count} after synthesis).

        ``generic``: ``cells`` counts Yosys's internal gates (black boxes excluded); ``flops``
        the flip-flop bits (every ``$_DFF*``, ``$_SDFF*``, ``$_ALDFF*``, ``$_FF_`` gate),
        ``latches`` the latch bits; ``blackboxes`` ({module: instances}).

        ``liberty``: ``area_um2`` (chip area), ``sequential_area_um2``, ``period_ps`` (the ABC
        delay target), ``critical_path_ns``, ``critical_path_levels``, ``critical_path_from``
        and ``critical_path_to`` (the longest register-to-register path by
        :func:`sparseforge.gen.timing.critical_path`, clock-to-Q and setup included),
        ``booth``, ``cells``, ``flops`` (liberty flip-flop cells such as DFFPOSX1, DFFSR),
        ``latches``, ``blackboxes``.

        ``ecp5``: ``device`` (e.g. "LFE5U-25F"), ``luts`` (LUT4 sites used, carry chains
        included), ``flops``, ``dsps`` (MULT18X18D), ``brams`` (DP16KD), ``fmax_mhz`` (achieved
        Fmax of ``clk``, None without clocked logic), ``target_mhz``, ``abc9`` (False when
        Yosys's ABC9 mapper failed and the classic ABC LUT mapper was used); the figures are
        nextpnr's after placement and routing.

    Raises
    ------
    InputError
        ``verilog_path`` is not a file, ``flow`` is unknown, the clock constraint file is bad, or
        ``blackbox_modules`` is given to the ecp5 flow.
    ToolError
        A tool is missing, or the design is larger than the largest ECP5 part.
    ToolFailure
        A tool failed (the message names the step and its log).
    """
    verilog_path = Path(verilog_path).resolve()
    if flow not in _FLOW_FUNCTIONS:
        raise InputError(f"synth: flow {flow!r} is not allowed; expected one of "
                         f"{', '.join(FLOWS)}")
    if not verilog_path.is_file():
        raise InputError(f"synth: {str(verilog_path)!r} is not a Verilog file")
    blackbox_modules = tuple(blackbox_modules)
    progress = progress if progress is not None else (lambda line: None)

    temporary = work_dir is None
    work = Path(tempfile.mkdtemp(prefix=f"sparseforge-{flow}-")) if temporary else Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    work = work.resolve()
    start = time.monotonic()
    if booth and flow != "liberty":
        raise InputError(f"synth: booth is an option of the liberty flow, not of {flow!r}")
    options = {"booth": booth} if flow == "liberty" else {}
    result = _FLOW_FUNCTIONS[flow](verilog_path, top, work, blackbox_modules, progress, **options)
    seconds = time.monotonic() - start
    if flow != "ecp5":
        result["blackboxes"] = _blackbox_counts(result["cell_types"], blackbox_modules)
    if temporary:
        shutil.rmtree(work, ignore_errors=True)
    return {"flow": flow, "top": top, "seconds": round(seconds, 2),
            "work_dir": None if temporary else str(work), **result}


def sram_figures(macros, flow):
    """What a synthesis report adds for SRAM macros kept as black boxes.

    ``macros`` is a design's ``memory_macros()`` list (``module``, ``words``, ``width``). Returns
    ``sram_bits`` and, for the ``liberty`` flow, ``sram_area_um2`` from :data:`SRAM_UM2_PER_BIT`;
    empty without macros.
    """
    if not macros:
        return {}
    bits = sum(m["words"] * m["width"] for m in macros)
    figures = {"sram_bits": bits}
    if flow == "liberty":
        figures["sram_area_um2"] = bits * SRAM_UM2_PER_BIT
    return figures
