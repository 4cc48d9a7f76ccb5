"""Block loader: compressed blocks into a RAM, with a directory of them (SCNN paper, Sec. 4.2).

The PE stores compressed weights and activations ("a dense encoding of both sparse weights and
activations so that only non-zero data values are retrieved from DRAM and on-chip buffers",
Sec. 2). Blocks arrive as rows (:mod:`sparseforge.sim.scnn.format`); the loader stores the rows of
non-empty blocks back to back and writes a directory entry per block, so that the sequencer can
find any block, and skip empty ones, without reading through the rows.
"""

from amaranth import Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .coords import ConstDivider
from ..common.rams import write_port_signature

__all__ = ["BlockLoader", "directory_layout"]


def directory_layout(rows, count_max):
    """A directory entry: the block's first row ``start`` and entry ``count``."""
    return data.StructLayout({"start": range(max(2, rows)), "count": range(count_max + 1)})


class BlockLoader(wiring.Component):
    """Store the rows of a stream of compressed blocks; write a directory of the blocks.

    Each block is ``max(1, ⌈count / lanes⌉)`` rows, every row carrying the block's ``count``. The
    rows of a non-empty block are written to the RAM at consecutive rows from 0 (reset by
    ``clear``); an empty block (one row, count 0) is not stored.

    Directory: entry ``n`` describes block ``n`` (``start``, ``count``; ``start`` is where the
    next non-empty block goes when the block is empty).

    Parameters
    ----------
    row_shape : data.Layout
        A row: a layout with a ``count`` field.
    lanes : int
        Entries per row.
    rows : int
        Rows of the RAM.
    count_max : int
        Largest count of a block.
    entries : int
        Entries of the directory.
    max_blocks : int
        Most blocks counted (the width of ``blocks``).

    Attributes
    ----------
    row : In(row_shape)
    en : In(1)
        ``row`` is a row of the stream this cycle.
    clear : In(1)
        Forget everything loaded (takes priority over ``en``).
    ram : Out(write_port_signature(row_shape, rows))
    directory : Out(write_port_signature(directory_layout(...), entries))
    blocks : Out(range(max_blocks + 1))
        Blocks received since ``clear``.
    block_end : Out(1)
        This cycle's row is the last of its block (combinational).
    overflow : Out(1)
        A row or a directory entry did not fit (sticky until ``clear``).
    """

    def __init__(self, row_shape, *, lanes, rows, count_max, entries, max_blocks):
        self._row_shape = row_shape
        self._lanes = lanes
        self._rows = rows
        self._count_max = count_max
        self._entries = entries
        self._max_blocks = max_blocks
        self._dir = directory_layout(rows, count_max)
        super().__init__({
            "row": In(row_shape),
            "en": In(1),
            "clear": In(1),
            "ram": Out(write_port_signature(row_shape, rows)),
            "directory": Out(write_port_signature(self._dir, entries)),
            "blocks": Out(range(max_blocks + 1)),
            "block_end": Out(1),
            "overflow": Out(1),
        })

    @property
    def directory_shape(self):
        return self._dir

    def elaborate(self, platform):
        m = Module()
        lanes = self._lanes
        count = self.row.count
        left = Signal(range(-(-self._count_max // lanes) + 1))   # rows of the block still due
        wrow = Signal(range(self._rows + 1))
        first = Signal()
        m.d.comb += first.eq(left == 0)
        m.submodules.rows = div = ConstDivider(lanes, self._count_max + lanes - 1)
        span = Signal.like(left)                                  # rows of a block starting now
        m.d.comb += [div.dividend.eq(count + lanes - 1),
                     span.eq(Mux(count == 0, 1, div.quotient))]
        m.d.comb += self.block_end.eq(self.en & Mux(first, span == 1, left == 1))

        store = Signal()
        m.d.comb += [
            store.eq(self.en & (count != 0)),
            self.ram.addr.eq(wrow),
            self.ram.data.eq(self.row),
            self.ram.en.eq(store & (wrow < self._rows)),
        ]
        index = self.blocks
        listed = self.en & first
        entry = Signal(self._dir)
        m.d.comb += [entry.start.eq(wrow), entry.count.eq(count)]
        m.d.comb += [
            self.directory.addr.eq(index),
            self.directory.data.eq(entry),
            self.directory.en.eq(listed & (index < self._entries)),
        ]

        with m.If(self.clear):
            m.d.sync += [left.eq(0), wrow.eq(0), self.blocks.eq(0), self.overflow.eq(0)]
        with m.Elif(self.en):
            m.d.sync += left.eq(Mux(first, span, left) - 1)
            with m.If(store):
                m.d.sync += wrow.eq(wrow + (wrow < self._rows))
                with m.If(wrow >= self._rows):
                    m.d.sync += self.overflow.eq(1)
            with m.If(self.block_end & (self.blocks < self._max_blocks)):
                m.d.sync += self.blocks.eq(self.blocks + 1)
            with m.If(listed & (index >= self._entries)):
                m.d.sync += self.overflow.eq(1)
        return m
