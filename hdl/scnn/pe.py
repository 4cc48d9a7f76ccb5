"""The SCNN processing element (SCNN paper, Sec. 4.2 and Fig. 6).

Weight buffer, IARAM and OARAM holding compressed data, an F×I multiplier array fed the Cartesian
product of F non-zero weights and I non-zero activations, coordinate computation, a scatter
crossbar to A accumulator banks, double-buffered accumulators and a post-processing unit.
"""

from amaranth import Module, Mux, Shape, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .accumulators import AccumulatorBanks
from .compressor import oaram_row_layout
from .coords import ActOffset, ProductAddresses, RowPositions, WeightOffset
from .crossbar import QueuedCrossbar
from .layouts import act_row_layout, layer_layout, weight_row_layout
from .loader import BlockLoader
from .wfifo import WeightFifo, block_layout, group_count
from .multiplier import MultiplierArray
from .ppu import BLOX_STROBES, PostProcessor, halo_layout
from .requant import shift_bits
from ..common.rams import Ram, read_port_signature
from .sequencer import ChannelSequencer, slot_layout
from .swap import BufferSwap, buffer_row_layout, buffer_rows, dir_layout

__all__ = ["ScnnPE", "PE_PIPELINE", "pe_memories", "act_loader", "act_directory"]

#: Stages from the sequencer issuing a vector pair to the crossbar's queues holding its
#: products: read (weight FIFO and IARAM), decode (positions and coordinates), multiply.
PE_PIPELINE = 3


def pe_memories(cfg):
    """The PE's RAM macros (:class:`.rams.Ram` submodules): ``{name: (rows, row bits)}``.

    Besides the weight FIFO and its block queue, IARAM, OARAM (the two activation RAMs, which
    swap roles between chained layers: :mod:`.swap`, so both have rows of acc-width entries and
    the larger of the two depths), their activation directory (``alist``, a half for each) and
    output count table, every accumulator bank of both sets is one
    (``accumulators.set{s}.bank{b}``): a register file with a combinational read port, which the
    paper's HLS flow mapped to banked RAMs and latch arrays (Sec. 4.4).
    """
    memories = {
        "wbuf": (cfg.weight_rows, data.Layout.cast(weight_row_layout(cfg)).size),
        "wqueue": (cfg.weight_rows, data.Layout.cast(block_layout(cfg)).size),
        "iaram": (buffer_rows(cfg), data.Layout.cast(buffer_row_layout(cfg)).size),
        "alist": (2 * cfg.iaram_rows, act_directory(cfg).size),
        "oaram": (buffer_rows(cfg), data.Layout.cast(buffer_row_layout(cfg)).size),
        "counts": (cfg.out_channels, Shape.cast(range(cfg.tile_elems + 1)).width),
    }
    for s in range(2):
        for b in range(cfg.banks):
            memories[f"accumulators.set{s}.bank{b}"] = (cfg.bank_entries, cfg.acc_width)
    if cfg.sparseblox is not None:
        # Sparse-Blox: the sparse-block cache's two banks of positions (a 1R1W macro).
        memories["ppu.pruner.cache.positions"] = (2 * cfg.sparseblox.capacity,
                                                  cfg.sparseblox.position_bits)
    return memories


def act_directory(cfg):
    """An entry of the activation directory (entry ``c``, written by the activation loader or the
    PPU): first row and count."""
    return dir_layout(cfg)


def act_loader(cfg):
    """The PE's activation loader: a directory entry per activation block (channel)."""
    return BlockLoader(act_row_layout(cfg), lanes=cfg.i, rows=cfg.iaram_rows,
                       count_max=cfg.tile_elems, entries=cfg.iaram_rows,
                       max_blocks=cfg.iaram_rows)


class ScnnPE(wiring.Component):
    """One PE at array position ``(px, py)``.

    **Dataflow** (PT-IS-CP-sparse, Fig. 4 made sparse). For each output-channel group, for each
    input channel ``c`` whose weight block ``(g, c)`` and activation block are both non-empty:
    for each row of I activations of the channel's compressed block (held), for each row of F
    weights of the block (replayed once per activation row): the F·I products go to the
    accumulators of the group at addresses computed from the indices (:mod:`.coords`). Any
    other channel costs nothing (:class:`.sequencer.ChannelSequencer`).

    **Storage.** The activation loader (:class:`.loader.BlockLoader`) stores the rows of the
    PE's non-empty activation blocks (rows of I entries) in the input RAM with a directory entry
    per channel, before the layer computes. The weights are broadcast while it computes; the
    weight FIFO (:class:`.wfifo.WeightFifo`) keeps the blocks the PE multiplies (rows of F
    entries, :func:`.layouts.weight_row_layout`) in ``weight_rows`` rows used as a circular
    buffer, with a queue of the complete ones. The output RAM holds the compressed output blocks
    written by the PPU, with their counts in a table indexed by output channel and a directory
    entry per channel. The input RAM is the one named IARAM and the output RAM the OARAM until
    a layer is chained (``in_sel``, :class:`.swap.BufferSwap`): then the previous layer's output
    RAM is the input, its directory the one the weight FIFO looks up, and the other RAM the
    output, so the previous layer's output tile is this layer's input with no transfer.

    **Pipeline.** Sequencer → read → decode → multiply → crossbar queues (:data:`PE_PIPELINE`
    stages before the queues, :class:`.crossbar.QueuedCrossbar`). A pair whose products cannot
    all enter their queues (one is full) waits in the multiply stage; all earlier stages stall
    with it.

    Attributes
    ----------
    layer : In(layer_layout(cfg))
        The running layer (stable while it runs).
    layer_start : In(1)
        A layer begins: its first group is group 0, the output RAM is written from row 0.
    in_sel : In(1)
        Which activation RAM is the layer's input (0 IARAM, 1 OARAM; :class:`.swap.BufferSwap`);
        stable from before the layer loads to its end (a chained layer's flips at its start).
    requant, shift : In
        The layer's output mode (see :class:`.ppu.PostProcessor`).
    group_start : In(1)
        Compute the next output-channel group into the accumulator set ``acc_set``.
    acc_set : In(1)
        The accumulator set being filled (the other one belongs to the PPU).
    computing : Out(1)
        A group is being computed: from the cycle after ``group_start`` to the cycle after its
        last slot entered the crossbar, or the last cycle a product of it is accumulated if
        later.
    ppu_start, ppu_kg, ppu_kbase : In
        Post-process the other set: ``ppu_kg`` channels, output channels from ``ppu_kbase``.
    ppu_busy : Out(1)
    w_row, w_first, w_last, w_fits, w_group, w_take : In
        The weight broadcast's pending beat (see :class:`.wfifo.WeightFifo`) and whether it is
        taken this cycle.
    w_c_next, w_lookup : In
        The channel of the broadcast's pending beat in the next cycle, and whether it may differ
        from this cycle's (its activation directory entry is read one cycle ahead, then held).
    w_ready : Out(1)
        The PE can take the pending beat.
    a_row, a_en : In
        A row of this PE's activation stream, this cycle.
    clear_w, clear_a : In(1)
        Empty the weight FIFO; forget the loaded activations.
    a_blocks : Out
        Activation blocks (channels) received since they were cleared.
    load_error : Out(1)
        An activation row or directory entry did not fit its RAM (sticky until cleared).
    out_read : In(synchronous read port of the OARAM)
    count_read : In(synchronous read port of the output counts)
    links, from_left, from_right, from_up, from_down :
        Halo links of the PPU (see :class:`.ppu.PostProcessor`).
    stall : Out(1)
        The multiplier array stalls this cycle: a crossbar queue it must write is full.
    granted : Out(range(F·I + 1))
        Products accumulated this cycle.
    overflow : Out(1)
        The OARAM is full and a row was dropped.
    ready : Out(1)
        The accumulators' clearing after reset is over (:class:`.accumulators.AccumulatorBanks`).
    blox_threshold, blox_cached, blox_created, blox_refused, blox_zero :
        With a ``sparseblox`` section only: the PPU's Sparse-Blox threshold and verdict strobes
        (see :class:`.ppu.PostProcessor`).
    """

    def __init__(self, cfg, px, py):
        self._cfg = cfg
        self._px, self._py = px, py
        halo = halo_layout(cfg)
        count = range(cfg.tile_elems + 1)
        super().__init__({
            "layer": In(layer_layout(cfg)),
            "layer_start": In(1),
            "in_sel": In(1),
            "requant": In(1),
            "shift": In(shift_bits(cfg.acc_width)),
            "group_start": In(1),
            "acc_set": In(1),
            "computing": Out(1),
            "ppu_start": In(1),
            "ppu_kg": In(range(cfg.kc + 1)),
            "ppu_kbase": In(range(max(2, cfg.out_channels))),
            "ppu_busy": Out(1),
            "w_row": In(weight_row_layout(cfg)),
            "w_first": In(1),
            "w_last": In(1),
            "w_fits": In(1),
            "w_group": In(range(group_count(cfg) + 1)),
            "w_take": In(1),
            "w_c_next": In(range(max(2, cfg.iaram_rows))),
            "w_lookup": In(1),
            "w_ready": Out(1),
            "a_row": In(act_row_layout(cfg)),
            "a_en": In(1),
            "clear_w": In(1),
            "clear_a": In(1),
            "a_blocks": Out(range(cfg.iaram_rows + 1)),
            "load_error": Out(1),
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
            "ready": Out(1),
            **({name: Out(1) for name in BLOX_STROBES} |
               {"blox_threshold": In(cfg.sparseblox.bits)}
               if cfg.sparseblox is not None else {}),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        F, I = cfg.f, cfg.i  # noqa: E741  (the paper's names)

        m.submodules.ppu = ppu = PostProcessor(cfg, self._px, self._py)

        # -- storage: activations loaded before computing (or the previous layer's output, on
        # chip), weights kept from the broadcast --------------------------------------------
        m.submodules.wbuf = wbuf = Ram(weight_row_layout(cfg), cfg.weight_rows)
        m.submodules.iaram = iaram = Ram(buffer_row_layout(cfg), buffer_rows(cfg))
        m.submodules.oaram = oaram = Ram(buffer_row_layout(cfg), buffer_rows(cfg))
        m.submodules.counts = counts = Ram(range(cfg.tile_elems + 1), cfg.out_channels)
        m.submodules.aload = aload = act_loader(cfg)
        m.submodules.alist = alist = Ram(dir_layout(cfg), 2 * cfg.iaram_rows)
        m.submodules.swap = swap = BufferSwap(cfg, aload.directory_shape)
        m.submodules.wfifo = wfifo = WeightFifo(cfg, dir_layout(cfg))
        m.submodules.wqueue = wqueue = Ram(block_layout(cfg), cfg.weight_rows, comb=True)
        wiring.connect(m, wfifo.wbuf, wbuf.w)
        wiring.connect(m, wfifo.queue_w, wqueue.w)
        wiring.connect(m, wfifo.queue_r, wqueue.r[0])
        wiring.connect(m, aload.ram, swap.load_rows)
        wiring.connect(m, aload.directory, swap.load_dir)
        for ram, w, r in ((iaram, swap.rams_w[0], swap.rams_r[0]),
                          (oaram, swap.rams_w[1], swap.rams_r[1])):
            wiring.connect(m, w, ram.w)
            wiring.connect(m, r, ram.r[0])
        wiring.connect(m, swap.dir_w, alist.w)
        wiring.connect(m, swap.dir_r, alist.r[0])
        wiring.connect(m, wiring.flipped(self.out_read), swap.out_rows)
        wiring.connect(m, wiring.flipped(self.count_read), counts.r[0])
        m.d.comb += swap.in_sel.eq(self.in_sel)
        m.d.comb += [
            aload.row.eq(self.a_row), aload.en.eq(self.a_en), aload.clear.eq(self.clear_a),
            self.a_blocks.eq(aload.blocks),
            self.load_error.eq(aload.overflow),
            # The pending beat's channel's activation block, read a cycle ahead from the input
            # RAM's directory.
            swap.in_dir.addr.eq(self.w_c_next),
            swap.in_dir.en.eq(self.w_lookup),
            wfifo.act.eq(swap.in_dir.data),
            wfifo.row.eq(self.w_row),
            wfifo.first.eq(self.w_first),
            wfifo.last.eq(self.w_last),
            wfifo.fits.eq(self.w_fits),
            wfifo.group.eq(self.w_group),
            wfifo.take.eq(self.w_take),
            wfifo.clear.eq(self.clear_w),
            self.w_ready.eq(wfifo.ready),
        ]
        w_data, a_data = wbuf.r[0], swap.seq_rows

        # -- sequencer: one vector pair per advancing cycle --------------------------------------
        advance = Signal()
        m.submodules.sequencer = seqr = ChannelSequencer(cfg)
        m.d.comb += [
            seqr.group_start.eq(self.group_start),
            seqr.layer_start.eq(self.layer_start),
            seqr.head.eq(wfifo.head),
            seqr.head_valid.eq(wfifo.head_valid),
            seqr.bgroup.eq(self.w_group),
            wfifo.pop.eq(seqr.pop),
            wfifo.free.eq(seqr.free),
            seqr.advance.eq(advance),
            a_data.addr.eq(seqr.a_addr),
            w_data.addr.eq(seqr.w_addr),
            a_data.en.eq(advance),
            w_data.en.eq(advance),
        ]
        s1 = Signal(slot_layout(cfg))
        with m.If(advance):
            m.d.sync += s1.eq(seqr.issue)

        # -- decode: positions from running sums, then accumulator address parts ------------------
        a_row = a_data.data                   # I entries (the activation RAMs store no count)
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
            m.d.comb += a_pos.zeros[lane].eq(a_row[lane].zeros)
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
            "wkk": data.ArrayLayout(range(max(2, cfg.kc)), F),
            "woff": data.ArrayLayout(range(cfg.acc_plane), F),
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
                decoded.wkk[lane].eq(woff.kk),
                decoded.woff[lane].eq(woff.offset),
                decoded.wvalue[lane].eq(value),
                decoded.wv[lane].eq(s1.wmask[lane] & (value != 0)),
            ]
        for lane in range(I):
            aoff = m.submodules[f"aoff{lane}"] = ActOffset(cfg, pos_width)
            value = a_row[lane].value
            m.d.comb += [
                aoff.position.eq(a_pos.positions[lane]),
                decoded.aoff[lane].eq(aoff.offset),
                decoded.avalue[lane].eq(value),
                decoded.av[lane].eq(s1.amask[lane] & (value != 0)),
            ]
        s3_live = Signal()                    # the cycle after a slot entered the crossbar
        with m.If(advance):
            m.d.sync += [s2.eq(decoded), s3_live.eq(s2.live)]

        # -- multiply, address, scatter, accumulate ----------------------------------------------
        m.submodules.mults = mults = MultiplierArray(
            F, I, weight_width=cfg.weight_width, act_width=cfg.act_width,
            product_width=cfg.acc_width)
        m.submodules.crossbar = xbar = QueuedCrossbar(cfg)
        m.submodules.accumulators = accs = AccumulatorBanks(cfg)
        m.submodules.addresses = addrs = ProductAddresses(cfg)
        m.d.comb += [mults.weights.eq(s2.wvalue), mults.acts.eq(s2.avalue),
                     addrs.kk.eq(s2.wkk), addrs.woff.eq(s2.woff), addrs.aoff.eq(s2.aoff)]
        for f in range(F):
            for i in range(I):
                p = f * I + i
                req = xbar.i.payload[p]
                m.d.comb += [
                    req.valid.eq(s2.valid & s2.wv[f] & s2.av[i]),
                    req.bank.eq(addrs.bank[p]),
                    req.entry.eq(addrs.entry[p]),
                    req.product.eq(mults.products[p]),
                ]
        m.d.comb += [
            xbar.i.valid.eq(s2.valid),
            advance.eq(xbar.i.ready),
            accs.acc_set.eq(self.acc_set),
            accs.acc.eq(xbar.banks),
            self.stall.eq(xbar.stall),
            self.granted.eq(xbar.granted),
            # Until the cycle after the group's last slot entered the crossbar (bubbles included,
            # so the time does not depend on the data of the last pair) and its queues are empty.
            self.computing.eq(seqr.busy | s1.live | s2.live | s3_live | xbar.busy),
        ]

        # -- post-processing ----------------------------------------------------------------------
        m.d.comb += [
            ppu.start.eq(self.ppu_start),
            ppu.kg.eq(self.ppu_kg),
            ppu.kbase.eq(self.ppu_kbase),
            ppu.layer.eq(self.layer),
            ppu.layer_start.eq(self.layer_start),
            ppu.requant.eq(self.requant),
            ppu.shift.eq(self.shift),
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
            swap.ppu_rows.addr.eq(ppu.oaram.addr),
            swap.ppu_rows.data.eq(ppu.oaram.data),
            swap.ppu_rows.en.eq(ppu.oaram.en),
            swap.ppu_dir.addr.eq(ppu.odir.addr),
            swap.ppu_dir.data.eq(ppu.odir.data),
            swap.ppu_dir.en.eq(ppu.odir.en),
            counts.w.addr.eq(ppu.counts.addr),
            counts.w.data.eq(ppu.counts.data),
            counts.w.en.eq(ppu.counts.en),
            self.overflow.eq(ppu.overflow),
            *([ppu.blox_threshold.eq(self.blox_threshold)] +
              [getattr(self, name).eq(getattr(ppu, name)) for name in BLOX_STROBES]
              if cfg.sparseblox is not None else []),
            self.ready.eq(accs.ready),
        ]
        return m
