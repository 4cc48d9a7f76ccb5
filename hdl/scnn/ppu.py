"""Post-processing unit: halo exchange, ReLU and compression of a group (SCNN paper, Sec. 4.2).

"When the output-channel group is complete, the PPU performs the following tasks: (1) exchange
partial sums with neighbor PEs for the halo regions at the boundary of the PE's output
activations, (2) apply the non-linear activation (e.g. ReLU) ..., and (3) compress the output
activations into the compressed-sparse form and write them into the OARAM."
"""

from amaranth import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, enum, wiring
from amaranth.lib.wiring import In, Out

from .blox import BLOCK, BlockPruner
from .compressor import Compressor, oaram_row_layout
from .layouts import layer_layout
from .requant import Requantizer, shift_bits
from .swap import dir_layout
from ..common.rams import write_port_signature

__all__ = ["PostProcessor", "halo_layout", "ppu_cycles", "BLOX_WAIT", "BLOX_STROBES"]

#: Sparse-Blox: the PPU's per-verdict strobes (see :class:`PostProcessor`).
BLOX_STROBES = ("blox_cached", "blox_created", "blox_refused", "blox_zero")

#: Sparse-Blox: cycles from the block pass's last beat to the first compression cycle: the
#: pruner's latency (adder tree 2, block accumulator 1, decision 1, cache 1) less the beat's own
#: cycle, and the cycle that records the last verdict.
BLOX_WAIT = 5


def halo_layout(cfg):
    """What a PE drives towards its neighbours: ``left``/``right`` (h lanes: lane d is the
    column d + 1 away from the tile's edge) and ``up``/``down`` (W_t lanes: an interior row)."""
    acc = signed(cfg.acc_width)
    side = data.ArrayLayout(acc, max(1, cfg.halo))
    row = data.ArrayLayout(acc, cfg.tile_w)
    return data.StructLayout({"left": side, "right": side, "up": row, "down": row})


def ppu_cycles(cfg, kg, r, s):
    """Cycles the PPU is busy for a group of ``kg`` output channels with an ``r × s`` kernel.

    Per channel: the x exchange (one cycle per row of the kernel's extended height, when S > 1),
    the y exchange (four cycles per halo row pair, when R > 1) and ``H_t · ⌈W_t / I⌉``
    compression cycles; with Sparse-Blox, between the exchange and the compression, the block
    pass: ``⌈W_t/4⌉ · H_t`` beats into the block adder and the last verdict's
    ``BlockPruner.latency`` cycles. A channel's block is closed (flushed) in the next cycle: the
    first exchange (or block pass) cycle of the next channel, or a cycle of its own after the last
    channel and when a kernel has no halo (1×1) and there is no block pass.
    """
    pr, ps = (r - 1) // 2, (s - 1) // 2
    exchange = (cfg.tile_h + 2 * pr if ps else 0) + 4 * pr
    compress = cfg.tile_h * -(-cfg.tile_w // cfg.i)
    if cfg.sparseblox is not None:
        exchange += -(-cfg.tile_w // BLOCK) * cfg.tile_h + BLOX_WAIT
    if exchange:
        return kg * (exchange + compress) + 1
    return kg * (compress + 1)


class Step(enum.Enum, shape=3):
    IDLE = 0
    X = 1            # a row: halo columns out to the neighbours, theirs added to the edges
    Y_SEND = 2       # an interior-width halo row goes up (or down)
    Y_RECV = 3
    COMPRESS = 4     # I elements of a row per cycle: read, clear, mask, ReLU, encode
    FLUSH = 5        # end of a channel's block, when no exchange cycle follows to do it
    BLOX_SUM = 6     # Sparse-Blox: a row of a 4×4 block (4 elements, ReLU) into the block adder
    BLOX_WAIT = 7    # Sparse-Blox: the tile's last verdicts come back


class PostProcessor(wiring.Component):
    """The PPU of PE ``(px, py)``: drains one group from the accumulator set not in use.

    Every PE's PPU is started in the same cycle and follows the same fixed schedule, so halo
    transfers happen in lockstep. Per output channel ``kk`` of the group:

    1. x exchange (S > 1), one row per cycle over the rows ``h − pr … h + H_t + pr − 1`` (the
       tile's height plus the kernel's halo, so corners move too): the ``ps`` columns left of
       the tile go to the left neighbour, which adds them to its ``ps`` rightmost tile columns in
       the same cycle (the links are combinational: every PE reads the same row); those right of
       it to the right neighbour's leftmost ones.
    2. y exchange (R > 1), for each of the ``pr`` halo rows above and below the tile: in a send
       step its interior columns are latched into the up (down) link registers and cleared; in
       the next, receive, step the upper (lower) neighbour adds them to its bottom (top) tile
       row. Corner values that arrived in step 1 travel on: they reach the diagonal neighbour.
    3. compression: the ``H_t × W_t`` tile row by row, I elements of a row per cycle; elements
       outside the layer's ``H × W`` image are zero; ReLU; with ``requant``, requantization to
       the activation width (:class:`.requant.Requantizer`, the layer's ``shift``, in the same
       cycle); :class:`.compressor.Compressor` into the output RAM. The block is closed in the
       next cycle, which writes its count to the count table at ``kbase + kk`` and the block's
       entry to the output RAM's directory (``odir``, entry ``kbase + kk``: first row, count;
       what the activation loader writes for a block it receives), so that the next layer can
       take this output as its input on chip: the next channel's first exchange cycle, or a
       flush cycle.

    Every accumulator that can hold a value is read by exactly one step and cleared by it, so
    the set is all zeros again when the PPU finishes. Rows of the accumulator space lie in
    distinct banks (``acc_w ≤ A``), so each step touches every bank at most once. Halo values
    sent past the array's edge are dropped (they belong to outputs outside the image).

    Attributes
    ----------
    start : In(1)
        Begin a group (when idle): ``kg`` channels, the first being output channel ``kbase``.
    kg, kbase : In
    layer : In(layer_layout(cfg))
        The layer: ``r``, ``s`` (kernel), ``h``, ``w`` (image size).
    layer_start : In(1)
        Rewind the OARAM.
    requant, shift : In(1), In(shift_bits(acc_width))
        The layer's output mode: 0 the ReLU'd accumulators, 1 requantized to ``act_width``.
    busy : Out(1)
    entry, we, wdata : Out, one per bank; rdata : In, one per bank
        The accumulator set being drained (see :class:`.accumulators.AccumulatorBanks`).
    links : Out(halo_layout(cfg))
        For the neighbours: ``left``/``right`` in x-exchange cycles (combinational),
        ``up``/``down`` registered, valid in the cycle after a y send step.
    from_left, from_right, from_up, from_down : In(halo_layout(cfg)-side layouts)
        The neighbours' ``links.right``, ``links.left``, ``links.down``, ``links.up`` (zero at
        the array's edges).
    oaram : Out(write port), counts : Out(write port), overflow : Out(1)
    odir : Out(write port of swap.dir_layout(cfg), iaram_rows)
        The output RAM's directory; channels from ``iaram_rows`` on get no entry (a layer with
        more channels cannot be chained from: the accelerator checks ``K ≤ iaram_rows``).
    blox_threshold : In(unsigned(fmt.bits)), with a ``sparseblox`` section only
        The layer's Sparse-Blox threshold. Between step 2 and 3, each channel's tile goes to the
        :class:`.blox.BlockPruner` block by block (4×4 from the tile's origin, a row of a block
        per cycle, ReLU applied, elements outside the tile or the image masked off), and its
        elements in a pruned block are compressed as zeros.
    blox_cached, blox_created, blox_refused, blox_zero : Out(1), with ``sparseblox`` only
        Strobes, one per block verdict: cached (pruned), cached and not all-zero before, below
        threshold but refused by a full cache, all-zero before.

    Latency: busy for :func:`ppu_cycles` cycles from the cycle after ``start``.
    """

    def __init__(self, cfg, px, py):
        self._cfg = cfg
        self._origin = (px * cfg.tile_w, py * cfg.tile_h)
        acc = signed(cfg.acc_width)
        halo = halo_layout(cfg)
        entry = range(max(2, cfg.bank_entries))
        count = range(cfg.tile_elems + 1)
        super().__init__({
            "start": In(1),
            "kg": In(range(cfg.kc + 1)),
            "kbase": In(range(max(2, cfg.out_channels))),
            "layer": In(layer_layout(cfg)),
            "layer_start": In(1),
            "requant": In(1),
            "shift": In(shift_bits(cfg.acc_width)),
            "busy": Out(1),
            "entry": Out(data.ArrayLayout(entry, cfg.banks)),
            "we": Out(cfg.banks),
            "wdata": Out(data.ArrayLayout(acc, cfg.banks)),
            "rdata": In(data.ArrayLayout(acc, cfg.banks)),
            "links": Out(halo),
            "from_left": In(halo["right"].shape),
            "from_right": In(halo["left"].shape),
            "from_up": In(halo["down"].shape),
            "from_down": In(halo["up"].shape),
            "oaram": Out(write_port_signature(oaram_row_layout(cfg), cfg.oaram_rows)),
            "counts": Out(write_port_signature(count, cfg.out_channels)),
            "overflow": Out(1),
            "odir": Out(write_port_signature(dir_layout(cfg), cfg.iaram_rows)),
            **({name: Out(1) for name in BLOX_STROBES} |
               {"blox_threshold": In(cfg.sparseblox.bits)}
               if cfg.sparseblox is not None else {}),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        h, tw, th = cfg.halo, cfg.tile_w, cfg.tile_h
        banks, bank_bits = cfg.banks, cfg.bank_bits

        step = Signal(Step)
        blox = _BloxPass(cfg) if cfg.sparseblox is not None else None
        kk = Signal(range(cfg.kc))
        kg = Signal.like(self.kg)
        kbase = Signal.like(self.kbase)
        ya = Signal(range(cfg.acc_h))          # x exchange: the row
        d = Signal(range(max(1, h)))           # y exchange: the halo row pair
        down = Signal()                         # y exchange: sending down (else up)
        chunks = -(-tw // cfg.i)               # compression cycles per row
        cy = Signal(range(th))
        cx = Signal(range(chunks))
        closing = Signal()                      # the previous cycle compressed a block's end
        closing_k = Signal.like(kk)             # ... of that channel

        pr = Signal(range(h + 1))
        ps = Signal(range(h + 1))
        m.d.comb += [pr.eq((self.layer.r - 1) >> 1), ps.eq((self.layer.s - 1) >> 1),
                     self.busy.eq(step != Step.IDLE)]

        # -- the row this step works on, and where each bank's column of it lies ----------------
        row = Signal(range(cfg.acc_h))
        with m.If(step == Step.X):
            m.d.comb += row.eq(ya)
        with m.Elif(step == Step.Y_SEND):
            m.d.comb += row.eq(Mux(down, h + th + d, h - 1 - d))
        with m.Elif(step == Step.Y_RECV):
            m.d.comb += row.eq(Mux(down, h + d, h + th - 1 - d))
        with m.Elif(step == Step.COMPRESS):
            m.d.comb += row.eq(h + cy)
        if blox is not None:
            with m.Elif(step == Step.BLOX_SUM):
                m.d.comb += row.eq(h + blox.row)
        # Row `row` of channel kk: plane positions row·acc_w + col, col < acc_w ≤ A, in distinct
        # banks (pos mod A) XOR key, key = (kk << fold_shift) mod A, entries kk·E + pos div A.
        pos = Signal(range(cfg.acc_plane + 1))
        m.d.comb += pos.eq(row * cfg.acc_w)
        base_lo = Signal(max(1, bank_bits))
        base_hi = Signal(range(max(2, cfg.bank_entries)))
        key = Signal(max(1, bank_bits))
        if bank_bits:
            m.d.comb += [base_lo.eq(pos[:bank_bits]),
                         base_hi.eq(kk * cfg.plane_entries + (pos >> bank_bits)),
                         key.eq(kk << cfg.fold_shift)]
        else:
            m.d.comb += [base_lo.eq(0), base_hi.eq(kk * cfg.plane_entries + pos), key.eq(0)]

        for b in range(banks):
            # Bank b holds position residue j = b XOR key: column (j − base_lo) mod A, in the next
            # entry when the row wrapped past the last bank to reach it (j + A < base_lo + acc_w).
            # Banks outside the row keep entry base_hi, so no read leaves the bank.
            m.d.comb += self.entry[b].eq(base_hi + ((b ^ key) + banks < base_lo + cfg.acc_w))

        # -- the row in column order: banks permuted by the key, then rotated by base_lo --------
        acc_bits = cfg.acc_width
        lanes = data.ArrayLayout(signed(acc_bits), cfg.acc_w)
        by_residue = Signal(banks * acc_bits)     # by_residue[j] = rdata[j XOR key]
        m.d.comb += by_residue.eq(_xor_permute(m, self.rdata.as_value(), key, banks, acc_bits,
                                               "rd"))
        row_in = Signal(lanes)                 # row_in[col] = by_residue[(base_lo + col) mod A]
        m.d.comb += row_in.eq((Cat(by_residue, by_residue) >> (base_lo * acc_bits))
                              [:cfg.acc_w * acc_bits])
        row_out = Signal(lanes)                # what to write back, by column
        row_we = Signal(cfg.acc_w)
        wide = Signal(banks * acc_bits)
        wide_we = Signal(banks)
        m.d.comb += [wide.eq(row_out.as_value()), wide_we.eq(row_we)]
        # Back to bank order: residue j takes column (j − base_lo) mod A (past acc_w: none), then
        # bank b takes residue b XOR key.
        w_res = Signal(banks * acc_bits)
        we_res = Signal(banks)
        m.d.comb += [
            w_res.eq((Cat(wide, wide) << (base_lo * acc_bits))[banks * acc_bits:]),
            we_res.eq((Cat(wide_we, wide_we) << base_lo)[banks:]),
            self.wdata.eq(_xor_permute(m, w_res, key, banks, acc_bits, "wd")),
            self.we.eq(_xor_permute(m, we_res, key, banks, 1, "we")),
        ]

        # -- links: x halo columns combinationally, y rows latched in send steps ----------------
        x_step, y_send, y_recv, compress = (
            Signal(name=name) for name in ("x_step", "y_send", "y_recv", "compress"))
        m.d.comb += [x_step.eq(step == Step.X), y_send.eq(step == Step.Y_SEND),
                     y_recv.eq(step == Step.Y_RECV), compress.eq(step == Step.COMPRESS)]
        links = self.links
        for lane in range(max(1, h)):
            if lane < h:
                used = x_step & (lane < ps)
                m.d.comb += [links.left[lane].eq(Mux(used, row_in[h - 1 - lane], 0)),
                             links.right[lane].eq(Mux(used, row_in[h + tw + lane], 0))]
        up = Signal.like(links.up)
        dn = Signal.like(links.down)
        m.d.comb += [links.up.eq(up), links.down.eq(dn)]
        with m.If(y_send):
            for lane in range(tw):
                with m.If(down):
                    m.d.sync += dn[lane].eq(row_in[h + lane])
                with m.Else():
                    m.d.sync += up[lane].eq(row_in[h + lane])

        # -- what each column does in this step -------------------------------------------------
        # Written as one expression per column (no comb process over the whole row), so that an
        # event-driven simulator re-evaluates only the columns whose inputs change.
        for col in range(cfg.acc_w):
            rd = row_in[col]
            we = Signal(name=f"we{col}")
            wdata = Signal(signed(acc_bits), name=f"wdata{col}")
            if col < h or col >= h + tw:
                # A halo column: the x exchange sends (and clears) left column h − 1 − d and
                # right column h + tw + d, for d < ps.
                d_col = h - 1 - col if col < h else col - h - tw
                m.d.comb += [we.eq(x_step & (d_col < ps)), wdata.eq(0)]
            else:
                # A tile column. x exchange: column h + d takes the left neighbour's right lane
                # d, column h + tw − 1 − d the right neighbour's left lane d (both, when the tile
                # is narrower than 2·ps). y exchange: the neighbour's row. Compression: clear.
                x_in = 0
                x_hit = 0
                for lane in range(h):
                    if col == h + lane:
                        x_in = x_in + Mux(lane < ps, self.from_left[lane], 0)
                        x_hit = x_hit | (lane < ps)
                    if col == h + tw - 1 - lane:
                        x_in = x_in + Mux(lane < ps, self.from_right[lane], 0)
                        x_hit = x_hit | (lane < ps)
                y_in = Mux(down, self.from_up[col - h], self.from_down[col - h])
                chunk = (col - h) // cfg.i
                m.d.comb += [
                    we.eq((x_step & x_hit) | y_send | y_recv | (compress & (cx == chunk))),
                    wdata.eq(Mux(x_step, rd + x_in, Mux(y_recv, rd + y_in, 0))),
                ]
            m.d.comb += [row_we[col].eq(we), row_out[col].eq(wdata)]

        # -- compression: I elements of the row per cycle ----------------------------------------
        m.submodules.compressor = comp = Compressor(cfg)
        x0, y0 = self._origin
        for j in range(cfg.i):
            cols = [h + c * cfg.i + j for c in range(chunks)]
            value = Signal(signed(acc_bits), name=f"value{j}")
            m.d.comb += value.eq(Cat(row_in[col] if col < h + tw else Const(0, acc_bits)
                                     for col in cols).word_select(cx, acc_bits))
            # The lane's tile column: past the tile (the last chunk of a row wider than what is
            # left of it) the lane is not valid. Wide enough for the last chunk's last lane,
            # chunks·I − 1, which may exceed W_t − 1 (and x0 + it the image's max_w).
            tx = Signal(range(chunks * cfg.i), name=f"tx{j}")
            m.d.comb += tx.eq(cx * cfg.i + j)
            in_tile = tx < tw
            inside = in_tile & (x0 + tx < self.layer.w) & (y0 + cy < self.layer.h)
            if blox is not None:
                inside = inside & ~blox.pruned_at(m, cy, tx, j)
            element = comp.elements[j]
            # (an activation width above the accumulator's clamps nothing the accumulator holds)
            rq = m.submodules[f"requant{j}"] = Requantizer(acc_bits,
                                                           min(cfg.act_width, acc_bits))
            m.d.comb += [
                rq.value.eq(value),
                rq.shift.eq(self.shift),
                element.valid.eq(compress & in_tile),
                element.value.eq(Mux(inside & (value > 0), Mux(self.requant, rq.o, value), 0)),
            ]
        m.d.comb += [
            comp.layer_start.eq(self.layer_start),
            comp.flush.eq(closing),
            self.oaram.addr.eq(comp.row_w.addr),
            self.oaram.data.eq(comp.row_w.data),
            self.oaram.en.eq(comp.row_w.en),
            self.counts.addr.eq(kbase + closing_k),
            self.counts.data.eq(comp.count),
            self.counts.en.eq(comp.count_en),
            self.overflow.eq(comp.overflow),
        ]
        # The output RAM's directory: an entry per block, as the loader writes one.
        k_out = Signal(range(cfg.out_channels + cfg.kc))
        m.d.comb += [
            k_out.eq(kbase + closing_k),
            self.odir.data.start.eq(comp.block_start), self.odir.data.count.eq(comp.count),
            self.odir.addr.eq(k_out),
            self.odir.en.eq(comp.count_en & (k_out < cfg.iaram_rows)),
        ]

        # -- the schedule -------------------------------------------------------------------------
        exchange = Signal()                     # the kernel has halo rows or columns
        m.d.comb += exchange.eq((ps != 0) | (pr != 0))

        if blox is not None:
            blox.elaborate(m, self, step, row_in, kk, kbase)

        def begin_compress():
            """After the exchange: the block pass, else compression."""
            if blox is not None:
                m.d.sync += [step.eq(Step.BLOX_SUM), *blox.restart()]
            else:
                m.d.sync += [step.eq(Step.COMPRESS), cy.eq(0), cx.eq(0)]

        def begin_channel():
            """First step of a channel: x exchange, else y exchange, else compression."""
            with m.If(ps != 0):
                m.d.sync += [step.eq(Step.X), ya.eq(h - pr)]
            with m.Elif(pr != 0):
                m.d.sync += [step.eq(Step.Y_SEND), d.eq(0), down.eq(0)]
            with m.Else():
                begin_compress()

        last_compress = Signal()
        m.d.comb += last_compress.eq(compress & (cx == chunks - 1) & (cy == th - 1))
        m.d.sync += closing.eq(last_compress)
        with m.If(last_compress):
            m.d.sync += closing_k.eq(kk)

        with m.If(step == Step.IDLE):
            with m.If(self.start & (self.kg != 0)):
                m.d.sync += [kk.eq(0), kg.eq(self.kg), kbase.eq(self.kbase)]
                begin_channel()
        with m.Elif(step == Step.X):
            with m.If(ya == h + th + pr - 1):
                with m.If(pr != 0):
                    m.d.sync += [step.eq(Step.Y_SEND), d.eq(0), down.eq(0)]
                with m.Else():
                    begin_compress()
            with m.Else():
                m.d.sync += ya.eq(ya + 1)
        with m.Elif(step == Step.Y_SEND):
            m.d.sync += step.eq(Step.Y_RECV)
        with m.Elif(step == Step.Y_RECV):
            with m.If(~down):
                m.d.sync += [step.eq(Step.Y_SEND), down.eq(1)]
            with m.Elif(d == pr - 1):
                begin_compress()
            with m.Else():
                m.d.sync += [step.eq(Step.Y_SEND), down.eq(0), d.eq(d + 1)]
        with m.Elif(step == Step.COMPRESS):
            with m.If(cx == chunks - 1):
                m.d.sync += cx.eq(0)
                with m.If(cy == th - 1):
                    # The block closes next cycle: in the next channel's first exchange step,
                    # else in a flush step of its own.
                    # (With Sparse-Blox the next channel's block pass closes it.)
                    alone = (kk == kg - 1) if blox is not None else (kk == kg - 1) | ~exchange
                    with m.If(alone):
                        m.d.sync += step.eq(Step.FLUSH)
                    with m.Else():
                        m.d.sync += kk.eq(kk + 1)
                        begin_channel()
                with m.Else():
                    m.d.sync += cy.eq(cy + 1)
            with m.Else():
                m.d.sync += cx.eq(cx + 1)
        if blox is not None:
            with m.Elif(step == Step.BLOX_SUM):
                with m.If(blox.feeding_last):
                    m.d.sync += step.eq(Step.BLOX_WAIT)
            with m.Elif(step == Step.BLOX_WAIT):
                with m.If(blox.last_verdict):
                    m.d.sync += [step.eq(Step.COMPRESS), cy.eq(0), cx.eq(0)]
        with m.Elif(step == Step.FLUSH):
            with m.If(kk == kg - 1):
                m.d.sync += step.eq(Step.IDLE)
            with m.Else():
                m.d.sync += kk.eq(kk + 1)
                begin_channel()
        return m


class _BloxPass:
    """The PPU's Sparse-Blox block pass: feeds a channel's tile to the :class:`.blox.BlockPruner`
    block by block and keeps the channel's verdicts (helper of :class:`PostProcessor`, whose
    step and row signals it shares).

    Blocks in position order (``by`` outer, ``bx`` inner), each as its rows (4, fewer in the
    tile's last band), one a cycle: ``⌈W_t/4⌉ · H_t`` beats. Verdicts come back in the same order,
    :data:`BLOX_WAIT` cycles after the last beat; the channel's bits ``pruned[b]`` then hold until
    its compression is done.
    """

    def __init__(self, cfg):
        self.cfg = cfg
        self.across, self.down = cfg.blox_grid
        self.blocks = self.across * self.down
        self.pruner = BlockPruner(cfg)
        assert self.pruner.latency == BLOX_WAIT, "the cycle models assume the pruner's latency"
        self.bx = Signal(range(self.across), name="blox_bx")
        self.by = Signal(range(self.down), name="blox_by")
        self.ry = Signal(range(BLOCK), name="blox_ry")
        self.row = Signal(range(cfg.tile_h), name="blox_row")        # tile row being fed
        self.pruned = Signal(self.blocks, name="blox_pruned")
        self.verdicts = Signal(range(self.blocks), name="blox_verdicts")
        self.feeding_last = Signal(name="blox_feeding_last")
        self.last_verdict = Signal(name="blox_last_verdict")

    def restart(self):
        """Statements that begin a channel's pass."""
        return [self.bx.eq(0), self.by.eq(0), self.ry.eq(0), self.verdicts.eq(0)]

    def pruned_at(self, m, y, x, lane):
        """Whether tile element ``(x, y)`` lies in a pruned block of the current channel."""
        hit = Signal(name=f"blox_hit{lane}")
        m.d.comb += hit.eq(self.pruned.bit_select((y >> 2) * self.across + (x >> 2), 1))
        return hit

    def elaborate(self, m, ppu, step, row_in, kk, kbase):
        cfg = self.cfg
        h, tw, th, acc = cfg.halo, cfg.tile_w, cfg.tile_h, cfg.acc_width
        m.submodules.pruner = pruner = self.pruner
        x0, y0 = ppu._origin
        feeding = Signal(name="blox_feeding")
        m.d.comb += [feeding.eq(step == Step.BLOX_SUM), self.row.eq(self.by * BLOCK + self.ry)]
        beat = pruner.i.payload
        for lane in range(BLOCK):
            value = Signal(signed(acc), name=f"blox_value{lane}")
            m.d.comb += value.eq(Cat(row_in[h + c] if c < tw else Const(0, acc)
                                     for c in range(lane, self.across * BLOCK, BLOCK))
                                 .word_select(self.bx, acc))
            col = self.bx * BLOCK + lane
            m.d.comb += [
                beat.values[lane].eq(Mux(value > 0, value, 0)),          # ReLU
                beat.mask[lane].eq((col < tw) & (x0 + col < ppu.layer.w) &
                                   (y0 + self.row < ppu.layer.h)),
            ]
        last_row = Signal(name="blox_last_row")
        m.d.comb += [
            last_row.eq((self.ry == BLOCK - 1) | (self.row == th - 1)),
            beat.last.eq(last_row),
            beat.tag.eq((kbase + kk) * self.blocks + self.by * self.across + self.bx),
            pruner.i.valid.eq(feeding),
            pruner.threshold.eq(ppu.blox_threshold),
            pruner.layer_start.eq(ppu.layer_start),
            self.feeding_last.eq(pruner.i.ready & last_row & (self.bx == self.across - 1) &
                                 (self.by == self.down - 1)),
        ]
        with m.If(feeding & pruner.i.ready):
            with m.If(last_row):
                m.d.sync += self.ry.eq(0)
                with m.If(self.bx == self.across - 1):
                    m.d.sync += [self.bx.eq(0), self.by.eq(self.by + 1)]
                with m.Else():
                    m.d.sync += self.bx.eq(self.bx + 1)
            with m.Else():
                m.d.sync += self.ry.eq(self.ry + 1)
        with m.If(pruner.verdict):
            m.d.sync += [self.pruned.bit_select(self.verdicts, 1).eq(pruner.pruned),
                         self.verdicts.eq(self.verdicts + 1)]
        m.d.comb += [
            self.last_verdict.eq(pruner.verdict & (self.verdicts == self.blocks - 1)),
            ppu.blox_cached.eq(pruner.pruned),
            ppu.blox_created.eq(pruner.pruned & ~pruner.zero),
            ppu.blox_refused.eq(pruner.refused),
            ppu.blox_zero.eq(pruner.zero),
        ]


def _xor_permute(m, vector, key, n, width, name):
    """``out[j] = vector[j XOR key]`` for the ``n`` words of ``width`` bits of ``vector``: one
    stage of conditional swaps per bit of ``key`` (an involution: it is its own inverse)."""
    words = [vector[j * width:(j + 1) * width] for j in range(n)]
    for bit in range((n - 1).bit_length()):
        stage = []
        for j in range(n):
            word = Signal(width, name=f"{name}_x{bit}_{j}")
            m.d.comb += word.eq(Mux(key[bit], words[j ^ (1 << bit)], words[j]))
            stage.append(word)
        words = stage
    return Cat(*words)
