"""Skew buffer: lane k of a vector is delayed by k cycles, as at the edges of a systolic array."""

from amaranth import Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["Skew"]


class Skew(wiring.Component):
    """Delay lane ``k`` of ``i`` by ``k`` cycles (lane 0 passes straight through).

    Systolic arrays take operands skewed by one cycle per row or column; a skew buffer at the edge
    lets the user stream plain rows and columns (Liu et al., STA paper, Section IV-A, Fig. 7).

    Parameters
    ----------
    shape : shape-like
        Shape of one lane.
    lanes : int
        Number of lanes (≥ 1).

    Attributes
    ----------
    i : In(ArrayLayout(shape, lanes))
    o : Out(ArrayLayout(shape, lanes))
        ``o[k]`` is ``i[k]`` as it was ``k`` clock cycles ago. The buffer holds
        ``lanes·(lanes−1)/2`` lane registers; it has no enable of its own (wrap it in
        ``EnableInserter`` to stall it).
    """

    def __init__(self, shape, lanes):
        if not isinstance(lanes, int) or lanes < 1:
            raise TypeError(f"Lane count must be a positive integer, not {lanes!r}")
        self._shape = shape
        self._lanes = lanes
        layout = data.ArrayLayout(shape, lanes)
        super().__init__({"i": In(layout), "o": Out(layout)})

    @property
    def lanes(self):
        return self._lanes

    def elaborate(self, platform):
        m = Module()
        for k in range(self._lanes):
            prev = self.i[k]
            for stage in range(k):
                reg = Signal(self._shape, name=f"lane{k}_stage{stage}")
                m.d.sync += reg.eq(prev)
                prev = reg
            m.d.comb += self.o[k].eq(prev)
        return m
