"""One error path, through the real ``sparseforge`` command: every bad input is one line, exit 2.

A table of bad configs, shapes, ``.npy`` operands and output paths, each run as a user runs it
(the installed ``sparseforge`` console script, in a subprocess): the command must exit with status
2 and write exactly one line on stderr that names the field or flag and the value, with no
traceback, and leave no file behind in the folder it was asked to write into (nor anywhere in the
test's folder). Failed external tools (a fake ``iverilog`` that exits 1, Yosys refusing a design)
must exit with status 1 and one error line naming a log that exists; a missing tool is an input
error (exit 2).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sparseforge.gen import registry

ROOT = Path(__file__).resolve().parents[2]
SPARSEFORGE = str(Path(sys.executable).parent / "sparseforge")
PROGRESS = re.compile(r"\[\s*\d+\.\d+s\] ")

CONFIGS = {
    "ok": b"arch: sta\nkind: sa\narray: {m: 1, n: 1}\n",
    "unknown_key": b"arch: sta\nkind: sa\narray: {m: 1, n: 1}\nfoo: 17\n",
    "wrong_type": b"arch: sta\nkind: sa\narray: {m: two, n: 1}\n",
    "out_of_range": b"arch: sta\nkind: vdbb\ntpe: {a: 2, b: 8, c: 99}\narray: {m: 1, n: 1}\n",
    "binary": bytes(range(256)) * 4,
    "empty": b"",
    "list": b"- arch\n- sta\n",
    "deep": b"[" * 5000 + b"]" * 5000,
}


def _npy(array):
    return lambda path: np.save(path, array)


NPYS = {
    "act": _npy(np.ones((2, 3), dtype=np.int8)),
    "weights": _npy(np.ones((3, 1), dtype=np.int8)),
    "float": _npy(np.ones((2, 3), dtype=np.float32)),
    "rank": _npy(np.ones((2, 3, 1), dtype=np.int8)),
    "shape": _npy(np.ones((3, 2), dtype=np.int8)),
    "range": _npy(np.full((2, 3), 300, dtype=np.int16)),
    "truncated": lambda path: (np.save(path, np.ones((2, 3), dtype=np.int8)),
                               path.write_bytes(path.read_bytes()[:-4])),
    "text": lambda path: path.write_text("1 2 3\n4 5 6\n"),
    "npz": lambda path: np.savez(path.with_suffix(""), a=np.ones((2, 3), dtype=np.int8)),
    "conv_w": _npy(np.ones((1, 1, 2, 2), dtype=np.int8)),
}

GEMM = ["run", "sa_1x1", "--gemm", "2,3,1"]

# (id, arguments, what the one line must name). {config:x} and {npy:x} are files of the tables
# above, {out} a folder that must stay empty (or not come to exist), {tmp} the test's folder.
CASES = [
    # configs
    ("config-unknown-key", ["generate", "{config:unknown_key}", "-o", "{out}"], ["foo", "17"]),
    ("config-wrong-type", ["generate", "{config:wrong_type}", "-o", "{out}"],
     ["array.m", "'two'"]),
    ("config-out-of-range", ["generate", "{config:out_of_range}", "-o", "{out}"],
     ["tpe.c", "99"]),
    ("config-binary", ["generate", "{config:binary}", "-o", "{out}"],
     ["config", "binary.yaml", "not a text file"]),
    ("config-empty", ["generate", "{config:empty}", "-o", "{out}"], ["config", "empty.yaml"]),
    ("config-not-a-mapping", ["generate", "{config:list}", "-o", "{out}"],
     ["config", "['arch', 'sta']"]),
    ("config-missing", ["generate", "{tmp}/missing.yaml", "-o", "{out}"],
     ["config", "missing.yaml"]),
    ("config-too-deep", ["generate", "{config:deep}", "-o", "{out}"], ["config", "deep.yaml"]),
    # shapes and options
    ("gemm-two-values", ["run", "sa_1x1", "--gemm", "1,2"], ["--gemm", "'1,2'"]),
    ("synth-booth-not-liberty", ["synth", "sa_1x1", "--booth", "--flow", "generic"],
     ["booth", "liberty", "'generic'"]),
    ("gemm-zero", ["run", "sa_1x1", "--gemm", "0,4,4"], ["--gemm", "'0'"]),
    ("gemm-huge", ["run", "sa_1x1", "--gemm", "100000000,100000,1"],
     ["--gemm", "100000000,100000,1"]),
    ("conv-even-kernel", ["run", "scnn_2x2_small", "--conv", "4,4,1,1,2,2"],
     ["--conv", "R = 2"]),
    ("conv-zero", ["run", "accel_small", "--conv", "0,4,8,8,3,3"], ["--conv", "0"]),
    ("conv-too-many-channels", ["run", "scnn_2x2_small", "--conv", "4,4,100000000,1,1,1"],
     ["--conv", "C = 100000000"]),
    ("seed-negative", ["run", "sa_1x1", "--gemm", "1,1,1", "--seed", "-1"], ["--seed", "'-1'"]),
    # .npy operands
    ("npy-dtype", GEMM + ["--act", "{npy:float}", "--weights", "{npy:weights}"],
     ["--act", "float32"]),
    ("npy-rank", GEMM + ["--act", "{npy:rank}", "--weights", "{npy:weights}"],
     ["--act", "(2, 3, 1)"]),
    ("npy-shape", GEMM + ["--act", "{npy:shape}", "--weights", "{npy:weights}"],
     ["--act", "(3, 2)"]),
    ("npy-range", GEMM + ["--act", "{npy:range}", "--weights", "{npy:weights}"],
     ["--act", "300"]),
    ("npy-truncated", GEMM + ["--act", "{npy:truncated}", "--weights", "{npy:weights}"],
     ["--act", "truncated.npy", "truncated"]),
    ("npy-not-npy", GEMM + ["--act", "{npy:text}", "--weights", "{npy:weights}"],
     ["--act", "text.npy", "not a .npy file"]),
    ("npy-npz", GEMM + ["--act", "{npy:npz}", "--weights", "{npy:weights}"],
     ["--act", "npz.npz"]),
    ("npy-missing", GEMM + ["--act", "{tmp}/none.npy", "--weights", "{npy:weights}"],
     ["--act", "none.npy"]),
    ("npy-files-only", ["run", "scnn_2x2_small", "--act", "{npy:npz}", "--weights",
                        "{npy:conv_w}"], ["--act", "npz.npz"]),
    # output paths
    ("generate-o-proc", ["generate", "sa_1x1", "-o", "/proc/x"], ["-o", "'/proc/x'"]),
    ("generate-o-file", ["generate", "sa_1x1", "-o", "{config:ok}"], ["-o", "ok.yaml"]),
    ("generate-o-empty", ["generate", "sa_1x1", "-o", ""], ["-o", "''"]),
    ("out-missing-dir", ["run", "sa_1x1", "--gemm", "1,1,1", "--out", "{out}/none/y.npy"],
     ["--out", "none"]),
    ("out-is-dir", ["run", "sa_1x1", "--gemm", "1,1,1", "--out", "{tmp}"], ["--out", "{tmp}"]),
    ("out-proc", ["run", "sa_1x1", "--gemm", "1,1,1", "--out", "/proc/y.npy"],
     ["--out", "/proc"]),
    ("log-dir-file", ["test", "sa_1x1", "--log-dir", "{config:ok}"], ["--log-dir", "ok.yaml"]),
]


def _files(tmp):
    """Write the config and .npy files; return ``{placeholder: path}``."""
    files = {}
    for name, body in CONFIGS.items():
        path = tmp / f"{name}.yaml"
        path.write_bytes(body)
        files[f"{{config:{name}}}"] = str(path)
    for name, make in NPYS.items():
        path = tmp / f"{name}.npy"
        make(path)
        files[f"{{npy:{name}}}"] = str(path if path.exists() else path.with_suffix(".npz"))
    return files


def _expand(text, files, tmp):
    text = files.get(text, text)
    return text.replace("{out}", str(tmp / "out")).replace("{tmp}", str(tmp))


def _tree(tmp):
    return sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*"))


def sparseforge(args, env=None, cwd=None):
    return subprocess.run([SPARSEFORGE, *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=cwd, timeout=300)


@pytest.mark.parametrize("args, needles", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(args, needles, tmp_path):
    files = _files(tmp_path)
    before = _tree(tmp_path)
    argv = [_expand(a, files, tmp_path) for a in args]
    result = sparseforge(argv, env={"SPARSEFORGE_CACHE": str(tmp_path / "cache")},
                         cwd=tmp_path)
    lines = result.stderr.splitlines()
    assert result.returncode == 2, (argv, result.stderr)
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("sparseforge"), lines[0]
    for needle in needles:
        assert _expand(needle, files, tmp_path) in lines[0], (needle, lines[0])
    # Nothing written: not in the output folder, not beside the inputs (a cache folder may be
    # created by tool discovery, with nothing in it but folders).
    after = [p for p in _tree(tmp_path) if not p.startswith("cache")]
    assert after == before, sorted(set(after) ^ set(before))
    assert not any(p.is_file() for p in (tmp_path / "cache").rglob("*"))


# -- failed and missing tools ---------------------------------------------------------------------

def _error_line(stderr):
    """The one error line of a failing command (progress lines, ``[  1.2s] ...``, aside)."""
    errors = [line for line in stderr.splitlines() if not PROGRESS.match(line)]
    assert len(errors) == 1, stderr
    assert "Traceback" not in stderr
    return errors[0]


def _named_log(line):
    match = re.search(r"its log: (\S+)$", line)
    assert match, line
    log = Path(match.group(1))
    assert log.is_file(), line
    return log


@pytest.fixture
def fake_iverilog(tmp_path):
    """A ``PATH`` whose ``iverilog`` prints one error and exits with status 1."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "iverilog"
    fake.write_text("#!/bin/sh\necho 'fake iverilog: refusing to compile' >&2\nexit 1\n")
    fake.chmod(0o755)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "SPARSEFORGE_CACHE": str(tmp_path / "cache")}


@pytest.mark.parametrize("args", [
    ["run", "sa_1x1", "--gemm", "1,1,1", "--sim", "icarus"],
    ["test", "sa_1x1", "--sim", "icarus", "--seed", "1"],
], ids=["run", "test"])
def test_failed_simulator_build_is_exit_1_naming_its_log(args, fake_iverilog, tmp_path):
    result = sparseforge(args, env=fake_iverilog, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    line = _error_line(result.stderr)
    assert "icarus build of sa_1x1 failed" in line
    assert "fake iverilog: refusing to compile" in _named_log(line).read_text()


def test_missing_simulator_is_an_input_error(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = sparseforge(["run", "sa_1x1", "--gemm", "1,1,1", "--sim", "icarus", "-q"],
                         env={"PATH": str(empty), "SPARSEFORGE_CACHE": str(tmp_path / "c")},
                         cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "iverilog" in _error_line(result.stderr)


def test_failed_yosys_is_exit_1_naming_its_log(tmp_path):
    env = {registry.ENV_VAR: "tests.common.brokensynth",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "SPARSEFORGE_CACHE": str(tmp_path / "cache")}
    result = sparseforge(["synth", "broken_synth"], env=env, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    line = _error_line(result.stderr)
    assert "yosys" in line and "broken_synth" in line
    assert "sparseforge_no_such_cell" in _named_log(line).read_text()
