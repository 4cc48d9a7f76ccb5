"""Result drain: hands completed output tiles from the TPEs' result banks to a row stream."""

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .layouts import result_beat_layout, tpe_results_layout

__all__ = ["ResultDrain"]


class ResultDrain(wiring.Component):
    """Stream out output tiles row by row while the array computes the next tiles.

    Each TPE captures a finished tile into its result (shadow) registers. With ``result_banks``
    = 2 the drain keeps a second bank per TPE: when a TPE captures while its result registers
    still hold an undelivered tile, that tile moves into the second bank in the same cycle, so a
    TPE holds up to two tiles; the oldest is its *head*. Rows of TPEs are drained in order
    ``0 … M−1``, tile after tile, ``A`` result rows each, ``drain_rows`` (R) consecutive rows per
    beat; a row is offered once all its N TPEs hold the tile (the rightmost captures last). A TPE
    whose banks are all taken is :attr:`full` and must not capture: the engine stalls the array.

    **Input contract** (what the engine guarantees, and all the handshake proof assumes of the
    inputs, ``tests/sta/test_formal_drain.py``): ``captured[i][j]`` is never high while
    ``full[i][j]``; ``results[i][j]`` changes only in the cycle after ``captured[i][j]`` (the
    TPE's result registers are written when it captures and only then). Under it, ``o.valid``
    is never withdrawn and ``o.payload`` is stable while ``o.ready`` is low (proved by
    k-induction).

    Attributes
    ----------
    results : In(ArrayLayout(ArrayLayout(TPE results, N), M))
        The TPEs' result registers (the newest capture).
    captured : In(ArrayLayout(ArrayLayout(1, N), M))
        The TPE captures a tile at the end of this cycle.
    full : Out(ArrayLayout(ArrayLayout(1, N), M))
        Registered: every bank of the TPE holds a tile not yet streamed out.
    o : Out(stream.Signature(result_beat_layout(cfg)))
        Result beats of R rows, tile after tile, rows ``0 … M·A−1`` of each. ``o.valid`` and
        ``o.payload`` depend only on registers. A bank is free from the cycle after its row's
        last beat is accepted.
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
        rows_per_beat = cfg.drain_rows
        beats = cfg.a // rows_per_beat
        row = Signal(range(cfg.m))          # row of TPEs being drained
        sub = Signal(range(beats))          # beat within it

        done_row = Signal()
        m.d.comb += done_row.eq(self.o.valid & self.o.ready & (sub == beats - 1))
        with m.If(self.o.valid & self.o.ready):
            with m.If(sub == beats - 1):
                m.d.sync += sub.eq(0)
                m.d.sync += row.eq(Mux(row == cfg.m - 1, 0, row + 1))
            with m.Else():
                m.d.sync += sub.eq(sub + 1)

        # Banks: `live` says the result registers hold an undelivered tile; with two banks,
        # `held` that the second bank holds one (then it is the older, the head).
        head = [[None] * cfg.n for _ in range(cfg.m)]
        if cfg.result_banks == 1:
            has = self.full
            for i in range(cfg.m):
                for j in range(cfg.n):
                    with m.If(self.captured[i][j]):
                        m.d.sync += self.full[i][j].eq(1)
                    with m.Elif(done_row & (row == i)):
                        m.d.sync += self.full[i][j].eq(0)
                    head[i][j] = self.results[i][j]
        else:
            has = Signal(data.ArrayLayout(data.ArrayLayout(1, cfg.n), cfg.m))
        for i in range(cfg.m if cfg.result_banks == 2 else 0):
            pop = Signal(name=f"pop{i}")
            m.d.comb += pop.eq(done_row & (row == i))
            for j in range(cfg.n):
                cap = self.captured[i][j]
                live = Signal(name=f"live_{i}_{j}")
                held = Signal(name=f"held_{i}_{j}")
                bank = Signal(tpe_results_layout(cfg), name=f"bank_{i}_{j}")
                with m.If(cap):                 # never while full: the array stalls
                    m.d.sync += live.eq(1)
                    with m.If(held & pop):
                        m.d.sync += held.eq(0)
                    with m.Elif(live & ~pop):   # the undelivered tile moves to the bank
                        m.d.sync += [bank.eq(self.results[i][j]), held.eq(1)]
                with m.Elif(pop):
                    with m.If(held):
                        m.d.sync += held.eq(0)
                    with m.Else():
                        m.d.sync += live.eq(0)
                m.d.comb += [self.full[i][j].eq(live & held), has[i][j].eq(live | held)]
                head_ij = Signal(tpe_results_layout(cfg), name=f"head_{i}_{j}")
                m.d.comb += head_ij.eq(Mux(held, bank, self.results[i][j]))
                head[i][j] = head_ij

        m.d.comb += self.o.valid.eq(has[row].as_value().all())
        # An (M·A/R)-way case per output column: indexing the heads by ``row`` and ``sub`` would
        # build part-selects over every TPE's registers, quadratic in the array size. The last
        # row (beat) is the default case, so a case over a counter whose range is not a power of
        # two stays complete (Verilator's CASEINCOMPLETE); the counters never exceed it. (No case
        # over a counter that has one value: its signal has no bits.)
        def beat(i, b):
            return Cat(head[i][j][b * rows_per_beat + r].as_value()
                       for r in range(rows_per_beat) for j in range(cfg.n))

        def by_sub(i):
            if beats == 1:
                m.d.comb += self.o.payload.eq(beat(i, 0))
                return
            with m.Switch(sub):
                for b in range(beats):
                    with m.Case(b) if b < beats - 1 else m.Default():
                        m.d.comb += self.o.payload.eq(beat(i, b))

        if cfg.m == 1:
            by_sub(0)
        else:
            with m.Switch(row):
                for i in range(cfg.m):
                    with m.Case(i) if i < cfg.m - 1 else m.Default():
                        by_sub(i)
        return m
