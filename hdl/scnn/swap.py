"""The IARAM/OARAM role swap between chained layers (SCNN paper, Sec. 4.1 and 4.2).

"The output activations of a layer are stored in the OARAM ... and become the input activations
of the next layer": the two activation RAMs of a PE swap roles between layers, so a chained
layer reads its input tile where the previous layer's PPU wrote it, and writes its own output
into the RAM the previous layer read. Each PE's output tile is its input tile of the next layer
(stride-1 'same' convolutions keep the plane and the planar tiling), so nothing moves between
PEs.
"""

from amaranth import Module, Mux
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .compressor import oaram_row_layout
from .layouts import act_row_layout, entry_layout
from .loader import directory_layout
from ..common.rams import read_port_signature, write_port_signature

__all__ = ["BufferSwap", "buffer_rows", "dir_layout", "buffer_row_layout"]


def buffer_rows(cfg):
    """Rows of each of the two activation RAMs: ``max(iaram, oaram) / I``, so either can take
    either role (a layer's input still fits ``rams.iaram`` entries and its output
    ``rams.oaram``)."""
    return max(cfg.iaram_rows, cfg.oaram_rows)


def buffer_row_layout(cfg):
    """A row of either activation RAM: I entries of ``max(acc_width, act_width)``-bit values
    (the OARAM row when, as usual, accumulators are the wider), so that a raw layer's
    accumulators and an input activation both fit whichever RAM holds them; narrower values are
    stored sign-extended."""
    width = max(cfg.acc_width, cfg.act_width)
    return data.ArrayLayout(entry_layout(width, cfg.index_bits), cfg.i)


def dir_layout(cfg):
    """An entry of a RAM's activation directory (entry ``c``: the block of channel ``c``): first
    row ``start`` and entry ``count`` (written by the activation loader or the PPU for every
    block, empty ones included; read by the weight FIFO's lookup)."""
    return directory_layout(buffer_rows(cfg), cfg.tile_elems)


class BufferSwap(wiring.Component):
    """Connect the loader, the PPU, the sequencer, the weight FIFO and the output streamer to
    the two activation RAMs (``iaram``, ``oaram``) and the activation directory RAM (``alist``)
    by role.

    ``in_sel`` picks the *input* RAM: 0 the one named ``iaram`` (a layer after reset, and every
    layer not chained), 1 the one named ``oaram``; the other is the *output* RAM. The input RAM
    takes the activation loader's rows (``load_rows``, sign-extended to the stored width) and is
    read by the sequencer (``seq_rows``); the output RAM takes the PPU's rows (``ppu_rows``) and
    is read by the output streamer (``out_rows``). The directory RAM has two halves of
    ``iaram_rows`` entries, one per activation RAM (half ``b`` is RAM ``b``'s directory, entry
    ``c`` channel ``c``'s block): the loader's entries (``load_dir``) go to the input half, the
    PPU's (``ppu_dir``) to the output half, and the weight FIFO's lookup reads the input half
    (``in_dir``).

    Contract: ``in_sel`` is stable while a layer loads and runs; the loader and the PPU never
    write the directory in the same cycle (the loader writes while a layer loads, the PPU while
    it computes; the loader has priority). Combinational, no latency: the RAMs' own read latency
    (one cycle, synchronous) is the users'.

    Attributes
    ----------
    in_sel : In(1)
    load_rows : In(write port of act_row_layout(cfg), iaram_rows)
    load_dir : In(write port of the loader's directory entries, iaram_rows)
    ppu_rows : In(write port of oaram_row_layout(cfg), oaram_rows)
    ppu_dir : In(write port of dir_layout(cfg), iaram_rows)
    seq_rows : In(read port of buffer_row_layout(cfg), buffer_rows(cfg))
    in_dir : In(read port of dir_layout(cfg), iaram_rows)
    out_rows : In(read port of oaram_row_layout(cfg), oaram_rows)
    rams_w, rams_r : Out(write, read port).array(2)
        The two activation RAMs: 0 ``iaram``, 1 ``oaram``.
    dir_w, dir_r : Out(write, read port of dir_layout(cfg), 2·iaram_rows)
    """

    def __init__(self, cfg, load_dir_shape):
        self._cfg = cfg
        row, depth, entries = buffer_row_layout(cfg), buffer_rows(cfg), cfg.iaram_rows
        lst = dir_layout(cfg)
        super().__init__({
            "in_sel": In(1),
            "load_rows": In(write_port_signature(act_row_layout(cfg), cfg.iaram_rows)),
            "load_dir": In(write_port_signature(load_dir_shape, entries)),
            "ppu_rows": In(write_port_signature(oaram_row_layout(cfg), cfg.oaram_rows)),
            "ppu_dir": In(write_port_signature(lst, entries)),
            "seq_rows": In(read_port_signature(row, depth)),
            "in_dir": In(read_port_signature(lst, entries)),
            "out_rows": In(read_port_signature(oaram_row_layout(cfg), cfg.oaram_rows)),
            "rams_w": Out(write_port_signature(row, depth)).array(2),
            "rams_r": Out(read_port_signature(row, depth)).array(2),
            "dir_w": Out(write_port_signature(lst, 2 * entries)),
            "dir_r": Out(read_port_signature(lst, 2 * entries)),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        sel = self.in_sel
        entries = cfg.iaram_rows

        # -- the activation RAMs: the input one is the loader's and the sequencer's -------------
        for b, (w, r) in enumerate(zip(self.rams_w, self.rams_r)):
            is_in = sel if b else ~sel
            with m.If(is_in):
                m.d.comb += [w.addr.eq(self.load_rows.addr), w.en.eq(self.load_rows.en),
                             r.addr.eq(self.seq_rows.addr), r.en.eq(self.seq_rows.en)]
                _entries(m, w.data, self.load_rows.data.entries)
            with m.Else():
                m.d.comb += [w.addr.eq(self.ppu_rows.addr), w.en.eq(self.ppu_rows.en),
                             r.addr.eq(self.out_rows.addr), r.en.eq(self.out_rows.en)]
                _entries(m, w.data, self.ppu_rows.data)
        m.d.comb += self.seq_rows.data.eq(Mux(sel, self.rams_r[1].data, self.rams_r[0].data))
        with m.If(sel):
            _entries(m, self.out_rows.data, self.rams_r[0].data)
        with m.Else():
            _entries(m, self.out_rows.data, self.rams_r[1].data)

        # -- the directory RAM: half in_sel is the input RAM's, the other the output RAM's -----
        dw = self.dir_w
        with m.If(self.load_dir.en):
            load = self.load_dir.data
            m.d.comb += [dw.addr.eq(Mux(sel, entries, 0) + self.load_dir.addr), dw.en.eq(1),
                         dw.data.start.eq(load.start), dw.data.count.eq(load.count)]
        with m.Else():
            m.d.comb += [dw.addr.eq(Mux(sel, 0, entries) + self.ppu_dir.addr),
                         dw.en.eq(self.ppu_dir.en), dw.data.eq(self.ppu_dir.data)]
        m.d.comb += [
            self.dir_r.addr.eq(Mux(sel, entries, 0) + self.in_dir.addr),
            self.dir_r.en.eq(self.in_dir.en),
            self.in_dir.data.eq(self.dir_r.data),
        ]
        return m


def _entries(m, dst, src):
    """Copy I entries field by field (values sign-extended or truncated to ``dst``'s width)."""
    for d, e in zip(dst, src):
        m.d.comb += [d.value.eq(e.value), d.zeros.eq(e.zeros)]
