"""Verilog and manifest emission: one config in, ``<name>.v`` and ``<name>.json`` out.

The Verilog is reproducible (``emit_src=False``: same config, same bytes). The manifest records what
a user or a tool needs beside it: the full config, the ports, what the top component says of
itself (``manifest_details()``: MAC and register counts, latencies, register maps) and the tool
versions. Files are written atomically: to a
temporary name first, renamed at the end, so a failure leaves nothing half-written.
"""

import json
import os
import tempfile
from pathlib import Path

from amaranth import Shape
from amaranth.back import verilog
from amaranth.lib import wiring

from .config import config_to_dict
from .toolchain import tool_versions

__all__ = ["build_top", "verilog_text", "manifest", "generate", "write_atomic"]


def _sta_top():
    from ..hdl.sta import StaEngine
    return StaEngine


def _accel_top():
    from ..hdl.accel import Accelerator
    return Accelerator


def _scnn_top():
    from ..hdl.scnn import ScnnAccelerator
    return ScnnAccelerator


# arch -> the top component class (imported when used)
TOPS = {"sta": _sta_top, "accel": _accel_top, "scnn": _scnn_top}


def build_top(cfg):
    """The top-level Amaranth component of a config."""
    return TOPS[cfg.arch]()(cfg)


def memory_macros(cfg):
    """The design's SRAM macros, ``[{"module", "words", "width"}]`` (none for the STA engine)."""
    top_class = TOPS[cfg.arch]()
    return top_class.memory_macros(cfg) if hasattr(top_class, "memory_macros") else []


def verilog_text(cfg, top=None):
    """Verilog of a config's top module, named ``cfg.name``."""
    top = build_top(cfg) if top is None else top
    return verilog.convert(top, name=cfg.name, emit_src=False)


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
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)          # mkstemp's 0600 is for the temporary name only
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def generate(cfg, out_dir):
    """Write ``<name>.v`` and ``<name>.json`` into ``out_dir``; return both paths."""
    top = build_top(cfg)
    text = verilog_text(cfg, top)
    info = manifest(cfg, top)
    out_dir = Path(out_dir)
    v_path = out_dir / f"{cfg.name}.v"
    j_path = out_dir / f"{cfg.name}.json"
    # Render both before writing either, so a failure leaves neither.
    body = json.dumps(info, indent=2, sort_keys=False) + "\n"
    write_atomic(v_path, text)
    write_atomic(j_path, body)
    return v_path, j_path
