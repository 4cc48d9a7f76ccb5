"""The sequencer: the loops of a pass, one PU step per cycle (CCR, Sec. IV-A/B).

Loops, outermost first: output channel ``k``, input channel ``c``, input block ``(M, N)``,
kernel entry ``e``. The dense baseline walks all ``R·S`` entries of every kernel, with ``(i, j)``
from loop counters ("the output coordinates can be derived from the loop indices in a state
machine"); SparseK walks only the kernel's non-zero entries, ``count`` of them (from the table
of entry counts), whose ``(i, j)`` come from KB to the CCU. A kernel with no entry costs one
cycle and no step.
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
    dense : bool
        Every kernel has ``R·S`` entries and ``(i, j)`` counts with ``e``.

    Attributes
    ----------
    start : In(1)
        Reset the loops to the first kernel (while ``run`` is low).
    run : In(1)
        Advance one step (or skip one empty kernel) this cycle.
    c, k, nb, wb, rs, s, wpk : In
        Input and output channels, input blocks per channel and per block row, ``R·S``, ``S``,
        OB words per output channel.
    count : In(count_bits)
        Entries of kernel ``group`` (SparseK; ignored when dense).
    group : Out
        Index ``k·C + c`` of the current kernel.
    issue : Out(1)
        A PU step this cycle (``run`` and the kernel is not empty).
    kb_addr, ib_addr, kbase, m, n, i, j : Out
        The step's KB entry, IB block, OB channel base, block indices and (dense) kernel
        coordinates.
    last : Out(1)
        This cycle's step (or skip) is the pass's last.
    """

    def __init__(self, cfg, *, dense):
        self._cfg = cfg
        self._dense = dense
        kb = range(max(2, cfg.kb_words))
        ib = range(max(2, cfg.ib_words))
        blocks = range(cfg.map_max + 1)
        super().__init__({
            "start": In(1), "run": In(1),
            "c": In(range(cfg.ib_words + 1)), "k": In(range(cfg.kernels_max + 1)),
            "nb": In(range(cfg.ib_words + 1)), "wb": In(blocks),
            "rs": In(range(cfg.kernel_max ** 2 + 1)), "s": In(range(cfg.kernel_max + 1)),
            "wpk": In(range(cfg.ob_bank_words + 1)),
            "count": In(range(cfg.kernel_max ** 2 + 1)),
            "group": Out(range(max(2, cfg.kernels_max))),
            "issue": Out(1), "last": Out(1),
            "kb_addr": Out(kb), "ib_addr": Out(ib), "kbase": Out(range(cfg.ob_bank_words)),
            "m": Out(blocks), "n": Out(blocks),
            "i": Out(range(cfg.kernel_max)), "j": Out(range(cfg.kernel_max)),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        k = Signal.like(self.k)
        c = Signal.like(self.c)
        blk = Signal(range(cfg.ib_words + 1))
        e = Signal(range(cfg.kernel_max ** 2 + 1))
        base = Signal.like(self.kb_addr)
        ibase = Signal.like(self.ib_addr)

        count = Signal.like(self.count)
        m.d.comb += count.eq(self.rs if self._dense else self.count)
        empty = count == 0
        last_e = e == count - 1
        last_blk = blk == self.nb - 1
        group_end = empty | (last_e & last_blk)
        last_c = c == self.c - 1
        m.d.comb += [
            self.issue.eq(self.run & ~empty),
            self.last.eq(self.run & group_end & last_c & (k == self.k - 1)),
            self.kb_addr.eq(base + e),
            self.ib_addr.eq(ibase + blk),
        ]

        with m.If(self.start):
            m.d.sync += [k.eq(0), c.eq(0), blk.eq(0), e.eq(0), base.eq(0), ibase.eq(0),
                         self.group.eq(0), self.kbase.eq(0), self.m.eq(0), self.n.eq(0),
                         self.i.eq(0), self.j.eq(0)]
        with m.Elif(self.run):
            with m.If(~empty):
                with m.If(last_e):
                    m.d.sync += [e.eq(0), self.i.eq(0), self.j.eq(0), blk.eq(blk + 1)]
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
                m.d.sync += [blk.eq(0), self.m.eq(0), self.n.eq(0), base.eq(base + count),
                             self.group.eq(self.group + 1)]
                with m.If(last_c):
                    m.d.sync += [c.eq(0), ibase.eq(0), k.eq(k + 1),
                                 self.kbase.eq(self.kbase + self.wpk)]
                with m.Else():
                    m.d.sync += [c.eq(c + 1), ibase.eq(ibase + self.nb)]
        return m
