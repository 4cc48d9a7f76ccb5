"""Position of the n-th set bit of a mask: a DBB bitmask to mux selects (STA paper, Fig. 2)."""

from amaranth import Const, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["NthSetBit"]


class NthSetBit(wiring.Component):
    """Find the position of set bit number ``index`` (counting from 0 at the LSB) in ``mask``.

    A DBB block stores its non-zero values in ascending position plus a B-bit mask; value ``n`` of
    the block belongs at the position of the n-th set bit. Purely combinational.

    Parameters
    ----------
    width : int
        Mask width B (≥ 1).
    index : int or None
        A constant index (the lane of a sparse dot product), or ``None`` for a run-time ``index``
        port (the time step of a time-unrolled MAC).

    Attributes
    ----------
    mask : In(width)
    index : In(range(width))
        Only when ``index`` is ``None``.
    position : Out(range(width))
        Position of the set bit; 0 when ``found`` is low.
    found : Out(1)
        The mask has more than ``index`` set bits.
    """

    def __init__(self, width, index=None):
        if not isinstance(width, int) or width < 1:
            raise TypeError(f"Mask width must be a positive integer, not {width!r}")
        if index is not None and (not isinstance(index, int) or not 0 <= index < width):
            raise ValueError(f"Constant index must be an integer from 0 to {width - 1}, "
                             f"not {index!r}")
        self._width = width
        self._const_index = index
        members = {"mask": In(width), "position": Out(range(width)), "found": Out(1)}
        if index is None:
            members["index"] = In(range(width))
        super().__init__(members)

    @property
    def width(self):
        return self._width

    def elaborate(self, platform):
        m = Module()
        index = self.index if self._const_index is None else Const(self._const_index)
        seen = Const(0, range(self._width + 1))      # set bits below position p
        hits = []
        for p in range(self._width):
            hit = Signal(name=f"hit{p}")
            m.d.comb += hit.eq(self.mask[p] & (seen == index))
            hits.append(hit)
            count = Signal(range(self._width + 1), name=f"seen{p + 1}")
            m.d.comb += count.eq(seen + self.mask[p])
            seen = count
        # At most one hit is set: OR the positions together.
        position = 0
        for p, hit in enumerate(hits):
            if p:
                position = position | hit.replicate(len(self.position)) & p
        m.d.comb += [
            self.position.eq(position),
            self.found.eq(Const(0, 1) if not hits else _any(hits)),
        ]
        return m


def _any(bits):
    result = bits[0]
    for bit in bits[1:]:
        result = result | bit
    return result
