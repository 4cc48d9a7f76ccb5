"""The SCNN processing element (SCNN paper, Sec. 4.2 and Fig. 6).

Weight buffer, IARAM and OARAM holding compressed data, an F×I multiplier array fed the Cartesian
product of F non-zero weights and I non-zero activations, coordinate computation, a scatter
crossbar to A accumulator banks, double-buffered accumulators and a post-processing unit.
"""

from amaranth import Cat, Module, Mux, Shape, Signal, signed
from amaranth.lib import data, enum, wiring
from amaranth.lib.wiring import In, Out

from .accumulators import AccumulatorBanks
from .compressor import oaram_row_layout
from .coords import ActOffset, ConstDivider, RowPositions, WeightOffset
from .crossbar import ScatterCrossbar
from .layouts import act_row_layout, layer_layout, weight_row_layout
from .multiplier import MultiplierArray
from .ppu import PostProcessor, halo_layout
from ..common.rams import Ram, read_port_signature, write_port_signature

__all__ = ["ScnnPE", "PE_PIPELINE", "pe_memories"]

#: Stages from the sequencer issuing a vector pair to the crossbar holding it: read (weight
#: buffer and IARAM), decode (positions and coordinates), multiply.
PE_PIPELINE = 3



def pe_memories(cfg):
    """The PE's RAM macros (:class:`.rams.Ram` submodules): ``{name: (rows, row bits)}``.

    The accumulator banks are register files with combinational reads, synthesized as logic, and
    not listed.
    """
    return {
        "wbuf": (cfg.weight_rows, data.Layout.cast(weight_row_layout(cfg)).size),
        "iaram": (cfg.iaram_rows, data.Layout.cast(act_row_layout(cfg)).size),
        "oaram": (cfg.oaram_rows, data.Layout.cast(oaram_row_layout(cfg)).size),
        "counts": (cfg.out_channels, Shape.cast(range(cfg.tile_elems + 1)).width),
    }


class Seq(enum.Enum, shape=2):
    IDLE = 0
    FETCH = 1        # read the first channel's block headers
    RUN = 2


class ScnnPE(wiring.Component):
    """One PE at array position ``(px, py)``.

    **Dataflow** (PT-IS-CP-sparse, Fig. 4 made sparse). For each output-channel group, for each
    input channel ``c``: for each row of I activations of the channel's compressed block (held),
    for each row of F weights of block ``(g, c)`` (replayed once per activation row): the F·I
    products go to the accumulators of the group at addresses computed from the indices
    (:mod:`.coords`). A channel whose activation or weight block is empty takes one cycle.

    **Storage.** The weight buffer holds the layer's compressed weight blocks, in stream order
    (``g`` outer, ``c`` inner), as rows of F entries (:func:`.layouts.weight_row_layout`); the
    IARAM the PE's activation blocks, one per input channel, as rows of I entries. Both have a
    second read port that fetches the next channel's first row (its count) while the current
    channel runs, so channels follow each other without a bubble. The OARAM holds the compressed
    output blocks written by the PPU, with their counts in a table indexed by output channel.

    **Pipeline.** Sequencer → read → decode → multiply → crossbar (:data:`PE_PIPELINE` stages
    before the crossbar). The crossbar holds a pair until every product has reached its bank;
    while it does, all earlier stages stall.

    Attributes
    ----------
    layer : In(layer_layout(cfg))
        The running layer (stable while it runs).
    layer_start : In(1)
        A layer begins: the weight buffer is read from row 0, the OARAM written from row 0.
    group_start : In(1)
        Compute the next output-channel group into the accumulator set ``acc_set``.
    acc_set : In(1)
        The accumulator set being filled (the other one belongs to the PPU).
    computing : Out(1)
        A group is being computed: from the cycle after ``group_start`` to the last cycle its
        last slot spends in the crossbar (every product accumulated).
    ppu_start, ppu_kg, ppu_kbase : In
        Post-process the other set: ``ppu_kg`` channels, output channels from ``ppu_kbase``.
    ppu_busy : Out(1)
    w_load : In(write port of the weight buffer)
    a_load : In(write port of the IARAM)
    out_read : In(synchronous read port of the OARAM)
    count_read : In(synchronous read port of the output counts)
    links, from_left, from_right, from_up, from_down :
        Halo links of the PPU (see :class:`.ppu.PostProcessor`).
    stall : Out(1)
        The multiplier array stalls this cycle on a bank conflict.
    granted : Out(range(F·I + 1))
        Products accumulated this cycle.
    overflow : Out(1)
        The OARAM is full and a row was dropped.
    """

    def __init__(self, cfg, px, py):
        self._cfg = cfg
        self._px, self._py = px, py
        halo = halo_layout(cfg)
        count = range(cfg.tile_elems + 1)
        super().__init__({
            "layer": In(layer_layout(cfg)),
            "layer_start": In(1),
            "group_start": In(1),
            "acc_set": In(1),
            "computing": Out(1),
            "ppu_start": In(1),
            "ppu_kg": In(range(cfg.kc + 1)),
            "ppu_kbase": In(range(max(2, cfg.out_channels))),
            "ppu_busy": Out(1),
            "w_load": In(write_port_signature(weight_row_layout(cfg), cfg.weight_rows)),
            "a_load": In(write_port_signature(act_row_layout(cfg), cfg.iaram_rows)),
            "out_read": In(read_port_signature(oaram_row_layout(cfg), cfg.oaram_rows)),
            "count_read": In(read_port_signature(count, cfg.out_channels)),
            "links": Out(halo),
            "from_left": In(halo["right"].shape),
            "from_right": In(halo["left"].shape),
            "from_up": In(halo["down"].shape),
            "from_down": In(halo["up"].shape),
            "stall": Out(1),
            "granted": Out(range(cfg.f * cfg.i + 1)),
            "overflow": Out(1),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        F, I = cfg.f, cfg.i  # noqa: E741  (the paper's names)

        # -- storage ----------------------------------------------------------------------------
        m.submodules.wbuf = wbuf = Ram(weight_row_layout(cfg), cfg.weight_rows, reads=2)
        m.submodules.iaram = iaram = Ram(act_row_layout(cfg), cfg.iaram_rows, reads=2)
        m.submodules.oaram = oaram = Ram(oaram_row_layout(cfg), cfg.oaram_rows)
        m.submodules.counts = counts = Ram(range(cfg.tile_elems + 1), cfg.out_channels)
        wiring.connect(m, wiring.flipped(self.w_load), wbuf.w)
        wiring.connect(m, wiring.flipped(self.a_load), iaram.w)
        wiring.connect(m, wiring.flipped(self.out_read), oaram.r[0])
        wiring.connect(m, wiring.flipped(self.count_read), counts.r[0])
        w_data, w_head = wbuf.r
        a_data, a_head = iaram.r

        # -- sequencer: one vector pair per advancing cycle --------------------------------------
        advance = Signal()
        seq = Signal(Seq)
        c = Signal(range(cfg.iaram_rows + 1))
        a_start = Signal(range(cfg.iaram_rows + 1))        # first row of the channel's blocks
        w_start = Signal(range(cfg.weight_rows + 1))
        w_group = Signal(range(cfg.weight_rows + 1))       # first row of the next group's blocks
        j = Signal(range(-(-cfg.tile_elems // I)))          # activation row in the block
        q = Signal(range(-(-cfg.weight_block_max // F)))    # weight row in the block
        a_off = Signal(range(cfg.tile_elems + I + 1))       # entries before row j
        w_off = Signal(range(cfg.weight_block_max + F + 1))
        first = Signal()                                     # counts come from the head ports
        n_a = Signal(range(cfg.tile_elems + 1))
        n_w = Signal(range(cfg.weight_block_max + 1))

        n_a_cur = Signal.like(n_a)
        n_w_cur = Signal.like(n_w)
        m.d.comb += [
            n_a_cur.eq(Mux(first, a_head.data.count, n_a)),
            n_w_cur.eq(Mux(first, w_head.data.count, n_w)),
        ]
        # Rows of the current blocks: max(1, ⌈n / L⌉).
        m.submodules.a_rows = a_div = ConstDivider(I, cfg.tile_elems + I - 1)
        m.submodules.w_rows = w_div = ConstDivider(F, cfg.weight_block_max + F - 1)
        a_rows = Signal(range(cfg.tile_elems + 1))
        w_rows = Signal(range(cfg.weight_block_max + 1))
        m.d.comb += [
            a_div.dividend.eq(n_a_cur + I - 1),
            w_div.dividend.eq(n_w_cur + F - 1),
            a_rows.eq(Mux(n_a_cur == 0, 1, a_div.quotient)),
            w_rows.eq(Mux(n_w_cur == 0, 1, w_div.quotient)),
        ]

        empty = Signal()
        last_a = Signal()
        last_w = Signal()
        end_channel = Signal()
        running = Signal()
        m.d.comb += [
            running.eq(seq == Seq.RUN),
            empty.eq((n_a_cur == 0) | (n_w_cur == 0)),
            last_a.eq(a_off + I >= n_a_cur),
            last_w.eq(w_off + F >= n_w_cur),
            end_channel.eq(empty | (last_a & last_w)),
        ]

        # Head ports: the FETCH state reads channel 0's first rows; the first cycle of a channel
        # reads the next channel's, held until the channel ends.
        m.d.comb += [
            a_head.addr.eq(Mux(running, a_start + a_rows, a_start)),
            w_head.addr.eq(Mux(running, w_start + w_rows, w_start)),
            a_head.en.eq((seq == Seq.FETCH) | (running & first)),
            w_head.en.eq((seq == Seq.FETCH) | (running & first)),
            a_data.addr.eq(a_start + j),
            w_data.addr.eq(w_start + q),
            a_data.en.eq(advance),
            w_data.en.eq(advance),
        ]

        # The slot entering the read stage: flags and lane masks.
        # ``live``: a slot of the group (every cycle of RUN, an empty channel's included);
        # ``valid``: it carries a vector pair.
        slot = data.StructLayout({"live": 1, "valid": 1, "q0": 1, "j0": 1, "amask": I,
                                  "wmask": F})
        s1 = Signal(slot)
        issue = Signal(slot)
        m.d.comb += [
            issue.live.eq(running),
            issue.valid.eq(running & ~empty),
            issue.q0.eq(q == 0),
            issue.j0.eq(j == 0),
            issue.amask.eq(Cat((a_off + lane) < n_a_cur for lane in range(I))),
            issue.wmask.eq(Cat((w_off + lane) < n_w_cur for lane in range(F))),
        ]

        with m.If(self.layer_start):
            m.d.sync += w_group.eq(0)
        with m.If(seq == Seq.IDLE):
            with m.If(self.group_start):
                m.d.sync += [seq.eq(Seq.FETCH), c.eq(0), a_start.eq(0),
                             w_start.eq(Mux(self.layer_start, 0, w_group))]
        with m.Elif(seq == Seq.FETCH):
            m.d.sync += [seq.eq(Seq.RUN), first.eq(1), j.eq(0), q.eq(0), a_off.eq(0),
                         w_off.eq(0)]
        with m.Else():
            with m.If(first):
                m.d.sync += [n_a.eq(n_a_cur), n_w.eq(n_w_cur), first.eq(0)]
            with m.If(advance):
                with m.If(end_channel):
                    m.d.sync += [a_start.eq(a_start + a_rows), w_start.eq(w_start + w_rows),
                                 j.eq(0), q.eq(0), a_off.eq(0), w_off.eq(0), first.eq(1)]
                    with m.If(c == self.layer.c - 1):
                        m.d.sync += [seq.eq(Seq.IDLE), w_group.eq(w_start + w_rows)]
                    with m.Else():
                        m.d.sync += c.eq(c + 1)
                with m.Elif(last_w):
                    m.d.sync += [q.eq(0), w_off.eq(0), j.eq(j + 1), a_off.eq(a_off + I)]
                with m.Else():
                    m.d.sync += [q.eq(q + 1), w_off.eq(w_off + F)]
        with m.If(advance):
            m.d.sync += s1.eq(issue)

        # -- decode: positions from running sums, then accumulator address parts ------------------
        a_row = a_data.data
        w_row = w_data.data
        pos_width = max(cfg.tile_elems + I * (cfg.max_zeros + 1),
                        cfg.weight_block_max + F * (cfg.max_zeros + 1)).bit_length()
        m.submodules.w_pos = w_pos = RowPositions(F, cfg.index_bits, pos_width)
        m.submodules.a_pos = a_pos = RowPositions(I, cfg.index_bits, pos_width)
        w_base = Signal(pos_width)            # where the next weight row starts
        a_base = Signal(pos_width)            # where the held activation row starts
        a_next = Signal(pos_width)            # and where the one after it starts
        a_base_now = Signal(pos_width)
        m.d.comb += [
            w_pos.base.eq(Mux(s1.q0, 0, w_base)),
            a_base_now.eq(Mux(s1.q0, Mux(s1.j0, 0, a_next), a_base)),
            a_pos.base.eq(a_base_now),
        ]
        for lane in range(F):
            m.d.comb += w_pos.zeros[lane].eq(w_row.entries[lane].zeros)
        for lane in range(I):
            m.d.comb += a_pos.zeros[lane].eq(a_row.entries[lane].zeros)
        with m.If(advance & s1.valid):
            m.d.sync += w_base.eq(w_pos.next_base)
            with m.If(s1.q0):
                m.d.sync += [a_base.eq(a_base_now), a_next.eq(a_pos.next_base)]

        operands = data.StructLayout({
            "live": 1,
            "valid": 1,
            "wv": F, "av": I,
            "wvalue": data.ArrayLayout(signed(cfg.weight_width), F),
            "avalue": data.ArrayLayout(signed(cfg.act_width), I),
            "woff": data.ArrayLayout(range(cfg.acc_space), F),
            "aoff": data.ArrayLayout(range(cfg.acc_plane), I),
        })
        s2 = Signal(operands)
        decoded = Signal(operands)
        m.d.comb += [decoded.live.eq(s1.live), decoded.valid.eq(s1.valid)]
        for lane in range(F):
            woff = m.submodules[f"woff{lane}"] = WeightOffset(cfg, pos_width)
            value = w_row.entries[lane].value
            m.d.comb += [
                woff.position.eq(w_pos.positions[lane]),
                woff.r.eq(self.layer.r),
                woff.s.eq(self.layer.s),
                decoded.woff[lane].eq(woff.offset),
                decoded.wvalue[lane].eq(value),
                decoded.wv[lane].eq(s1.wmask[lane] & (value != 0)),
            ]
        for lane in range(I):
            aoff = m.submodules[f"aoff{lane}"] = ActOffset(cfg, pos_width)
            value = a_row.entries[lane].value
            m.d.comb += [
                aoff.position.eq(a_pos.positions[lane]),
                decoded.aoff[lane].eq(aoff.offset),
                decoded.avalue[lane].eq(value),
                decoded.av[lane].eq(s1.amask[lane] & (value != 0)),
            ]
        s3_live = Signal()                    # the crossbar holds a slot of the group
        with m.If(advance):
            m.d.sync += [s2.eq(decoded), s3_live.eq(s2.live)]

        # -- multiply, address, scatter, accumulate ----------------------------------------------
        m.submodules.mults = mults = MultiplierArray(
            F, I, weight_width=cfg.weight_width, act_width=cfg.act_width,
            product_width=cfg.acc_width)
        m.submodules.crossbar = xbar = ScatterCrossbar(cfg)
        m.submodules.accumulators = accs = AccumulatorBanks(cfg)
        m.d.comb += [mults.weights.eq(s2.wvalue), mults.acts.eq(s2.avalue)]
        bank_bits = cfg.bank_bits
        for f in range(F):
            for i in range(I):
                req = xbar.i.payload[f * I + i]
                addr = Signal(range(cfg.acc_space), name=f"addr_{f}_{i}")
                m.d.comb += [
                    addr.eq(s2.woff[f] + s2.aoff[i]),
                    req.valid.eq(s2.wv[f] & s2.av[i]),
                    req.bank.eq(addr[:bank_bits] if bank_bits else 0),
                    req.entry.eq(addr[bank_bits:]),
                    req.product.eq(mults.products[f * I + i]),
                ]
        m.d.comb += [
            xbar.i.valid.eq(s2.valid),
            advance.eq(xbar.i.ready),
            accs.acc_set.eq(self.acc_set),
            accs.acc.eq(xbar.banks),
            self.stall.eq(xbar.stall),
            self.granted.eq(xbar.granted),
            # Until the group's last slot has left the crossbar (bubbles included, so the time
            # does not depend on the data of the last pair).
            self.computing.eq((seq != Seq.IDLE) | s1.live | s2.live | s3_live),
        ]

        # -- post-processing ----------------------------------------------------------------------
        m.submodules.ppu = ppu = PostProcessor(cfg, self._px, self._py)
        m.d.comb += [
            ppu.start.eq(self.ppu_start),
            ppu.kg.eq(self.ppu_kg),
            ppu.kbase.eq(self.ppu_kbase),
            ppu.layer.eq(self.layer),
            ppu.layer_start.eq(self.layer_start),
            self.ppu_busy.eq(ppu.busy),
            accs.ppu_entry.eq(ppu.entry),
            accs.ppu_we.eq(ppu.we),
            accs.ppu_wdata.eq(ppu.wdata),
            ppu.rdata.eq(accs.ppu_rdata),
            self.links.eq(ppu.links),
            ppu.from_left.eq(self.from_left),
            ppu.from_right.eq(self.from_right),
            ppu.from_up.eq(self.from_up),
            ppu.from_down.eq(self.from_down),
            oaram.w.addr.eq(ppu.oaram.addr),
            oaram.w.data.eq(ppu.oaram.data),
            oaram.w.en.eq(ppu.oaram.en),
            counts.w.addr.eq(ppu.counts.addr),
            counts.w.data.eq(ppu.counts.data),
            counts.w.en.eq(ppu.counts.en),
            self.overflow.eq(ppu.overflow),
        ]
        return m
