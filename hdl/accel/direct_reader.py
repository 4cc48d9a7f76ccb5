"""Direct activation reader: every IM2COL element read from SRAM (the no-IM2COL baseline)."""

from amaranth import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from ...gen.schema import bits_for
from ..sta.layouts import act_beat_layout
from .layouts import DIM_BITS, layer_layout

__all__ = ["DirectReader"]


class DirectReader(wiring.Component):
    """Emit the engine's activation beats by reading each of their elements from SRAM.

    The output patch is one row of ``tile_rows`` pixels; beat ``(cb, r, s)`` of a patch is read in
    one cycle, one word per pixel, each pixel in its own bank (the patch's pixels span at most
    ``act_banks`` consecutive pixels). Elements outside the image or of pixels beyond the output
    map are zero and not read. Throughput: one beat per cycle, through a three-beat buffer.

    Attributes
    ----------
    Same as :class:`~sparseforge.hdl.im2col.Im2colMagnifier`. With ``skip_en`` (Sparse-Blox
    designs whose engine drops blocks), ``act_skip`` marks a beat whose every pixel is zero —
    pruned (``rd_pruned``), outside the image, or past the output map (not read) — and at
    least one pruned; it travels through the buffer with the beat.
    """

    def __init__(self, cfg):
        self._cfg = cfg
        banks = cfg.act_banks
        ports = {
            "layer": In(layer_layout(cfg)),
            "windows": In(32),
            "start": In(1),
            "busy": Out(1),
            "act": Out(stream.Signature(act_beat_layout(cfg.array))),
            "rd_addr": Out(data.ArrayLayout(bits_for(cfg.act_bank_depth), banks)),
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
        banks, lg = cfg.act_banks, cfg.act_banks.bit_length() - 1
        rows = cfg.array.tile_rows
        beat_bits = act_beat_layout(cfg.array).size

        skip = cfg.blox_skips
        m.submodules.out = out = fifo.SyncFIFO(width=beat_bits + skip, depth=3)
        m.d.comb += [
            self.act.valid.eq(out.r_rdy),
            self.act.payload.eq(out.r_data[:beat_bits] if skip else out.r_data),
            out.r_en.eq(self.act.ready),
        ]
        if skip:
            m.d.comb += self.act_skip.eq(out.r_data[beat_bits] & self.skip_en)

        # Walk the beats: windows (one per patch and channel block) of R·S beats each.
        left = Signal(32)
        r = Signal(4)
        s = Signal(4)
        cb = Signal.like(layer.cb_in)
        tx = Signal.like(layer.tiles_x)
        ty = Signal.like(layer.tiles_y)
        ox = Signal(DIM_BITS)                   # first output column of the patch
        inflight = Signal()
        issue = Signal()
        m.d.comb += [
            issue.eq((left != 0) & (out.level + inflight < 3)),
            self.busy.eq((left != 0) | inflight | out.r_rdy),
        ]
        m.d.sync += inflight.eq(issue)
        with m.If(issue):
            with m.If(s == layer.s - 1):
                m.d.sync += s.eq(0)
                with m.If(r == layer.r - 1):
                    m.d.sync += [r.eq(0), left.eq(left - 1)]
                    with m.If(cb == layer.cb_in - 1):
                        m.d.sync += cb.eq(0)
                        with m.If(tx == layer.tiles_x - 1):
                            m.d.sync += [tx.eq(0), ox.eq(0)]
                            with m.If(ty == layer.tiles_y - 1):
                                m.d.sync += ty.eq(0)
                            with m.Else():
                                m.d.sync += ty.eq(ty + 1)
                        with m.Else():
                            m.d.sync += [tx.eq(tx + 1), ox.eq(ox + rows)]
                    with m.Else():
                        m.d.sync += cb.eq(cb + 1)
                with m.Else():
                    m.d.sync += r.eq(r + 1)
            with m.Else():
                m.d.sync += s.eq(s + 1)

        # Pixel px of the beat: input (y, x0 + px·st); it sits in bank (p0 + px·st + cb) mod banks.
        y = Signal(signed(DIM_BITS + 3))
        x0 = Signal(signed(DIM_BITS + 3))
        p0 = Signal(signed(2 * DIM_BITS + 4))
        rot = Signal(lg)
        low = Signal(lg)
        row_base = Signal(signed(2 * DIM_BITS + 4 + 14))
        in_row = Signal()
        m.d.comb += [
            y.eq((ty << layer.stride2) + r - layer.pad),
            x0.eq((ox << layer.stride2) + s - layer.pad),
            p0.eq(y * layer.w + x0),
            rot.eq(p0 + cb),
            low.eq(p0),
            row_base.eq((p0 >> lg) * layer.cb_in + cb + layer.ifm_base),
            in_row.eq((y >= 0) & (y < layer.h)),
        ]
        pixel_ok = Signal(rows)
        for px in range(rows):
            x = Signal(signed(DIM_BITS + 4), name=f"x{px}")
            m.d.comb += [
                x.eq(x0 + (px << layer.stride2)),
                pixel_ok[px].eq(in_row & (x >= 0) & (x < layer.w) & (ox + px < layer.wo)),
            ]
        for b in range(banks):
            d = Signal(lg, name=f"d{b}")
            px = Signal(lg, name=f"px{b}")
            hit = Signal(name=f"hit{b}")
            m.d.comb += [
                d.eq(b - rot),
                px.eq(Mux(layer.stride2, d >> 1, d)),
                hit.eq((~layer.stride2 | ~d[0]) & (px < rows)),
                self.rd_addr[b].eq(row_base + Mux(low + d >= banks, layer.cb_in, 0)),
                self.rd_en[b].eq(issue & hit & pixel_ok.bit_select(px, 1)),
            ]
        m.d.sync += self.reads.eq(self.reads + sum(self.rd_en[b] for b in range(banks)))

        # One cycle later: pixel px's word is bank (rot + px·st) mod banks.
        w_rot = Signal(lg)
        w_ok = Signal(rows)
        m.d.sync += [w_rot.eq(rot), w_ok.eq(Mux(issue, pixel_ok, 0))]
        beat = Signal(data.ArrayLayout(unsigned(cfg.word_bits), rows))
        pruned = Signal(rows) if skip else None
        for stride2 in (0, 1):
            with m.If(layer.stride2 == stride2):
                with m.Switch(w_rot):
                    for shift in range(banks):
                        with m.Case(shift):
                            for px in range(rows):
                                bank = (shift + (px << stride2)) % banks
                                m.d.comb += beat[px].eq(Mux(w_ok[px], self.rd_data[bank], 0))
                                if skip:
                                    m.d.comb += pruned[px].eq(w_ok[px] & self.rd_pruned[bank])
        if skip:
            # Every pixel zero (pruned, or not read: w_ok low) and at least one pruned.
            zero = (pruned | ~w_ok).all() & pruned.any()
            m.d.comb += [out.w_en.eq(inflight), out.w_data.eq(Cat(beat, zero))]
        else:
            m.d.comb += [out.w_en.eq(inflight), out.w_data.eq(beat)]


        with m.If(self.start):
            m.d.sync += [left.eq(self.windows), self.reads.eq(0), r.eq(0), s.eq(0), cb.eq(0),
                         tx.eq(0), ty.eq(0), ox.eq(0)]
        return m
