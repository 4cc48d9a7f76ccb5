"""The accumulation buffer: a PE's partial sums of its work unit, held until the unit is complete
(*SparseCore*, Sec. 3: "Intermediate partial summations are stored in the Accumulation Buffer").

One row per output pixel of the band (``band_rows × max_w`` rows), the chunk's ``D`` accumulators
wide, in a ``lib.memory`` macro with one write port and one synchronous read port transparent to
it, so a read-modify-write every cycle needs no forwarding. Instead of clearing the macro at every
unit, a flag per row (flip-flops) records whether the row was written in this unit; a read of an
unwritten row returns zeros, and ``clear`` resets all flags in one cycle.
"""

from amaranth import Module, Mux, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In

from ..common.rams import read_port_signature, write_port_signature
from .layouts import acc_row_layout

__all__ = ["AccumulationBuffer"]


class _Macro(wiring.Component):
    """The storage alone, in a module of its own so area flows can treat it as an SRAM macro:
    one write port, one synchronous read port transparent to it."""

    def __init__(self, shape, depth):
        self._shape, self._depth = shape, depth
        super().__init__({"r": In(read_port_signature(shape, depth)),
                          "w": In(write_port_signature(shape, depth))})

    def elaborate(self, platform):
        m = Module()
        m.submodules.mem = mem = memory.Memory(shape=self._shape, depth=self._depth, init=[])
        wp = mem.write_port()
        rp = mem.read_port(transparent_for=(wp,))
        m.d.comb += [wp.addr.eq(self.w.addr), wp.data.eq(self.w.data), wp.en.eq(self.w.en),
                     rp.addr.eq(self.r.addr), rp.en.eq(self.r.en), self.r.data.eq(rp.data)]
        return m


class AccumulationBuffer(wiring.Component):
    """Attributes
    ----------
    clear : In(1)
        Forget every row (they read as zeros from the next cycle).
    r : In(read_port_signature(acc_row_layout, depth))
        Synchronous: the row addressed in a cycle with ``en`` arrives the next cycle, including a
        write to it in the same cycle; held while ``en`` is low.
    w : In(write_port_signature(acc_row_layout, depth))
    """

    def __init__(self, cfg):
        self._cfg = cfg
        self._depth = cfg.band_rows * cfg.max_w
        row = acc_row_layout(cfg)
        super().__init__({"clear": In(1),
                          "r": In(read_port_signature(row, self._depth)),
                          "w": In(write_port_signature(row, self._depth))})

    @property
    def depth(self):
        return self._depth

    def elaborate(self, platform):
        m = Module()
        row = acc_row_layout(self._cfg)
        m.submodules.macro = mem = _Macro(row, self._depth)
        rp = mem.r
        m.d.comb += [mem.w.addr.eq(self.w.addr), mem.w.data.eq(self.w.data),
                     mem.w.en.eq(self.w.en), rp.addr.eq(self.r.addr), rp.en.eq(self.r.en)]
        flags = Signal(self._depth)
        written = Signal()
        with m.If(self.clear):
            m.d.sync += flags.eq(0)
        with m.Elif(self.w.en):
            # Independent ifs, not a variable-index assignment: that becomes a case statement
            # that Verilator -Wall flags as incomplete.
            for row in range(self._depth):
                with m.If(self.w.addr == row):
                    m.d.sync += flags[row].eq(1)
        with m.If(self.r.en):
            m.d.sync += written.eq(flags.bit_select(self.r.addr, 1) |
                                   (self.w.en & (self.w.addr == self.r.addr)))
        m.d.comb += self.r.data.as_value().eq(Mux(written, rp.data.as_value(), 0))
        return m
