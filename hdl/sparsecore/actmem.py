"""The activation/index memory: compressed activations and their (row, segment) pointers
(*SparseCore*, Sec. 3 and Table 2: "Activation/Index Memory").

Two ``lib.memory`` macros: the entries ``(x, c, value)`` and the pointer table, rows
``iy · max_segments + q``. Both are loaded from one AXI4-Stream (``tdest`` 0: the next entry,
1: the next pointer row, each written at consecutive addresses from 0) while no layer runs.

Each PE has its own synchronous read port into both. This is an idealisation of the paper's single
activation memory: a PE needs a new entry at most once per cycle (1×1 kernels) and usually once per
``R·S`` cycles, and a real implementation would bank the memory by row and buffer entries per PE;
the ports keep the PEs independent, which is what makes the cycle model a pure scheduling replay.
"""

from amaranth import Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..common.axi import axi_stream_signature
from ..common.rams import Ram, read_port_signature
from .layouts import act_entry_layout, pointer_layout

__all__ = ["ActivationMemory", "act_stream_width"]


def act_stream_width(cfg):
    """``tdata`` width of the activation load stream: the wider of an entry and a pointer row,
    rounded up to whole bytes."""
    widths = [data.Layout.cast(act_entry_layout(cfg)).size,
              data.Layout.cast(pointer_layout(cfg, cfg.act_entries)).size]
    return -(-max(widths) // 8) * 8


class ActivationMemory(wiring.Component):
    """Attributes
    ----------
    load : In(axi_stream_signature(act_stream_width, dest_width=1))
        Accepted while ``load_enable``.
    load_enable : In(1)
    clear : In(1)
        Restart both write addresses at 0.
    ptr, entries : In(read_port_signature(...)).array(pes)
    overflow : Out(1)
        A beat arrived for a full memory (dropped); cleared by ``clear``.
    """

    def __init__(self, cfg):
        self._cfg = cfg
        self.ptr_depth = cfg.max_h * cfg.max_segments
        self.entries_depth = cfg.act_entries
        ptr_row = pointer_layout(cfg, self.entries_depth)
        super().__init__({
            "load": In(axi_stream_signature(act_stream_width(cfg), dest_width=1)),
            "load_enable": In(1), "clear": In(1),
            "ptr": In(read_port_signature(ptr_row, self.ptr_depth)).array(cfg.pes),
            "entries": In(read_port_signature(act_entry_layout(cfg),
                                              self.entries_depth)).array(cfg.pes),
            "overflow": Out(1),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        ptr_row = pointer_layout(cfg, self.entries_depth)
        m.submodules.pointers = ptrs = Ram(ptr_row, self.ptr_depth, reads=cfg.pes)
        m.submodules.entries = ents = Ram(act_entry_layout(cfg), self.entries_depth,
                                          reads=cfg.pes)
        for p in range(cfg.pes):
            wiring.connect(m, wiring.flipped(self.ptr[p]), ptrs.r[p])
            wiring.connect(m, wiring.flipped(self.entries[p]), ents.r[p])

        s = self.load
        e_wr = Signal(range(self.entries_depth + 1))
        p_wr = Signal(range(self.ptr_depth + 1))
        take = Signal()
        m.d.comb += [s.tready.eq(self.load_enable), take.eq(s.tvalid & s.tready)]
        e_fits, p_fits = e_wr < self.entries_depth, p_wr < self.ptr_depth
        m.d.comb += [
            ents.w.addr.eq(e_wr), ents.w.data.eq(s.tdata[:len(ents.w.data.as_value())]),
            ptrs.w.addr.eq(p_wr),
            ptrs.w.data.eq(s.tdata[:len(ptrs.w.data.as_value())]),
            ents.w.en.eq(take & (s.tdest == 0) & e_fits),
            ptrs.w.en.eq(take & (s.tdest == 1) & p_fits),
        ]
        with m.If(take & (s.tdest == 0)):
            with m.If(e_fits):
                m.d.sync += e_wr.eq(e_wr + 1)
            with m.Else():
                m.d.sync += self.overflow.eq(1)
        with m.If(take & (s.tdest == 1)):
            with m.If(p_fits):
                m.d.sync += p_wr.eq(p_wr + 1)
            with m.Else():
                m.d.sync += self.overflow.eq(1)
        with m.If(self.clear):
            m.d.sync += [e_wr.eq(0), p_wr.eq(0), self.overflow.eq(0)]
        return m
