"""Hardware IM2COL: an SRAM read-bandwidth magnifier in front of the array (STA paper, Fig. 8).

The unit reads each activation word of an input window once into a register buffer and emits every
IM2COL row of the window from it, instead of reading each IM2COL element from SRAM.
"""

from amaranth import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ...gen.accel.config import patch_shapes
from ...gen.schema import bits_for
from ..sta.layouts import act_beat_layout
from .layouts import DIM_BITS, layer_layout

__all__ = ["Im2colMagnifier"]

EMPTY, FILLING, FULL = 0, 1, 2


class Im2colMagnifier(wiring.Component):
    """Turn an activation map in SRAM into the engine's activation beats, reading each word once
    per window.

    For every output tile — an output patch of ``ph × pw`` pixels, column tiles outer, patches
    row-major, channel blocks inner — the unit fills a window of ``((ph−1)·st + R) × ((pw−1)·st
    + S)`` words (one channel block of the input pixels the patch's kernel windows touch, zero
    outside the image) and emits R·S beats from it, ``(r, s)`` row-major: row ``py·pw + px`` of
    beat ``(r, s)`` is window word ``(py·st + r, px·st + s)``.

    Emission latches, for each patch row, the window row its kernel row needs into a segment
    register and shifts the segments one word per kernel column, so every beat row is a fixed tap
    of its segment (the shifting buffers of Fig. 8); the next window's first row is latched as
    the last beat of a window is taken.

    A window row is read in one cycle, one word per bank (see
    :mod:`sparseforge.sim.accel.plan` for the layout that makes a row's words sit in distinct
    banks); only words inside the image and at positions some tap uses are read. Two window
    buffers alternate: while one emits, the other fills, and a buffer starts filling in the cycle
    its last beat is taken. Filling a window takes one cycle per row and its data lands a cycle
    later, so as long as a window row count is at most the cycles the engine spends on a window
    (the patch choice of :func:`~sparseforge.sim.accel.plan.choose_patch` ensures it), the engine
    never waits after the first window.

    Attributes
    ----------
    layer : In(layer_layout(cfg))
        The derived layer descriptor, stable from ``start`` until ``busy`` falls.
    start : In(1)
        Begin the layer's windows (``windows`` of them).
    busy : Out(1)
    act : Out(stream.Signature(act_beat_layout(cfg.array)))
    rd_addr, rd_en : Out
        Per bank of the input map's SRAM half: a read request.
    rd_data : In
        Per bank: the word requested the cycle before.
    reads : Out(32)
        Words read since ``start``.
    skip_en : In(1); rd_pruned : In(banks); act_skip : Out(1)
        Only on a Sparse-Blox design whose engine drops blocks (``cfg.blox_skips``).
        ``rd_pruned``: per bank, the word landing this cycle was pruned (its pruned-word flag;
        its data is zeros). Each window word keeps two bits beside it: *pruned*, and *zero* —
        pruned or outside the image (padding) — shifted through the segments with the words.
        ``act_skip`` comes with each beat: with ``skip_en`` set, every one of the beat's
        ``M·A`` rows (rows of pixels past the output map included) reads a zero word and at
        least one reads a pruned word — a beat made all zero by pruning, which the engine
        drops (:class:`~sparseforge.hdl.sta.feeder.StepFeeder`).
    """

    def __init__(self, cfg):
        self._cfg = cfg
        banks = cfg.act_banks
        addr = bits_for(cfg.act_bank_depth)
        ports = {
            "layer": In(layer_layout(cfg)),
            "windows": In(32),
            "start": In(1),
            "busy": Out(1),
            "act": Out(stream.Signature(act_beat_layout(cfg.array))),
            "rd_addr": Out(data.ArrayLayout(addr, banks)),
            "rd_en": Out(banks),
            "rd_data": In(data.ArrayLayout(cfg.word_bits, banks)),
            "reads": Out(32),
        }
        if cfg.blox_skips:
            ports.update({"skip_en": In(1), "rd_pruned": In(banks), "act_skip": Out(1)})
        super().__init__(ports)

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        layer = self.layer
        banks, lg_banks = cfg.act_banks, cfg.act_banks.bit_length() - 1
        wh_max, ww_max = cfg.window_rows, cfg.window_cols
        rows = cfg.array.tile_rows
        word = unsigned(cfg.word_bits)
        window_row = data.ArrayLayout(word, ww_max)
        window_layout = data.ArrayLayout(data.ArrayLayout(window_row, wh_max), 2)
        window = Signal(window_layout)
        state = Signal(data.ArrayLayout(2, 2))

        # -- emission ----------------------------------------------------------------------------
        # Each patch row py has a segment register holding window row py·st + r (loaded once per
        # kernel row r), shifted left one word per kernel column s: beat row (py, px) is then
        # always segment word px·st, a fixed tap.
        max_ph = max(ph for ph, _ in patch_shapes(rows))
        seg = Signal(data.ArrayLayout(window_row, max_ph))
        skip = cfg.blox_skips
        if skip:
            # Per window word: pruned (p) and zero (z: pruned or outside the image).
            flag_row = unsigned(ww_max)
            flag_window = data.ArrayLayout(data.ArrayLayout(flag_row, wh_max), 2)
            win_p, win_z = Signal(flag_window), Signal(flag_window)
            seg_p = Signal(data.ArrayLayout(flag_row, max_ph))
            seg_z = Signal(data.ArrayLayout(flag_row, max_ph))
            row_p, row_z = Signal(flag_row), Signal(flag_row)
            all_zero, any_pruned = Signal(), Signal()
            m.d.comb += self.act_skip.eq(self.skip_en & all_zero & any_pruned)
        seg_valid = Signal()
        e_buf = Signal()
        e_r = Signal(4)
        e_s = Signal(4)
        e_left = Signal(32)
        last_beat = Signal()
        taken = Signal()
        emitted = Signal(2)         # per buffer: its last beat is taken this cycle
        m.d.comb += [
            self.busy.eq(e_left != 0),
            self.act.valid.eq(seg_valid & (e_left != 0)),
            taken.eq(self.act.valid & self.act.ready),
            last_beat.eq((e_r == layer.r - 1) & (e_s == layer.s - 1)),
            emitted.eq(Mux(taken & last_beat, Mux(e_buf, 0b10, 0b01), 0)),
        ]
        for k in range(rows):
            with m.Switch(Cat(layer.stride2, layer.pw)):
                for ph, pw in patch_shapes(rows):
                    for stride2 in (0, 1):
                        with m.Case(stride2 | (pw << 1)):
                            py, px = k // pw, k % pw
                            tap = px << stride2
                            if tap < ww_max:
                                m.d.comb += self.act.payload[k].eq(seg[py][tap])
                with m.Default():                  # no such patch: the sequencer refuses it
                    m.d.comb += self.act.payload[k].eq(0)
        if skip:
            with m.Switch(Cat(layer.stride2, layer.pw)):
                for ph, pw in patch_shapes(rows):
                    for stride2 in (0, 1):
                        with m.Case(stride2 | (pw << 1)):
                            taps = [(k // pw, (k % pw) << stride2) for k in range(rows)]
                            taps = [(py, t) for py, t in taps if t < ww_max]
                            m.d.comb += [
                                all_zero.eq(Cat(seg_z[py][t] for py, t in taps).all()),
                                any_pruned.eq(Cat(seg_p[py][t] for py, t in taps).any()),
                            ]
                with m.Default():                  # no such patch: never a skip
                    m.d.comb += [all_zero.eq(0), any_pruned.eq(0)]

        # The read data of a window row lands (is written into its buffer) one cycle after the
        # row is read; these are driven in the filling section below.
        w_valid = Signal()
        w_last = Signal()
        w_buf = Signal()
        w_row = Signal(range(wh_max))
        row_data = Signal(data.ArrayLayout(word, ww_max))
        landing = Signal()          # the next buffer's last row lands this cycle

        def load(buf, r, bypass=False):
            """Latch window row py·st + r of buffer ``buf`` into every segment; with ``bypass``,
            the row landing this cycle comes straight from the read data."""
            for py in range(max_ph):
                index = Signal(range(wh_max + 2 * max_ph + 16), name=f"load_row{py}")
                m.d.comb += index.eq((py << layer.stride2) + r)
                with m.Switch(Cat(buf, index)):
                    for b in range(2):
                        for i in range(wh_max):
                            with m.Case(b | (i << 1)):
                                m.d.sync += seg[py].eq(window[b][i])
                                if skip:
                                    m.d.sync += [seg_p[py].eq(win_p[b][i]),
                                                 seg_z[py].eq(win_z[b][i])]
                    with m.Default():              # a row past the buffer: patch rows unused
                        m.d.sync += seg[py].eq(0)
                        if skip:                   # (their flags are never tapped: held)
                            m.d.sync += [seg_p[py].eq(seg_p[py]), seg_z[py].eq(seg_z[py])]
                if bypass:
                    with m.If(landing & (w_row == index)):
                        m.d.sync += seg[py].eq(row_data)
                        if skip:
                            m.d.sync += [seg_p[py].eq(row_p), seg_z[py].eq(row_z)]

        # The next window is ready when its buffer is full, or when its last row lands this
        # cycle (then its rows are latched with that row bypassed): a window of wh rows is
        # ready wh + 1 cycles after its buffer frees, so it follows the previous window without
        # a gap whenever wh ≤ the cycles the engine spends on a window.
        next_full = Signal()
        m.d.comb += [
            landing.eq(w_valid & w_last & (w_buf != e_buf)),
            next_full.eq((state.as_value().word_select(~e_buf, 2) == FULL) | landing),
        ]
        with m.If(taken):
            with m.If(e_s != layer.s - 1):
                m.d.sync += e_s.eq(e_s + 1)
                for py in range(max_ph):
                    for j in range(ww_max):
                        m.d.sync += seg[py][j].eq(seg[py][j + 1] if j + 1 < ww_max else 0)
                    if skip:
                        m.d.sync += [seg_p[py].eq(seg_p[py] >> 1), seg_z[py].eq(seg_z[py] >> 1)]
            with m.Elif(~last_beat):
                m.d.sync += [e_s.eq(0), e_r.eq(e_r + 1)]
                load(e_buf, e_r + 1)
            with m.Else():
                m.d.sync += [e_s.eq(0), e_r.eq(0), e_buf.eq(~e_buf), e_left.eq(e_left - 1),
                             seg_valid.eq(next_full)]
                with m.If(next_full):
                    load(~e_buf, 0, bypass=True)
        with m.Elif(~seg_valid & (state.as_value().word_select(e_buf, 2) == FULL) &
                    (e_left != 0)):
            m.d.sync += seg_valid.eq(1)
            load(e_buf, 0)

        # -- filling -----------------------------------------------------------------------------
        f_left = Signal(32)
        f_busy = Signal()
        f_buf = Signal()
        f_row = Signal(range(wh_max))
        f_cb = Signal.like(layer.cb_in)
        f_tx = Signal.like(layer.tiles_x)
        f_ty = Signal.like(layer.tiles_y)
        f_x0 = Signal(signed(DIM_BITS + 2))
        f_y0 = Signal(signed(DIM_BITS + 2))

        free = Signal(2)
        for b in range(2):
            m.d.comb += free[b].eq((state[b] == EMPTY) | emitted[b])
        begin = Signal()
        issue = Signal()
        row = Signal(range(wh_max))
        m.d.comb += [
            begin.eq(~f_busy & (f_left != 0) & free.bit_select(f_buf, 1)),
            issue.eq(f_busy | begin),
            row.eq(Mux(f_busy, f_row, 0)),
        ]
        last_row = Signal()
        m.d.comb += last_row.eq(row == layer.wh - 1)

        # Address of the row: pixel index of the window's first column, and its banks.
        y = Signal(signed(DIM_BITS + 3))
        in_row = Signal()
        p_start = Signal(signed(2 * DIM_BITS + 4))
        rot = Signal(lg_banks)
        row_base = Signal(signed(2 * DIM_BITS + 4 + 14))
        m.d.comb += [
            y.eq(f_y0 + row),
            in_row.eq((y >= 0) & (y < layer.h) &
                      (~layer.stride2 | (layer.r > 1) | ~row[0])),
            p_start.eq(y * layer.w + f_x0),
            rot.eq(p_start + f_cb),
            row_base.eq((p_start >> lg_banks) * layer.cb_in + f_cb + layer.ifm_base),
        ]
        low = Signal(lg_banks)
        m.d.comb += low.eq(p_start)
        col_ok = Signal(ww_max)
        for j in range(ww_max):
            x = f_x0 + j
            m.d.comb += col_ok[j].eq((j < layer.ww) & (x >= 0) & (x < layer.w) &
                                     (~layer.stride2 | (layer.s > 1) | (j % 2 == 0)))
        for b in range(banks):
            j = Signal(lg_banks, name=f"j{b}")
            carry = Signal(name=f"carry{b}")
            m.d.comb += [
                j.eq(b - rot),
                carry.eq(low + j >= banks),
                self.rd_addr[b].eq(row_base + Mux(carry, layer.cb_in, 0)),
                self.rd_en[b].eq(issue & in_row & (j < ww_max) & col_ok.bit_select(j, 1)),
            ]
        m.d.sync += self.reads.eq(self.reads + sum(self.rd_en[b] for b in range(banks)))

        # Advance the row and the window counters (channel block innermost).
        with m.If(issue):
            m.d.sync += f_row.eq(row + 1)
            with m.If(begin):
                m.d.sync += f_busy.eq(1)
            with m.If(last_row):
                m.d.sync += [f_busy.eq(0), f_row.eq(0), f_buf.eq(~f_buf), f_left.eq(f_left - 1)]
                with m.If(f_cb == layer.cb_in - 1):
                    m.d.sync += f_cb.eq(0)
                    with m.If(f_tx == layer.tiles_x - 1):
                        m.d.sync += [f_tx.eq(0), f_x0.eq(-layer.pad)]
                        with m.If(f_ty == layer.tiles_y - 1):
                            m.d.sync += [f_ty.eq(0), f_y0.eq(-layer.pad)]
                        with m.Else():
                            m.d.sync += [f_ty.eq(f_ty + 1),
                                         f_y0.eq(f_y0 + (layer.ph << layer.stride2))]
                    with m.Else():
                        m.d.sync += [f_tx.eq(f_tx + 1),
                                     f_x0.eq(f_x0 + (layer.pw << layer.stride2))]
                with m.Else():
                    m.d.sync += f_cb.eq(f_cb + 1)

        # The read data lands the next cycle: rotate the banks into window columns, zero the rest.
        w_rot = Signal(lg_banks)
        w_cols = Signal(ww_max)
        m.d.sync += [w_valid.eq(issue), w_last.eq(issue & last_row), w_buf.eq(f_buf),
                     w_row.eq(row), w_rot.eq(rot),
                     w_cols.eq(Mux(in_row, col_ok, 0))]
        with m.Switch(w_rot):
            for shift in range(banks):
                with m.Case(shift):
                    for j in range(ww_max):
                        m.d.comb += row_data[j].eq(
                            Mux(w_cols[j], self.rd_data[(shift + j) % banks], 0))
                        if skip:
                            pruned = w_cols[j] & self.rd_pruned[(shift + j) % banks]
                            m.d.comb += [row_p[j].eq(pruned), row_z[j].eq(~w_cols[j] | pruned)]
        with m.If(w_valid):
            with m.Switch(w_buf):
                for b in range(2):
                    with m.Case(b):
                        # Independent ifs: a case over w_row would miss its unused values.
                        for i in range(wh_max):
                            with m.If(w_row == i):
                                m.d.sync += window[b][i].eq(row_data)
                                if skip:
                                    m.d.sync += [win_p[b][i].eq(row_p), win_z[b][i].eq(row_z)]


        # Buffer states: filling from its first read, full after its last row lands, empty once
        # its last beat is taken.
        for b in range(2):
            with m.If(begin & (f_buf == b)):
                m.d.sync += state[b].eq(FILLING)
            with m.Elif(w_last & (w_buf == b)):
                m.d.sync += state[b].eq(FULL)
            with m.Elif(emitted[b]):
                m.d.sync += state[b].eq(EMPTY)

        with m.If(self.start):
            m.d.sync += [
                f_left.eq(self.windows), e_left.eq(self.windows), self.reads.eq(0),
                f_busy.eq(0), f_buf.eq(0), f_row.eq(0), f_cb.eq(0), f_tx.eq(0), f_ty.eq(0),
                f_x0.eq(-layer.pad), f_y0.eq(-layer.pad),
                e_buf.eq(0), e_r.eq(0), e_s.eq(0), state.eq(0), seg_valid.eq(0),
            ]
        return m
