"""The PE's sequencer: the PT-IS-CP-sparse loop over one output-channel group (SCNN, Sec. 3.2).

"For each output-channel group, for each input channel: for each row of I activations (held), for
each row of F weights" (Fig. 4 made sparse). Channels are taken from the list of the PE's
non-empty activation blocks (:class:`.loader.BlockLoader`), so a channel without activations
costs nothing; the weight block of each is found in the weight directory, and a channel whose
weight block is empty is skipped while the channel before it issues its slots.
"""

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import data, enum, wiring
from amaranth.lib.wiring import In, Out

from ..common.rams import read_port_signature

__all__ = ["ChannelSequencer", "slot_layout", "SEQUENCER_FILL"]

#: Cycles from ``group_start`` to the first slot issued when the first listed channel has weights:
#: two shifts filling the channel pipeline (activation list read, weight directory read) and the
#: step taking the channel into its register.
SEQUENCER_FILL = 4


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

    **Channels.** Entry ``n`` of the activation list (``alist``: the PE's non-empty activation
    blocks in channel order, ``c``, first IARAM row, count) is paired with weight block
    ``(g, c)``, entry ``g·C + c`` of the weight directory (``wdir``: first row, count). A
    pipeline of three registers (the list entry being read, ``hold``: the entry whose directory
    entry is being read, ``cur``: the channel being issued) decides in every *step* (below):
    ``hold`` is *taken* into ``cur`` when its weight block is not empty and ``cur`` is free (it
    has no channel, or issues its channel's last slot in this step); it is *skipped* when its
    weight block is empty, whether ``cur`` is free or not; either way the pipeline shifts. A
    channel with weights takes ``⌈nA / I⌉ · ⌈nW / F⌉`` slots, one per (activation row, weight
    row), activation rows outer; a channel without weights takes none.

    **Steps and timing.** ``group_start`` in cycle L: the pipeline fills in L + 1, L + 2; L + 3 is
    the first step (nothing is issued in it). From L + 4 the sequencer *runs*: every cycle in
    which ``advance`` is high is a step and issues one slot, ``live``, which carries a vector pair
    (``valid``) when ``cur`` holds a channel, and is a slot without products (a bubble) when it
    does not. The group ends in the step in which ``cur`` is free and ``hold`` holds no entry:
    ``busy`` is low from the next cycle. So, with channels of ``k`` slots: the first slot is
    issued in L + 4 (:data:`SEQUENCER_FILL`) when the first listed channel has weights; a run of
    ``e`` channels without weights costs ``e`` bubbles before the first channel with weights (or,
    without one, before the group ends), and ``max(0, e + 1 − k)`` bubbles after a channel of
    ``k`` slots (the run is skipped one channel per step while that channel issues); a PE whose
    list is empty ends its group in L + 4. The pipeline shifts twice while filling and once per
    step that takes, skips or ends: ``3 + listed`` times per group.

    Attributes
    ----------
    group_start, layer_start : In(1)
        A group begins; the first one of a layer (its weight blocks are entries 0 … C − 1).
    channels : In(range(C_max + 1))
        The layer's input channels C.
    listed : In
        Entries of the activation list.
    alist, wdir : Out(read_port_signature(...))
        Synchronous read ports of the activation list and the weight directory.
    advance : In(1)
        The pipeline advances: the slot issued this cycle is taken.
    issue : Out(slot_layout(cfg))
        The slot of this cycle.
    a_addr, w_addr : Out
        Rows of the IARAM and of the weight buffer this slot reads.
    busy : Out(1)
    """

    def __init__(self, cfg, alist_shape, wdir_shape):
        self._cfg = cfg
        super().__init__({
            "group_start": In(1),
            "layer_start": In(1),
            "channels": In(range(cfg.iaram_rows + 1)),
            "listed": In(range(cfg.iaram_rows + 1)),
            "alist": Out(read_port_signature(alist_shape, cfg.iaram_rows)),
            "wdir": Out(read_port_signature(wdir_shape, cfg.weight_rows)),
            "advance": In(1),
            "issue": Out(slot_layout(cfg)),
            "a_addr": Out(alist_shape["start"].shape),     # any row a list entry can name
            "w_addr": Out(range(max(2, cfg.weight_rows))),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        F, I = cfg.f, cfg.i  # noqa: E741  (the paper's names)
        seq = Signal(Seq)
        fill = Signal(range(3))
        gbase = Signal(range(cfg.weight_rows + cfg.iaram_rows + 1))   # entry of (g, 0)
        ja = Signal(range(cfg.iaram_rows + 2))                # next list entry to read
        read_valid = Signal()                                 # alist.data is a list entry
        hold = Signal(self.alist.data.shape())                # its directory entry is read
        hold_valid = Signal()
        cur = Signal(data.StructLayout({
            "a_start": self.alist.data.shape()["start"].shape,
            "n_a": range(cfg.tile_elems + 1),
            "w_start": range(max(2, cfg.weight_rows)), "n_w": range(cfg.weight_block_max + 1)}))

        # -- the channel pipeline: take the next channel, or skip one with no weights ----------
        # A *step* is a cycle in which the channel decision is made: the last fill cycle, then
        # every cycle the pipeline advances while running.
        shift = Signal()
        step = Signal()
        cur_valid = Signal()                                  # cur is a channel being issued
        hold_ok = Signal()                                    # hold is a channel with weights
        cur_free = Signal()
        take = Signal()
        skip = Signal()
        done = Signal()
        m.d.comb += [
            self.alist.addr.eq(ja),
            self.alist.en.eq(shift),
            self.wdir.addr.eq(gbase + self.alist.data.c),
            self.wdir.en.eq(shift),
            self.busy.eq(seq != Seq.IDLE),
        ]
        with m.If(shift):
            m.d.sync += [
                ja.eq(ja + 1),
                read_valid.eq(ja < self.listed),
                hold.eq(self.alist.data),
                hold_valid.eq(read_valid),
            ]

        # -- the slots of the current channel -------------------------------------------------
        j = Signal(range(-(-cfg.tile_elems // I)))            # activation row in the block
        q = Signal(range(-(-cfg.weight_block_max // F)))      # weight row in the block
        a_off = Signal(range(cfg.tile_elems + I + 1))          # entries before row j
        w_off = Signal(range(cfg.weight_block_max + F + 1))
        last_a = Signal()
        last_w = Signal()
        end_channel = Signal()
        running = Signal()
        m.d.comb += [
            running.eq(seq == Seq.RUN),
            last_a.eq(a_off + I >= cur.n_a),
            last_w.eq(w_off + F >= cur.n_w),
            end_channel.eq(cur_valid & last_a & last_w),
            hold_ok.eq(hold_valid & (self.wdir.data.count != 0)),
            cur_free.eq(~cur_valid | end_channel),
            take.eq(cur_free & hold_ok),
            skip.eq(hold_valid & ~hold_ok),
            done.eq(cur_free & ~hold_valid),
            step.eq(((seq == Seq.FILL) & (fill == 2)) | (running & self.advance)),
            self.a_addr.eq(cur.a_start + j),
            self.w_addr.eq(cur.w_start + q),
            self.issue.live.eq(running),
            self.issue.valid.eq(running & cur_valid),
            self.issue.q0.eq(q == 0),
            self.issue.j0.eq(j == 0),
            self.issue.amask.eq(Cat((a_off + lane) < cur.n_a for lane in range(I))),
            self.issue.wmask.eq(Cat((w_off + lane) < cur.n_w for lane in range(F))),
        ]

        with m.If(seq == Seq.IDLE):
            with m.If(self.group_start):
                m.d.sync += [seq.eq(Seq.FILL), fill.eq(0), ja.eq(0), read_valid.eq(0),
                             hold_valid.eq(0), cur_valid.eq(0),
                             gbase.eq(Mux(self.layer_start, 0, gbase + self.channels))]
        with m.Elif((seq == Seq.FILL) & (fill != 2)):
            m.d.comb += shift.eq(1)
            m.d.sync += fill.eq(fill + 1)
        with m.Elif(step):
            # The list entry in ``hold`` leaves it (taken or skipped); one more shift ends the
            # group, so the pipeline shifts ``3 + listed`` times per group.
            m.d.comb += shift.eq(take | skip | done)
            m.d.sync += seq.eq(Mux(done, Seq.IDLE, Seq.RUN))
            with m.If(take):
                m.d.sync += [
                    cur_valid.eq(1),
                    cur.a_start.eq(hold.start),
                    cur.n_a.eq(hold.count),
                    cur.w_start.eq(self.wdir.data.start),
                    cur.n_w.eq(self.wdir.data.count),
                    j.eq(0), q.eq(0), a_off.eq(0), w_off.eq(0),
                ]
            with m.Elif(end_channel):
                m.d.sync += cur_valid.eq(0)
            with m.Elif(cur_valid & last_w):
                m.d.sync += [q.eq(0), w_off.eq(0), j.eq(j + 1), a_off.eq(a_off + I)]
            with m.Elif(cur_valid):
                m.d.sync += [q.eq(q + 1), w_off.eq(w_off + F)]
        return m
