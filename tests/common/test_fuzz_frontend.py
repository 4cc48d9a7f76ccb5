"""Front-end fuzzer: mutated configs, command lines and ``.npy`` operands through the CLI.

Each case writes its files into a folder of its own and runs the ``sparseforge`` command on them
in-process (``gen.cli.main`` with stdout and stderr captured; a sample of cases also through the
installed console script, which must answer the same). Nothing simulates or synthesizes: the entry
points of the external tools (simulator builds and runs, lint, synthesis) are replaced by a stop,
so a case that would start one counts as *accepted*. Real ``generate`` runs only on a few tiny
configs. The oracle, for every case:

* the command ends with exit status 0, or 2 with exactly one line on stderr (``sparseforge…
  error: …``), or 1 with one line naming a log that exists, or reaches a tool (accepted);
* no traceback: no other exception leaves ``main``;
* no partial file: the case folder holds afterwards only the inputs it was given, plus ``<name>.v``
  and ``<name>.json`` when ``generate`` succeeded (and logs in a ``test --log-dir``);
* no case takes more than :data:`SLOW_SECONDS` of CPU time, its child processes' included (a
  bound that is missing shows up as a slow case; CPU time, not the wall clock, so that other
  processes on a loaded machine do not count), nor more than :data:`HUNG_SECONDS` on the wall
  clock (a case waiting on something).

``SPARSEFORGE_FUZZ_SEED`` fixes the seed (default: a fresh one, printed), ``SPARSEFORGE_FUZZ_CASES``
the number of cases (default 1,000, about half a minute), ``SPARSEFORGE_FUZZ_ONLY`` runs one case
by its index (each case's generator is seeded by the seed and its index). The distribution of
outcomes is printed (``pytest -s``) and attached to the test's report.

A second, smaller fuzzer drives the config parser with :mod:`hypothesis` (arbitrary YAML values
in every position of every architecture's config).
"""

import contextlib
import copy
import io
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sparseforge.gen import cli, registry
from sparseforge.gen.config import load_config_file, parse_config
from sparseforge.gen.errors import InputError
from sparseforge.gen.presets import presets

CASES = int(os.environ.get("SPARSEFORGE_FUZZ_CASES") or 1000)
SEED = int(os.environ.get("SPARSEFORGE_FUZZ_SEED") or random.SystemRandom().randrange(1 << 31))
ONLY = os.environ.get("SPARSEFORGE_FUZZ_ONLY")
SLOW_SECONDS = 10.0
HUNG_SECONDS = 60.0
#: Of every thousand cases, about this many generate a tiny design for real (1-2 s each).
GENERATE_PER_THOUSAND = 5
#: Every this many cases, one that ended in an input error runs again through the console script.
SUBPROCESS_EVERY = 200

SPARSEFORGE = str(Path(sys.executable).parent / "sparseforge")
PROGRESS = re.compile(r"\[\s*\d+\.\d+s\] ")
TOOLS = ("sparseforge.tb.runner.build", "sparseforge.tb.runner.run_job",
         "sparseforge.tb.runner.run_module", "sparseforge.gen.lint.lint_verilog",
         "sparseforge.gen.synth.synth")


class ToolReached(Exception):
    """A case got as far as starting an external tool: its input was accepted."""


# -- what the mutations are made of ---------------------------------------------------------------

SHIPPED = presets()
ARCHS = registry.architectures()
# The small shipped designs of every registered architecture.
SMALL_PRESETS = ["sa_1x1", "sta_2x4x2_2x2", "dbb_2x4x2_2x2", "vdbb_2x8x4_2x2", "scnn_paper_pe"] + \
    [name for name in SHIPPED if "small" in name]
# Configs small enough to generate in a second or two.
TINY = [
    {"arch": "sta", "kind": "sa", "array": {"m": 1, "n": 1}},
    {"arch": "sta", "kind": "sa", "array": {"m": 1, "n": 2}, "widths": {"acc": 20}},
    {"arch": "sta", "kind": "sta", "tpe": {"a": 1, "b": 2, "c": 1}, "array": {"m": 1, "n": 1},
     "widths": {"act": 4, "weight": 4, "acc": 10}},
    {"arch": "sta", "kind": "vdbb", "tpe": {"a": 1, "b": 2, "c": 1}, "array": {"m": 1, "n": 1},
     "widths": {"act": 4, "weight": 3, "acc": 12}, "act_zero_gating": False},
]
BASES = [SHIPPED[name][2] for name in SMALL_PRESETS] + TINY

WEIRD = [0, -1, 1, 2, 3, 5, 6, 7, 24, 63, 64, 65, 100, 1023, 1024, 4097, 1 << 20, (1 << 31) - 1,
         -(1 << 31), 1 << 63, 1 << 64, -(1 << 64), 10 ** 30, 1.5, 0.0, -0.0, 2.0, float("inf"),
         float("nan"), True, False, None, "", "8", "0x10", "1e3", "x", "été", "🙂", "\x00",
         "a\nb", "\t", " 4", "√", "Ⅷ", [], [1, 2], [[1]], {}, {"a": 1}, {"m": 1, "n": 1},
         "vdbb", "sta", "accel", "scnn", "dbb"]
BIG = [list(range(2000)), "x" * 5000, {f"k{i}": i for i in range(300)}, [[[[[[[[1]]]]]]]] * 50]
UNKNOWN_KEYS = ["foo", "ARCH", "Kind", "tpe ", "", "é", "array.m", "1", "🙂" * 5, "x" * 300]

GEMMS = ["1,1,1", "2,3,1", "7,24,9", "4,16,4", "1,2", "1,2,3,4", "0,1,1", "-1,2,3", "1,,2",
         "a,b,c", "1e3,1,1", " 1,2,3", "١,٢,٣", "99999999999999999999,1,1", "1,1048576,1",
         "1_0,2,3", "", ",", "4096,4097,4096", "3.0,2,1", "1,1,0x2"]
CONVS = ["4,4,8,8,3,3", "6,10,4,4,3,3", "4,4,8,8,3,3,1,1", "4,4,8,8,3,3,2,1", "1,1,1,1,1,1",
         "0,4,8,8,3,3", "4,4,8,8,2,2", "4,4,8,8,3,3,3,1", "4,4,8,8,3,3,1,-1", "4,4,8,8,17,17",
         "4,4,100000000,1,1,1", "4095,4095,8191,8191,1,1", "4,4,8,8", "4,4,8,8,3,3,1,1,1", "",
         "a,4,8,8,3,3", "4,4,8,8,3,3,1,9", "5,3,3,2,5,5", "3,5,2,3,5,1",
         "99999999999999999999,1,1,1,1,1"]
LAYERS = ["resnet50.res2a_branch2a", "resnet50.res5a_branch2b", "googlenet.inception_4a/5x5",
          "alexnet.conv2", "mobilenet_v1.conv_dw_1", "resnet50", "resnet50.nope", "", ".",
          "nope.conv1", "vgg16.conv1_1"]
# Networks whose --model-only report is fast (alexnet stops at its stride-4 layer) or none at all;
# a whole network's model takes seconds to minutes and is left to the CLI tests.
NETWORKS = ["alexnet", "lenet", "", "ResNet50", "resnet", "resnet50.res2a_branch2a"]
NUMBERS = ["0", "1", "2", "3", "4", "8", "9", "31", "32", "-1", "1.5", "x", "", "1e9", "nan",
           "inf", "-0", "99999999999999999999", "0x10", "٣"]
FLAGS = ["--gemm", "--conv", "--layer", "--network", "--model-only", "--rtl-layers", "--nnz",
         "--weight-density", "--act-density", "--act", "--weights", "--prune", "--shift",
         "--relu", "--out", "--sim", "--seed", "--json", "-q", "--bogus", "-o", "--flow",
         "--sram", "--log-dir", "--help", "--", "--model", "--images", "--mode", "--km",
         "--pool"]


# -- one case ----------------------------------------------------------------------------------

class Case:
    """A command line and the files it names: ``{name: bytes}`` written into the case folder,
    referred to in ``argv`` as ``@name``; ``@out`` is a folder the command may write into."""

    def __init__(self, kind, argv, files=None, generates=False):
        self.kind, self.argv, self.files, self.generates = kind, argv, files or {}, generates

    def __repr__(self):
        return f"Case({self.kind}, {self.argv!r}, files={sorted(self.files)})"


def _dump(raw, rng):
    text = yaml.safe_dump(raw, allow_unicode=rng.random() < 0.5,
                          default_flow_style=rng.choice([None, False, True]),
                          sort_keys=rng.random() < 0.5)
    return text.encode("utf-8")


def _paths(raw, prefix=()):
    """Every key path of a nested mapping, at every depth."""
    for key, value in raw.items():
        yield prefix + (key,)
        if isinstance(value, dict):
            yield from _paths(value, prefix + (key,))


def _set(raw, path, value):
    node = raw
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _copy(raw):
    return copy.deepcopy(raw)


def mutate_config(rng, base):
    """``base`` as a config file that is wrong in one or a few ways (sometimes still valid)."""
    raw = _copy(base)
    how = rng.choice(["value", "value", "value", "delete", "unknown", "arch", "big", "several",
                      "document", "text", "valid"])
    if how in ("value", "several", "big"):
        for _ in range(1 if how != "several" else rng.randint(2, 4)):
            path = rng.choice(list(_paths(raw)))
            _set(raw, path, _copy(rng.choice(BIG if how == "big" else WEIRD)))
    elif how == "delete":
        path = rng.choice(list(_paths(raw)))
        node = raw
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    elif how == "unknown":
        path = rng.choice([()] + [p for p in _paths(raw) if isinstance(_get(raw, p), dict)])
        node = _get(raw, path) if path else raw
        node[rng.choice(UNKNOWN_KEYS)] = rng.choice(WEIRD[:20])
    elif how == "arch":
        raw["arch"] = rng.choice(["sta", "accel", "scnn", "STA", "", None, 1, "dot", ["sta"]])
    elif how == "document":
        return rng.choice([
            b"", b"\n\n# only a comment\n", b"~\n", b"- 1\n- 2\n", b"just text\n", b"42\n",
            b"---\narch: sta\n---\narch: scnn\n", b"\xef\xbb\xbfarch: sta\n",
            bytes(rng.randrange(256) for _ in range(rng.randint(1, 300))),
            "arch: sta\nkind: sa\narray: {m: 1, n: 1}\nname: \u00e9\n".encode("latin-1"),
            b"[" * rng.randint(50, 3000) + b"]" * rng.randint(0, 3000),
            b"a: &a [*a, *a]\nb: *a\n", b"arch: !!python/object:os.system ls\n",
            b"arch: sta\n\tkind: sa\n", b"arch: sta\narch: scnn\n",
            b"{" + b"a: " * 500 + b"}", b"arch: sta\n" + b"x" * 200000 + b": 1\n",
        ])
    elif how == "text":
        data = bytearray(_dump(raw, rng))
        for _ in range(rng.randint(1, 4)):
            op = rng.choice(["flip", "cut", "dup", "insert"])
            if op == "flip" and data:
                data[rng.randrange(len(data))] = rng.randrange(256)
            elif op == "cut":
                del data[rng.randrange(len(data) + 1):]
            elif op == "dup" and data:
                i = rng.randrange(len(data))
                data[i:i] = data[i:i + rng.randint(1, 30)]
            else:
                data[rng.randrange(len(data) + 1):0] = rng.choice(
                    [b": ", b"- ", b"&x ", b"*x", b"!!binary ", b"{", b"]", b"\t", b"\n  ",
                     b"'", b'"', b"#", b"%YAML 1.1\n"])
        return bytes(data)
    else:       # valid variations: another name, widths in range
        if rng.random() < 0.5:
            raw["name"] = rng.choice(["fuzz_design", "_x", "D9", "a" * 64])
    return _dump(raw, rng)


def _get(raw, path):
    for key in path:
        raw = raw[key]
    return raw


def _run_args_for(arch, rng):
    """``run`` options that suit an architecture's configs (from its descriptor)."""
    names = ARCHS[arch].option_names() if arch in ARCHS else {"gemm"}
    if "gemm" in names:
        return ["--gemm", rng.choice(GEMMS[:4])]
    if "conv" in names:
        return ["--conv", rng.choice(CONVS[:5] + ["1,1,1,1,1,1"])]
    return []


def _own_options(rng):
    """``run`` on a small design of any architecture with some of the options it takes."""
    preset = rng.choice(SMALL_PRESETS)
    arch = ARCHS[SHIPPED[preset][0]]
    argv = ["run", preset]
    switches = {"model_only", "prune", "relu"} | {
        opt.dest for opt in arch.own_options() if opt.kwargs.get("action") == "store_true"}
    for dest in rng.sample(sorted(arch.option_names()), min(3, len(arch.option_names()))):
        argv.append("--" + dest.replace("_", "-"))
        if dest not in switches:
            argv.append(rng.choice(NUMBERS + GEMMS[:4] + CONVS[:4] + LAYERS[:3] + NETWORKS[:2]))
    return argv


def generate_case(rng, index):
    """A tiny valid config, generated for real."""
    raw = _copy(rng.choice(TINY))
    raw["name"] = f"fuzz{index}"
    return Case("config", ["generate", "@design.yaml", "-o", rng.choice(["@out", "@out/a/b"]),
                           "-q"], {"design.yaml": _dump(raw, rng)}, generates=True)


def config_case(rng, index):
    base = rng.choice(BASES)
    body = mutate_config(rng, base)
    name = rng.choice(["design.yaml", "design.yml", "9 lives.yaml", "été.yaml", "design",
                       "d" * 200 + ".yaml", ".yaml", "design.YAML"])
    command = rng.choice(["generate", "generate", "run", "lint", "synth", "test"])
    argv = {"generate": ["generate", "@" + name, "-o", rng.choice(["@out", "@out/deeper"]), "-q"],
            "run": ["run", "@" + name] + _run_args_for(base["arch"], rng),
            "lint": ["lint", "@" + name],
            "synth": ["synth", "@" + name, "--flow", rng.choice(["generic", "ecp5"])],
            "test": ["test", "@" + name, "--sim", "icarus", "--log-dir", "@out"]}[command]
    return Case("config", argv, {name: body})


def _templates(rng):
    preset = rng.choice(SMALL_PRESETS + ["paper_vdbb_4x8x8_4x8", "accel_paper", "no_such",
                                         "", "sa_1x1.yaml", "SA_1X1", "../sa_1x1"])
    sta = rng.choice(["sa_1x1", "vdbb_2x8x4_2x2", "dbb_2x4x2_2x2", "sta_2x4x2_2x2",
                      "paper_vdbb_4x8x8_4x8"])
    return [
        ["run", sta, "--gemm", rng.choice(GEMMS), "--nnz", rng.choice(NUMBERS),
         "--act-density", rng.choice(NUMBERS), "--seed", rng.choice(NUMBERS)],
        ["run", sta, "--gemm", rng.choice(GEMMS), "--out", rng.choice(
            ["@out/y.npy", "@out", "@out/", "@out/none/y.npy", "/proc/y.npy", "", "@out/.npy"]),
         "--json"],
        ["run", rng.choice(["accel_small", "accel_small_noim2c", "accel_paper"]), "--conv",
         rng.choice(CONVS), "--nnz", rng.choice(NUMBERS), "--shift", rng.choice(NUMBERS),
         "--relu"],
        ["run", "accel_small", "--layer", rng.choice(LAYERS), "--nnz", rng.choice(NUMBERS)],
        ["run", "accel_small", "--network", rng.choice(NETWORKS), "--model-only"],
        ["run", "accel_small", "--network", rng.choice(NETWORKS), "--rtl-layers",
         rng.choice(["res2a_branch2a", "", ",", "conv1,conv1", "x" * 100])],
        ["run", rng.choice(["scnn_2x2_small", "scnn_paper_pe"]), "--conv", rng.choice(CONVS),
         "--weight-density", rng.choice(NUMBERS), "--act-density", rng.choice(NUMBERS)],
        ["run", "scnn_2x2_small", "--layer", rng.choice(LAYERS)],
        ["run", preset, "--sim", rng.choice(["icarus", "verilator", "vcs", ""])],
        _own_options(rng),
        _own_options(rng),
        ["layers", rng.choice(NETWORKS + ["resnet50", "vgg16", "googlenet", "mobilenet_v1"])],
        ["presets", rng.choice(["--json", "-q", "--bogus", "x"])],
        ["generate", rng.choice(["no_such", "", "sa_1x1.yaml", "../x"]), "-o", "@out"],
        ["generate", "sa_1x1", "-o", rng.choice(["", "/proc/x", "/dev/null", "@out/\x00"])],
        ["synth", preset, "--flow", rng.choice(["asic", "", "ECP5", "liberty2"])],
        ["synth", preset, "--sram", rng.choice(["none", "", "macro,logic"])],
        ["test", preset, "--sim", rng.choice(["icarus", "verilator", "all", "none"]),
         "--seed", rng.choice(NUMBERS), "--log-dir", rng.choice(["@out", "/proc/x", ""])],
        ["lint", rng.choice(["no_such", "", "missing.yaml"])],
        ["demo", rng.choice(["scnn_2x2_small", "accel_small", "no_such", "x.yaml"])],
        ["demo", "sa_1x1", "--seed", rng.choice(["-1", "x", ""])],
        [rng.choice(["", "frobnicate", "-v", "RUN", "--version"])],
    ]


def cli_case(rng, index):
    argv = list(rng.choice(_templates(rng)))
    for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
        op = rng.choice(["drop", "dup", "flag", "value", "swap", "empty"])
        if op == "drop" and len(argv) > 1:
            del argv[rng.randrange(1, len(argv))]
        elif op == "dup" and len(argv) > 1:
            i = rng.randrange(1, len(argv))
            argv[i:i] = argv[i:i + 2]
        elif op == "flag":
            flag = rng.choice(FLAGS)
            argv[rng.randrange(1, len(argv) + 1):0] = [flag] + (
                [] if flag in ("--model-only", "--prune", "--relu", "--json", "-q", "--help",
                               "--") else [rng.choice(NUMBERS + GEMMS[:3] + ["@out"])])
        elif op == "value" and len(argv) > 1:
            argv[rng.randrange(1, len(argv))] = rng.choice(NUMBERS + GEMMS + CONVS[:3])
        elif op == "swap" and len(argv) > 2:
            i, j = rng.sample(range(1, len(argv)), 2)
            argv[i], argv[j] = argv[j], argv[i]
        elif op == "empty" and len(argv) > 1:
            argv[rng.randrange(1, len(argv))] = ""
    return Case("cli", argv)


# -- .npy operands ------------------------------------------------------------------------------

def _npy_bytes(array, rng=None):
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=True)
    return buf.getvalue()


def _crafted(shape, dtype="<i1", tail=b"\x00" * 8):
    """A .npy file whose header claims ``shape`` over a few bytes of data."""
    header = f"{{'descr': '{dtype}', 'fortran_order': False, 'shape': {shape!r}, }}"
    header += " " * (-(10 + len(header) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + tail


def mutate_operand(rng, array, width):
    """``array`` (a good operand) made bad in one way, or left good."""
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    how = rng.choice(["dtype", "shape", "rank", "range", "truncate", "not_npy", "npz", "header",
                      "layout", "good", "good"])
    if how == "dtype":
        dtype = rng.choice([np.float32, np.float64, np.bool_, np.complex64, np.uint64,
                            "datetime64[s]", "U3", [("a", "i1")], object])
        return _npy_bytes(array.astype(dtype) if dtype is not object
                          else array.astype(object))
    if how == "shape":
        shape = list(array.shape)
        shape[rng.randrange(len(shape))] += rng.choice([-1, 1, 5]) if min(shape) > 1 else 1
        return _npy_bytes(np.zeros(shape, dtype=np.int8))
    if how == "rank":
        return _npy_bytes(rng.choice([np.int8(3), array.reshape(-1), array[None],
                                      array[..., None], np.zeros((0,) * array.ndim, np.int8)]))
    if how == "range":
        bad = array.astype(np.int64)
        bad.flat[rng.randrange(bad.size)] = rng.choice([hi + 1, lo - 1, 1 << 40, -(1 << 63)])
        return _npy_bytes(bad)
    if how == "truncate":
        data = _npy_bytes(array)
        return data[:rng.randrange(len(data))]
    if how == "not_npy":
        return rng.choice([b"", b"1 2 3\n", b"\x93NUMPY", bytes(range(256)),
                           "\u00e9t\u00e9".encode()])
    if how == "npz":
        buf = io.BytesIO()
        np.savez(buf, a=array)
        return buf.getvalue()
    if how == "header":
        return rng.choice([_crafted((1 << 40,)), _crafted(array.shape, "<f4"),
                           _crafted((-1, 2)), _crafted("x"), _crafted(array.shape, "|O"),
                           _crafted(array.shape)[:-3] + b"}\n"])
    if how == "layout":
        return _npy_bytes(rng.choice([np.asfortranarray(array), array.astype(">i2"),
                                      array.astype(np.int64)]))
    return _npy_bytes(array)


def npy_case(rng, index):
    target = rng.choice(["sta", "sta", "scnn", "accel"])
    if target == "sta":
        m, k, n = rng.randint(1, 5), rng.randint(1, 17), rng.randint(1, 5)
        act = np.random.default_rng(index).integers(-128, 128, (m, k)).astype(np.int8)
        weights = np.random.default_rng(index + 1).integers(-128, 128, (k, n)).astype(np.int8)
        argv = ["run", rng.choice(["sa_1x1", "vdbb_2x8x4_2x2"]), "--act", "@a.npy",
                "--weights", "@w.npy"]
        if rng.random() < 0.6:
            argv += ["--gemm", f"{m},{k},{n}"]
        argv += rng.choice([[], ["--prune"], ["--nnz", "2"]])
        awidth = wwidth = 8
    elif target == "scnn":
        c, h, w, kk, r = rng.randint(1, 3), rng.randint(1, 6), rng.randint(1, 6), \
            rng.randint(1, 4), rng.choice([1, 3, 5])
        act = np.random.default_rng(index).integers(-2, 3, (c, h, w)).astype(np.int16)
        weights = np.random.default_rng(index + 1).integers(-2, 3, (kk, c, r, r)).astype(np.int16)
        argv = ["run", "scnn_2x2_small", "--act", "@a.npy", "--weights", "@w.npy"]
        if rng.random() < 0.5:
            argv += ["--conv", f"{h},{w},{c},{kk},{r},{r}"]
        awidth = wwidth = 16
    else:
        act = np.random.default_rng(index).integers(-128, 128, (8, 4, 4)).astype(np.int8)
        weights = np.zeros((8, 8, 3, 3), dtype=np.int8)
        argv = ["run", "accel_small", "--conv", "4,4,8,8,3,3", "--act", "@a.npy",
                "--weights", "@w.npy", "--prune"]
        awidth = wwidth = 8
    files = {"a.npy": mutate_operand(rng, act, awidth) if rng.random() < 0.7
             else _npy_bytes(act),
             "w.npy": mutate_operand(rng, weights, wwidth) if rng.random() < 0.7
             else _npy_bytes(weights)}
    if rng.random() < 0.1:
        del files[rng.choice(["a.npy", "w.npy"])]          # a missing file
    return Case("npy", argv, files)


def make_case(index):
    rng = random.Random(f"{SEED}-{index}")
    if rng.randrange(1000) < GENERATE_PER_THOUSAND:
        return generate_case(rng, index)
    kind = rng.choices(["config", "cli", "npy"], weights=[40, 35, 25])[0]
    return {"config": config_case, "cli": cli_case, "npy": npy_case}[kind](rng, index)


# -- running and judging ------------------------------------------------------------------------

def _expand(arg, folder):
    return str(folder / arg[1:]) if arg.startswith("@") else arg


def _tree(folder):
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if not p.is_dir()}


def run_in_process(argv):
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(argv)
    except SystemExit as e:          # argparse: --help (0) and usage errors (2)
        code = e.code
    except ToolReached:
        code = "tool"
    except Exception as e:           # anything else is a traceback for a user
        code = f"exception {type(e).__name__}: {' '.join(str(e).split())[:200]}"
    return code, out.getvalue(), err.getvalue()


def _cpu_seconds():
    """CPU time of this process and of its ended child processes (the Yosys ``generate`` runs)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def judge(case, folder, code, stderr, before, seconds, cpu_seconds):
    """The outcome name, or raise AssertionError saying what is wrong."""
    errors = [line for line in stderr.splitlines() if not PROGRESS.match(line)]
    assert not str(code).startswith("exception"), f"a traceback: {code}"
    assert "Traceback" not in stderr, "a traceback on stderr"
    assert code in (0, 1, 2, "tool"), f"exit status {code!r}"
    new = _tree(folder) - before
    if code == 2:
        assert len(stderr.splitlines()) == 1, f"{len(stderr.splitlines())} lines on stderr"
        assert errors[0].startswith("sparseforge") and "error: " in errors[0], errors[0]
    elif code == 1:
        assert len(errors) == 1 and "its log: " in errors[0], stderr
        assert Path(errors[0].rsplit("its log: ", 1)[1]).is_file(), errors[0]
    elif code == "tool":
        assert not errors, stderr
    if case.generates and code == 0:
        # the Verilog, its manifest, the FuseSoC core and its waivers; the register map's C
        # header and Python driver for designs with registers
        suffixes = sorted(Path(p).suffix for p in new)
        assert suffixes in ([".core", ".json", ".v", ".vlt"],
                            [".core", ".h", ".json", ".py", ".v", ".vlt"]), new
    elif case.argv and case.argv[0] == "test":
        new = {p for p in new if not p.endswith(".log")}        # logs kept in a --log-dir
    if not (case.generates and code == 0):
        assert not new, f"files left behind: {sorted(new)[:5]}"
    assert cpu_seconds < SLOW_SECONDS, f"took {cpu_seconds:.1f} s of CPU time"
    assert seconds < HUNG_SECONDS, f"took {seconds:.1f} s"
    return {0: "exit 0", 1: "exit 1 (tool failed)", 2: "exit 2 (one line)",
            "tool": "accepted (stopped at a tool)"}[code]


#: Whether the running case may elaborate a design (the few real ``generate`` cases).
ELABORATE = {"allowed": False}


@pytest.fixture
def no_tools(monkeypatch):
    """External tools stop the case; so does elaborating a design, except in ``generate``
    cases of tiny configs (every command that elaborates goes through ``emit.build_top``)."""
    def stop(*args, **kwargs):
        raise ToolReached()
    for target in TOOLS:
        monkeypatch.setattr(target, stop)
    from sparseforge.gen import emit
    real = emit.build_top

    def build_top(cfg):
        if not ELABORATE["allowed"]:
            raise ToolReached()
        return real(cfg)
    monkeypatch.setattr(emit, "build_top", build_top)


def test_fuzz_frontend(no_tools, tmp_path, monkeypatch, record_property):
    indices = [int(ONLY)] if ONLY else range(CASES)
    print(f"front-end fuzzer: seed {SEED}, {len(indices)} cases "
          f"(SPARSEFORGE_FUZZ_SEED={SEED} reproduces them)")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    outcomes = Counter()
    by_kind = Counter()
    failures = []
    timings = []
    start = time.monotonic()
    for index in indices:
        case = make_case(index)
        folder = tmp_path / f"case{index}"
        folder.mkdir()
        for name, body in case.files.items():
            (folder / name).write_bytes(body)
        before = _tree(folder)
        argv = [_expand(a, folder) for a in case.argv]
        monkeypatch.chdir(folder)
        ELABORATE["allowed"] = case.generates
        t0, cpu0 = time.monotonic(), _cpu_seconds()
        code, _stdout, stderr = run_in_process(argv)
        seconds, cpu_seconds = time.monotonic() - t0, _cpu_seconds() - cpu0
        timings.append((cpu_seconds, seconds, index, " ".join(case.argv)[:60]))
        try:
            outcome = judge(case, folder, code, stderr, before, seconds, cpu_seconds)
        except AssertionError as e:
            failures.append(f"case {index} {case}: {e}\n    stderr: {stderr.strip()[:300]!r}")
            outcome = "FAILED"
        outcomes[outcome] += 1
        by_kind[(case.kind, outcome)] += 1
        if (outcome == "exit 2 (one line)" and index % SUBPROCESS_EVERY == 7 and
                not any("\x00" in a for a in argv)):
            # The same case through the installed command: same status, same line.
            result = subprocess.run([SPARSEFORGE, *argv], capture_output=True, text=True,
                                    cwd=folder, timeout=120)
            outcomes["... also through the console script"] += 1
            if result.returncode != 2 or result.stderr != stderr:
                failures.append(f"case {index} {case}: the console script answered "
                                f"{result.returncode}, {result.stderr!r}; in-process "
                                f"{stderr!r}")
    elapsed = time.monotonic() - start
    report = "\n".join([f"{len(indices)} cases in {elapsed:.1f} s, seed {SEED}"] +
                       [f"  {n:5d}  {name}" for name, n in outcomes.most_common()] +
                       [f"  {n:5d}  {kind}: {name}"
                        for (kind, name), n in sorted(by_kind.items())] +
                       [f"  slow: case {i} ({cpu:.2f} s of CPU, {s:.2f} s): {argv}"
                        for cpu, s, i, argv in sorted(timings)[-3:]])
    print(report)
    record_property("fuzz_outcomes", report)
    assert not failures, (f"{len(failures)} of {len(indices)} cases failed (seed {SEED}; one "
                          "case: SPARSEFORGE_FUZZ_SEED=<seed> SPARSEFORGE_FUZZ_ONLY=<index>):\n"
                          + "\n".join(failures[:10]) + "\n" + report)


# -- the config parser under hypothesis -----------------------------------------------------------

YAML_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(1 << 70), max_value=1 << 70)
    | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=20)


@settings(max_examples=200, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(base=st.sampled_from(BASES), data=st.data())
def test_parse_config_answers_every_value_with_a_config_or_one_line(base, data):
    """Any YAML value at any key path of any architecture's config: a config, or a
    :class:`~sparseforge.gen.errors.InputError` of one line; nothing else."""
    raw = _copy(base)
    paths = list(_paths(raw))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        try:
            _set(raw, path, data.draw(YAML_VALUES))
        except (TypeError, KeyError):       # an earlier draw replaced a parent mapping
            pass
    try:
        cfg = parse_config(raw)
    except InputError as e:
        assert "\n" not in str(e) and len(str(e)) < 1000, str(e)
    else:
        assert cfg.arch == raw["arch"]


@settings(max_examples=200, deadline=None, database=None)
@given(body=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_load_config_file_answers_any_bytes_with_a_config_or_one_line(body, tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "c.yaml"
    path.write_bytes(body)
    try:
        load_config_file(path)
    except InputError as e:
        assert "\n" not in str(e), str(e)
