"""The scatter crossbar: a product block routed to the output buffer's banks (CCR, Sec. IV-A).

"The P_x × P_y products are delivered into AccUnit to accumulate with the corresponding partial
sums fetched from OB, the result is then routed to OB by the crossbar." OB is interleaved over
``P_x × P_y`` banks by the low bits of the output coordinates (:mod:`sparseforge.sim.ccr.format`),
so a block whose first product lands at ``(u0, v0)`` sends product ``(p, q)`` to bank
``((u0 + p) mod P_x, (v0 + q) mod P_y)``: every bank receives exactly one product, and the
crossbar is a two-dimensional rotation by ``(u0 mod P_x, v0 mod P_y)``.
"""

from amaranth import Cat, Module
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["Crossbar"]


class Crossbar(wiring.Component):
    """Rotate a ``P_x × P_y`` block into the banks. Combinational (latency 0).

    Attributes
    ----------
    i : In(ArrayLayout(shape, P_x·P_y))
        Products, lane ``p·P_y + q``.
    rot_x, rot_y : In(range(P_x)), In(range(P_y))
        ``u0 mod P_x``, ``v0 mod P_y``.
    o : Out(ArrayLayout(shape, P_x·P_y))
        Lane ``bx·P_y + by`` carries product ``((bx − rot_x) mod P_x, (by − rot_y) mod P_y)``.
    """

    def __init__(self, px, py, shape):
        for name, v in (("px", px), ("py", py)):
            if not isinstance(v, int) or v < 1 or v & (v - 1):
                raise ValueError(f"Crossbar {name} must be a power of two, not {v!r}")
        self._px, self._py = px, py
        super().__init__({
            "i": In(data.ArrayLayout(shape, px * py)),
            "rot_x": In(range(max(2, px))), "rot_y": In(range(max(2, py))),
            "o": Out(data.ArrayLayout(shape, px * py)),
        })

    def elaborate(self, platform):
        m = Module()
        px, py = self._px, self._py
        lx, ly = (px - 1).bit_length(), (py - 1).bit_length()
        for bx in range(px):
            for by in range(py):
                # Product (p, q) is lane p·P_y + q: with P_y a power of two, Cat(q, p).
                p = (bx - self.rot_x)[:lx]
                q = (by - self.rot_y)[:ly]
                index = Cat(q, p) if lx and ly else (p if lx else q if ly else 0)
                m.d.comb += self.o[bx * py + by].eq(self.i[index])
        return m
