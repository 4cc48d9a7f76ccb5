"""Verilog and manifest emission: one config in, ``<name>.v`` and ``<name>.json`` out.

:func:`write_design` (``sparseforge generate``) also writes a FuseSoC core ``<name>.core`` with the
Verilator waivers it names (:mod:`~sparseforge.gen.fusesoc`) and, for a design with AXI4-Lite
registers, their C header ``<name>_regs.h`` and Python driver ``<name>_driver.py``
(:mod:`~sparseforge.gen.regmap`).

The Verilog is reproducible (``emit_src=False``: same config, same bytes). The manifest records what
a user or a tool needs beside it: the full config, the ports, what the top component says of
itself (``manifest_details()``: MAC and register counts, latencies, register maps) and the tool
versions. Files are written atomically: to a
temporary name first, renamed at the end, so a failure leaves nothing half-written.
"""

import hashlib
import json
import os
import tempfile
from functools import cache
from pathlib import Path

from amaranth import Shape
from amaranth.lib import wiring

from ..hdl.common import sram_model
from . import registry
from .config import config_to_dict
from .errors import InputError
from .fusesoc import core_file
from .lint import WAIVERS
from .regmap import c_header, python_driver, register_map
from .toolchain import cache_dir, content_hash, tool_versions

__all__ = ["build_top", "verilog_text", "kept_verilog_text", "manifest", "generate",
           "write_design", "write_atomic", "write_all_atomic"]


def build_top(cfg):
    """The top-level Amaranth component of a config (its architecture's ``top``)."""
    return registry.of(cfg).build_top(cfg)


def verilog_text(cfg, top=None):
    """Verilog of a config's top module, named ``cfg.name``; its SRAM macros' memories are
    instances of one behavioural model without initial contents
    (:mod:`sparseforge.hdl.common.sram_model`), and identical sub-modules are one module
    instantiated where each was (:mod:`sparseforge.hdl.common.shared_modules`), except the SRAM
    macros (``memory_macros``) and the blocks the energy flow leaves out (its hooks'
    ``excluded``), which keep the module names that synthesis black-boxes."""
    top = build_top(cfg) if top is None else top
    arch = registry.of(cfg)
    keep = [macro["module"] for macro in arch.memory_macros(cfg)]
    if arch.power is not None:
        hooks = registry.resolve(arch.power)
        if hooks.excluded is not None:
            keep += list(hooks.excluded(cfg))
    return sram_model.convert(top, name=cfg.name, keep=keep)


#: The folders whose files shape a design's Verilog (the hardware, its configs and plans).
SOURCE_FOLDERS = ("hdl", "gen", "sim")


@cache
def _sources_digest():
    """SHA-256 of every file under :data:`SOURCE_FOLDERS` of this installation, names and bytes."""
    digest = hashlib.sha256()
    root = Path(registry.__file__).resolve().parent.parent
    for folder in SOURCE_FOLDERS:
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def kept_verilog_text(cfg):
    """:func:`verilog_text` of ``cfg``, kept in ``<cache>/verilog`` for the next caller.

    The key is the whole config, this installation's sources (every file of ``hdl/``, ``gen/``
    and ``sim/``) and the tools' versions, so an edit anywhere in them elaborates afresh; a design
    with architectures registered from outside sparseforge is never kept. The simulation builds
    use it (each ``run`` or ``test`` of an unchanged design elaborated it again: 5 to 50 s);
    ``generate`` always elaborates.
    """
    if registry.plugin_modules():
        return verilog_text(cfg)
    key = content_hash(json.dumps(config_to_dict(cfg), sort_keys=True), cfg.name,
                       _sources_digest(), json.dumps(tool_versions(), sort_keys=True))
    path = cache_dir() / "verilog" / f"{cfg.name}-{key}.v"
    if path.is_file():
        return path.read_text()
    text = verilog_text(cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text)
    return text


def _ports(top):
    ports = []
    for path, member, _value in top.signature.flatten(top):
        direction = "in" if member.flow == wiring.In else "out"
        width = Shape.cast(member.shape).width
        ports.append({"name": "__".join(map(str, path)), "direction": direction, "width": width})
    ports += [{"name": "clk", "direction": "in", "width": 1},
              {"name": "rst", "direction": "in", "width": 1}]
    return ports


def manifest(cfg, top=None):
    """The manifest of a config as a JSON-ready mapping."""
    top = build_top(cfg) if top is None else top
    return {
        "name": cfg.name,
        "arch": cfg.arch,
        "config": config_to_dict(cfg),
        "ports": _ports(top),
        **top.manifest_details(),
        "tools": tool_versions(),
    }


def write_atomic(path, text):
    """Write ``text`` to ``path`` through a temporary file in the same directory."""
    write_all_atomic({path: text})


def write_all_atomic(files):
    """Write ``{path: text}``: every file to a temporary name first, then all renamed, so a
    failure (a full disk, a directory that cannot be written) leaves none of them behind."""
    temps = []
    try:
        for path, text in files.items():
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
            temps.append((tmp, path))
            with os.fdopen(fd, "w") as f:
                f.write(text)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)      # mkstemp's 0600 is for the temporary name only
        for tmp, path in temps:
            os.replace(tmp, path)
    except BaseException:
        for tmp, _ in temps:
            Path(tmp).unlink(missing_ok=True)
        raise


def _design_files(cfg, out_dir, software):
    top = build_top(cfg)
    text = verilog_text(cfg, top)
    info = manifest(cfg, top)
    out_dir = Path(out_dir)
    files = {out_dir / f"{cfg.name}.v": text,
             out_dir / f"{cfg.name}.json": json.dumps(info, indent=2, sort_keys=False) + "\n"}
    if software:
        version = info["tools"].get("sparseforge") or "0"
        files[out_dir / f"{cfg.name}.core"] = core_file(cfg, version, registry.of(cfg).summary)
        files[out_dir / f"{cfg.name}_waivers.vlt"] = WAIVERS.read_text()
    registers = register_map(top, info) if software else []
    if registers:
        files[out_dir / f"{cfg.name}_regs.h"] = c_header(cfg.name, cfg.notation, registers)
        files[out_dir / f"{cfg.name}_driver.py"] = python_driver(cfg.name, cfg.notation,
                                                                  registers)
    try:
        write_all_atomic(files)
    except OSError as e:
        raise InputError(f"-o: cannot write into {str(out_dir)!r} ({e.strerror or e})") from None
    return list(files)


def generate(cfg, out_dir):
    """Write ``<name>.v`` and ``<name>.json`` into ``out_dir``; return both paths.

    Raises
    ------
    InputError
        ``out_dir`` cannot be created or written; nothing is left in it.
    """
    v_path, j_path = _design_files(cfg, out_dir, software=False)
    return v_path, j_path


def write_design(cfg, out_dir):
    """What ``sparseforge generate`` writes: the Verilog, the manifest, the FuseSoC core and its
    waivers and, for a design with registers, ``<name>_regs.h`` and ``<name>_driver.py``;
    return every path written (the Verilog first). Same errors as :func:`generate`."""
    return _design_files(cfg, out_dir, software=True)
