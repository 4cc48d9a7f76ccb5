"""RAM macros shared by the architectures: each memory in its own module, so area flows can treat
it as a macro (SCNN's PE RAMs, Sec. 4 of the SCNN paper; SparseCore's memories, Sec. 3 and
Table 2 of the SparseCore paper).

As in an ASIC flow with an SRAM compiler, the synthesis flows keep these modules as black boxes
and size them with a per-bit model; the logic around them is synthesized. Every memory is an
``amaranth.lib.memory.Memory`` with one write port and one or more read ports.
"""

from amaranth import Module, Shape
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["write_port_signature", "read_port_signature", "Ram"]


def write_port_signature(shape, depth):
    """A RAM write port as its user sees it: ``addr``, ``data``, ``en`` driven by the user."""
    return wiring.Signature({"addr": Out(range(max(2, depth))), "data": Out(shape),
                             "en": Out(1)})


def read_port_signature(shape, depth, *, comb=False):
    """A RAM read port as its user sees it: ``addr`` (and ``en`` when synchronous) in, ``data`` out.

    A synchronous port returns the row addressed in one cycle at the next one and holds it while
    ``en`` is low; a combinational one returns the addressed row in the same cycle.
    """
    members = {"addr": Out(range(max(2, depth))), "data": In(shape)}
    if not comb:
        members["en"] = Out(1)
    return wiring.Signature(members)


class Ram(wiring.Component):
    """A ``depth × shape`` RAM with one write port ``w`` and ``reads`` read ports ``r[n]``.

    Its contents after reset are not specified (an SRAM macro has none): users write a word
    before they read it.

    Parameters
    ----------
    shape : shape-like
        One row (a ``data.Layout`` for structured rows).
    depth : int
    reads : int
        Number of read ports (≥ 1).
    comb : bool
        Combinational read ports (a register file or latch array) instead of synchronous ones.
        A combinational read of the row being written returns the old value; the new one is
        visible from the next cycle.

    Attributes
    ----------
    w : In(write_port_signature(shape, depth))
    r : In(read_port_signature(shape, depth, comb=comb)).array(reads)
    """

    def __init__(self, shape, depth, *, reads=1, comb=False):
        if not isinstance(depth, int) or depth < 1:
            raise TypeError(f"RAM depth must be a positive integer, not {depth!r}")
        if not isinstance(reads, int) or reads < 1:
            raise TypeError(f"RAM read ports must be a positive integer, not {reads!r}")
        self._shape = shape
        self._depth = depth
        self._comb = comb
        super().__init__({
            "w": In(write_port_signature(shape, depth)),
            "r": In(read_port_signature(shape, depth, comb=comb)).array(reads),
        })

    @property
    def depth(self):
        return self._depth

    @property
    def bits(self):
        """Storage bits: depth × row width."""
        return self._depth * Shape.cast(self._shape).width

    def elaborate(self, platform):
        m = Module()
        m.submodules.mem = mem = memory.Memory(shape=self._shape, depth=self._depth, init=[])
        write = mem.write_port()
        m.d.comb += [write.addr.eq(self.w.addr), write.data.eq(self.w.data),
                     write.en.eq(self.w.en)]
        for port in self.r:
            read = mem.read_port(domain="comb" if self._comb else "sync")
            m.d.comb += [read.addr.eq(port.addr), port.data.eq(read.data)]
            if not self._comb:
                m.d.comb += read.en.eq(port.en)
        return m
