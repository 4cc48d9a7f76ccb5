"""Output compression: dense post-ReLU values into compressed-sparse rows (SCNN paper, Sec. 4.2).

The PPU's last task: "compress the output activations into the compressed-sparse form and write
them into the OARAM". The format is :mod:`sparseforge.sim.scnn.format`'s.
"""

from amaranth import Cat, Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .coords import ConstDivider
from .layouts import entry_layout
from ..common.rams import write_port_signature

__all__ = ["Compressor", "oaram_row_layout", "element_layout"]


def oaram_row_layout(cfg):
    """A row of the OARAM: I output entries (the block's count lives in a table of its own)."""
    return data.ArrayLayout(entry_layout(cfg.acc_width, cfg.index_bits), cfg.i)


def element_layout(cfg):
    """I elements of a block in one cycle, each with its ``valid`` bit (valid lanes first)."""
    return data.ArrayLayout(data.StructLayout({"valid": 1, "value": signed(cfg.acc_width)}),
                            cfg.i)


class Compressor(wiring.Component):
    """Encode one block of elements, up to I elements per cycle, into OARAM rows of I entries.

    Sequential form of the format, applied to the valid lanes in order: a non-zero element is
    emitted as ``(value, run)`` with ``run`` the zeros since the previous entry; a zero arriving
    when ``run`` is already ``2**index_bits − 1`` is emitted as a placeholder ``(0, run)``;
    otherwise it extends the run. Each element emits at most one entry, so a cycle emits at most
    I: they are appended to a buffer of I lanes, which is written to the OARAM when full (at most
    one row per cycle). Placeholders after the block's last non-zero value are not part of the
    block: at ``flush`` the block's count is the number of entries up to that value, a row still
    in the buffer that holds it is written, and the write pointer moves back to the row after it
    (rows of trailing placeholders are overwritten by the next block). Lanes of a block's last row
    past its count are not specified; readers mask them.

    Blocks are stored back to back from row 0 (reset by ``layer_start``), ``⌈count / I⌉`` rows
    each (none for an empty block).

    Attributes
    ----------
    layer_start : In(1)
    elements : In(element_layout(cfg))
        Elements in this cycle (non-negative after ReLU; zero or not); valid lanes come first.
    flush : In(1)
        The block ends this cycle (no element may be valid with it).
    row_w : Out(write_port_signature(oaram_row_layout(cfg), oaram_rows))
    count : Out(range(tile_elems + 1))
    count_en : Out(1)
        ``count`` is the count of the block ended by ``flush`` (this cycle).
    block_start : Out(range(oaram_rows))
        With ``count_en``: the block's first row (where it lies when ``count`` is not 0).
    overflow : Out(1)
        The block ending this cycle did not fit the OARAM (its rows past the end were dropped).
    """

    def __init__(self, cfg):
        self._cfg = cfg
        super().__init__({
            "layer_start": In(1),
            "elements": In(element_layout(cfg)),
            "flush": In(1),
            "row_w": Out(write_port_signature(oaram_row_layout(cfg), cfg.oaram_rows)),
            "count": Out(range(cfg.tile_elems + 1)),
            "count_en": Out(1),
            "block_start": Out(range(max(2, cfg.oaram_rows))),
            "overflow": Out(1),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        lanes = cfg.i
        entry_shape = entry_layout(cfg.acc_width, cfg.index_bits)
        rows_max = -(-cfg.tile_elems // lanes) * 2 + 2     # a block's rows, placeholders included
        run = Signal(range(cfg.max_zeros + 1))
        fill = Signal(range(lanes))                         # entries in the buffer
        buf = Signal(oaram_row_layout(cfg))
        wrow = Signal(range(cfg.oaram_rows + rows_max + 1))   # next row to write
        brow = Signal.like(wrow)                             # first row of the block
        emitted = Signal(range(cfg.tile_elems + 1))           # entries so far, placeholders too
        committed = Signal(range(cfg.tile_elems + 1))         # entries up to the last value

        # -- this cycle's entries: the sequential rule unrolled over the lanes -------------------
        emits, entries, places = [], [], []
        r = run
        place = fill                                          # buffer lane of the next entry
        last = None                                           # entries up to the last value
        for j, element in enumerate(self.elements):
            nonzero = Signal(name=f"nonzero{j}")
            emit = Signal(name=f"emit{j}")
            at = Signal(range(2 * lanes), name=f"place{j}")
            m.d.comb += [
                nonzero.eq(element.valid & (element.value != 0)),
                emit.eq(element.valid & (nonzero | (r == cfg.max_zeros))),
                at.eq(place),
            ]
            entry = Signal(entry_shape, name=f"entry{j}")
            m.d.comb += [entry.value.eq(element.value), entry.zeros.eq(r)]
            emits.append(emit)
            entries.append(entry)
            places.append(at)
            after = Signal(range(cfg.tile_elems + 1), name=f"upto{j}")
            m.d.comb += after.eq(emitted + (at - fill) + 1)
            last = Mux(nonzero, after, committed if last is None else last)
            r_next = Signal.like(run, name=f"run{j}")
            m.d.comb += r_next.eq(Mux(emit, 0, Mux(element.valid, r + 1, r)))
            r = r_next
            place = place + emit
        total = Signal(range(2 * lanes))
        m.d.comb += total.eq(place)
        # The buffer followed by the new entries, lane by lane.
        staged = [Signal(entry_shape, name=f"staged{k}") for k in range(2 * lanes - 1)]
        for k, lane in enumerate(staged):
            # The buffer holds at most I − 1 entries: lanes 0 … I − 2.
            value = Mux(k < fill, buf[k].as_value(), 0) if k < lanes - 1 else 0
            for emit, entry, at in zip(emits, entries, places):
                value = value | Mux(emit & (at == k), entry.as_value(), 0)
            m.d.comb += lane.eq(value)
        full = Signal()
        m.d.comb += full.eq(total >= lanes)

        m.submodules.rows = rows = ConstDivider(lanes, cfg.tile_elems + lanes - 1)
        commit_rows = Signal(range(rows_max + 1))             # rows holding the committed entries
        m.d.comb += [rows.dividend.eq(committed + lanes - 1), commit_rows.eq(rows.quotient)]

        write = Signal()
        fits = Signal()
        m.d.comb += [
            fits.eq(wrow < cfg.oaram_rows),
            self.row_w.addr.eq(wrow),
            self.row_w.en.eq(write & fits),
            # Rows of trailing placeholders past the end are dropped silently; the block's own
            # rows not fitting is an overflow.
            self.overflow.eq(self.flush & (brow + commit_rows > cfg.oaram_rows)),
            self.count.eq(committed),
            self.count_en.eq(self.flush),
            self.block_start.eq(brow),
        ]

        with m.If(self.layer_start):
            m.d.sync += [wrow.eq(0), brow.eq(0), run.eq(0), fill.eq(0), emitted.eq(0),
                         committed.eq(0)]
        with m.Elif(self.flush):
            # Write the row holding the last value if it is still in the buffer; rewind.
            m.d.comb += [write.eq(wrow - brow < commit_rows), self.row_w.data.eq(buf)]
            m.d.sync += [wrow.eq(brow + commit_rows), brow.eq(brow + commit_rows), run.eq(0),
                         fill.eq(0), emitted.eq(0), committed.eq(0), buf.eq(0)]
        with m.Else():
            m.d.comb += [write.eq(full), self.row_w.data.eq(Cat(staged[:lanes]))]
            m.d.sync += [run.eq(r), emitted.eq(emitted + (total - fill)), committed.eq(last)]
            with m.If(full):
                m.d.sync += [buf.eq(Cat(*staged[lanes:])),
                             fill.eq(total - lanes), wrow.eq(wrow + 1)]
            with m.Else():
                m.d.sync += [buf.eq(Cat(staged[:lanes])), fill.eq(total)]
        return m
