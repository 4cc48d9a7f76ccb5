"""Post-processing unit: halo exchange, ReLU and compression of a group (SCNN paper, Sec. 4.2).

"When the output-channel group is complete, the PPU performs the following tasks: (1) exchange
partial sums with neighbor PEs for the halo regions at the boundary of the PE's output
activations, (2) apply the non-linear activation (e.g. ReLU) ..., and (3) compress the output
activations into the compressed-sparse form and write them into the OARAM."
"""

from amaranth import Cat, Module, Mux, Signal, signed
from amaranth.lib import data, enum, wiring
from amaranth.lib.wiring import In, Out

from .compressor import Compressor, oaram_row_layout
from .layouts import layer_layout
from ..common.rams import write_port_signature

__all__ = ["PostProcessor", "halo_layout", "ppu_cycles"]


def halo_layout(cfg):
    """What a PE drives towards its neighbours: ``left``/``right`` (h lanes: lane d is the
    column d + 1 away from the tile's edge) and ``up``/``down`` (W_t lanes: an interior row)."""
    acc = signed(cfg.acc_width)
    side = data.ArrayLayout(acc, max(1, cfg.halo))
    row = data.ArrayLayout(acc, cfg.tile_w)
    return data.StructLayout({"left": side, "right": side, "up": row, "down": row})


def ppu_cycles(cfg, kg, r, s):
    """Cycles the PPU is busy for a group of ``kg`` output channels with an ``r × s`` kernel.

    Per channel: the x exchange (a send and a receive cycle per row of the kernel's extended
    height, when S > 1), the y exchange (four cycles per halo row pair, when R > 1), one cycle
    per tile element, one flush cycle.
    """
    pr, ps = (r - 1) // 2, (s - 1) // 2
    x_rows = cfg.tile_h + 2 * pr if ps else 0
    return kg * (2 * x_rows + 4 * pr + cfg.tile_elems + 1)


class Step(enum.Enum, shape=3):
    IDLE = 0
    X_SEND = 1       # every PE reads its x-halo columns of a row into its links, clears them
    X_RECV = 2       # and adds its neighbours' into its own edge columns of the same row
    Y_SEND = 3       # an interior-width halo row goes up (or down)
    Y_RECV = 4
    COMPRESS = 5     # one element per cycle: read, clear, mask, ReLU, encode
    FLUSH = 6        # end of a channel's block


class PostProcessor(wiring.Component):
    """The PPU of PE ``(px, py)``: drains one group from the accumulator set not in use.

    Every PE's PPU is started in the same cycle and follows the same fixed schedule, so halo
    transfers happen in lockstep: in a send step each PE latches some of its accumulators into
    its link registers (and clears them); in the next, receive, step its neighbours add them.
    Per output channel ``kk`` of the group:

    1. x exchange (S > 1), over the rows ``h − pr … h + H_t + pr − 1`` (the tile's height plus
       the kernel's halo, so corners move too): the ``ps`` columns left of the tile go to the
       left neighbour, which adds them to its ``ps`` rightmost tile columns; those right of it
       to the right neighbour's leftmost ones.
    2. y exchange (R > 1), for each of the ``pr`` halo rows above and below the tile: its
       interior columns go to the upper (lower) neighbour's bottom (top) tile rows. Corner
       values that arrived in step 1 travel on: they reach the diagonal neighbour.
    3. compression: the ``H_t × W_t`` tile row-major, one element per cycle; elements outside
       the layer's ``H × W`` image are zero; ReLU; :class:`.compressor.Compressor` into the
       OARAM; then a flush cycle writes the block's count to the count table at ``kbase + kk``.

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
    busy : Out(1)
    entry, we, wdata : Out, one per bank; rdata : In, one per bank
        The accumulator set being drained (see :class:`.accumulators.AccumulatorBanks`).
    links : Out(halo_layout(cfg))
        Registered values for the neighbours, valid in the cycle after a send step.
    from_left, from_right, from_up, from_down : In(halo_layout(cfg)-side layouts)
        The neighbours' ``links.right``, ``links.left``, ``links.down``, ``links.up`` (zero at
        the array's edges).
    oaram : Out(write port), counts : Out(write port), overflow : Out(1)

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
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        h, tw, th = cfg.halo, cfg.tile_w, cfg.tile_h
        banks, bank_bits = cfg.banks, cfg.bank_bits

        step = Signal(Step)
        kk = Signal(range(cfg.kc))
        kg = Signal.like(self.kg)
        kbase = Signal.like(self.kbase)
        ya = Signal(range(cfg.acc_h))          # x exchange: the row
        d = Signal(range(max(1, h)))           # y exchange: the halo row pair
        down = Signal()                         # y exchange: sending down (else up)
        cy = Signal(range(th))
        cx = Signal(range(tw))

        pr = Signal(range(h + 1))
        ps = Signal(range(h + 1))
        m.d.comb += [pr.eq((self.layer.r - 1) >> 1), ps.eq((self.layer.s - 1) >> 1),
                     self.busy.eq(step != Step.IDLE)]

        # -- the row this step works on, and where each bank's column of it lies ----------------
        row = Signal(range(cfg.acc_h))
        with m.If((step == Step.X_SEND) | (step == Step.X_RECV)):
            m.d.comb += row.eq(ya)
        with m.Elif(step == Step.Y_SEND):
            m.d.comb += row.eq(Mux(down, h + th + d, h - 1 - d))
        with m.Elif(step == Step.Y_RECV):
            m.d.comb += row.eq(Mux(down, h + d, h + th - 1 - d))
        with m.Elif(step == Step.COMPRESS):
            m.d.comb += row.eq(h + cy)
        base = Signal(range(cfg.acc_space + 1))
        m.d.comb += base.eq(kk * cfg.acc_plane + row * cfg.acc_w)
        base_lo = Signal(max(1, bank_bits))
        base_hi = Signal(range(max(2, cfg.bank_entries)))
        if bank_bits:
            m.d.comb += [base_lo.eq(base[:bank_bits]), base_hi.eq(base[bank_bits:])]
        else:
            m.d.comb += [base_lo.eq(0), base_hi.eq(base)]

        for b in range(banks):
            # Bank b holds column (b − base_lo) mod A of the row: in the next entry when it
            # wrapped past the last bank (b < base_lo).
            m.d.comb += self.entry[b].eq(base_hi + (b < base_lo) if b < banks - 1 else base_hi)

        # -- the row in column order: the banks' read data rotated by base_lo -------------------
        acc_bits = cfg.acc_width
        lanes = data.ArrayLayout(signed(acc_bits), cfg.acc_w)
        rdata = self.rdata.as_value()
        row_in = Signal(lanes)                 # row_in[col] = rdata[(base_lo + col) mod A]
        m.d.comb += row_in.eq((Cat(rdata, rdata) >> (base_lo * acc_bits))[:cfg.acc_w * acc_bits])
        row_out = Signal(lanes)                # what to write back, by column
        row_we = Signal(cfg.acc_w)
        wide = Signal(banks * acc_bits)
        wide_we = Signal(banks)
        m.d.comb += [wide.eq(row_out.as_value()), wide_we.eq(row_we)]
        # Back to bank order: bank b takes column (b − base_lo) mod A (columns past acc_w: none).
        m.d.comb += [
            self.wdata.eq((Cat(wide, wide) << (base_lo * acc_bits))[banks * acc_bits:]),
            self.we.eq((Cat(wide_we, wide_we) << base_lo)[banks:]),
        ]

        # -- link registers: latched in send steps ----------------------------------------------
        links = self.links
        with m.If(step == Step.X_SEND):
            for lane in range(max(1, h)):
                if lane < h:
                    used = lane < ps
                    m.d.sync += [
                        links.left[lane].eq(Mux(used, row_in[h - 1 - lane], 0)),
                        links.right[lane].eq(Mux(used, row_in[h + tw + lane], 0)),
                    ]
        with m.If(step == Step.Y_SEND):
            for lane in range(tw):
                with m.If(down):
                    m.d.sync += links.down[lane].eq(row_in[h + lane])
                with m.Else():
                    m.d.sync += links.up[lane].eq(row_in[h + lane])

        # -- what each column does in this step -------------------------------------------------
        # Written as one expression per column (no comb process over the whole row), so that an
        # event-driven simulator re-evaluates only the columns whose inputs change.
        x_send, x_recv, y_send, y_recv, compress = (
            Signal(name=name) for name in ("x_send", "x_recv", "y_send", "y_recv", "compress"))
        m.d.comb += [x_send.eq(step == Step.X_SEND), x_recv.eq(step == Step.X_RECV),
                     y_send.eq(step == Step.Y_SEND), y_recv.eq(step == Step.Y_RECV),
                     compress.eq(step == Step.COMPRESS)]
        value = Signal(signed(acc_bits))       # the element being compressed
        m.d.comb += value.eq(Cat(row_in[h + x] for x in range(tw)).word_select(cx, acc_bits))
        for col in range(cfg.acc_w):
            rd = row_in[col]
            we = Signal(name=f"we{col}")
            wdata = Signal(signed(acc_bits), name=f"wdata{col}")
            if col < h or col >= h + tw:
                # A halo column: the x exchange sends (and clears) left column h − 1 − d and
                # right column h + tw + d, for d < ps.
                d_col = h - 1 - col if col < h else col - h - tw
                m.d.comb += [we.eq(x_send & (d_col < ps)), wdata.eq(0)]
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
                m.d.comb += [
                    we.eq((x_recv & x_hit) | y_send | y_recv | (compress & (cx == col - h))),
                    wdata.eq(Mux(x_recv, rd + x_in, Mux(y_recv, rd + y_in, 0))),
                ]
            m.d.comb += [row_we[col].eq(we), row_out[col].eq(wdata)]

        # -- compression ----------------------------------------------------------------------
        m.submodules.compressor = comp = Compressor(cfg)
        x0, y0 = self._origin
        inside = Signal()
        m.d.comb += [
            inside.eq((x0 + cx < self.layer.w) & (y0 + cy < self.layer.h)),
            comp.layer_start.eq(self.layer_start),
            comp.element.valid.eq(step == Step.COMPRESS),
            comp.element.value.eq(Mux(inside & (value > 0), value, 0)),
            comp.flush.eq(step == Step.FLUSH),
            self.oaram.addr.eq(comp.row_w.addr),
            self.oaram.data.eq(comp.row_w.data),
            self.oaram.en.eq(comp.row_w.en),
            self.counts.addr.eq(kbase + kk),
            self.counts.data.eq(comp.count),
            self.counts.en.eq(comp.count_en),
            self.overflow.eq(comp.overflow),
        ]

        # -- the schedule -------------------------------------------------------------------------
        def begin_channel():
            """First step of a channel: x exchange, else y exchange, else compression."""
            with m.If(ps != 0):
                m.d.sync += [step.eq(Step.X_SEND), ya.eq(h - pr)]
            with m.Elif(pr != 0):
                m.d.sync += [step.eq(Step.Y_SEND), d.eq(0), down.eq(0)]
            with m.Else():
                m.d.sync += [step.eq(Step.COMPRESS), cy.eq(0), cx.eq(0)]

        def after_x():
            with m.If(pr != 0):
                m.d.sync += [step.eq(Step.Y_SEND), d.eq(0), down.eq(0)]
            with m.Else():
                m.d.sync += [step.eq(Step.COMPRESS), cy.eq(0), cx.eq(0)]

        with m.If(step == Step.IDLE):
            with m.If(self.start & (self.kg != 0)):
                m.d.sync += [kk.eq(0), kg.eq(self.kg), kbase.eq(self.kbase)]
                begin_channel()
        with m.Elif(step == Step.X_SEND):
            m.d.sync += step.eq(Step.X_RECV)
        with m.Elif(step == Step.X_RECV):
            with m.If(ya == h + th + pr - 1):
                after_x()
            with m.Else():
                m.d.sync += [step.eq(Step.X_SEND), ya.eq(ya + 1)]
        with m.Elif(step == Step.Y_SEND):
            m.d.sync += step.eq(Step.Y_RECV)
        with m.Elif(step == Step.Y_RECV):
            with m.If(~down):
                m.d.sync += [step.eq(Step.Y_SEND), down.eq(1)]
            with m.Elif(d == pr - 1):
                m.d.sync += [step.eq(Step.COMPRESS), cy.eq(0), cx.eq(0)]
            with m.Else():
                m.d.sync += [step.eq(Step.Y_SEND), down.eq(0), d.eq(d + 1)]
        with m.Elif(step == Step.COMPRESS):
            with m.If(cx == tw - 1):
                m.d.sync += cx.eq(0)
                with m.If(cy == th - 1):
                    m.d.sync += step.eq(Step.FLUSH)
                with m.Else():
                    m.d.sync += cy.eq(cy + 1)
            with m.Else():
                m.d.sync += cx.eq(cx + 1)
        with m.Elif(step == Step.FLUSH):
            with m.If(kk == kg - 1):
                m.d.sync += step.eq(Step.IDLE)
            with m.Else():
                m.d.sync += kk.eq(kk + 1)
                begin_channel()
        return m
