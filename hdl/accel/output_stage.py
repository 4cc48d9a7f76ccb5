"""Output stage: requantizes result rows and writes the output map back into activation SRAM."""

from amaranth import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ...gen.schema import bits_for
from ..sta.layouts import result_beat_layout
from .blox import row_record_layout
from .layouts import DIM_BITS, layer_layout
from .quant_table import quant_param_layout, quant_rows

__all__ = ["OutputStage", "Requantizer"]


class Requantizer(wiring.Component):
    """The rule of :mod:`sparseforge.sim.quant` for one accumulator: combinational.

    ``clamp(((acc + bias)·mult + (1 << (shift−1))) >> shift, −128, 127)`` (no rounding term for
    ``shift = 0``), then ``max(0, ·)`` if ``relu``. ``acc + bias`` and the product are exact
    (wide enough for any operands); the shift is arithmetic, so rounding is half up. With
    ``bias = 0`` and ``mult = 1`` (their reset values) this is :func:`sparseforge.sim.conv.
    requantize`.

    Attributes
    ----------
    acc : In(signed(acc_width))
    bias : In(signed(32))
    mult : In(16), reset value 1
    shift : In(6)
        0 … 47 (larger shifts give 0 or −1 before the clamp, as the arithmetic shift does).
    relu : In(1)
    o : Out(signed(8))
    """

    def __init__(self, acc_width):
        self._acc_width = acc_width
        super().__init__({"acc": In(signed(acc_width)), "bias": In(signed(32)),
                          "mult": In(16, init=1), "shift": In(6), "relu": In(1),
                          "o": Out(signed(8))})

    def elaborate(self, platform):
        m = Module()
        total = Signal(signed(max(self._acc_width, 32) + 1))
        product = Signal(signed(len(total) + 17))
        rounding = Signal(64)
        rounded = Signal(signed(len(product) + 1))
        m.d.comb += [
            total.eq(self.acc + self.bias),
            product.eq(total * self.mult),
            rounding.eq((Const(1, 64) << self.shift)[1:]),
            rounded.eq((product + rounding) >> self.shift),
        ]
        low = Mux(self.relu, 0, -128)
        m.d.comb += self.o.eq(Mux(rounded > 127, 127, Mux(rounded < low, low, rounded)))
        return m


class OutputStage(wiring.Component):
    """Write each result row of the engine to its output pixel in the output map.

    Rows arrive column tile by column tile, patch by patch, pixel ``py·pw + px`` of the patch per
    row; with ``layer.raster``, tile ``t``'s row ``px`` is output pixel ``t·M·A + px`` in raster
    order (the map is one row of Ho·Wo pixels: ``tiles_y = ph = 1``).
    A row of an output pixel inside the map is written in one cycle: its ``N·C/B`` channel
    blocks (INT8 mode, requantized) or ``4·N·C/B`` words (INT32 mode, raw accumulators) go to
    distinct banks; channel blocks past ``cb_out`` and pixels past the map are not written. The
    stage always accepts a beat.

    With the array's ``drain_rows`` R = 2 a beat holds two rows, consecutive pixels of the patch
    (R divides M·A, so a beat never crosses a tile), both written in the cycle the beat is taken:
    the first through ``wr_*``, the second through ``wr2_*``, the second write port of every
    bank. The two rows' words may meet in a bank (the map layout rotates a pixel's words by its
    index, so pixel p's word w + 1 and pixel p + 1's word w share a bank), always at different
    rows: two pixels never share a word.

    Requantization (INT8 mode) uses, per output channel, either the layer's ``shift`` with bias 0
    and multiplier 1 (``quant = 0``), or the bias, multiplier and shift of the channel in the
    :class:`.quant_table.QuantTable` (``quant = 1``): the stage reads the row of the next result
    row's column tile (``quant_base`` + column tile) one cycle ahead, so the parameters are there
    when the row is.

    Attributes
    ----------
    layer : In(layer_layout(cfg))
    start : In(1)
    result : In(stream.Signature(result_beat_layout(cfg.array)))
    wr_addr, wr_data, wr_en : Out
        Per bank of the output map's SRAM half.
    wr2_addr, wr2_data, wr2_en : Out
        With ``drain_rows`` = 2 only: the second row's writes, per bank, to its second port.
    quant_row : Out
        Row of the quantization table to read (its data are expected one cycle later).
    quant_data : In(ArrayLayout(quant_param_layout(), tile_cols))
    prune : In(1)
        With ``cfg.sparseblox`` only: the layer prunes blocks (INT8 output). Each row taken then
        leaves on ``row`` (never stalled: the pruner takes a row every cycle), and the rows
        written are those ``released`` by the pruner (:class:`.blox.BloxPruner`), with the
        words of pruned blocks not written (``keep``).
    wr_pruned : Out(banks)
        With ``cfg.sparseblox`` only: per bank, the word at ``wr_addr`` belongs to a pruned block
        and is not written (``wr_en`` low); the accelerator sets its pruned-word flag
        (:class:`.blox_flags.PrunedWordFlags`), where a written word clears it.
    row : Out(stream.Signature(row_record_layout(cfg)))
    released : In(stream.Signature(row_record_layout(cfg)))
        Always taken.
    """

    def __init__(self, cfg):
        self._cfg = cfg
        self._blox = cfg.sparseblox is not None
        banks = cfg.act_banks
        blox = {"prune": In(1), "row": Out(stream.Signature(row_record_layout(cfg))),
                "released": In(stream.Signature(row_record_layout(cfg))),
                "wr_pruned": Out(banks)} if self._blox else {}
        if cfg.array.drain_rows not in (1, 2) or (self._blox and cfg.array.drain_rows != 1):
            raise ValueError(f"drain_rows = {cfg.array.drain_rows}: the output stage writes 1 "
                             "or 2 result rows a cycle (1 with Sparse-Blox)")
        second = {"wr2_addr": Out(data.ArrayLayout(bits_for(cfg.act_bank_depth), banks)),
                  "wr2_data": Out(data.ArrayLayout(cfg.word_bits, banks)),
                  "wr2_en": Out(banks)} if cfg.array.drain_rows == 2 else {}
        super().__init__({
            **blox,
            **second,
            "layer": In(layer_layout(cfg)),
            "start": In(1),
            "result": In(stream.Signature(result_beat_layout(cfg.array))),
            "wr_addr": Out(data.ArrayLayout(bits_for(cfg.act_bank_depth), banks)),
            "wr_data": Out(data.ArrayLayout(cfg.word_bits, banks)),
            "wr_en": Out(banks),
            "quant_row": Out(bits_for(max(1, quant_rows(cfg)))),
            "quant_data": In(data.ArrayLayout(quant_param_layout(), cfg.array.tile_cols)),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        layer = self.layer
        array = cfg.array
        rows_per_beat = array.drain_rows
        blocks = array.tile_cols // cfg.block   # channel blocks per row
        m.d.comb += self.result.ready.eq(1)
        take = Signal()
        m.d.comb += take.eq(self.result.valid)

        # Position of the beat's first row: column tile, patch, pixel in the patch; its other
        # rows are the next pixels of the patch (a beat never crosses a tile: R divides M·A).
        q_block = Signal(32)                    # first channel block of the column tile
        col_tile = Signal.like(self.quant_row)  # its index, and its value next cycle
        col_tile_next = Signal.like(self.quant_row)
        m.d.comb += col_tile_next.eq(col_tile)
        m.d.sync += col_tile.eq(col_tile_next)
        tx = Signal.like(layer.tiles_x)
        ty = Signal.like(layer.tiles_y)
        px = Signal(range(array.tile_rows + 1))
        py = Signal(range(array.tile_rows + 1))
        ox0 = Signal(2 * DIM_BITS + 1)           # raster: the tile's first pixel p = oy·Wo + ox
        oy0 = Signal(DIM_BITS + 1)

        def following(x, y, name):
            """The pixel after (x, y) in the patch, row by row."""
            nx, ny = Signal.like(px, name=f"{name}_x"), Signal.like(py, name=f"{name}_y")
            m.d.comb += [nx.eq(Mux(x == layer.pw - 1, 0, x + 1)),
                         ny.eq(Mux(x == layer.pw - 1, y + 1, y))]
            return nx, ny

        pos = [(px, py)]
        for r in range(1, rows_per_beat):
            pos.append(following(*pos[-1], f"row{r}"))
        next_x, next_y = following(*pos[-1], "next")
        tile_last = Signal()                    # the beat closes its output tile
        m.d.comb += tile_last.eq((pos[-1][0] == layer.pw - 1) & (pos[-1][1] == layer.ph - 1))
        with m.If(take):
            with m.If(tile_last):
                m.d.sync += [px.eq(0), py.eq(0)]
                with m.If(tx == layer.tiles_x - 1):
                    m.d.sync += [tx.eq(0), ox0.eq(0)]
                    with m.If(ty == layer.tiles_y - 1):
                        m.d.sync += [ty.eq(0), oy0.eq(0), q_block.eq(q_block + blocks)]
                        m.d.comb += col_tile_next.eq(col_tile + 1)
                    with m.Else():
                        m.d.sync += [ty.eq(ty + 1), oy0.eq(oy0 + layer.ph)]
                with m.Else():
                    m.d.sync += [tx.eq(tx + 1), ox0.eq(ox0 + layer.pw)]
            with m.Else():
                m.d.sync += [px.eq(next_x), py.eq(next_y)]
        with m.If(self.start):
            m.d.sync += [q_block.eq(0), tx.eq(0), ty.eq(0), px.eq(0), py.eq(0), ox0.eq(0),
                         oy0.eq(0)]
            m.d.comb += col_tile_next.eq(0)
        m.d.comb += self.quant_row.eq(layer.quant_base + col_tile_next)

        # Word w of a pixel (w = first + j) goes to bank (po + w) mod banks, row
        # base + (po div banks)·words_per_pixel + w, in the output map: ofm_cbs channel blocks
        # a pixel, the layer's from block ofm_cb0 and pixel ofm_pixel0 on (a time tile writing
        # into its whole layer's map; otherwise its own map, both 0).
        words = 4 * blocks
        per_pixel = Signal(range(4 * (1 << 13) + 1))
        first = Signal(32)
        end = Signal(32)                        # the word after the layer's channels
        m.d.comb += [
            per_pixel.eq(Mux(layer.int8_out, layer.ofm_cbs, layer.ofm_cbs << 2)),
            first.eq(Mux(layer.int8_out, q_block + layer.ofm_cb0,
                         (q_block + layer.ofm_cb0) << 2)),
            end.eq(Mux(layer.int8_out, layer.ofm_cb0 + layer.cb_out,
                       (layer.ofm_cb0 + layer.cb_out) << 2)),
        ]
        count = Signal(range(words + 1))
        m.d.comb += count.eq(Mux(layer.int8_out, blocks, 4 * blocks))
        live_n = Signal(range(words + 1))       # words of a row to write
        m.d.comb += live_n.eq(Mux(first + count <= end, count, end - first))

        ports = [(self.wr_addr, self.wr_data, self.wr_en)]
        if rows_per_beat == 2:
            ports.append((self.wr2_addr, self.wr2_data, self.wr2_en))
        for r, (x, y) in enumerate(pos):
            payload = self.result.payload if rows_per_beat == 1 else self.result.payload[r]
            self._row(m, r, payload, x, y, ox0, oy0, q_block, first, per_pixel, live_n,
                      take, tile_last, ports[r])
        return m

    def _row(self, m, r, payload, px, py, ox0, oy0, q_block, first, per_pixel, live_n, take,
             tile_last, port):
        """Requantize row ``r`` of the beat (pixel ``(px, py)`` of the patch) and write it
        through ``port`` (``wr_addr, wr_data, wr_en``)."""
        cfg = self._cfg
        layer = self.layer
        array = cfg.array
        bz, banks, lg = cfg.block, cfg.act_banks, cfg.act_banks.bit_length() - 1
        blocks = array.tile_cols // bz
        words = 4 * blocks
        wr_addr, wr_data, wr_en = port

        def nm(base):
            return base if r == 0 else f"{base}_r{r}"

        oy = Signal(DIM_BITS + 2, name=nm("oy"))
        ox = Signal(2 * DIM_BITS + 2, name=nm("ox"))
        inside = Signal(name=nm("inside"))
        po = Signal(2 * DIM_BITS + 2, name=nm("po"))
        m.d.comb += [
            oy.eq(oy0 + py), ox.eq(ox0 + px),
            inside.eq(Mux(layer.raster, ox < layer.hw, (oy < layer.ho) & (ox < layer.wo))),
            po.eq(Mux(layer.raster, ox, oy * layer.wo + ox) + layer.ofm_pixel0),
        ]
        # The row's words: requantized channel blocks, or raw 32-bit accumulators.
        int8_words = Signal(data.ArrayLayout(cfg.word_bits, blocks), name=nm("int8_words"))
        for col in range(array.tile_cols):
            rq = m.submodules[nm(f"rq{col}")] = Requantizer(array.acc_width)
            m.d.comb += [rq.acc.eq(payload[col]), rq.relu.eq(layer.relu),
                         int8_words[col // bz][8 * (col % bz):8 * (col % bz) + 8]
                         .eq(rq.o)]
            if cfg.quant_channels:
                with m.If(layer.quant):
                    params = self.quant_data[col]
                    m.d.comb += [rq.bias.eq(params.bias), rq.mult.eq(params.mult),
                                 rq.shift.eq(params.shift)]
                with m.Else():
                    m.d.comb += [rq.bias.eq(0), rq.mult.eq(1), rq.shift.eq(layer.shift)]
            else:           # no table: the constants let synthesis drop the multiplier
                m.d.comb += [rq.bias.eq(0), rq.mult.eq(1), rq.shift.eq(layer.shift)]
        # INT32: the row's 32-bit values, little-endian, cut into words of B bytes (B/4 values a
        # word for B ≥ 4; a value over 4/B words for B < 4).
        row_words = Signal(data.ArrayLayout(cfg.word_bits, words), name=nm("row_words"))
        raw = []
        for col in range(array.tile_cols):
            value = Signal(signed(32), name=nm(f"raw{col}"))
            m.d.comb += value.eq(payload[col])     # sign-extends or truncates
            raw.append(value)
        with m.If(layer.int8_out):
            m.d.comb += [row_words[j].eq(int8_words[j]) for j in range(blocks)]
        with m.Else():
            m.d.comb += row_words.eq(Cat(raw))
        # The row taken now (live_*) and the row written (the same, or a row the pruner
        # releases).
        live_base = Signal(32, name=nm("live_base"))
        live_rot = Signal(lg, name=nm("live_rot"))
        m.d.comb += [
            live_base.eq((po >> lg) * per_pixel + first + layer.ofm_base),
            live_rot.eq(po + first),
        ]
        row_base = Signal(32, name=nm("row_base"))
        n = Signal(range(words + 1), name=nm("n"))
        rot = Signal(lg, name=nm("rot"))
        en = Signal(name=nm("en"))
        m.d.comb += [row_base.eq(live_base), n.eq(live_n), rot.eq(live_rot),
                     en.eq(take & inside)]
        keep = Signal(words, init=(1 << words) - 1, name=nm("keep"))
        if self._blox:
            # Sparse-Blox layers: the row goes to the pruner, and the row it releases (with the
            # verdicts of its blocks in ``keep``) is the one written.
            row = self.row.payload
            m.d.comb += [
                self.row.valid.eq(take & self.prune),
                self.released.ready.eq(1),
                row.row_base.eq(live_base), row.rot.eq(live_rot), row.n.eq(live_n),
                row.first.eq(q_block),
                row.inside.eq(inside), row.last.eq(tile_last),
                row.words.eq(int8_words),
            ]
            with m.If(self.prune):
                back = self.released.payload
                m.d.comb += [en.eq(self.released.valid & back.inside),
                             row_base.eq(back.row_base), rot.eq(back.rot), n.eq(back.n),
                             keep.eq(back.keep)]
                m.d.comb += [row_words[j].eq(back.words[j]) for j in range(blocks)]
        for b in range(banks):
            j = Signal(lg, name=nm(f"j{b}"))
            m.d.comb += [
                j.eq(b - rot),
                wr_addr[b].eq(row_base + j),
                wr_en[b].eq(en & (j < n) & keep.bit_select(j, 1)),
            ]
            if self._blox:
                m.d.comb += self.wr_pruned[b].eq(en & (j < n) & ~keep.bit_select(j, 1))
            with m.Switch(j):
                for jj in range(min(words, banks)):
                    with m.Case(jj):
                        m.d.comb += wr_data[b].eq(row_words[jj])
                with m.Default():                  # no word for this bank (not enabled)
                    m.d.comb += wr_data[b].eq(0)
