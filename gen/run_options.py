"""The options of ``sparseforge run``: one catalogue, each architecture taking the ones it names.

Every architecture accepts :data:`COMMON`; beyond those, its descriptor
(:class:`~sparseforge.gen.registry.Architecture`) lists the shared options of :data:`SHARED` it
accepts by name, and may add options of its own. The ``run`` parser offers the union, each help
text saying which architectures take the option, and :func:`check_run_options` refuses an option a
config's architecture does not take, in one line that lists the ones it does.
"""

import argparse
import os
import tempfile
from pathlib import Path

from . import registry
from .errors import InputError
from .registry import RunOption

__all__ = ["COMMON", "SHARED", "add_run_options", "check_run_options", "check_run_paths",
           "check_writable", "density", "parse_run_options", "seed"]


def density(text):
    """argparse type of a fraction (checked to 0..1 by each runner, which names the flag)."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def seed(text):
    """argparse type of a random seed: an integer ≥ 0 (NumPy's generators take no other)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed; expected an integer ≥ 0")
    return value


#: Options of every architecture's ``run``.
COMMON = (
    RunOption(("--out",), {"metavar": "Y.npy", "help": "save the result (GEMM: M×N int32; "
                                                       "convolution: K×Ho×Wo)"}),
    RunOption(("--sim",), {"choices": ("icarus", "verilator"), "default": "verilator",
                           "help": "simulator (default verilator)"}),
    RunOption(("--seed",), {"type": seed, "default": 1,
                            "help": "seed of the random operands (default 1)"}),
    RunOption(("--json",), {"action": "store_true", "help": "machine-readable output"}),
    RunOption(("-q", "--quiet"), {"action": "store_true", "help": "no progress lines"}),
    RunOption(("--wave",), {"metavar": "FILE",
                            "help": "record the RTL simulation's waveforms for GTKWave: FILE.vcd "
                                    "with Verilator, FILE.fst with Icarus (a run of several jobs "
                                    "writes FILE_2, FILE_3, ...)"}),
)

#: Options that several architectures share; a descriptor names the ones it accepts.
SHARED = (
    RunOption(("--gemm",), {"metavar": "M,K,N",
                            "help": "GEMM shape, M×K activations by K×N weights"}),
    RunOption(("--conv",), {"metavar": "H,W,C,K,R,S[,stride[,pad]]",
                            "help": "convolution layer: H×W×C input, K output channels, R×S "
                                    "kernel"}),
    RunOption(("--layer",), {"metavar": "NET.LAYER",
                             "help": "a layer of a shipped network table (see 'sparseforge "
                                     "layers NET')"}),
    RunOption(("--network",), {"metavar": "NET",
                               "help": "every convolution layer of a network (cycle model by "
                                       "default)"}),
    RunOption(("--model-only",), {"action": "store_true",
                                  "help": "only the golden and cycle models' figures, no RTL "
                                          "run"}),
    RunOption(("--rtl-layers",), {"metavar": "L1,L2,...",
                                  "help": "--network: layers to also run on the RTL and check"}),
    RunOption(("--nnz",), {"type": int, "help": "non-zeros per block of B (default: the design's "
                                                "maximum; VDBB cycles scale with it)"}),
    RunOption(("--weight-density",), {"type": density, "metavar": "D",
                                      "help": "fraction of non-zero random weights "
                                              "(unstructured sparsity)"}),
    RunOption(("--act-density",), {"type": density, "metavar": "D",
                                   "help": "fraction of non-zero random activations "
                                           "(default 0.5)"}),
    RunOption(("--act",), {"metavar": "X.npy", "help": "integer activations (GEMM: M×K; "
                                                       "convolution: C×H×W)"}),
    RunOption(("--weights",), {"metavar": "W.npy", "help": "integer weights (GEMM: K×N; "
                                                          "convolution: K×C×R×S)"}),
    RunOption(("--prune",), {"nargs": "?", "const": True, "default": None,
                             "metavar": "SCHEME",
                             "help": "alone: prune --weights to the design's sparsity bound by "
                                     "magnitude instead of refusing them; with --model: dense, "
                                     "vdbb:N/8, km:k/m or density:d (pruned and fine-tuned)"}),
    RunOption(("--model",), {"metavar": "NAME",
                             "help": "a trained network through every layer of the RTL: "
                                     "digits_cnn"}),
    RunOption(("--images",), {"type": int, "metavar": "N",
                              "help": "--model: test images to classify (default 10; "
                                      "--model-only: all 450)"}),
    RunOption(("--shift",), {"type": int, "metavar": "S",
                             "help": "requantize to INT8 with a rounding right shift by S"}),
    RunOption(("--relu",), {"action": "store_true", "help": "apply ReLU"}),
    RunOption(("--threshold",), {
        "type": float, "metavar": "T",
        "help": "Sparse-Blox threshold of the layer's output blocks, a |mean| (configs with a "
                "sparseblox: section; accel: INT8 outputs, needs --shift)"}),
    RunOption(("--thresholds",), {
        "metavar": "FILE",
        "help": "--model: per-layer Sparse-Blox thresholds (the thresholds.json 'sparseforge "
                "spex' writes; layers it does not name do not prune)"}),
    RunOption(("--energy",), {"action": "store_true",
                              "help": "add the energy model's energy_pj, energy_by_component and "
                                      "tops_per_w (OSU 0.18 um, the configured clock), of the RTL "
                                      "run or, with --model-only, of the cycle model's; with "
                                      "--network, per layer and in total against the design's "
                                      "dense baseline; the first run of a design calibrates it "
                                      "on gate-level runs of a small design with the same blocks "
                                      "(minutes), then cached"}),
)

_COMMON_DESTS = {opt.dest for opt in COMMON}
_SHARED = {opt.dest: opt for opt in SHARED}


def _catalogue(archs):
    """``[(RunOption, [architecture names])]``: every ``run`` option beyond :data:`COMMON`."""
    options = {dest: (opt, []) for dest, opt in _SHARED.items()}
    for arch in archs.values():
        for opt in arch.own_options():
            options.setdefault(opt.dest, (opt, []))
        for dest in arch.option_names():
            if dest not in options:
                raise ValueError(f"Architecture {arch.name!r} names run option {dest!r}, which "
                                 "is neither shared nor its own")
            options[dest][1].append(arch.name)
    return [entry for entry in options.values() if entry[1]]


def add_run_options(parser):
    """Add every ``run`` option of every registered architecture to ``parser``."""
    for opt in COMMON:
        parser.add_argument(*opt.flags, **opt.kwargs)
    for opt, names in _catalogue(registry.architectures()):
        kwargs = dict(opt.kwargs)
        kwargs["help"] = f"{kwargs.get('help', '')} [{', '.join(names)}]".strip()
        parser.add_argument(*opt.flags, **kwargs)


def check_run_options(args, arch):
    """Raise :class:`InputError` for a given option that ``arch`` does not accept."""
    allowed = arch.option_names() | _COMMON_DESTS
    for opt, _names in _catalogue(registry.architectures()):
        value = getattr(args, opt.dest, None)
        if opt.dest not in allowed and value not in (None, False):
            flag = next(f for f in opt.flags if f.startswith("--"))
            takes = sorted("--" + d.replace("_", "-") for d in arch.option_names())
            raise InputError(f"{flag}: not allowed for arch {arch.name} ({arch.summary}); it "
                             f"takes {', '.join(takes)}")


class _OptionParser(argparse.ArgumentParser):
    """The ``run`` options alone, a bad one raised as :class:`InputError` (for the API)."""

    def error(self, message):
        raise InputError(message)


def parse_run_options(options):
    """The ``run`` options of a Python call, ``{dest: value}`` (``gemm=(16, 64, 16)`` or
    ``"16,64,16"``, ``nnz=2``, ``model_only=True``, ...), as the ``run`` command's namespace:
    each value goes through the command's own parsing (types, choices, defaults).

    Raises
    ------
    TypeError
        An option that no architecture's ``run`` has.
    InputError
        A value the command would refuse, in its one line.
    """
    parser = _OptionParser(prog="run", add_help=False)
    add_run_options(parser)
    known = vars(parser.parse_args([]))         # every option's dest, at its default
    argv = []
    for dest, value in options.items():
        if dest not in known or dest == "json":
            raise TypeError(f"run() got an unexpected option {dest!r}")
        flag = "--" + dest.replace("_", "-")
        if value is True:             # a switch, or an option alone (--prune)
            argv.append(flag)
        elif value not in (None, False):
            text = ",".join(map(str, value)) if isinstance(value, (tuple, list)) else str(value)
            argv.append(f"{flag}={text}")
    return parser.parse_args(argv)


def check_writable(directory, flag):
    """Raise :class:`InputError` unless a file can be created in ``directory`` (tried, not
    guessed from permission bits, which say nothing of read-only file systems or /proc)."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".sparseforge-probe-", dir=directory)
    except OSError as e:
        raise InputError(f"{flag}: directory {str(directory)!r} is not writable "
                         f"({e.strerror})") from None
    os.close(fd)
    os.unlink(probe)


def check_run_paths(args):
    """Check ``--out`` and ``--wave`` before any work: a file name in a writable folder, and the
    simulator's waveform format; the ``--wave`` path (or None)."""
    if args.out is not None:
        if not args.out or args.out.endswith(os.sep):
            raise InputError(f"--out: {args.out!r} is not allowed; expected a file name (Y.npy)")
        out = Path(args.out)
        if out.is_dir():
            raise InputError(f"--out: {args.out!r} is a directory; expected a file name (Y.npy)")
        if not out.parent.is_dir():
            raise InputError(f"--out: directory {str(out.parent)!r} does not exist")
        check_writable(out.parent, "--out")
    if args.wave is None:
        return None
    from ..tb.runner import WAVE_SUFFIX
    wave = Path(args.wave)
    wanted = WAVE_SUFFIX[args.sim]
    if wave.suffix != wanted:
        raise InputError(f"--wave: {args.wave!r} is not allowed with --sim {args.sim}; expected "
                         f"a {wanted} file ({args.sim} writes {wanted[1:].upper()})")
    if wave.is_dir():
        raise InputError(f"--wave: {args.wave!r} is a directory; expected a file name")
    if not wave.parent.is_dir():
        raise InputError(f"--wave: directory {str(wave.parent)!r} does not exist")
    check_writable(wave.parent, "--wave")
    if args.model_only:
        raise InputError("--wave: not allowed with --model-only (no RTL is simulated)")
    return wave
