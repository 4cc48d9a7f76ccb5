"""Result drain: hands completed output tiles from the TPEs' shadow registers to a row stream."""

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .layouts import result_beat_layout, tpe_results_layout

__all__ = ["ResultDrain"]


class ResultDrain(wiring.Component):
    """Stream out output tiles row by row while the array computes the next tile.

    Each TPE's result registers are *full* from the cycle after it captures a tile until its row of
    TPEs has been streamed out. Rows of TPEs are drained in order ``0 … M−1``, ``A`` result rows
    each, one per cycle; a row of TPEs is offered once all its N TPEs are full (the rightmost
    captures last). A TPE must not capture while full: :attr:`full` tells the engine to stall.

    Attributes
    ----------
    results : In(ArrayLayout(ArrayLayout(TPE results, N), M))
        The TPEs' result registers.
    captured : In(ArrayLayout(ArrayLayout(1, N), M))
        The TPE captures a tile at the end of this cycle.
    full : Out(ArrayLayout(ArrayLayout(1, N), M))
        Registered: the TPE holds a tile not yet streamed out.
    o : Out(stream.Signature(result_beat_layout(cfg)))
        Result rows, tile after tile, rows ``0 … M·A−1`` of each. ``o.valid`` and ``o.payload``
        depend only on registers. A row of TPEs becomes free the cycle after its last row is
        accepted.
    """

    def __init__(self, cfg):
        self._cfg = cfg
        flags = data.ArrayLayout(data.ArrayLayout(1, cfg.n), cfg.m)
        super().__init__({
            "results": In(data.ArrayLayout(data.ArrayLayout(tpe_results_layout(cfg), cfg.n),
                                           cfg.m)),
            "captured": In(flags),
            "full": Out(flags),
            "o": Out(stream.Signature(result_beat_layout(cfg))),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        row = Signal(range(cfg.m))          # row of TPEs being drained
        sub = Signal(range(cfg.a))          # result row within it

        row_full = Signal()
        m.d.comb += row_full.eq(self.full[row].as_value().all())
        m.d.comb += self.o.valid.eq(row_full)
        # An (M·A)-way case per output column: indexing ``results`` by ``row`` and ``sub`` would
        # build part-selects over every TPE's registers, quadratic in the array size. The last
        # row (sub-row) is the default case, so a case over a counter whose range is not a power
        # of two stays complete (Verilator's CASEINCOMPLETE); the counters never exceed it.
        with m.Switch(row):
            for i in range(cfg.m):
                with m.Case(i) if i < cfg.m - 1 else m.Default():
                    with m.Switch(sub):
                        for a in range(cfg.a):
                            with m.Case(a) if a < cfg.a - 1 else m.Default():
                                m.d.comb += self.o.payload.eq(Cat(
                                    self.results[i][j][a].as_value() for j in range(cfg.n)))

        done_row = Signal()
        m.d.comb += done_row.eq(self.o.valid & self.o.ready & (sub == cfg.a - 1))
        with m.If(self.o.valid & self.o.ready):
            with m.If(sub == cfg.a - 1):
                m.d.sync += sub.eq(0)
                m.d.sync += row.eq(Mux(row == cfg.m - 1, 0, row + 1))
            with m.Else():
                m.d.sync += sub.eq(sub + 1)

        for i in range(cfg.m):
            for j in range(cfg.n):
                with m.If(self.captured[i][j]):
                    m.d.sync += self.full[i][j].eq(1)
                with m.Elif(done_row & (row == i)):
                    m.d.sync += self.full[i][j].eq(0)
        return m
