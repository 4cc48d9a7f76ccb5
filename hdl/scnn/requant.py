"""Requantization of an output to the activation width, so that it can be the next layer's input.

SCNN keeps a layer's outputs on chip as the next layer's activations (Sec. 4.1: "the OARAM and
IARAM swap roles"); the PPU's ReLU output, an accumulator, is brought back to the activation
width by the project's output rule, :func:`sparseforge.sim.conv.requantize`, with a per-layer
shift.
"""

from amaranth import Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["Requantizer", "shift_bits"]


def shift_bits(acc_width):
    """Width of the shift: enough for 0 … ``acc_width`` (a larger shift would give the same 0s)."""
    return acc_width.bit_length()


class Requantizer(wiring.Component):
    """``clamp((value + (1 << (shift − 1))) >> shift, −2**(act − 1), 2**(act − 1) − 1)``: the rule
    of :func:`sparseforge.sim.conv.requantize` with ``bits = act_width`` (no rounding term for
    ``shift = 0``; the shift is arithmetic, so rounding is half up). Combinational.

    The sum is exact (one bit wider than the value); every shift the port can hold is exact.

    Parameters
    ----------
    acc_width : int
        Width of the signed ``value``.
    act_width : int
        Width of the signed result (2 … ``acc_width``).

    Attributes
    ----------
    value : In(signed(acc_width))
    shift : In(shift_bits(acc_width))
    o : Out(signed(acc_width))
        The result, sign-extended to ``acc_width`` bits (what the output RAMs store).

    Raises
    ------
    ValueError
        If the widths are not integers with 2 ≤ ``act_width`` ≤ ``acc_width``.
    """

    def __init__(self, acc_width, act_width):
        if not isinstance(acc_width, int) or not isinstance(act_width, int) or \
                not 2 <= act_width <= acc_width:
            raise ValueError(f"Widths must be integers with 2 <= act_width <= acc_width, not "
                             f"{act_width!r} and {acc_width!r}")
        self._acc = acc_width
        self._act = act_width
        super().__init__({"value": In(signed(acc_width)),
                          "shift": In(unsigned(shift_bits(acc_width))),
                          "o": Out(signed(acc_width))})

    def elaborate(self, platform):
        m = Module()
        top = (1 << shift_bits(self._acc)) - 1                # the largest shift the port holds
        rounding = Signal(unsigned(max(1, top)))
        rounded = Signal(signed(max(self._acc, top) + 2))
        m.d.comb += [
            rounding.eq((Const(1, top + 1) << self.shift)[1:]),
            rounded.eq((self.value + rounding) >> self.shift),
        ]
        hi, lo = (1 << (self._act - 1)) - 1, -(1 << (self._act - 1))
        m.d.comb += self.o.eq(Mux(rounded > hi, hi, Mux(rounded < lo, lo, rounded)))
        return m
