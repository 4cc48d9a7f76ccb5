"""INT8 requantization shared by the golden network, the accelerator's output stage and its tests.

One rule, used everywhere (the deployed INT8 stacks' fixed-point requantization, with a symmetric
zero point of 0)::

    t = (acc + bias) * mult
    y = clamp((t + (1 << (shift - 1))) >> shift, -128, 127)     for shift >= 1
    y = clamp(t, -128, 127)                                      for shift == 0
    y = max(y, 0)                                                if ReLU

``acc`` is a wrapped accumulator, ``bias`` a per-output-channel INT32, ``mult`` a per-output-channel
unsigned 16-bit multiplier (1…65535) and ``shift`` a per-output-channel right shift (0…47). The
shift is arithmetic, so the rounding is half up (towards +∞): −2.5 rounds to −2, 2.5 to 3. ReLU
after the clamp equals ReLU before it, as 0 lies inside the clamp range. ``acc + bias`` is exact
(no wrap); the product needs at most 33 + 16 = 49 bits plus the rounding term, so int64 holds it.

A 2×2 max-pool (stride 2, odd trailing rows and columns dropped) follows when the layer pools;
being monotone, requantization commutes with it.

With ``bias = 0`` and ``mult = 1`` the rule is :func:`sparseforge.sim.conv.requantize`.
"""

import numpy as np

__all__ = ["MULT_BITS", "SHIFT_MAX", "requantize", "quantize_multiplier", "max_pool2",
           "check_params"]

#: The multiplier is unsigned, 1 … 2**MULT_BITS − 1.
MULT_BITS = 16
#: The shift is 0 … SHIFT_MAX.
SHIFT_MAX = 47
BIAS_MIN, BIAS_MAX = -(1 << 31), (1 << 31) - 1


def check_params(bias, mult, shift):
    """Validate per-channel requantization parameters; return them as int64 arrays.

    Raises
    ------
    ValueError
        A bias outside INT32, a multiplier outside 1…65535 or a shift outside 0…47.
    """
    bias = np.asarray(bias, dtype=np.int64)
    mult = np.asarray(mult, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    if np.any(bias < BIAS_MIN) or np.any(bias > BIAS_MAX):
        bad = bias[(bias < BIAS_MIN) | (bias > BIAS_MAX)]
        raise ValueError(f"Bias must be an INT32, not {bad}")
    if np.any(mult < 1) or np.any(mult >= 1 << MULT_BITS):
        raise ValueError(f"Multiplier must be 1 to {(1 << MULT_BITS) - 1}, not "
                         f"{mult[(mult < 1) | (mult >= 1 << MULT_BITS)]}")
    if np.any(shift < 0) or np.any(shift > SHIFT_MAX):
        raise ValueError(f"Shift must be 0 to {SHIFT_MAX}, not "
                         f"{shift[(shift < 0) | (shift > SHIFT_MAX)]}")
    return bias, mult, shift


def requantize(acc, bias=0, mult=1, shift=0, relu=False, axis=0):
    """Apply the rule of this module to accumulators ``acc``.

    ``bias``, ``mult`` and ``shift`` are scalars or one value per index of ``acc``'s ``axis``
    (the output channel: axis 0 of a K×Ho×Wo map). Returns int64 values in −128…127
    (0…127 with ``relu``).
    """
    acc = np.asarray(acc, dtype=np.int64)
    bias, mult, shift = check_params(bias, mult, shift)
    if acc.ndim:
        shape = [1] * acc.ndim
        shape[axis] = -1
        bias, mult, shift = (v.reshape(shape) if v.ndim else v for v in (bias, mult, shift))
    t = (acc + bias) * mult
    rounding = np.where(shift > 0, np.left_shift(1, np.maximum(shift - 1, 0)), 0)
    y = np.clip((t + rounding) >> shift, -128, 127)
    return np.maximum(y, 0) if relu else y


def quantize_multiplier(real):
    """``(mult, shift)`` with ``mult / 2**shift`` nearest to ``real`` > 0 and ``mult`` as large as
    16 bits allow (2**15 ≤ mult < 2**16 unless the shift hits 0 or 47).

    Raises
    ------
    ValueError
        ``real`` not positive, or too large to express with a shift of 0 (≥ 65535.5).
    """
    real = float(real)
    if not real > 0:
        raise ValueError(f"Requantization scale must be positive, not {real!r}")
    shift = SHIFT_MAX
    while shift > 0 and round(real * 2.0 ** shift) >= 1 << MULT_BITS:
        shift -= 1
    mult = round(real * 2.0 ** shift)
    if mult >= 1 << MULT_BITS:
        raise ValueError(f"Requantization scale {real!r} is too large for a 16-bit multiplier")
    return max(mult, 1), shift


def max_pool2(x):
    """2×2 max-pool with stride 2 of a C×H×W map (a trailing odd row or column is dropped)."""
    x = np.asarray(x)
    c, h, w = x.shape
    x = x[:, :h // 2 * 2, :w // 2 * 2]
    return x.reshape(c, h // 2, 2, w // 2, 2).max(axis=(2, 4))
