"""OB read-out: every OB word of a finished pass onto the output stream (CCR, Sec. IV-A: the
output map leaves OB once the pass is done)."""

from amaranth import Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..common.axi import axi_stream_signature
from .layouts import out_word_layout, stream_width

__all__ = ["ObReader"]


class ObReader(wiring.Component):
    """Stream OB words ``0 … words − 1`` (one word of every bank a beat), ``tlast`` on the last.

    A ``read`` strobe while neither the pass (``busy``) nor a read-out (``streaming``) runs
    starts one. Each word is read from AccUnit (``rd_en``/``rd_addr``, :class:`.accunit.AccUnit`)
    in one cycle and shown from the next until taken: two cycles a word with ``tready`` high.

    **Input contract** (what the accelerator guarantees, and all the handshake proof assumes of
    the inputs, ``tests/ccr/test_formal_obreader.py``): ``rd_data`` changes only in the cycle
    after ``rd_en`` (AccUnit's read port holds its word, and nothing updates or clears OB while
    streaming: the accelerator takes ``start`` only when ``streaming`` is low, and a read-out
    starts only when the pass is not busy); ``words`` changes only in a cycle after one with
    ``streaming`` low (it is latched at ``start``). Under it, ``o.tvalid`` is never withdrawn and
    ``o.tdata``/``o.tlast`` are stable while ``o.tready`` is low (proved by k-induction).

    Attributes
    ----------
    read, busy : In(1)
    words : In(range(OB bank words + 2))
        OB words of the pass.
    rd_en : Out(1)
    rd_addr : Out(range(OB bank words + 1))
    rd_data : In(ArrayLayout(signed(acc_width), P_x·P_y))
        AccUnit's read port.
    o : Out(axi_stream_signature(OB word width))
    streaming : Out(1)
        A read-out runs (registered; high from the cycle after the accepted ``read``).
    """

    def __init__(self, cfg):
        self._cfg = cfg
        super().__init__({
            "read": In(1), "busy": In(1), "words": In(range(cfg.ob_bank_words + 2)),
            "rd_en": Out(1), "rd_addr": Out(range(cfg.ob_bank_words + 1)),
            "rd_data": In(data.ArrayLayout(signed(cfg.acc_width), cfg.multipliers)),
            "o": Out(axi_stream_signature(stream_width(out_word_layout(cfg)))),
            "streaming": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        o = self.o
        rd = Signal.like(self.rd_addr)
        showing = Signal()
        streaming = self.streaming
        with m.If(~self.busy & ~streaming & self.read):
            m.d.sync += [streaming.eq(1), rd.eq(0), showing.eq(0)]
        with m.Elif(streaming & ~showing):
            m.d.comb += [self.rd_en.eq(1), self.rd_addr.eq(rd)]
            m.d.sync += showing.eq(1)
        with m.Elif(streaming & showing & o.tready):
            m.d.sync += [showing.eq(0), rd.eq(rd + 1)]
            with m.If(rd == self.words - 1):
                m.d.sync += streaming.eq(0)
        m.d.comb += [o.tvalid.eq(streaming & showing), o.tdata.eq(self.rd_data.as_value()),
                     o.tlast.eq(rd == self.words - 1)]
        return m
