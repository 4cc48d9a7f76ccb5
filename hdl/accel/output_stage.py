"""Output stage: requantizes result rows and writes the output map back into activation SRAM."""

from amaranth import Cat, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ...gen.schema import bits_for
from ..sta.layouts import result_beat_layout
from .layouts import DIM_BITS, layer_layout

__all__ = ["OutputStage", "Requantizer"]


class Requantizer(wiring.Component):
    """``clamp((acc + (1 << (shift−1))) >> shift, −128, 127)``, ReLU before the clamp if enabled.

    The shift is arithmetic; ``shift = 0`` adds no rounding term. Combinational.
    """

    def __init__(self, acc_width):
        self._acc_width = acc_width
        super().__init__({"acc": In(signed(acc_width)), "shift": In(5), "relu": In(1),
                          "o": Out(signed(8))})

    def elaborate(self, platform):
        m = Module()
        # Wide enough for the rounding term of any shift (up to 2**30) added to any accumulator.
        width = max(self._acc_width, 32) + 2
        wide = Signal(signed(width))
        rounded = Signal(signed(width))
        m.d.comb += [
            wide.eq(self.acc + ((1 << self.shift) >> 1)),
            rounded.eq(wide >> self.shift),
        ]
        low = Mux(self.relu, 0, -128)
        m.d.comb += self.o.eq(Mux(rounded > 127, 127, Mux(rounded < low, low, rounded)))
        return m


class OutputStage(wiring.Component):
    """Write each result row of the engine to its output pixel in the output map.

    Rows arrive column tile by column tile, patch by patch, pixel ``py·pw + px`` of the patch per
    row. A row of an output pixel inside the map is written in one cycle: its ``N·C/B`` channel
    blocks (INT8 mode, requantized) or ``4·N·C/B`` words (INT32 mode, raw accumulators) go to
    distinct banks; channel blocks past ``cb_out`` and pixels past the map are not written. The
    stage always accepts a row.

    Attributes
    ----------
    layer : In(layer_layout(cfg))
    start : In(1)
    result : In(stream.Signature(result_beat_layout(cfg.array)))
    wr_addr, wr_data, wr_en : Out
        Per bank of the output map's SRAM half.
    """

    def __init__(self, cfg):
        self._cfg = cfg
        banks = cfg.act_banks
        super().__init__({
            "layer": In(layer_layout(cfg)),
            "start": In(1),
            "result": In(stream.Signature(result_beat_layout(cfg.array))),
            "wr_addr": Out(data.ArrayLayout(bits_for(cfg.act_bank_depth), banks)),
            "wr_data": Out(data.ArrayLayout(cfg.word_bits, banks)),
            "wr_en": Out(banks),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        layer = self.layer
        array = cfg.array
        bz, banks, lg = cfg.block, cfg.act_banks, cfg.act_banks.bit_length() - 1
        blocks = array.tile_cols // bz          # channel blocks per row
        m.d.comb += self.result.ready.eq(1)
        take = Signal()
        m.d.comb += take.eq(self.result.valid)

        # Position of the row: column tile, patch, pixel in the patch.
        q_block = Signal(32)                    # first channel block of the column tile
        tx = Signal.like(layer.tiles_x)
        ty = Signal.like(layer.tiles_y)
        px = Signal(range(array.tile_rows + 1))
        py = Signal(range(array.tile_rows + 1))
        ox0 = Signal(DIM_BITS + 1)
        oy0 = Signal(DIM_BITS + 1)
        with m.If(take):
            with m.If(px == layer.pw - 1):
                m.d.sync += px.eq(0)
                with m.If(py == layer.ph - 1):
                    m.d.sync += py.eq(0)
                    with m.If(tx == layer.tiles_x - 1):
                        m.d.sync += [tx.eq(0), ox0.eq(0)]
                        with m.If(ty == layer.tiles_y - 1):
                            m.d.sync += [ty.eq(0), oy0.eq(0), q_block.eq(q_block + blocks)]
                        with m.Else():
                            m.d.sync += [ty.eq(ty + 1), oy0.eq(oy0 + layer.ph)]
                    with m.Else():
                        m.d.sync += [tx.eq(tx + 1), ox0.eq(ox0 + layer.pw)]
                with m.Else():
                    m.d.sync += py.eq(py + 1)
            with m.Else():
                m.d.sync += px.eq(px + 1)
        with m.If(self.start):
            m.d.sync += [q_block.eq(0), tx.eq(0), ty.eq(0), px.eq(0), py.eq(0), ox0.eq(0),
                         oy0.eq(0)]

        oy = Signal(DIM_BITS + 2)
        ox = Signal(DIM_BITS + 2)
        inside = Signal()
        po = Signal(2 * DIM_BITS + 2)
        m.d.comb += [
            oy.eq(oy0 + py), ox.eq(ox0 + px),
            inside.eq((oy < layer.ho) & (ox < layer.wo)),
            po.eq(oy * layer.wo + ox),
        ]

        # The row's words: requantized channel blocks, or raw 32-bit accumulators.
        int8_words = Signal(data.ArrayLayout(cfg.word_bits, blocks))
        for col in range(array.tile_cols):
            rq = m.submodules[f"rq{col}"] = Requantizer(array.acc_width)
            m.d.comb += [rq.acc.eq(self.result.payload[col]), rq.shift.eq(layer.shift),
                         rq.relu.eq(layer.relu),
                         int8_words[col // bz][8 * (col % bz):8 * (col % bz) + 8]
                         .eq(rq.o)]
        # INT32: the row's 32-bit values, little-endian, cut into words of B bytes (B/4 values a
        # word for B ≥ 4; a value over 4/B words for B < 4).
        words = 4 * blocks
        row_words = Signal(data.ArrayLayout(cfg.word_bits, words))
        raw = []
        for col in range(array.tile_cols):
            value = Signal(signed(32), name=f"raw{col}")
            m.d.comb += value.eq(self.result.payload[col])     # sign-extends or truncates
            raw.append(value)
        with m.If(layer.int8_out):
            m.d.comb += [row_words[j].eq(int8_words[j]) for j in range(blocks)]
        with m.Else():
            m.d.comb += row_words.eq(Cat(raw))
        # Word w of the pixel (w = first + j) goes to bank (po + w) mod banks, row
        # base + (po div banks)·words_per_pixel + w.
        per_pixel = Signal(range(4 * (1 << 13) + 1))
        first = Signal(32)
        m.d.comb += [
            per_pixel.eq(Mux(layer.int8_out, layer.cb_out, layer.cb_out << 2)),
            first.eq(Mux(layer.int8_out, q_block, q_block << 2)),
        ]
        count = Signal(range(words + 1))
        m.d.comb += count.eq(Mux(layer.int8_out, blocks, 4 * blocks))
        row_base = Signal(32)
        m.d.comb += row_base.eq((po >> lg) * per_pixel + first + layer.ofm_base)
        for b in range(banks):
            j = Signal(lg, name=f"j{b}")
            m.d.comb += [
                j.eq(b - po - first),
                self.wr_addr[b].eq(row_base + j),
                self.wr_en[b].eq(take & inside & (j < count) & (first + j < per_pixel)),
            ]
            with m.Switch(j):
                for jj in range(min(words, banks)):
                    with m.Case(jj):
                        m.d.comb += self.wr_data[b].eq(row_words[jj])
                with m.Default():                  # no word for this bank (not enabled)
                    m.d.comb += self.wr_data[b].eq(0)
        return m
