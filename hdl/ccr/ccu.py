"""The coordinate computation unit: output coordinates by CCR-1/2/3 for 1×1 sub-kernels and
sub-maps (CCR, Sec. III and IV-B, Fig. 7, Table I).

Split into 1×1 triplets, an input at ``(m, n)`` times a kernel element at ``(i, j)`` contributes
to the full-mode output ``(m − i, n − j)``: CCR-3 gives the offset ``m − i − 1 + 1`` for a 1×1
sub-map at ``(m, n)`` and a 1×1 sub-kernel at ``(i, j)``, and CCR-1 (``α = −i``) and CCR-2
(``γ = 1 + m − R``) are its cases with a whole map or kernel. In the layer's window, which starts
at ``(x0, y0)``, that is ``(u, v) = (m − i − x0, n − j − y0)``.

* SparseK (and the dense baseline, from its loop counters): one coordinate per ``P_x × P_y``
  product block, ``m = M·P_x``, ``n = N·P_y`` the block's first input and ``(i, j)`` the
  kernel entry: "the CCU only needs to calculate one coordinate for P_x × P_y products",
  O(1).
* SparseI: one coordinate per block, ``(m, n)`` the input entry and ``(i, j)`` the kernel row
  and column of the rotated tile's lane 0 (``a·P_x + P_x − 1``, ``b·P_y + P_y − 1``), O(1).
* SparseKI: every one of the ``P_x × P_y`` products of a weight vector and an input vector has
  its own coordinate, O(P_x × P_y).
"""

from amaranth import Module, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["Ccu"]


class Ccu(wiring.Component):
    """``u[p·X + q] = m[q] − i[p] − x0``, ``v[p·X + q] = n[q] − j[p] − y0`` for ``W`` kernel
    coordinates and ``X`` input coordinates. Combinational (latency 0).

    Parameters
    ----------
    kernels, inputs : int
        ``W`` and ``X``: 1 and 1 for the O(1) CCU of SparseK and SparseI, ``P_x`` and ``P_y``
        for SparseKI's.
    input_bits, kernel_bits : int
        Widths of the input coordinates ``m, n`` and of the kernel coordinates ``i, j``.
    origin_shape, coord_shape : shape
        Signed shapes of ``x0, y0`` and of the output coordinates.

    Attributes
    ----------
    m, n : In(ArrayLayout(input_bits, X))
    i, j : In(ArrayLayout(kernel_bits, W))
    x0, y0 : In(origin_shape)
    u, v : Out(ArrayLayout(coord_shape, W·X))
    """

    def __init__(self, kernels=1, inputs=1, *, input_bits, kernel_bits, origin_shape,
                 coord_shape):
        for name, n in (("kernels", kernels), ("inputs", inputs)):
            if not isinstance(n, int) or n < 1:
                raise ValueError(f"CCU {name} must be a positive integer, not {n!r}")
        self._kernels, self._inputs = kernels, inputs
        super().__init__({
            "m": In(data.ArrayLayout(unsigned(input_bits), inputs)),
            "n": In(data.ArrayLayout(unsigned(input_bits), inputs)),
            "i": In(data.ArrayLayout(unsigned(kernel_bits), kernels)),
            "j": In(data.ArrayLayout(unsigned(kernel_bits), kernels)),
            "x0": In(origin_shape), "y0": In(origin_shape),
            "u": Out(data.ArrayLayout(coord_shape, kernels * inputs)),
            "v": Out(data.ArrayLayout(coord_shape, kernels * inputs)),
        })

    def elaborate(self, platform):
        m = Module()
        for p in range(self._kernels):
            for q in range(self._inputs):
                lane = p * self._inputs + q
                m.d.comb += [
                    self.u[lane].eq(self.m[q] - self.i[p] - self.x0),
                    self.v[lane].eq(self.n[q] - self.j[p] - self.y0),
                ]
        return m
