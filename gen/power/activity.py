"""Switching activity: value-change dumps in, per-net toggle counts and per-cycle port values out.

Two simulations feed the power flow, both with Icarus Verilog and its ``$dumpvars``:

1. The RTL of a design runs its workload under the architecture's own cocotb bench, with a dump of
   the top module's signals; :func:`port_trace` samples every port just before each rising clock
   edge, which is what the design's flip-flops see (the benches change inputs only at edges).
2. The mapped gate-level netlist replays those input values cycle by cycle in a plain Verilog test
   bench (:func:`replay`) that dumps every net; :func:`count_toggles` counts each net's rising and
   falling transitions in a window of cycles. The replay also samples the outputs before each edge,
   so the netlist can be checked cycle by cycle against the RTL it was synthesised from.

A VCD is read line by line; only scalar changes (``0!``, ``1!``) count as net toggles, and a change
from or to ``x``/``z`` is not a toggle. Vector values (``b0101 #``) are read for port traces.
"""

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ToolFailure
from ..toolchain import require_iverilog

__all__ = ["VcdHeader", "read_header", "count_toggles", "port_trace", "PortTrace", "replay",
           "ReplayResult"]


@dataclass
class VcdHeader:
    """Signals of a VCD: ``{identifier code: [(scope, name, width), ...]}`` and the time unit."""

    signals: dict
    timescale_s: float
    body_offset: int        # byte offset of the first line after $enddefinitions


_TIMESCALE = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "ps": 1e-12, "fs": 1e-15}


def read_header(path):
    """The :class:`VcdHeader` of a VCD file."""
    signals = {}
    scope = []
    timescale = 1e-9
    with open(path, "rb") as f:
        pending = b""
        while True:
            line = f.readline()
            if not line:
                raise ValueError(f"VCD {path}: no $enddefinitions")
            pending += line
            if b"$end" not in line:
                continue
            words = pending.decode(errors="replace").split()
            pending = b""
            if not words:
                continue
            if words[0] == "$scope":
                scope.append(words[2])
            elif words[0] == "$upscope":
                scope.pop()
            elif words[0] == "$var":
                width, code, name = int(words[2]), words[3], words[4]
                signals.setdefault(code, []).append((".".join(scope), name, width))
            elif words[0] == "$timescale":
                text = "".join(words[1:-1])
                number = "".join(ch for ch in text if ch.isdigit()) or "1"
                unit = text[len(number):]
                timescale = int(number) * _TIMESCALE.get(unit, 1e-9)
            elif words[0] == "$enddefinitions":
                return VcdHeader(signals, timescale, f.tell())


def _body(path, header):
    with open(path, "rb") as f:
        f.seek(header.body_offset)
        for raw in f:
            yield raw.rstrip(b"\r\n")


def count_toggles(path, codes, start, stop):
    """Rising and falling transitions of scalar signals between two times of a VCD.

    Parameters
    ----------
    codes : iterable of str
        VCD identifier codes of the signals to count.
    start, stop : int
        A change at time ``t`` counts if ``start <= t < stop`` (VCD time units).

    Returns
    -------
    dict
        ``{code: (rises, falls)}`` for every code asked for (zeros if it never toggled).
    """
    header = read_header(path)
    wanted = {c.encode() for c in codes}
    value = {}
    rises = dict.fromkeys(wanted, 0)
    falls = dict.fromkeys(wanted, 0)
    time = 0
    for line in _body(path, header):
        if not line:
            continue
        first = line[:1]
        if first == b"#":
            time = int(line[1:])
            if time >= stop:
                break
            continue
        if first in (b"0", b"1"):
            code = line[1:]
            if code not in wanted:
                continue
            old = value.get(code)
            value[code] = first
            if start <= time and old is not None and old != first and old in (b"0", b"1"):
                if first == b"1":
                    rises[code] += 1
                else:
                    falls[code] += 1
        elif first in (b"x", b"z", b"X", b"Z"):
            value[line[1:]] = b"x"
    return {code.decode(): (rises[code], falls[code]) for code in wanted}


@dataclass
class PortTrace:
    """Port values of a simulation, one row per clock cycle.

    Attributes
    ----------
    edges : list of int
        Time of each rising clock edge (VCD units).
    values : dict
        ``{port: list of int}``: the value just before each rising edge (``x``/``z`` bits read as
        0), i.e. the value the flip-flops sample at that edge.
    unknown : dict
        ``{port: list of bool}``: the value had ``x`` or ``z`` bits.
    """

    edges: list
    values: dict
    unknown: dict


def port_trace(path, ports, clock="clk", scope=None):
    """Sample ``ports`` of a VCD just before each rising edge of ``clock``.

    ``scope`` is the dotted scope of the signals (the first scope holding ``clock`` by default).

    Raises
    ------
    ValueError
        The clock or a port is not in the dump.
    """
    header = read_header(path)
    by_name = {}
    for code, entries in header.signals.items():
        for sig_scope, name, width in entries:
            if scope is None or sig_scope == scope:
                by_name.setdefault(name, (code, width, sig_scope))
    if clock not in by_name:
        raise ValueError(f"VCD {path}: no clock {clock!r}")
    clock_scope = by_name[clock][2]
    codes = {}
    for port in ports:
        entry = next(((c, w) for c, entries in header.signals.items()
                      for s, n, w in entries if n == port and s == clock_scope), None)
        if entry is None:
            raise ValueError(f"VCD {path}: no port {port!r} in scope {clock_scope!r}")
        codes[port] = entry
    clock_code = by_name[clock][0].encode()
    wanted = {code.encode(): port for port, (code, _w) in codes.items()}
    # ``current`` holds every port's value at the end of the previous time step; changes of the
    # step being read wait in ``pending``, because a dump lists a step's changes in any order and
    # the flip-flops sample the values from before the edge's step.
    current = {port: (0, True) for port in ports}
    pending = {}
    edges, values = [], {port: [] for port in ports}
    unknown = {port: [] for port in ports}
    clock_value = None
    time = 0
    for line in _body(path, header):
        if not line:
            continue
        first = line[:1]
        if first == b"#":
            current.update(pending)
            pending.clear()
            time = int(line[1:])
            continue
        if first in (b"b", b"B"):
            bits, code = line[1:].split(b" ", 1)
            port = wanted.get(code)
            if port is not None:
                text = bits.decode().lower()
                pending[port] = (int(text.replace("x", "0").replace("z", "0"), 2),
                                 "x" in text or "z" in text)
            continue
        if first not in (b"0", b"1", b"x", b"z", b"X", b"Z"):
            continue            # $dumpvars, $end and other keywords
        code = line[1:]
        if code == clock_code:
            if first == b"1" and clock_value == b"0":
                edges.append(time)
                for port in ports:
                    v, u = current[port]
                    values[port].append(v)
                    unknown[port].append(u)
            clock_value = first
        port = wanted.get(code)
        if port is not None:
            pending[port] = (int(first == b"1"), first not in (b"0", b"1"))
    return PortTrace(edges, values, unknown)


@dataclass
class ReplayResult:
    vcd: Path                   # value-change dump of every net of the netlist
    outputs: dict               # {port: list of int} before each rising edge, x read as 0
    unknown_outputs: dict       # {port: list of bool}
    edge_times: list            # times (ns) of the rising edges, one per replayed cycle
    period_ns: int
    watched: dict = None        # {net bit: list of bool}: the watched nets before each edge


def _tb(top, ports, cycles, period_ns, stimulus_file, output_file, vcd_file, watch=()):
    inputs = [(n, w) for n, (d, w) in ports.items() if d == "input" and n != "clk"]
    outputs = [(n, w) for n, (d, w) in ports.items() if d == "output"]
    width = sum(w for _n, w in inputs) or 1
    half = period_ns // 2
    lines = ["`timescale 1ns/1ps", "module sf_replay;", "  reg clk = 1'b0;",
             f"  always #{half} clk = ~clk;",
             f"  reg [{width - 1}:0] stim [0:{max(cycles - 1, 0)}];",
             f"  reg [{width - 1}:0] drive = {width}'d0;"]
    offset = 0
    connections = [".clk(clk)"] if "clk" in ports else []
    for name, w in reversed(inputs):
        connections.append(f".{name}(drive[{offset + w - 1}:{offset}])")
        offset += w
    for name, w in outputs:
        lines.append(f"  wire [{w - 1}:0] o_{name};")
        connections.append(f".{name}(o_{name})")
    lines.append(f"  {top} dut ({', '.join(connections)});")
    watched = ", ".join([f"o_{n}" for n, _w in outputs] +
                        [f"dut.n{bit}" for bit in watch]) or "clk"
    lines += [
        "  integer i, f;",
        "  initial begin",
        f"    $readmemh(\"{stimulus_file}\", stim);",
        f"    f = $fopen(\"{output_file}\", \"w\");",
        f"    $dumpfile(\"{vcd_file}\");",
        "    $dumpvars(1, dut);",
        f"    for (i = 0; i < {cycles}; i = i + 1) begin",
        "      drive = stim[i];",
        "      @(posedge clk);",
        f"      $fwrite(f, \"%0d %b\\n\", $time, {{{watched}}});",
        "      @(negedge clk);",
        "    end",
        "    $fclose(f);",
        "    $finish;",
        "  end",
        "endmodule",
    ]
    return "\n".join(lines) + "\n"


def replay(work_dir, top, netlist_verilog, models, ports, stimulus, *, period_ns=10, watch=()):
    """Simulate a gate-level netlist on per-cycle input values with Icarus; dump every net.

    Parameters
    ----------
    netlist_verilog : str
        The netlist (:func:`~.netlist.simulation_verilog`) with any black-box modules' RTL.
    models : str
        Verilog models of the library cells it uses.
    ports : dict
        ``{port: ("input" | "output", width)}`` of the top module.
    stimulus : dict
        ``{input port: sequence of int}``, one value per cycle (all the same length); ``clk`` is
        generated here.
    watch : sequence of int
        Nets of the netlist (``n<bit>``) sampled before every rising edge like the outputs
        (:attr:`ReplayResult.watched`), e.g. the enables of SRAM macros.

    Returns
    -------
    ReplayResult
    """
    require_iverilog()
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    inputs = [(n, w) for n, (d, w) in ports.items() if d == "input" and n != "clk"]
    outputs = [(n, w) for n, (d, w) in ports.items() if d == "output"]
    cycles = len(next(iter(stimulus.values()))) if stimulus else 0
    width = sum(w for _n, w in inputs) or 1
    digits = (width + 3) // 4
    with open(work_dir / "stimulus.hex", "w") as f:
        for i in range(cycles):
            word = 0
            for name, w in inputs:
                word = (word << w) | (int(stimulus[name][i]) & ((1 << w) - 1))
            f.write(f"{word:0{digits}x}\n")
    (work_dir / "netlist.v").write_text(netlist_verilog)
    (work_dir / "cells.v").write_text(models)
    (work_dir / "tb.v").write_text(_tb(top, ports, cycles, period_ns, "stimulus.hex",
                                       "outputs.txt", "activity.vcd", watch))
    log = work_dir / "icarus.log"
    with open(log, "w") as out:
        steps = [[shutil.which("iverilog"), "-g2005", "-o", "replay.vvp", "-s", "sf_replay",
                  "tb.v", "netlist.v", "cells.v"],
                 [shutil.which("vvp"), "-n", "replay.vvp"]]
        for step in steps:
            result = subprocess.run(step, cwd=work_dir, stdout=out, stderr=subprocess.STDOUT)
            if result.returncode != 0:
                raise ToolFailure(f"the gate-level simulation of {top}", log,
                                  detail=f"{Path(step[0]).name} status {result.returncode}")
    values = {n: [] for n, _w in outputs}
    unknown = {n: [] for n, _w in outputs}
    watched = {bit: [] for bit in watch}
    edges = []
    for line in (work_dir / "outputs.txt").read_text().split("\n"):
        if not line:
            continue
        time_text, bits = line.split()
        edges.append(int(time_text))
        pos = 0
        for name, w in outputs:
            field = bits[pos:pos + w].lower()
            pos += w
            values[name].append(int(field.replace("x", "0").replace("z", "0"), 2))
            unknown[name].append("x" in field or "z" in field)
        for bit in watch:
            watched[bit].append(bits[pos] == "1")
            pos += 1
    return ReplayResult(work_dir / "activity.vcd", values, unknown, edges, period_ns, watched)


def stimulus_arrays(trace, names):
    """``{port: ndarray of object ints}`` of a :class:`PortTrace` (for slicing windows)."""
    return {name: np.array(trace.values[name], dtype=object) for name in names}
