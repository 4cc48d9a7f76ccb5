"""Where SparseKI's products go in OB: each product's bank and word from its own output
coordinate (CCR, Sec. IV-B: "the coordinates of the products are randomly distributed").

Output ``(k, u, v)`` is word ``kbase + ⌊u/P_x⌋·WBo + ⌊v/P_y⌋`` of bank ``(u mod P_x, v mod P_y)``
(:mod:`sparseforge.sim.ccr.format`); unlike a block's products (:mod:`.scatter`), each of a
Cartesian product's outputs needs its own multiplier for the row word.
"""

from amaranth import Cat, Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["OutputAddress"]


class OutputAddress(wiring.Component):
    """Bank, word and window check of ``n`` outputs. Combinational (latency 0).

    Parameters
    ----------
    cfg : CcrConfig
    n : int
        Outputs.
    coord_shape, out_shape : shape
        Shapes of the coordinates and of the window's sides.

    Attributes
    ----------
    u, v : In(ArrayLayout(coord_shape, n))
        Window coordinates.
    kbase : In(range(words))
    ho, wo : In(out_shape)
    wbo : In(range(words + 1))
    inside : Out(n)
        Bit ``l``: output ``l`` lies in the ``ho × wo`` window.
    bank : Out(ArrayLayout(range(P_x·P_y), n))
        ``(u mod P_x)·P_y + v mod P_y``.
    word : Out(ArrayLayout(range(words), n))
    """

    def __init__(self, cfg, n, coord_shape, out_shape):
        self._cfg = cfg
        self._n = n
        words = max(2, cfg.ob_bank_words)
        super().__init__({
            "u": In(data.ArrayLayout(coord_shape, n)), "v": In(data.ArrayLayout(coord_shape, n)),
            "kbase": In(range(words)),
            "ho": In(out_shape), "wo": In(out_shape), "wbo": In(range(words + 1)),
            "inside": Out(n),
            "bank": Out(data.ArrayLayout(range(max(2, cfg.multipliers)), n)),
            "word": Out(data.ArrayLayout(range(words), n)),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        lx, ly = (cfg.px - 1).bit_length(), (cfg.py - 1).bit_length()
        wide = signed(len(self.u[0]) + len(self.wbo) + len(self.kbase) + 2)
        for n in range(self._n):
            u, v = self.u[n], self.v[n]
            word = Signal(wide, name=f"word_{n}")
            m.d.comb += [
                self.inside[n].eq((u >= 0) & (u < self.ho) & (v >= 0) & (v < self.wo)),
                self.bank[n].eq(Cat(v[:ly], u[:lx])),
                word.eq(self.kbase + (u >> lx) * self.wbo + (v >> ly)),
                self.word[n].eq(word[:len(self.word[n])]),
            ]
        return m
