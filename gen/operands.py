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

__all__ = ["parse_conv", "load_operand"]


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

    ``shape`` (exact) and ``ndim`` are checked when given; ``what`` names the operand in messages
    ("C×H×W activations") and ``context`` says where an expected shape comes from
    (" for this --gemm").
    """
    path = Path(path)
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise InputError(f"{flag}: cannot read {str(path)!r} as a .npy array ({e})") from None
    if ndim is not None and array.ndim != ndim:
        raise InputError(f"{flag}: shape {array.shape} is not allowed; expected a {ndim}-D "
                         f"{what}")
    if shape is not None and array.shape != tuple(shape):
        raise InputError(f"{flag}: shape {array.shape} is not allowed; expected {tuple(shape)} "
                         f"({what}){context}")
    if not np.issubdtype(array.dtype, np.integer):
        raise InputError(f"{flag}: dtype {array.dtype} is not allowed; expected integers "
                         f"({width}-bit {what})")
    lo, hi = int_range(width)
    if array.size and (array.min() < lo or array.max() > hi):
        raise InputError(f"{flag}: values from {array.min()} to {array.max()} are not allowed; "
                         f"expected {width}-bit integers from {lo} to {hi}")
    return array.astype(np.int64)
