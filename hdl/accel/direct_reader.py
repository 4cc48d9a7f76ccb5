"""Direct activation reader: every IM2COL element read from SRAM (the no-IM2COL baseline)."""

from amaranth import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from ...gen.schema import bits_for
from ..sta.layouts import act_beat_layout
from .layouts import DIM_BITS, layer_layout

__all__ = ["DirectReader"]


class DirectReader(wiring.Component):
    """Emit the engine's activation beats by reading each of their elements from SRAM.

    An output tile's ``tile_rows`` pixels (lanes) are one row of the output map (the patch
    mapping, ``ph = 1``) or, with ``layer.raster``, consecutive pixels in raster order across
    row boundaries. Beat ``(cb, r, s)`` of a tile is read in one cycle, one word per lane: lane
    ``i`` reads input pixel ``q₀ + oᵢ``, ``q₀`` lane 0's, with ``oᵢ < act_banks`` (the plan
    guarantees it: :func:`~sparseforge.sim.accel.plan.raster_fits`), so every lane reads its own
    bank and a bank one row. Elements outside the image or of pixels beyond the output map are
    zero and not read. Throughput: one beat per cycle, through a three-beat buffer.

    In raster mode lane ``i`` sits ``(aᵢ, bᵢ) = divmod(i, Wo)`` rows and columns after lane 0 (one
    row more if ``ox₀ + bᵢ`` passes ``Wo``); these per-lane constants are computed at ``start``
    by a chain over the lanes and registered, so the beat path needs no divider or multiplier
    per lane.

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

        # Per-lane constants of the raster mapping, set at start: lane i is (a, b) = divmod(i,
        # Wo) rows and columns after lane 0 (lanes i = rows: the step from tile to tile), and
        # k = a·W + b mod banks, its input offset without a row wrap. Patch mapping: (0, i), i.
        lane_a = [Signal(range(rows + 1), name=f"lane_a{i}") for i in range(rows + 1)]
        lane_b = [Signal(DIM_BITS, name=f"lane_b{i}") for i in range(rows + 1)]
        lane_k = [Signal(lg, name=f"lane_k{i}") for i in range(rows)]
        gap = Signal(lg)                        # W − Wo mod banks: a row wrap's extra offset
        m.d.comb += gap.eq(layer.w - layer.wo)
        chain_a, chain_b, chain_k = 0, 0, 0
        for i in range(rows + 1):
            if i:
                wrap = Signal(name=f"wrap{i}")
                nb = Signal(DIM_BITS + 1, name=f"chain_b{i}")
                na = Signal(range(rows + 1), name=f"chain_a{i}")
                nk = Signal(lg, name=f"chain_k{i}")
                m.d.comb += [
                    wrap.eq(layer.raster & (chain_b + 1 == layer.wo)),
                    nb.eq(Mux(wrap, 0, chain_b + 1)),
                    na.eq(chain_a + wrap),
                    nk.eq(chain_k + 1 + Mux(wrap, gap, 0)),
                ]
                chain_a, chain_b, chain_k = na, nb, nk
            with m.If(self.start):
                m.d.sync += [lane_a[i].eq(chain_a), lane_b[i].eq(chain_b)]
                if i < rows:
                    m.d.sync += lane_k[i].eq(chain_k)

        # Walk the beats: windows (one per tile and channel block) of R·S beats each.
        left = Signal(32)
        r = Signal(4)
        s = Signal(4)
        cb = Signal.like(layer.cb_in)
        tx = Signal.like(layer.tiles_x)
        ty = Signal.like(layer.tiles_y)
        oy0 = Signal(DIM_BITS + 1)              # lane 0's output pixel
        ox0 = Signal(DIM_BITS + 1)
        step_x = Signal(DIM_BITS + 2)
        step_wrap = Signal()
        m.d.comb += [step_x.eq(ox0 + lane_b[rows]),
                     step_wrap.eq(layer.raster & (step_x >= layer.wo))]
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
                            m.d.sync += [tx.eq(0), ox0.eq(0)]
                            with m.If(ty == layer.tiles_y - 1):
                                m.d.sync += [ty.eq(0), oy0.eq(0)]
                            with m.Else():
                                m.d.sync += [ty.eq(ty + 1), oy0.eq(oy0 + 1)]
                        with m.Else():
                            m.d.sync += [tx.eq(tx + 1),
                                         ox0.eq(step_x - Mux(step_wrap, layer.wo, 0)),
                                         oy0.eq(oy0 + lane_a[rows] + step_wrap)]
                    with m.Else():
                        m.d.sync += cb.eq(cb + 1)
                with m.Else():
                    m.d.sync += r.eq(r + 1)
            with m.Else():
                m.d.sync += s.eq(s + 1)

        # Lane 0 reads input pixel p0 = y0·W + x0, in bank (p0 + cb) mod banks; lane i reads
        # p0 + o_i, in bank (rot + o_i) mod banks.
        y0 = Signal(signed(DIM_BITS + 3))
        x0 = Signal(signed(DIM_BITS + 3))
        p0 = Signal(signed(2 * DIM_BITS + 4))
        rot = Signal(lg)
        low = Signal(lg)
        row_base = Signal(signed(2 * DIM_BITS + 4 + 14))
        m.d.comb += [
            y0.eq((oy0 << layer.stride2) + r - layer.pad),
            x0.eq((ox0 << layer.stride2) + s - layer.pad),
            p0.eq(y0 * layer.w + x0),
            rot.eq(p0 + cb),
            low.eq(p0),
            row_base.eq((p0 >> lg) * layer.cb_in + cb + layer.ifm_base),
        ]
        pixel_ok = Signal(rows)
        offset = [Signal(lg, name=f"o{i}") for i in range(rows)]
        wanted = Signal(banks)                  # offsets some lane reads
        wanted_terms = []
        for i in range(rows):
            bx = Signal(DIM_BITS + 2, name=f"bx{i}")
            wrap = Signal(name=f"lane_wrap{i}")
            ox = Signal(DIM_BITS + 2, name=f"ox{i}")
            oy = Signal(DIM_BITS + 2, name=f"oy{i}")
            y = Signal(signed(DIM_BITS + 5), name=f"y{i}")
            x = Signal(signed(DIM_BITS + 5), name=f"x{i}")
            m.d.comb += [
                bx.eq(ox0 + lane_b[i]),
                wrap.eq(layer.raster & (bx >= layer.wo)),
                ox.eq(bx - Mux(wrap, layer.wo, 0)),
                oy.eq(oy0 + lane_a[i] + wrap),
                y.eq((oy << layer.stride2) + r - layer.pad),
                x.eq((ox << layer.stride2) + s - layer.pad),
                pixel_ok[i].eq((y >= 0) & (y < layer.h) & (x >= 0) & (x < layer.w) &
                               (ox < layer.wo) & (oy < layer.ho)),
                offset[i].eq((lane_k[i] + Mux(wrap, gap, 0)) << layer.stride2),
            ]
            wanted_terms.append(Mux(pixel_ok[i], Const(1, banks) << offset[i], 0))
        m.d.comb += wanted.eq(_or_all(wanted_terms))
        for b in range(banks):
            d = Signal(lg, name=f"d{b}")
            m.d.comb += [
                d.eq(b - rot),
                self.rd_addr[b].eq(row_base + Mux(low + d >= banks, layer.cb_in, 0)),
                self.rd_en[b].eq(issue & wanted.bit_select(d, 1)),
            ]
        m.d.sync += self.reads.eq(self.reads + sum(self.rd_en[b] for b in range(banks)))

        # One cycle later: lane i's word is bank (rot + o_i) mod banks.
        w_rot = Signal(lg)
        w_ok = Signal(rows)
        w_offset = [Signal(lg, name=f"w_o{i}") for i in range(rows)]
        m.d.sync += [w_rot.eq(rot), w_ok.eq(Mux(issue, pixel_ok, 0))]
        m.d.sync += [w_offset[i].eq(offset[i]) for i in range(rows)]
        beat = Signal(data.ArrayLayout(unsigned(cfg.word_bits), rows))
        pruned = Signal(rows) if skip else None
        words = self.rd_data.as_value()
        for i in range(rows):
            bank = Signal(lg, name=f"lane_bank{i}")
            m.d.comb += [bank.eq(w_rot + w_offset[i]),
                         beat[i].eq(Mux(w_ok[i], words.word_select(bank, cfg.word_bits), 0))]
            if skip:
                m.d.comb += pruned[i].eq(w_ok[i] & self.rd_pruned.bit_select(bank, 1))
        if skip:
            # Every pixel zero (pruned, or not read: w_ok low) and at least one pruned.
            zero = (pruned | ~w_ok).all() & pruned.any()
            m.d.comb += [out.w_en.eq(inflight), out.w_data.eq(Cat(beat, zero))]
        else:
            m.d.comb += [out.w_en.eq(inflight), out.w_data.eq(beat)]

        with m.If(self.start):
            m.d.sync += [left.eq(self.windows), self.reads.eq(0), r.eq(0), s.eq(0), cb.eq(0),
                         tx.eq(0), ty.eq(0), ox0.eq(0), oy0.eq(0)]
        return m


def _or_all(values):
    """The OR of ``values`` as a balanced tree."""
    while len(values) > 1:
        values = [a | b for a, b in zip(values[::2], values[1::2])] + values[len(values) & ~1:]
    return values[0]
