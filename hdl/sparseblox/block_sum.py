"""Block adder: sums each activation block as the results stream out (Hotfilter et al., III-B,
Fig. 4: the adder tree after the PE array)."""

from amaranth import Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..common.adder_tree import AdderTree
from .layouts import beat_layout, block_sum_layout, count_bits, sum_bits

__all__ = ["BlockSummer"]


class BlockSummer(wiring.Component):
    """Exact sum and real-element count of each block, a block being one or more beats.

    A beat carries ``lanes`` results; lanes whose ``mask`` bit is clear (past the map's edge) add
    nothing and are not counted. The beat with ``last`` set closes the block.

    Parameters
    ----------
    width : int
        Result width (two's complement).
    lanes : int
        Results per beat.
    block_size : int
        Most real elements in a block (sets the sum width ``width + ceil(log2 block_size)``, so
        the sum never overflows; a block of more masked-in values is outside the contract).
    tag_shape : shape or None
        Side-band payload of the block (e.g. its position), taken from its last beat.

    Attributes
    ----------
    i : In(stream.Signature(beat_layout(width, lanes, tag_shape)))
    o : Out(stream.Signature(block_sum_layout(width, block_size, tag_shape)))
    latency : int
        Cycles from the last beat of a block accepted to its sum valid: the adder tree's latency
        plus one (the block accumulator). One beat per cycle while ``o`` is ready; beats that do
        not close a block are absorbed even while ``o`` is stalled.
    """

    def __init__(self, *, width, lanes, block_size, tag_shape=None):
        if not isinstance(lanes, int) or lanes < 1:
            raise ValueError(f"Lanes must be a positive integer, not {lanes!r}")
        if not isinstance(block_size, int) or block_size < lanes:
            raise ValueError(f"Block size must be an integer of at least {lanes} (the lanes), "
                             f"not {block_size!r}")
        self._width, self._lanes, self._block_size = width, lanes, block_size
        self._tag_shape = tag_shape
        self._side = data.StructLayout({"count": unsigned(count_bits(lanes)), "last": 1,
                                        **({"tag": tag_shape} if tag_shape is not None else {})})
        self._tree = AdderTree(width=width, count=lanes, tag_shape=self._side)
        super().__init__({
            "i": In(stream.Signature(beat_layout(width, lanes, tag_shape))),
            "o": Out(stream.Signature(block_sum_layout(width, block_size, tag_shape))),
        })

    @property
    def latency(self):
        return self._tree.latency + 1

    @property
    def sum_width(self):
        return sum_bits(self._width, self._block_size)

    def elaborate(self, platform):
        m = Module()
        m.submodules.tree = tree = self._tree
        beat = self.i.payload

        # Masked lanes enter the tree as zeros; their count travels beside the values.
        m.d.comb += [tree.i.valid.eq(self.i.valid), self.i.ready.eq(tree.i.ready)]
        for n in range(self._lanes):
            m.d.comb += tree.i.payload.values[n].eq(Mux(beat.mask[n], beat.values[n], 0))
        m.d.comb += [tree.i.payload.tag.count.eq(sum(beat.mask[n] for n in range(self._lanes))),
                     tree.i.payload.tag.last.eq(beat.last)]
        if self._tag_shape is not None:
            m.d.comb += tree.i.payload.tag.tag.eq(beat.tag)

        # Block accumulator: partial sums of the block so far; the last beat fills the output.
        acc = Signal.like(self.o.payload.sum)
        acc_n = Signal.like(self.o.payload.n_valid)
        side = tree.o.payload.tag
        total = Signal.like(acc)
        m.d.comb += [
            total.eq(acc + tree.o.payload.sum),
            tree.o.ready.eq(~side.last | ~self.o.valid | self.o.ready),
        ]
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(tree.o.valid & tree.o.ready):
            with m.If(side.last):
                m.d.sync += [
                    self.o.valid.eq(1),
                    self.o.payload.sum.eq(total),
                    self.o.payload.n_valid.eq(acc_n + side.count),
                    acc.eq(0), acc_n.eq(0),
                ]
                if self._tag_shape is not None:
                    m.d.sync += self.o.payload.tag.eq(side.tag)
            with m.Else():
                m.d.sync += [acc.eq(total), acc_n.eq(acc_n + side.count)]
        return m
