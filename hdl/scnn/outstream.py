"""Output streamer: each finished group's compressed outputs, out of every PE's OARAM (Sec. 4.1).

"The PE array is driven by a layer sequencer that orchestrates the movement of weights and
activations and is connected to a DRAM controller that can ... stream activations to/from the
PEs." Outputs of an output-channel group are final once its post-processing is done, so they
stream out while the next groups are computed.
"""

from amaranth import Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .compressor import oaram_row_layout
from .coords import ConstDivider
from .layouts import out_row_layout
from ..common.rams import read_port_signature

__all__ = ["OutputStreamer"]


class OutputStreamer(wiring.Component):
    """Stream the output blocks of finished groups, one row per cycle, group by group.

    Order: group by group; in a group, PE by PE (index ``py·P_x + px``); in a PE, output channel
    by output channel; each block as ``max(1, ⌈count / I⌉)`` beats (:func:`.layouts.
    out_row_layout`: the count and I entries, lanes past the count zero; an empty block is one
    beat with count 0). A PE's blocks lie back to back in its OARAM in channel order
    (:class:`.compressor.Compressor`), their counts in its count table.

    **Timing.** ``group_done`` pulses when a group's outputs are complete in every PE. The
    streamer issues the reads of one beat per cycle in which the beat before it leaves (or none
    is held): a group's first beat is read in the cycle after its ``group_done`` pulse (or in the
    cycle the previous group's last beat is presented, if later), and is presented from the next
    cycle, so with ``o.ready`` always high a group of ``n`` beats is presented in ``n``
    consecutive cycles.

    **Input contract** (what the accelerator guarantees, and all the handshake proof assumes of
    the inputs, ``tests/scnn/test_formal_outstream.py``): ``layer_start`` is not asserted while
    a beat is presented (``o.valid``: the accelerator starts a layer only when idle, after the
    previous layer's last beat has left); ``count_read[n].data`` and ``out_read[n].data`` are
    synchronous RAM reads, changing only in the cycle after their ``en`` (held while ``en`` is
    low). Under it, ``o.valid`` is never withdrawn and ``o.payload`` is stable while ``o.ready``
    is low (proved by k-induction); reads are enabled only when the presented beat leaves or
    none is presented.

    Attributes
    ----------
    layer_start : In(1)
        A layer begins: rewind.
    k : In(range(out_channels + 1))
        The layer's output channels.
    group_done : In(1)
    count_read : Out(read_port_signature(count)).array(PEs)
    out_read : Out(read_port_signature(oaram row)).array(PEs)
        The PEs' count tables and OARAMs (synchronous reads).
    o : Out(stream of out_row_layout(cfg) with ``dest`` = PE index and ``last`` = a block's last
        beat)
    active : Out(1)
        Finished groups still have beats to present.
    sent : Out(range(out_channels + 1))
        Output channels of the layer fully presented (every PE's blocks).
    finishing : Out(1)
        The layer's last beat leaves this cycle.
    """

    def __init__(self, cfg):
        self._cfg = cfg
        npe = cfg.pes
        count = range(cfg.tile_elems + 1)
        beat = data.StructLayout({"row": out_row_layout(cfg), "dest": range(max(2, npe)),
                                  "last": 1})
        super().__init__({
            "layer_start": In(1),
            "k": In(range(cfg.out_channels + 1)),
            "group_done": In(1),
            "count_read": Out(read_port_signature(count, cfg.out_channels)).array(npe),
            "out_read": Out(read_port_signature(oaram_row_layout(cfg),
                                                cfg.oaram_rows)).array(npe),
            "o": Out(wiring.Signature({"valid": Out(1), "ready": In(1),
                                       "payload": Out(beat)})),
            "active": Out(1),
            "sent": Out(range(cfg.out_channels + 1)),
            "finishing": Out(1),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        npe, lanes, kc = cfg.pes, cfg.i, cfg.kc
        ready_groups = Signal(range(cfg.out_channels + 2))     # groups done, not yet started
        k0 = Signal(range(cfg.out_channels + kc + 1))          # first channel of the group
        ptr = Signal(data.ArrayLayout(range(cfg.oaram_rows + 1), npe))

        # The beat held (its reads were issued in the cycle before it is presented).
        held = Signal()
        hp = Signal(range(max(2, npe)))                         # its PE
        hk = Signal(range(max(2, cfg.out_channels)))           # its output channel
        hr = Signal(range(-(-cfg.tile_elems // lanes) + 1))    # its row in the block
        count_in = Signal(range(cfg.tile_elems + 1))
        row_in = Signal(oaram_row_layout(cfg))
        for n in range(npe):
            with m.If(hp == n):
                m.d.comb += [count_in.eq(self.count_read[n].data),
                             row_in.eq(self.out_read[n].data)]
        m.submodules.rows = div = ConstDivider(lanes, cfg.tile_elems + lanes - 1)
        rows = Signal(range(-(-cfg.tile_elems // lanes) + 1))   # rows the held block stores
        m.d.comb += [div.dividend.eq(count_in + lanes - 1), rows.eq(div.quotient)]
        left = Signal(range(cfg.tile_elems + 1))                # entries from the held row on
        m.d.comb += left.eq(count_in - hr * lanes)
        block_last = Signal()
        m.d.comb += block_last.eq(left <= lanes)
        group_end = Signal()                                    # last channel of the group
        m.d.comb += group_end.eq((hk + 1 == self.k) | (hk + 1 == k0 + kc))

        beat = self.o.payload
        m.d.comb += [
            self.o.valid.eq(held),
            beat.dest.eq(hp),
            beat.last.eq(block_last),
            beat.row.count.eq(count_in),
        ]
        for lane in range(lanes):
            m.d.comb += beat.row.entries[lane].eq(Mux(lane < left, row_in[lane].as_value(), 0))

        # The next beat to read, given the held one.
        take = Signal()                  # the held beat leaves (or none is held)
        m.d.comb += take.eq(~held | self.o.ready)
        np_ = Signal.like(hp)
        nk = Signal.like(hk)
        nr = Signal.like(hr)
        issue = Signal()
        with m.If(~held):
            m.d.comb += [np_.eq(0), nk.eq(k0), nr.eq(0), issue.eq(ready_groups != 0)]
        with m.Elif(~block_last):
            m.d.comb += [np_.eq(hp), nk.eq(hk), nr.eq(hr + 1), issue.eq(1)]
        with m.Elif(~group_end):
            m.d.comb += [np_.eq(hp), nk.eq(hk + 1), nr.eq(0), issue.eq(1)]
        with m.Elif(hp != npe - 1):
            m.d.comb += [np_.eq(hp + 1), nk.eq(k0), nr.eq(0), issue.eq(1)]
        with m.Else():
            # The group's last beat: the next group's first, if it is done.
            m.d.comb += [np_.eq(0), nk.eq(k0 + kc), nr.eq(0), issue.eq(ready_groups > 1)]

        # The held PE's pointer (one PE: no index, which would be a one-case switch on ``hp``).
        ptr_held = ptr[0] if npe == 1 else ptr[hp]

        # Row of the next beat in its PE's OARAM: past the held block's rows when it moves on.
        base = Signal(range(cfg.oaram_rows + 1))
        with m.If(held & block_last & (np_ == hp)):
            m.d.comb += base.eq(ptr_held + rows)
        with m.Else():
            for n in range(npe):
                with m.If(np_ == n):
                    m.d.comb += base.eq(ptr[n])
        for n in range(npe):
            m.d.comb += [
                self.count_read[n].addr.eq(nk),
                self.count_read[n].en.eq(take & issue),
                self.out_read[n].addr.eq(base + nr),
                self.out_read[n].en.eq(take & issue),
            ]

        done_now = Signal()              # the held beat is the group's last and it leaves
        m.d.comb += done_now.eq(held & self.o.ready & block_last & group_end & (hp == npe - 1))
        with m.If(take):
            m.d.sync += [held.eq(issue), hp.eq(np_), hk.eq(nk), hr.eq(nr)]
            with m.If(held & block_last):
                m.d.sync += ptr_held.eq(ptr_held + rows)
        with m.If(take & held & block_last & group_end & (hp == npe - 1)):
            m.d.sync += k0.eq(k0 + kc)
        m.d.sync += ready_groups.eq(ready_groups + self.group_done - done_now)
        with m.If(done_now):
            m.d.sync += self.sent.eq(Mux(k0 + kc > self.k, self.k, k0 + kc))
        m.d.comb += [self.active.eq(held | (ready_groups != 0)),
                     self.finishing.eq(done_now & (k0 + kc >= self.k))]
        with m.If(self.layer_start):
            m.d.sync += [ready_groups.eq(0), k0.eq(0), held.eq(0), self.sent.eq(0),
                         ptr.eq(0)]
        return m
