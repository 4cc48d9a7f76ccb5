"""AccUnit and the output buffer: product blocks added to partial sums in ``P_x × P_y`` banks
(CCR, Sec. IV-A/B, Fig. 7).

"The P_x × P_y products are delivered into AccUnit indexed by the coordinates and are accumulated
to the corresponding partial sums fetched from OB. Finally, the accumulated results are routed
to OB by the crossbar." OB is interleaved over ``P_x × P_y`` banks
(:mod:`sparseforge.sim.ccr.format`): output ``(k, u, v)`` is word
``kbase + ⌊u/P_x⌋·WBo + ⌊v/P_y⌋`` of bank ``(u mod P_x, v mod P_y)``. A block starting at
``(u0, v0)`` touches every bank once, at one of two row words and one of two column words, so
the addresses need one multiplier (``⌊u0/P_x⌋·WBo``), not one per bank.
"""

from amaranth import Module, Mux, Signal, signed
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from .crossbar import Crossbar

__all__ = ["AccUnit"]


class AccUnit(wiring.Component):
    """OB banks with a read-add-write pipeline, a clear port and a read port.

    A product block offered with ``valid`` in cycle t is rotated by the crossbar, each bank's
    partial sum is read in cycle t and written back with its product added in cycle t + 1
    (``latency`` = 2 cycles to a visible result). Products whose output lies outside the
    ``ho × wo`` window are dropped. Each bank's read port is transparent to its write port, so a
    block may update the words the previous block writes in the same cycle: one block per
    cycle, any sequence of coordinates. Accumulators wrap modulo ``2**acc_width``.

    ``clear`` writes zero to word ``clear_addr`` of every bank. ``rd_en`` reads word ``rd_addr``
    of every bank onto ``rd_data`` in the next cycle, held while ``rd_en`` is low. ``valid``,
    ``clear`` and ``rd_en`` must not be high together.

    Parameters
    ----------
    cfg : CcrConfig

    Attributes
    ----------
    valid : In(1)
    u0, v0 : In(coord_shape)
        Output coordinates of the block's first product, in the window.
    kbase : In(range(words))
        First word of the output channel.
    products : In(ArrayLayout(signed(acc_width), P_x·P_y))
    ho, wo, wbo : In
        Window size and words per block row (``⌈wo/P_y⌉``).
    clear, clear_addr, rd_en, rd_addr : In
    rd_data : Out(ArrayLayout(signed(acc_width), P_x·P_y))
    """

    latency = 2

    def __init__(self, cfg, coord_shape, out_shape):
        self._cfg = cfg
        words = cfg.ob_bank_words
        acc = signed(cfg.acc_width)
        lanes = cfg.multipliers
        super().__init__({
            "valid": In(1), "u0": In(coord_shape), "v0": In(coord_shape),
            "kbase": In(range(words)),
            "products": In(data.ArrayLayout(acc, lanes)),
            "ho": In(out_shape), "wo": In(out_shape), "wbo": In(range(words + 1)),
            "clear": In(1), "clear_addr": In(range(words)),
            "rd_en": In(1), "rd_addr": In(range(words)),
            "rd_data": Out(data.ArrayLayout(acc, lanes)),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        px, py = cfg.px, cfg.py
        lx, ly = (px - 1).bit_length(), (py - 1).bit_length()
        words = cfg.ob_bank_words
        acc = signed(cfg.acc_width)

        m.submodules.crossbar = xbar = Crossbar(px, py, acc)
        m.d.comb += [xbar.i.eq(self.products), xbar.rot_x.eq(self.u0[:max(1, lx)] if lx else 0),
                     xbar.rot_y.eq(self.v0[:max(1, ly)] if ly else 0)]

        # One multiplier: the word of the block's first row; the others are +WBo and +1.
        wide = signed(len(self.u0) + len(self.wbo) + len(self.kbase) + 2)
        u_hi, v_hi = self.u0 >> lx, self.v0 >> ly
        row0 = Signal(wide)
        m.d.comb += row0.eq(self.kbase + u_hi * self.wbo + v_hi)

        # Stage 2 of the read-add-write: the write a cycle after the read.
        w_addr = [Signal(range(words), name=f"w_addr_{b}") for b in range(px * py)]
        w_en = [Signal(name=f"w_en_{b}") for b in range(px * py)]
        w_add = [Signal(acc, name=f"w_add_{b}") for b in range(px * py)]
        for bx in range(px):
            for by in range(py):
                b = bx * py + by
                cu = bx < self.u0[:lx] if lx else 0          # the bank's row is ⌊u0/P_x⌋ + 1
                cv = by < self.v0[:ly] if ly else 0
                u = Signal(wide, name=f"u_{b}")
                v = Signal(wide, name=f"v_{b}")
                addr = Signal(wide, name=f"addr_{b}")
                m.d.comb += [
                    u.eq(((u_hi + cu) << lx) + bx),
                    v.eq(((v_hi + cv) << ly) + by),
                    addr.eq(row0 + Mux(cu, self.wbo, 0) + cv),
                ]
                inside = (u >= 0) & (u < self.ho) & (v >= 0) & (v < self.wo)

                mem = memory.Memory(shape=acc, depth=words, init=[])
                m.submodules[f"ob_{bx}_{by}"] = mem
                wp = mem.write_port()
                rp = mem.read_port(transparent_for=(wp,))
                m.d.comb += [
                    rp.addr.eq(Mux(self.rd_en, self.rd_addr, addr[:len(rp.addr)])),
                    rp.en.eq(self.valid | self.rd_en),
                    self.rd_data[b].eq(rp.data),
                    wp.addr.eq(Mux(self.clear, self.clear_addr, w_addr[b])),
                    wp.data.eq(Mux(self.clear, 0, rp.data + w_add[b])),
                    wp.en.eq(self.clear | w_en[b]),
                ]
                m.d.sync += [
                    w_addr[b].eq(addr[:len(w_addr[b])]),
                    w_en[b].eq(self.valid & inside),
                    w_add[b].eq(xbar.o[b]),
                ]
        return m
