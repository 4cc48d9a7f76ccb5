"""The PE's sequencer: the PT-IS-CP-sparse loop over one output-channel group (SCNN, Sec. 3.2).

"For each output-channel group, for each input channel: for each row of I activations (held), for
each row of F weights" (Fig. 4 made sparse). The channels are the blocks the PE's weight FIFO
kept (:class:`.wfifo.WeightFifo`): those with weights and activations, so any other channel costs
nothing; each block is taken when it has arrived whole.
"""

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import data, enum, wiring
from amaranth.lib.wiring import In, Out

from .swap import buffer_rows
from .wfifo import block_layout, group_count

__all__ = ["ChannelSequencer", "slot_layout"]


def slot_layout(cfg):
    """A slot issued by the sequencer: ``live`` (a slot of the group), ``valid`` (it carries a
    vector pair), first weight row ``q0`` / activation row ``j0`` of the channel, lane masks."""
    return data.StructLayout({"live": 1, "valid": 1, "q0": 1, "j0": 1, "amask": cfg.i,
                              "wmask": cfg.f})


class Seq(enum.Enum, shape=2):
    IDLE = 0
    FILL = 1
    RUN = 2


class ChannelSequencer(wiring.Component):
    """Issue the vector pairs (slots) of one PE for one output-channel group.

    **Channels.** The head of the weight FIFO's block queue (``head``: the block's first FIFO row
    and count, the PE's activation block of the channel, the block's group) is *taken* into
    ``cur`` in a step (below) in which ``cur`` is free (it has no channel, or issues its channel's
    last slot in this step) and the head is a block of the running group. A channel takes
    ``⌈nA / I⌉ · ⌈nW / F⌉`` slots, one per (activation row, weight row), activation rows outer;
    a slot of its last activation row reads its weight row for the last time and frees it
    (``free``).

    **Steps and timing.** ``group_start`` in cycle L: L + 1 is the first step (nothing is issued
    in it). From L + 2 the sequencer *runs*: every cycle in which ``advance`` is high is a step
    and issues one slot, ``live``, which carries a vector pair (``valid``) when ``cur`` holds a
    channel, and is a slot without products (a bubble) when it does not (its next block has not
    arrived). The group ends in the step in which ``cur`` is free, the head is not a block of the
    group and the broadcast has passed the group (``bgroup``, the group of the broadcast's
    pending beat, is larger): ``busy`` is low from the next cycle. The rules are those of
    :mod:`sparseforge.sim.scnn.schedule`.

    Attributes
    ----------
    group_start, layer_start : In(1)
        A group begins; the first one of a layer.
    head : In(block_layout(cfg))
    head_valid : In(1)
    bgroup : In
        The group of the broadcast's pending beat (the layer's group count once it is over).
    pop : Out(1)
        The head is taken.
    free : Out(1)
        A weight row is read for the last time.
    advance : In(1)
        The pipeline advances: the slot issued this cycle is taken.
    issue : Out(slot_layout(cfg))
        The slot of this cycle.
    a_addr, w_addr : Out
        Rows of the input RAM and of the weight FIFO this slot reads.
    busy : Out(1)
    """

    def __init__(self, cfg):
        self._cfg = cfg
        groups = range(group_count(cfg) + 1)
        super().__init__({
            "group_start": In(1),
            "layer_start": In(1),
            "head": In(block_layout(cfg)),
            "head_valid": In(1),
            "bgroup": In(groups),
            "pop": Out(1),
            "free": Out(1),
            "advance": In(1),
            "issue": Out(slot_layout(cfg)),
            "a_addr": Out(range(max(2, buffer_rows(cfg)))),   # either activation RAM's rows
            "w_addr": Out(range(max(2, cfg.weight_rows))),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        F, I = cfg.f, cfg.i  # noqa: E741  (the paper's names)
        seq = Signal(Seq)
        gp = Signal(range(group_count(cfg) + 1))             # the running group
        cur_valid = Signal()                                  # cur is a channel being issued
        cur = Signal(data.StructLayout({
            "a_start": range(max(2, buffer_rows(cfg))),
            "n_a": range(cfg.tile_elems + 1),
            "w_start": range(max(2, cfg.weight_rows)), "n_w": range(cfg.weight_block_max + 1)}))

        # -- the slots of the current channel -------------------------------------------------
        j = Signal(range(-(-cfg.tile_elems // I)))            # activation row in the block
        q = Signal(range(-(-cfg.weight_block_max // F)))      # weight row in the block
        a_off = Signal(range(cfg.tile_elems + I + 1))          # entries before row j
        w_off = Signal(range(cfg.weight_block_max + F + 1))
        w_row = Signal(range(cfg.weight_rows + -(-cfg.weight_block_max // F) + 1))
        last_a = Signal()
        last_w = Signal()
        end_channel = Signal()
        running = Signal()
        step = Signal()
        issued = Signal()                                     # a slot of cur is issued
        head_ok = Signal()                                    # the head is a block of gp
        cur_free = Signal()
        take = Signal()
        done = Signal()
        m.d.comb += [
            self.busy.eq(seq != Seq.IDLE),
            running.eq(seq == Seq.RUN),
            step.eq((seq == Seq.FILL) | (running & self.advance)),
            issued.eq(running & self.advance & cur_valid),
            last_a.eq(a_off + I >= cur.n_a),
            last_w.eq(w_off + F >= cur.n_w),
            end_channel.eq(issued & last_a & last_w),
            head_ok.eq(self.head_valid & (self.head.g == gp)),
            cur_free.eq(~cur_valid | end_channel),
            take.eq(step & cur_free & head_ok),
            done.eq(step & cur_free & ~head_ok & (self.bgroup > gp)),
            self.pop.eq(take),
            self.free.eq(issued & last_a),
            w_row.eq(cur.w_start + q),
            self.a_addr.eq(cur.a_start + j),
            self.w_addr.eq(Mux(w_row >= cfg.weight_rows, w_row - cfg.weight_rows, w_row)),
            self.issue.live.eq(running),
            self.issue.valid.eq(running & cur_valid),
            self.issue.q0.eq(q == 0),
            self.issue.j0.eq(j == 0),
            self.issue.amask.eq(Cat((a_off + lane) < cur.n_a for lane in range(I))),
            self.issue.wmask.eq(Cat((w_off + lane) < cur.n_w for lane in range(F))),
        ]

        with m.If(seq == Seq.IDLE):
            with m.If(self.group_start):
                m.d.sync += [seq.eq(Seq.FILL), cur_valid.eq(0),
                             gp.eq(Mux(self.layer_start, 0, gp + 1))]
        with m.Elif(step):
            m.d.sync += seq.eq(Mux(done, Seq.IDLE, Seq.RUN))
            with m.If(take):
                m.d.sync += [
                    cur_valid.eq(1),
                    cur.a_start.eq(self.head.a_start),
                    cur.n_a.eq(self.head.n_a),
                    cur.w_start.eq(self.head.w_start),
                    cur.n_w.eq(self.head.n_w),
                    j.eq(0), q.eq(0), a_off.eq(0), w_off.eq(0),
                ]
            with m.Elif(end_channel):
                m.d.sync += cur_valid.eq(0)
            with m.Elif(issued & last_w):
                m.d.sync += [q.eq(0), w_off.eq(0), j.eq(j + 1), a_off.eq(a_off + I)]
            with m.Elif(issued):
                m.d.sync += [q.eq(q + 1), w_off.eq(w_off + F)]
        return m
