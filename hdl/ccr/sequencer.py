"""The sequencer: the loops of a pass, one PU step per cycle (CCR, Sec. IV-A/B, Table I).

Loops, outermost first: output channel ``k``, input channel ``c``, IB word ``o`` of the channel,
KB word ``e`` of the kernel ``(k, c)``. What a word is depends on the design (Table I,
:mod:`sparseforge.sim.ccr.format`): an input block (dense, SparseK), a non-zero input (SparseI)
or a vector of them (SparseKI); a weight (dense: "the output coordinates can be derived from the
loop indices in a state machine"), a non-zero weight with its coordinates (SparseK), a kernel
tile (SparseI) or a vector of non-zero weights (SparseKI). The number of IB words per channel is
fixed (dense, SparseK: the channel's blocks) or read from the channels' count table; the number
of KB words per kernel is fixed (dense: ``R·S``; SparseI: its tiles) or read from the kernels'
count table. A kernel or channel with no word costs one cycle and no step.
"""

from amaranth import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["Sequencer"]


class Sequencer(wiring.Component):
    """Loop counters and buffer addresses of a pass. Latency 0: ``issue`` and the addresses
    describe the step of this cycle.

    Parameters
    ----------
    cfg : CcrConfig
    ib_table, kb_table : bool
        IB words per channel come from ``ib_count`` (else ``nb``); KB words per kernel from
        ``kb_count`` (else ``rs``).

    Attributes
    ----------
    start : In(1)
        Reset the loops to the first kernel (while ``run`` is low).
    run : In(1)
        Advance one step (or skip one empty kernel) this cycle.
    c, k : In
        Input and output channels.
    nb, wb : In
        IB words per channel (without ``ib_table``) and per row of ``(m, n)``.
    rs, s : In
        KB words per kernel (without ``kb_table``) and per row of ``(i, j)``.
    wpk : In
        OB words per output channel.
    ib_count, kb_count : In
        Words of channel ``chan`` and of kernel ``group`` (with the tables).
    chan, group : Out
        ``c`` and ``k·C + c`` of the current kernel: the count tables' addresses.
    issue : Out(1)
        A PU step this cycle (``run`` and neither the kernel nor the channel is empty).
    ib_addr, kb_addr, kbase : Out
        The step's IB and KB words and its output channel's first OB word.
    m, n, i, j : Out
        ``o`` as row and column of ``wb`` per row; ``e`` as row and column of ``s`` per row.
    last : Out(1)
        This cycle's step (or skip) is the pass's last.
    """

    def __init__(self, cfg, *, ib_table, kb_table):
        self._cfg = cfg
        self._ib_table = ib_table
        self._kb_table = kb_table
        ib = range(max(2, cfg.ib_words) + 1)
        kb = range(max(2, cfg.kb_words) + 1)
        inner = range(cfg.kernel_max ** 2 + 1)
        channels = range(cfg.kernels_max + 1)
        super().__init__({
            "start": In(1), "run": In(1),
            "c": In(channels), "k": In(channels),
            "nb": In(ib), "wb": In(range(cfg.map_max + 1)),
            "rs": In(inner), "s": In(range(cfg.kernel_max + 1)),
            "wpk": In(range(cfg.ob_bank_words + 1)),
            "ib_count": In(ib), "kb_count": In(inner),
            "chan": Out(range(max(2, cfg.kernels_max))),
            "group": Out(range(max(2, cfg.kernels_max))),
            "issue": Out(1), "last": Out(1),
            "ib_addr": Out(ib), "kb_addr": Out(kb), "kbase": Out(range(cfg.ob_bank_words)),
            "m": Out(range(cfg.map_max + 1)), "n": Out(range(cfg.map_max + 1)),
            "i": Out(range(cfg.kernel_max + 1)), "j": Out(range(cfg.kernel_max + 1)),
        })

    def elaborate(self, platform):
        m = Module()
        k = Signal.like(self.k)
        o = Signal.like(self.ib_count)
        e = Signal.like(self.kb_count)
        kbuf = Signal.like(self.kb_addr)
        ibuf = Signal.like(self.ib_addr)

        n_ib = self.ib_count if self._ib_table else self.nb
        n_kb = self.kb_count if self._kb_table else self.rs
        empty = (n_ib == 0) | (n_kb == 0)
        last_e = e == n_kb - 1
        last_o = o == n_ib - 1
        group_end = empty | (last_e & last_o)
        last_c = self.chan == self.c - 1
        m.d.comb += [
            self.issue.eq(self.run & ~empty),
            self.last.eq(self.run & group_end & last_c & (k == self.k - 1)),
            self.kb_addr.eq(kbuf + e),
            self.ib_addr.eq(ibuf + o),
        ]

        with m.If(self.start):
            m.d.sync += [k.eq(0), self.chan.eq(0), o.eq(0), e.eq(0), kbuf.eq(0), ibuf.eq(0),
                         self.group.eq(0), self.kbase.eq(0), self.m.eq(0), self.n.eq(0),
                         self.i.eq(0), self.j.eq(0)]
        with m.Elif(self.run):
            with m.If(~empty):
                with m.If(last_e):
                    m.d.sync += [e.eq(0), self.i.eq(0), self.j.eq(0), o.eq(o + 1)]
                    with m.If(self.n == self.wb - 1):
                        m.d.sync += [self.n.eq(0), self.m.eq(self.m + 1)]
                    with m.Else():
                        m.d.sync += self.n.eq(self.n + 1)
                with m.Else():
                    m.d.sync += e.eq(e + 1)
                    with m.If(self.j == self.s - 1):
                        m.d.sync += [self.j.eq(0), self.i.eq(self.i + 1)]
                    with m.Else():
                        m.d.sync += self.j.eq(self.j + 1)
            with m.If(group_end):
                m.d.sync += [o.eq(0), self.m.eq(0), self.n.eq(0), kbuf.eq(kbuf + n_kb),
                             self.group.eq(self.group + 1)]
                with m.If(last_c):
                    m.d.sync += [self.chan.eq(0), ibuf.eq(0), k.eq(k + 1),
                                 self.kbase.eq(self.kbase + self.wpk)]
                with m.Else():
                    m.d.sync += [self.chan.eq(self.chan + 1), ibuf.eq(ibuf + n_ib)]
        return m
