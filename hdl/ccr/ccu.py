"""The coordinate computation unit: one output coordinate per product block by CCR-1 (CCR,
Sec. IV-B, Fig. 7(b)).

SparseK splits each kernel into 1×1 triplets ``(i, j, w)``. By CCR-1 the sub-convolution of the
input map with a 1×1 sub-kernel at ``(i, j)`` starts at ``(α, β) = (1 − i − 1, 1 − j − 1) =
(−i, −j)`` of the full output, so the ``P_x × P_y`` products of the input block at
``(M·P_x, N·P_y)`` form the rectangle of full-output coordinates starting at
``(M·P_x − i, N·P_y − j)``; in the layer's window, which starts at ``(x0, y0)``, that is
``(u0, v0) = (M·P_x − i − x0, N·P_y − j − y0)``. "The CCU only needs to calculate one
coordinate for P_x × P_y products": two subtractors per axis. (The dense baseline computes the
same expression from its loop counters.)
"""

from amaranth import Module, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["Ccu"]


class Ccu(wiring.Component):
    """``(u0, v0) = (M·P_x − i − x0, N·P_y − j − y0)``. Combinational (latency 0).

    Parameters
    ----------
    px, py : int
        PU shape (powers of two: ``M·P_x`` is a shift).
    block_bits, index_bits : int
        Widths of the block indices ``M, N`` and of the kernel coordinates ``i, j``.
    origin_shape, coord_shape : shape
        Signed shapes of ``x0, y0`` and of the output coordinates.

    Attributes
    ----------
    m, n : In(block_bits)
    i, j : In(index_bits)
    x0, y0 : In(origin_shape)
    u0, v0 : Out(coord_shape)
    """

    def __init__(self, px, py, *, block_bits, index_bits, origin_shape, coord_shape):
        for name, v in (("px", px), ("py", py)):
            if not isinstance(v, int) or v < 1 or v & (v - 1):
                raise ValueError(f"CCU {name} must be a power of two, not {v!r}")
        self._lx, self._ly = px.bit_length() - 1, py.bit_length() - 1
        super().__init__({
            "m": In(unsigned(block_bits)), "n": In(unsigned(block_bits)),
            "i": In(unsigned(index_bits)), "j": In(unsigned(index_bits)),
            "x0": In(origin_shape), "y0": In(origin_shape),
            "u0": Out(coord_shape), "v0": Out(coord_shape),
        })

    def elaborate(self, platform):
        m = Module()
        m.d.comb += [
            self.u0.eq((self.m << self._lx) - self.i - self.x0),
            self.v0.eq((self.n << self._ly) - self.j - self.y0),
        ]
        return m
