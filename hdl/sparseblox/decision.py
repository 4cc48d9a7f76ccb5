"""Decision logic: a block is a pruning candidate when |sum| < t·n_valid (Hotfilter et al., III-B,
Fig. 4: the comparator after the adder tree)."""

from amaranth import Module, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .layouts import block_sum_layout, verdict_layout

__all__ = ["PruneDecision"]


class PruneDecision(wiring.Component):
    """Compare a block's ``|sum| · 2**frac_bits`` with ``threshold · n_valid`` (strictly less).

    The threshold is the layer's, in unsigned fixed point ``Q{int_bits}.{frac_bits}``
    (:class:`sparseforge.sim.sparseblox.ThresholdFormat`); ``threshold = 0`` prunes nothing.
    Partial edge blocks compare against their own ``n_valid``. The integer test is the one of
    :func:`sparseforge.sim.sparseblox.below_threshold`, exactly.

    Parameters
    ----------
    width, block_size : int
        As for :class:`.BlockSummer` (they set the sum and count widths).
    fmt : ThresholdFormat (or any object with ``bits`` and ``frac_bits``)
    tag_shape : shape or None
        Passed through.

    Attributes
    ----------
    threshold : In(unsigned(fmt.bits))
        The layer's threshold (a CSR); hold it steady while blocks flow.
    i : In(stream.Signature(block_sum_layout(width, block_size, tag_shape)))
    o : Out(stream.Signature(verdict_layout(tag_shape)))
    latency : int
        1 cycle; one block per cycle; stalls with ``o`` (``i.ready = ~o.valid | o.ready``).
    """

    latency = 1

    def __init__(self, *, width, block_size, fmt, tag_shape=None):
        self._fmt = fmt
        self._tag_shape = tag_shape
        super().__init__({
            "threshold": In(unsigned(fmt.bits)),
            "i": In(stream.Signature(block_sum_layout(width, block_size, tag_shape))),
            "o": Out(stream.Signature(verdict_layout(tag_shape))),
        })

    def elaborate(self, platform):
        m = Module()
        blk = self.i.payload
        magnitude = Signal(unsigned(len(blk.sum)))
        below = Signal()
        m.d.comb += [
            magnitude.eq(abs(blk.sum)),
            below.eq((magnitude << self._fmt.frac_bits) < self.threshold * blk.n_valid),
            self.i.ready.eq(~self.o.valid | self.o.ready),
        ]
        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += [self.o.valid.eq(1), self.o.payload.below.eq(below)]
            if self._tag_shape is not None:
                m.d.sync += self.o.payload.tag.eq(blk.tag)
        return m
