"""Output compression: dense post-ReLU values into compressed-sparse rows (SCNN paper, Sec. 4.2).

The PPU's last task: "compress the output activations into the compressed-sparse form and write
them into the OARAM". The format is :mod:`sparseforge.sim.scnn.format`'s.
"""

from amaranth import Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .layouts import entry_layout
from ..common.rams import write_port_signature

__all__ = ["Compressor", "oaram_row_layout"]


def oaram_row_layout(cfg):
    """A row of the OARAM: I output entries (the block's count lives in a table of its own)."""
    return data.ArrayLayout(entry_layout(cfg.acc_width, cfg.index_bits), cfg.i)


class Compressor(wiring.Component):
    """Encode one block of elements, one element per cycle, into OARAM rows of I entries.

    Sequential form of the format: a non-zero element is emitted as ``(value, run)`` with ``run``
    the zeros since the previous entry; a zero arriving when ``run`` is already
    ``2**index_bits − 1`` is emitted as a placeholder ``(0, run)``; otherwise it extends the run.
    Entries fill a row buffer of I lanes that is written to the OARAM when full. Placeholders after
    the block's last non-zero value are not part of the block: at ``flush`` the block's count is
    the number of entries up to that value, a row still in the buffer that holds it is written,
    and the write pointer moves back to the row after it (rows of trailing placeholders are
    overwritten by the next block). Lanes of a block's last row past its count are not
    specified; readers mask them.

    Blocks are stored back to back from row 0 (reset by ``layer_start``), ``⌈count / I⌉`` rows
    each (none for an empty block).

    Attributes
    ----------
    layer_start : In(1)
    element : In(StructLayout({"valid": 1, "value": signed(acc_width)}))
        An element in this cycle (non-negative after ReLU; zero or not).
    flush : In(1)
        The block ends this cycle (no element with it).
    row_w : Out(write_port_signature(oaram_row_layout(cfg), oaram_rows))
    count : Out(range(tile_elems + 1))
    count_en : Out(1)
        ``count`` is the count of the block ended by ``flush`` (this cycle).
    overflow : Out(1)
        The block ending this cycle did not fit the OARAM (its rows past the end were dropped).
    """

    def __init__(self, cfg):
        self._cfg = cfg
        super().__init__({
            "layer_start": In(1),
            "element": In(data.StructLayout({"valid": 1, "value": signed(cfg.acc_width)})),
            "flush": In(1),
            "row_w": Out(write_port_signature(oaram_row_layout(cfg), cfg.oaram_rows)),
            "count": Out(range(cfg.tile_elems + 1)),
            "count_en": Out(1),
            "overflow": Out(1),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        lanes = cfg.i
        rows_max = -(-cfg.tile_elems // lanes) * 2 + 2     # a block's rows, placeholders included
        run = Signal(range(cfg.max_zeros + 1))
        lane = Signal(range(lanes))
        buf = Signal(oaram_row_layout(cfg))
        wrow = Signal(range(cfg.oaram_rows + rows_max + 1))   # next row to write
        brow = Signal.like(wrow)                             # first row of the block
        emitted = Signal(range(cfg.tile_elems + 1))           # entries so far, placeholders too
        committed = Signal(range(cfg.tile_elems + 1))         # entries up to the last value
        commit_rows = Signal(range(rows_max + 1))             # rows holding them

        value = self.element.value
        nonzero = Signal()
        emit = Signal()
        m.d.comb += [
            nonzero.eq(value != 0),
            emit.eq(self.element.valid & (nonzero | (run == cfg.max_zeros))),
        ]
        entry = Signal(entry_layout(cfg.acc_width, cfg.index_bits))
        m.d.comb += [entry.value.eq(value), entry.zeros.eq(run)]

        # The buffer with this cycle's entry in its lane: what a full row writes.
        filled = Signal.like(buf)
        m.d.comb += filled.eq(buf)
        for n in range(lanes):
            with m.If(lane == n):
                m.d.comb += filled[n].eq(entry)

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
        ]

        with m.If(self.layer_start):
            m.d.sync += [wrow.eq(0), brow.eq(0), run.eq(0), lane.eq(0), emitted.eq(0),
                         committed.eq(0), commit_rows.eq(0)]
        with m.Elif(self.flush):
            # Write the row holding the last value if it is still in the buffer; rewind.
            m.d.comb += [write.eq(wrow - brow < commit_rows), self.row_w.data.eq(buf)]
            m.d.sync += [wrow.eq(brow + commit_rows), brow.eq(brow + commit_rows), run.eq(0),
                         lane.eq(0), emitted.eq(0), committed.eq(0), commit_rows.eq(0),
                         buf.eq(0)]
        with m.Elif(emit):
            m.d.comb += [write.eq(lane == lanes - 1), self.row_w.data.eq(filled)]
            m.d.sync += [run.eq(0), emitted.eq(emitted + 1), buf.eq(filled)]
            with m.If(lane == lanes - 1):
                m.d.sync += [lane.eq(0), wrow.eq(wrow + 1)]
            with m.Else():
                m.d.sync += lane.eq(lane + 1)
            with m.If(nonzero):
                m.d.sync += [committed.eq(emitted + 1), commit_rows.eq(wrow - brow + 1)]
        with m.Elif(self.element.valid):
            m.d.sync += run.eq(run + 1)
        return m
