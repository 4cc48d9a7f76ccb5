"""A PE's weight FIFO: the blocks of the weight broadcast it needs (SCNN paper, Sec. 4.2, Table 3).

The layer's compressed weights are broadcast to every PE while the PEs compute. Each PE keeps
only the blocks it will multiply, in a circular buffer of ``weight_rows`` rows of F entries (the
``wbuf`` RAM), and a queue of the complete blocks it holds (first row, count, the PE's
activation block of the same channel, group) for its sequencer. The rules, and the cycle model
that follows them, are in :mod:`sparseforge.sim.scnn.schedule`.
"""

from amaranth import Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..common.rams import read_port_signature, write_port_signature
from .layouts import weight_row_layout
from .swap import buffer_rows

__all__ = ["WeightFifo", "block_layout", "group_count"]


def group_count(cfg):
    """Most output-channel groups of a layer: ``⌈out_channels / kc⌉``."""
    return -(-cfg.out_channels // cfg.kc)


def block_layout(cfg):
    """An entry of the block queue: the block's first FIFO row ``w_start`` and count ``n_w``,
    the PE's activation block of its channel (first row ``a_start`` of the input RAM, count
    ``n_a``) and the block's group ``g``."""
    return data.StructLayout({
        "w_start": range(max(2, cfg.weight_rows)),
        "n_w": range(cfg.weight_block_max + 1),
        "a_start": range(max(2, buffer_rows(cfg))),
        "n_a": range(cfg.tile_elems + 1),
        "g": range(group_count(cfg) + 1),
    })


class WeightFifo(wiring.Component):
    """Keep a PE's blocks of the weight broadcast; hand complete blocks to the sequencer.

    The *pending* beat is the row the broadcast offers this cycle (``row``, whether it is the
    first and the last of its block, whether its block fits the FIFO at all). On the block's
    first beat the FIFO *keeps* it iff its count is not zero, it fits, and the PE's activation
    block of its channel (``act``: the activation directory's entry, read by the caller for the
    pending beat's channel) is not empty; a kept block's rows are written at consecutive rows
    (modulo ``weight_rows``) and, with its last row, it enters the block queue.

    Attributes
    ----------
    row : In(weight_row_layout(cfg))
    first, last, fits : In(1)
        The pending beat starts, ends its block; the block has at most ``weight_rows`` rows.
    group : In
        The pending beat's group.
    act : In(directory entry: start, count)
        The PE's activation block of the pending beat's channel.
    take : In(1)
        The broadcast takes the pending beat this cycle.
    ready : Out(1)
        The PE can take the pending beat: it drops it, or holds fewer than ``weight_rows`` rows.
    clear : In(1)
        Empty the FIFO and the queue.
    free : In(1)
        The sequencer read a row for the last time this cycle (rows are freed in order).
    pop : In(1)
        The sequencer takes the queue's head.
    head : Out(block_layout(cfg))
    head_valid : Out(1)
        The queue holds a block (entered before this cycle).
    wbuf : Out(write_port_signature(weight row, weight_rows))
    queue_w : Out(write_port_signature(block_layout(cfg), weight_rows))
    queue_r : Out(read_port_signature(block_layout(cfg), weight_rows, comb=True))
        The FIFO's rows and the block queue's RAM (a block takes at least one row, so
        ``weight_rows`` entries hold every queued block).
    """

    def __init__(self, cfg, act_shape):
        self._cfg = cfg
        rows = cfg.weight_rows
        super().__init__({
            "row": In(weight_row_layout(cfg)),
            "first": In(1),
            "last": In(1),
            "fits": In(1),
            "group": In(range(group_count(cfg) + 1)),
            "act": In(act_shape),
            "take": In(1),
            "ready": Out(1),
            "clear": In(1),
            "free": In(1),
            "pop": In(1),
            "head": Out(block_layout(cfg)),
            "head_valid": Out(1),
            "wbuf": Out(write_port_signature(weight_row_layout(cfg), rows)),
            "queue_w": Out(write_port_signature(block_layout(cfg), rows)),
            "queue_r": Out(read_port_signature(block_layout(cfg), rows, comb=True)),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        rows = cfg.weight_rows

        def wrap(x):
            return Mux(x == rows - 1, 0, x + 1)

        wptr = Signal(range(max(2, rows)))           # next row written
        held = Signal(range(rows + 1))               # rows written and not yet freed
        keeping = Signal()                           # the block being received is kept
        bstart = Signal(range(max(2, rows)))         # its first row
        qhead = Signal(range(max(2, rows)))
        qtail = Signal(range(max(2, rows)))
        queued = Signal(range(rows + 1))

        keep = Signal()
        write = Signal()
        push = Signal()
        m.d.comb += [
            keep.eq(Mux(self.first,
                        (self.row.count != 0) & self.fits & (self.act.count != 0), keeping)),
            self.ready.eq(~keep | (held < rows)),
            write.eq(self.take & keep),
            push.eq(write & self.last),
            self.wbuf.addr.eq(wptr),
            self.wbuf.data.eq(self.row),
            self.wbuf.en.eq(write),
            self.queue_w.addr.eq(qtail),
            self.queue_w.data.w_start.eq(Mux(self.first, wptr, bstart)),
            self.queue_w.data.n_w.eq(self.row.count),
            self.queue_w.data.a_start.eq(self.act.start),
            self.queue_w.data.n_a.eq(self.act.count),
            self.queue_w.data.g.eq(self.group),
            self.queue_w.en.eq(push),
            self.queue_r.addr.eq(qhead),
            self.head.eq(self.queue_r.data),
            self.head_valid.eq(queued != 0),
        ]
        with m.If(self.clear):
            m.d.sync += [wptr.eq(0), held.eq(0), keeping.eq(0), qhead.eq(0), qtail.eq(0),
                         queued.eq(0)]
        with m.Else():
            m.d.sync += held.eq(held + write - self.free)
            with m.If(self.take & self.first):
                m.d.sync += [keeping.eq(keep), bstart.eq(wptr)]
            with m.If(write):
                m.d.sync += wptr.eq(wrap(wptr))
            with m.If(push):
                m.d.sync += qtail.eq(wrap(qtail))
            with m.If(self.pop):
                m.d.sync += qhead.eq(wrap(qhead))
            m.d.sync += queued.eq(queued + push - self.pop)
        return m
