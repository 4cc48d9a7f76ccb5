"""Pipelined adder tree over a stream of operand vectors (Sparse-Blox's block adder, Hotfilter et
al., III-B, Fig. 4; generic)."""

from amaranth import Module, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["AdderTree", "tree_levels"]


def tree_levels(count):
    """Adder levels of a binary tree over ``count`` operands: ``ceil(log2(count))``."""
    return max(0, (count - 1).bit_length())


class AdderTree(wiring.Component):
    """Sum ``count`` signed operands per beat through a binary tree with a register per level.

    Parameters
    ----------
    width : int
        Operand width (two's complement).
    count : int
        Operands per beat.
    tag_shape : shape or None
        Side-band payload carried alongside, delayed by the tree's latency.

    Attributes
    ----------
    i : In(stream.Signature(StructLayout({"values": ArrayLayout(signed(width), count), "tag"})))
    o : Out(stream.Signature(StructLayout({"sum": signed(sum_width), "tag"})))
        The exact sum, ``sum_width = width + ceil(log2(count))`` bits: it never overflows.
    latency : int
        Cycles from a beat accepted on ``i`` to its sum valid on ``o``: ``max(1, ceil(log2
        count))``. One beat per cycle while ``o`` is ready; the whole pipeline stalls while ``o``
        holds a sum that is not taken (``i.ready = ~o.valid | o.ready``).
    """

    def __init__(self, *, width, count, tag_shape=None):
        if not isinstance(width, int) or width < 1:
            raise ValueError(f"Operand width must be a positive integer, not {width!r}")
        if not isinstance(count, int) or count < 1:
            raise ValueError(f"Operand count must be a positive integer, not {count!r}")
        self._width = width
        self._count = count
        self._tag_shape = tag_shape
        i_fields = {"values": data.ArrayLayout(signed(width), count)}
        o_fields = {"sum": signed(self.sum_width)}
        if tag_shape is not None:
            i_fields["tag"] = o_fields["tag"] = tag_shape
        super().__init__({
            "i": In(stream.Signature(data.StructLayout(i_fields))),
            "o": Out(stream.Signature(data.StructLayout(o_fields))),
        })

    @property
    def width(self):
        return self._width

    @property
    def count(self):
        return self._count

    @property
    def sum_width(self):
        return self._width + tree_levels(self._count)

    @property
    def latency(self):
        return max(1, tree_levels(self._count))

    def elaborate(self, platform):
        m = Module()
        advance = Signal()
        m.d.comb += [advance.eq(~self.o.valid | self.o.ready), self.i.ready.eq(advance)]

        level = [self.i.payload.values[n] for n in range(self._count)]
        valid = self.i.valid
        tag = self.i.payload.tag if self._tag_shape is not None else None
        for depth in range(self.latency):
            width = self._width + depth + 1
            pairs = [level[n:n + 2] for n in range(0, len(level), 2)]
            nxt = [Signal(signed(width), name=f"l{depth}_{n}") for n in range(len(pairs))]
            nxt_valid = Signal(name=f"l{depth}_valid")
            with m.If(advance):
                m.d.sync += [reg.eq(sum(pair)) for reg, pair in zip(nxt, pairs)]
                m.d.sync += nxt_valid.eq(valid)
            if tag is not None:
                nxt_tag = Signal(self._tag_shape, name=f"l{depth}_tag")
                with m.If(advance):
                    m.d.sync += nxt_tag.eq(tag)
                tag = nxt_tag
            level, valid = nxt, nxt_valid
        m.d.comb += [self.o.valid.eq(valid), self.o.payload.sum.eq(level[0])]
        if tag is not None:
            m.d.comb += self.o.payload.tag.eq(tag)
        return m
