"""Output compression: a pixel's non-zero values packed to the front with their channels
(*SparseCore*, Sec. 3: outputs "are eventually compressed and written to the output layer
section of the Activation Memory").

Lane ``i`` with a non-zero value goes to slot ``#{j < i : value_j ≠ 0}`` (a prefix count), so the
slots hold the non-zeros in ascending channel order, the order of :mod:`sparseforge.sim.
sparsecore.format`'s lists; slots past ``count`` are zero.
"""

from amaranth import Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .layouts import bits_for

__all__ = ["Compactor"]


class Compactor(wiring.Component):
    """``lanes`` INT8 values in, their non-zeros compacted out (combinational).

    Attributes
    ----------
    values : In(data.ArrayLayout(signed(8), lanes))
    count : Out(range(lanes + 1))
    slots : Out(data.ArrayLayout({c, value}, lanes))
    """

    latency = 0

    def __init__(self, lanes):
        self._lanes = lanes
        slot = data.StructLayout({"c": bits_for(lanes - 1), "value": signed(8)})
        super().__init__({"values": In(data.ArrayLayout(signed(8), lanes)),
                          "count": Out(range(lanes + 1)),
                          "slots": Out(data.ArrayLayout(slot, lanes))})

    def elaborate(self, platform):
        m = Module()
        n = self._lanes
        prefix = [Signal(range(n + 1), name=f"prefix{i}") for i in range(n + 1)]
        m.d.comb += prefix[0].eq(0)
        for i in range(n):
            m.d.comb += prefix[i + 1].eq(prefix[i] + (self.values[i] != 0))
        m.d.comb += self.count.eq(prefix[n])
        for j in range(n):
            # Only lanes i ≥ j can land in slot j.
            for i in range(j, n):
                with m.If((self.values[i] != 0) & (prefix[i] == j)):
                    m.d.comb += [self.slots[j].c.eq(i), self.slots[j].value.eq(self.values[i])]
        return m
