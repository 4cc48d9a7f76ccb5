"""Operands from the command line, validated once for every ``sparseforge run``.

``--conv H,W,C,K,R,S[,stride[,pad]]`` shapes and ``--act`` / ``--weights`` ``.npy`` files; every
problem is an :class:`~sparseforge.gen.errors.InputError` that names the flag, the value and what
is allowed.
"""

from pathlib import Path

import numpy as np

from ..sim import workloads
from ..sim.gemm import int_range
from .errors import InputError

__all__ = ["parse_conv", "load_operand", "npy_shape", "MAX_OPERAND_ELEMENTS"]

#: Most elements an operand may have (from a file or made at random): 16 Mi int64 values are
#: 128 MiB in memory, and far more than any simulation of the RTL gets through.
MAX_OPERAND_ELEMENTS = 1 << 24

_NPY_MAGIC = b"\x93NUMPY"


def _open_npy(path, flag, mmap_mode=None):
    """``np.load`` of a ``.npy`` file, every failure an :class:`InputError` naming ``flag``."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            magic = f.read(len(_NPY_MAGIC))
    except FileNotFoundError:
        raise InputError(f"{flag}: {str(path)!r} does not exist") from None
    except OSError as e:
        raise InputError(f"{flag}: cannot read {str(path)!r} ({e.strerror})") from None
    if magic != _NPY_MAGIC:
        raise InputError(f"{flag}: {str(path)!r} is not a .npy file; expected an integer array "
                         "saved with numpy.save")
    try:
        array = np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        reason = " ".join(str(e).split()) or type(e).__name__
        if "mmap length is greater than file size" in reason or "EOF" in reason:
            reason = "truncated: shorter than its header says"
        if len(reason) > 100:
            reason = reason[:99] + "…"
        raise InputError(f"{flag}: cannot read {str(path)!r} as a .npy array ({reason})") \
            from None
    return array


def npy_shape(path, flag):
    """The shape of the array in a ``.npy`` file, read without loading its data."""
    return _open_npy(path, flag, mmap_mode="r").shape


def parse_conv(text):
    """``"H,W,C,K,R,S[,stride[,pad]]"`` → a :class:`~sparseforge.sim.workloads.ConvLayer`.

    Stride defaults to 1 and padding to ``(R − 1) / 2`` ('same' for odd kernels at stride 1).
    """
    parts = text.split(",")
    if not 6 <= len(parts) <= 8:
        raise InputError(f"--conv: {text!r} is not allowed; expected H,W,C,K,R,S[,stride[,pad]] "
                         "(e.g. 56,56,64,64,3,3,1,1)")
    names = ("H", "W", "C", "K", "R", "S", "stride", "pad")
    values = []
    for name, part in zip(names, parts):
        try:
            values.append(int(part))
        except ValueError:
            raise InputError(f"--conv: {name} = {part!r} is not allowed; expected an integer") \
                from None
    h, w, c, k, r, s = values[:6]
    stride = values[6] if len(values) > 6 else 1
    pad = values[7] if len(values) > 7 else (r - 1) // 2
    try:
        return workloads.ConvLayer("conv", h, w, c, k, r, s, stride, pad)
    except (TypeError, ValueError) as e:
        raise InputError(f"--conv: {e}") from None


def load_operand(path, flag, width, what, *, shape=None, ndim=None, context=""):
    """An integer ``.npy`` operand of ``width``-bit two's-complement values, as int64.

    ``shape`` (exact) and ``ndim`` are checked when given, from the file's header before its data
    is read; ``what`` names the operand in messages ("C×H×W activations") and ``context`` says
    where an expected shape comes from (" for this --gemm").

    Raises
    ------
    InputError
        The file is missing, unreadable, not a ``.npy`` file, truncated, of another rank or shape,
        larger than :data:`MAX_OPERAND_ELEMENTS`, not of an integer dtype, or holds values outside
        ``width`` bits.
    """
    path = Path(path)
    header = _open_npy(path, flag, mmap_mode="r")
    if ndim is not None and header.ndim != ndim:
        raise InputError(f"{flag}: shape {header.shape} is not allowed; expected a {ndim}-D "
                         f"{what}")
    if shape is not None and header.shape != tuple(shape):
        raise InputError(f"{flag}: shape {header.shape} is not allowed; expected {tuple(shape)} "
                         f"({what}){context}")
    if not np.issubdtype(header.dtype, np.integer):
        raise InputError(f"{flag}: dtype {header.dtype} is not allowed; expected integers "
                         f"({width}-bit {what})")
    if header.size > MAX_OPERAND_ELEMENTS:
        raise InputError(f"{flag}: shape {header.shape} is not allowed; expected at most "
                         f"{MAX_OPERAND_ELEMENTS:,} elements")
    del header
    array = _open_npy(path, flag)
    lo, hi = int_range(width)
    if array.size and (array.min() < lo or array.max() > hi):
        raise InputError(f"{flag}: values from {array.min()} to {array.max()} are not allowed; "
                         f"expected {width}-bit integers from {lo} to {hi}")
    return array.astype(np.int64)
