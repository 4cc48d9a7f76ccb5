"""Output merge: the PEs' output streams as one AXI4-Stream beat of a lane per PE."""

from amaranth import Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..common.axi import axi_stream_signature
from .layouts import beat_layout, out_layout, stream_width

__all__ = ["OutputMerge"]


class OutputMerge(wiring.Component):
    """Offer every PE's pending output beat in one AXI4-Stream beat, lane ``p`` for PE ``p``.

    A beat holds the lanes of the PEs with a pending beat when it is first offered; while it
    waits for ``tready``, a PE whose beat becomes pending meanwhile does not join it (that would
    change ``tdata`` under a waiting ``tvalid``, which AXI4-Stream forbids) and is not ready: it
    joins the next beat. A lane not in the beat is all zeros (``valid`` low). ``tlast`` is high
    on every beat (each is a frame). With ``tready`` always high every pending beat is taken in
    the cycle it is offered: no cycle is added.

    **Input contract** (what the accelerator guarantees, and all the handshake proof assumes of
    the inputs, ``tests/sparsecore/test_formal_outmerge.py``): each ``i[p]`` keeps the stream
    rules (its ``valid`` is not withdrawn and its payload is stable while not ready: the PEs'
    post-processors, proved in ``tests/common/test_formal_blocks.py``); ``chunk_of`` does not
    change while a beat waits (it is fixed while a layer runs, and a layer runs until every
    PE's last beat is taken). Under it, ``o.tvalid`` is never withdrawn and ``o.tdata`` is
    stable while ``o.tready`` is low (proved by k-induction).

    Attributes
    ----------
    i : In(stream.Signature(beat_layout(cfg))).array(pes)
        The PEs' output beats.
    chunk_of : In(ArrayLayout(range(pes), pes))
        The chunk each PE computes (a lane's ``chunk`` field).
    o : Out(axi_stream_signature(stream_width(out_layout(cfg))))
    """

    def __init__(self, cfg):
        self._cfg = cfg
        super().__init__({
            "i": In(stream.Signature(beat_layout(cfg))).array(cfg.pes),
            "chunk_of": In(data.ArrayLayout(range(max(2, cfg.pes)), cfg.pes)),
            "o": Out(axi_stream_signature(stream_width(out_layout(cfg)))),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        o = self.o
        waiting = Signal()                  # the beat offered last cycle was not taken
        members = Signal(cfg.pes)           # the PEs in that beat
        joins = Signal(cfg.pes)             # the PEs in this cycle's beat
        out = Signal(out_layout(cfg))
        for p, i in enumerate(self.i):
            m.d.comb += [
                joins[p].eq(i.valid & (~waiting | members[p])),
                i.ready.eq(o.tready & (~waiting | members[p])),
                out[p].valid.eq(joins[p]),
                out[p].chunk.eq(Mux(joins[p], self.chunk_of[p], 0)),
                out[p].beat.eq(Mux(joins[p], i.payload.as_value(), 0)),
            ]
        m.d.sync += [waiting.eq(o.tvalid & ~o.tready), members.eq(joins)]
        m.d.comb += [o.tdata.eq(out.as_value()), o.tvalid.eq(joins.any()), o.tlast.eq(1)]
        return m
