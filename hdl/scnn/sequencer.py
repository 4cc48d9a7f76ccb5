"""The PE's sequencer: the PT-IS-CP-sparse loop over one output-channel group (SCNN, Sec. 3.2).

"For each output-channel group, for each input channel: for each row of I activations (held), for
each row of F weights" (Fig. 4 made sparse). Channels are taken from the list of the PE's
non-empty activation blocks (:class:`.loader.BlockLoader`), so a channel without activations
costs nothing; the weight block of each is found in the weight directory.
"""

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import data, enum, wiring
from amaranth.lib.wiring import In, Out

from ..common.rams import read_port_signature

__all__ = ["ChannelSequencer", "slot_layout", "SEQUENCER_FILL"]

#: Cycles from ``group_start`` to the first slot issued: three shifts of the channel pipeline
#: (activation list read, weight directory read, channel register).
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
    pipeline of three registers (the list entry being read, the entry whose directory entry is
    being read, the channel being issued) shifts whenever a channel's last slot is issued, so
    channels follow each other without a gap. A channel whose weight block is empty takes one
    slot without products; otherwise it takes ``⌈nA / I⌉ · ⌈nW / F⌉`` slots, one per (activation
    row, weight row), activation rows outer.

    **Timing.** ``group_start`` in cycle L: the pipeline fills in L + 1 … L + 3, the first slot is
    issued in L + 4 (:data:`SEQUENCER_FILL`) and one per cycle in which ``advance`` is high; with
    an empty list, the group ends (``busy`` low) in L + 4.

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
            "a_addr": Out(range(max(2, cfg.iaram_rows))),
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
            "a_start": range(max(2, cfg.iaram_rows)), "n_a": range(cfg.tile_elems + 1),
            "w_start": range(max(2, cfg.weight_rows)), "n_w": range(cfg.weight_block_max + 1)}))

        shift = Signal()
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
                cur.a_start.eq(hold.start),
                cur.n_a.eq(hold.count),
                cur.w_start.eq(self.wdir.data.start),
                cur.n_w.eq(self.wdir.data.count),
            ]

        # -- the slots of the current channel -------------------------------------------------
        j = Signal(range(-(-cfg.tile_elems // I)))            # activation row in the block
        q = Signal(range(-(-cfg.weight_block_max // F)))      # weight row in the block
        a_off = Signal(range(cfg.tile_elems + I + 1))          # entries before row j
        w_off = Signal(range(cfg.weight_block_max + F + 1))
        empty = Signal()
        last_a = Signal()
        last_w = Signal()
        end_channel = Signal()
        running = Signal()
        m.d.comb += [
            running.eq(seq == Seq.RUN),
            empty.eq(cur.n_w == 0),
            last_a.eq(a_off + I >= cur.n_a),
            last_w.eq(w_off + F >= cur.n_w),
            end_channel.eq(empty | (last_a & last_w)),
            self.a_addr.eq(cur.a_start + j),
            self.w_addr.eq(cur.w_start + q),
            self.issue.live.eq(running),
            self.issue.valid.eq(running & ~empty),
            self.issue.q0.eq(q == 0),
            self.issue.j0.eq(j == 0),
            self.issue.amask.eq(Cat((a_off + lane) < cur.n_a for lane in range(I))),
            self.issue.wmask.eq(Cat((w_off + lane) < cur.n_w for lane in range(F))),
        ]

        with m.If(seq == Seq.IDLE):
            with m.If(self.group_start):
                m.d.sync += [seq.eq(Seq.FILL), fill.eq(0), ja.eq(0), read_valid.eq(0),
                             hold_valid.eq(0),
                             gbase.eq(Mux(self.layer_start, 0, gbase + self.channels))]
        with m.Elif(seq == Seq.FILL):
            m.d.comb += shift.eq(1)
            m.d.sync += fill.eq(fill + 1)
            with m.If(fill == 2):
                m.d.sync += [seq.eq(Mux(hold_valid, Seq.RUN, Seq.IDLE)), j.eq(0), q.eq(0),
                             a_off.eq(0), w_off.eq(0)]
        with m.Else():
            with m.If(self.advance):
                with m.If(end_channel):
                    m.d.comb += shift.eq(1)
                    m.d.sync += [j.eq(0), q.eq(0), a_off.eq(0), w_off.eq(0)]
                    with m.If(~hold_valid):
                        m.d.sync += seq.eq(Seq.IDLE)
                with m.Elif(last_w):
                    m.d.sync += [q.eq(0), w_off.eq(0), j.eq(j + 1), a_off.eq(a_off + I)]
                with m.Else():
                    m.d.sync += [q.eq(q + 1), w_off.eq(w_off + F)]
        return m
