"""Filling a buffer and its count table from an AXI4-Stream (CCR, Sec. IV, Table I: the
compressed IB and KB with their word counts).

The host streams a buffer's words with ``tdest`` 0 and, for a compressed buffer, the count
table's entries with ``tdest`` 1 (:mod:`sparseforge.sim.ccr.format`). Each goes to the next
address from 0 after a ``clear``; a beat past the end, or a count for a buffer without a count
table, is dropped and sets ``error``.
"""

from amaranth import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..common.axi import axi_stream_signature

__all__ = ["Loader"]


class Loader(wiring.Component):
    """Stream words (``tdest`` 0) and counts (``tdest`` 1) into write ports, in order.

    Parameters
    ----------
    stream_width : int
        ``tdata`` bits.
    words, word_bits : int
        Depth and width of the buffer.
    counts, count_bits : int
        Depth and width of the count table (``counts`` 0: no table).

    Attributes
    ----------
    s_axis : In(axi_stream_signature(stream_width, dest_width=1))
        ``tready`` is ``accept``.
    accept : In(1)
        Take beats (low while a pass runs or OB streams out).
    clear : In(1)
        Restart both at address 0 and clear ``error``.
    w_addr, w_data, w_en : Out
        The buffer's write port.
    c_addr, c_data, c_en : Out
        The count table's write port (only with ``counts``).
    error : Out(1)
        A beat was dropped since the last ``clear``.
    """

    def __init__(self, stream_width, *, words, word_bits, counts=0, count_bits=1):
        self._words, self._counts = words, counts
        members = {
            "s_axis": In(axi_stream_signature(stream_width, dest_width=1)),
            "accept": In(1), "clear": In(1),
            "w_addr": Out(range(max(2, words))), "w_data": Out(word_bits), "w_en": Out(1),
            "error": Out(1),
        }
        if counts:
            members.update({"c_addr": Out(range(max(2, counts))), "c_data": Out(count_bits),
                            "c_en": Out(1)})
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        s = self.s_axis
        m.d.comb += s.tready.eq(self.accept)
        beat = s.tvalid & self.accept
        targets = [(beat & (s.tdest == 0), self._words, self.w_addr, self.w_data, self.w_en)]
        if self._counts:
            targets.append((beat & (s.tdest == 1), self._counts, self.c_addr, self.c_data,
                            self.c_en))
        else:
            with m.If(beat & (s.tdest == 1)):
                m.d.sync += self.error.eq(1)
        for take, depth, addr, data, en in targets:
            ptr = Signal(range(depth + 1))
            m.d.comb += [addr.eq(ptr), data.eq(s.tdata[:len(data)]),
                         en.eq(take & (ptr < depth))]
            with m.If(take):
                with m.If(ptr < depth):
                    m.d.sync += ptr.eq(ptr + 1)
                with m.Else():
                    m.d.sync += self.error.eq(1)
            with m.If(self.clear):
                m.d.sync += ptr.eq(0)
        with m.If(self.clear):
            m.d.sync += self.error.eq(0)
        return m
