"""A CCR buffer as one SRAM macro: KB, IB, an OB bank or a count table (CCR, Sec. IV-A: "a
kernel/imap/omap buffer (KB/IB/OB)").

Each buffer is its own module around one ``lib.memory`` named ``mem``, so that ``sparseforge
synth`` keeps it as a black box sized by the per-bit SRAM model (the accelerator lists them,
:meth:`.CcrAccelerator.memory_macros`); its Verilog has no initial contents
(:mod:`sparseforge.hdl.common.sram_model`).
"""

from amaranth import Module, Shape
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["Buffer"]


class Buffer(wiring.Component):
    """``depth`` words of ``shape``, one read port and one write port.

    Parameters
    ----------
    shape : shape-like or data.Layout
        A word; the ports carry views of it.
    depth : int
    comb_read : bool
        The read port is combinational (a count table: the sequencer's look-up in the cycle it
        needs the count); otherwise ``rd_data`` holds the word at ``rd_addr`` of the last cycle
        ``rd_en`` was high (latency 1).
    transparent : bool
        A synchronous read of the word written in the same cycle returns the new word (OB banks:
        read-add-write back to back); otherwise the old one.

    Attributes
    ----------
    rd_addr : In(range(depth))
    rd_en : In(1)
        Synchronous reads only.
    rd_data : Out(shape)
    wr_addr : In(range(depth))
    wr_en : In(1)
    wr_data : In(shape)
    """

    def __init__(self, shape, depth, *, comb_read=False, transparent=False):
        if not isinstance(depth, int) or depth < 1:
            raise ValueError(f"Buffer depth must be a positive integer, not {depth!r}")
        if comb_read and transparent:
            raise ValueError("A combinational read port cannot be transparent")
        self._shape = shape
        self._depth = depth
        self._comb = comb_read
        self._transparent = transparent
        addr = range(max(2, depth))
        super().__init__({
            "rd_addr": In(addr), "rd_en": In(1), "rd_data": Out(shape),
            "wr_addr": In(addr), "wr_en": In(1), "wr_data": In(shape),
        })

    @property
    def bits(self):
        return self.width * self._depth

    @property
    def width(self):
        shape = self._shape
        return (shape.size if isinstance(shape, data.Layout) else Shape.cast(shape).width)

    def elaborate(self, platform):
        m = Module()
        m.submodules.mem = mem = memory.Memory(shape=self.width, depth=self._depth, init=[])
        wp = mem.write_port()
        if self._comb:
            rp = mem.read_port(domain="comb")
        else:
            rp = mem.read_port(transparent_for=(wp,) if self._transparent else ())
            m.d.comb += rp.en.eq(self.rd_en)
        m.d.comb += [
            rp.addr.eq(self.rd_addr), self.rd_data.eq(rp.data),
            wp.addr.eq(self.wr_addr), wp.en.eq(self.wr_en), wp.data.eq(self.wr_data),
        ]
        return m
