"""Requantization to INT8, the streaming post-processor's arithmetic (*SparseCore*, Sec. 3:
"normalization"; the project's rule shared with the VDBB accelerator).

``y = clamp(((acc + bias) · mult + 2^(shift−1)) >> shift, −128, 127)`` for ``shift ≥ 1``
(arithmetic shift, rounding half up), ``clamp((acc + bias) · mult)`` for ``shift = 0``; ReLU
after the clamp when enabled. ``acc + bias`` (33 bits) and the product (49 bits) are exact: the
datapath is wide enough for any INT32 accumulator and bias and 16-bit ``mult``.
"""

from amaranth import Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["Requantizer"]


class Requantizer(wiring.Component):
    """One lane, combinational.

    Attributes
    ----------
    acc : In(signed(acc_width)), bias : In(signed(32)), mult : In(unsigned(16)),
    shift : In(unsigned(5)), relu : In(1)
    y : Out(signed(8))
    """

    latency = 0

    def __init__(self, acc_width=32):
        super().__init__({"acc": In(signed(acc_width)), "bias": In(signed(32)),
                          "mult": In(unsigned(16)), "shift": In(unsigned(5)), "relu": In(1),
                          "y": Out(signed(8))})

    def elaborate(self, platform):
        m = Module()
        total = Signal(signed(max(len(self.acc), 32) + 1))
        scaled = Signal(signed(len(total) + 17))
        rounded = Signal(signed(len(scaled) + 1))
        shifted = Signal(signed(len(rounded)))
        half = Signal(unsigned(31))
        m.d.comb += [
            total.eq(self.acc + self.bias),
            scaled.eq(total * self.mult),
            half.eq((Const(1, 32) << self.shift) >> 1),
            rounded.eq(scaled + half),
            shifted.eq(rounded >> self.shift),
        ]
        clamped = Signal(signed(9))
        with m.If(shifted > 127):
            m.d.comb += clamped.eq(127)
        with m.Elif(shifted < -128):
            m.d.comb += clamped.eq(-128)
        with m.Else():
            m.d.comb += clamped.eq(shifted)
        m.d.comb += self.y.eq(Mux(self.relu & (clamped < 0), 0, clamped))
        return m
