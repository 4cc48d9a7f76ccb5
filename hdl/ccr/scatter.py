"""Routing a product block to the OB banks: the crossbar and the banks' word addresses (CCR,
Sec. IV-A/B, Fig. 7).

"The P_x × P_y products lies in a rectangle block in the output maps, the addressing pattern of
OB is still regular": output ``(k, u, v)`` is word ``kbase + ⌊u/P_x⌋·WBo + ⌊v/P_y⌋`` of bank
``(u mod P_x, v mod P_y)`` (:mod:`sparseforge.sim.ccr.format`), so a block starting at
``(u0, v0)`` touches every bank once, at one of two row words and one of two column words: the
addresses need one multiplier (``⌊u0/P_x⌋·WBo``), not one per bank, and the crossbar is a
rotation (:mod:`.crossbar`).
"""

from amaranth import Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .crossbar import Crossbar
from .layouts import bank_port_layout

__all__ = ["BlockScatter"]


class BlockScatter(wiring.Component):
    """A ``P_x × P_y`` block of products at ``(u0, v0)`` → one update per OB bank.
    Combinational (latency 0).

    Products whose output lies outside the ``ho × wo`` window are dropped (their bank's ``en``
    is low).

    Parameters
    ----------
    cfg : CcrConfig
    coord_shape, out_shape : shape
        Shapes of the coordinates and of the window's sides.

    Attributes
    ----------
    valid : In(1)
    u0, v0 : In(coord_shape)
        Window coordinates of the block's product ``(0, 0)``.
    kbase : In(range(words))
        First OB word of the output channel.
    products : In(ArrayLayout(signed(acc_width), P_x·P_y))
        Lane ``p·P_y + q`` belongs to output ``(u0 + p, v0 + q)``.
    ho, wo : In(out_shape)
    wbo : In(range(words + 1))
        OB words per block row, ``⌈wo/P_y⌉``.
    banks : Out(ArrayLayout(bank_port_layout(cfg), P_x·P_y))
    """

    def __init__(self, cfg, coord_shape, out_shape):
        self._cfg = cfg
        words = max(2, cfg.ob_bank_words)
        super().__init__({
            "valid": In(1), "u0": In(coord_shape), "v0": In(coord_shape),
            "kbase": In(range(words)),
            "products": In(data.ArrayLayout(signed(cfg.acc_width), cfg.multipliers)),
            "ho": In(out_shape), "wo": In(out_shape), "wbo": In(range(words + 1)),
            "banks": Out(data.ArrayLayout(bank_port_layout(cfg), cfg.multipliers)),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        px, py = cfg.px, cfg.py
        lx, ly = (px - 1).bit_length(), (py - 1).bit_length()

        m.submodules.crossbar = xbar = Crossbar(px, py, signed(cfg.acc_width))
        m.d.comb += [xbar.i.eq(self.products), xbar.rot_x.eq(self.u0[:lx] if lx else 0),
                     xbar.rot_y.eq(self.v0[:ly] if ly else 0)]

        # One multiplier: the word of the block's first row; the others are +WBo and +1.
        wide = signed(len(self.u0) + len(self.wbo) + len(self.kbase) + 2)
        u_hi, v_hi = self.u0 >> lx, self.v0 >> ly
        row0 = Signal(wide)
        m.d.comb += row0.eq(self.kbase + u_hi * self.wbo + v_hi)
        for bx in range(px):
            for by in range(py):
                b = bx * py + by
                # The bank's row is ⌊u0/P_x⌋ + 1 (never for the last bank row, whose compare
                # would be constant).
                cu = bx < self.u0[:lx] if lx and bx < px - 1 else 0
                cv = by < self.v0[:ly] if ly and by < py - 1 else 0
                u = Signal(wide, name=f"u_{b}")
                v = Signal(wide, name=f"v_{b}")
                addr = Signal(wide, name=f"addr_{b}")
                m.d.comb += [
                    u.eq(((u_hi + cu) << lx) + bx),
                    v.eq(((v_hi + cv) << ly) + by),
                    addr.eq(row0 + Mux(cu, self.wbo, 0) + cv),
                ]
                inside = (u >= 0) & (u < self.ho) & (v >= 0) & (v < self.wo)
                port = self.banks[b]
                m.d.comb += [port.en.eq(self.valid & inside),
                             port.addr.eq(addr[:len(port.addr)]),
                             port.addend.eq(xbar.o[b])]
        return m
