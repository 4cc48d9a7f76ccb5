"""Coordinate computation: compressed indices to accumulator addresses (SCNN paper, Sec. 4.2).

"The original (dense) coordinates of the weights and activations are recomputed by keeping a
running sum of the number of zero and non-zero elements and dividing by the appropriate
dimension." Here the running sums are :class:`RowPositions`; the divisions are by constants
(:class:`ConstDivider`, a multiply and a shift) or, for the layer's kernel width, a small case
over the odd sides the PE supports. No general divider is built.

Addresses. A PE's accumulator space for one output-channel group is ``kc`` planes of
``acc_w × acc_h`` (the tile plus the halo ``h`` on every side); in a plane, position
``pos = ya·acc_w + xa``. A non-zero weight at position ``p`` of its block
(``p = (r·S + s)·kc + kk``: the paper's ``R × S × K`` linearization, ``k`` innermost, every group
padded to ``kc`` channels) and an activation at position ``q`` of its tile
(``q = yi·W_t + xi``) meet at output ``(kk, yi + h + pr − r, xi + h + ps − s)`` with
``pr = (R−1)/2``, ``ps = (S−1)/2``: output channel ``kk`` and plane position the sum of a weight
part and an activation part::

    pos = [(h + pr − r)·acc_w + (h + ps − s)]   (WeightOffset, with kk)
        + [yi·acc_w + xi]                        (ActOffset)

The accumulator lies in bank ``(pos mod A) XOR ((kk << fold_shift) mod A)``, entry
``kk·plane_entries + pos div A`` (:class:`ProductAddresses`; the config's ``fold_shift``
explains why).
"""

import numpy as np
from amaranth import Const, Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["ConstDivider", "RowPositions", "ActOffset", "WeightOffset", "ProductAddresses",
           "odd_sides"]


def odd_sides(kernel_max):
    """Kernel sides a PE supports: the odd integers 1 … kernel_max."""
    return list(range(1, kernel_max + 1, 2))


def _reciprocal(divisor, max_dividend):
    """``(multiplier, shift)`` with ``(n · multiplier) >> shift == n // divisor`` for every
    ``0 ≤ n ≤ max_dividend``, the smallest shift that works (checked exhaustively)."""
    n = np.arange(max_dividend + 1, dtype=object)
    want = n // divisor
    shift = max(1, int(max_dividend).bit_length())
    while True:
        multiplier = -(-(1 << shift) // divisor)
        if np.array_equal((n * multiplier) >> shift, want):
            return multiplier, shift
        shift += 1


class ConstDivider(wiring.Component):
    """Quotient and remainder of an unsigned value by a constant: combinational.

    A power of two is a shift; any other divisor a multiplication by a rounded-up reciprocal
    and a shift, checked at construction to be exact over ``0 … max_dividend``.

    Parameters
    ----------
    divisor : int
        ≥ 1.
    max_dividend : int
        Largest dividend the result must be exact for (≥ 0). Larger dividends give unspecified
        (but harmless) results.

    Attributes
    ----------
    dividend : In(unsigned)
        Width of ``max_dividend``, or ``width`` if given wider.
    quotient : Out(range(max_dividend // divisor + 1))
    remainder : Out(range(divisor))
    """

    def __init__(self, divisor, max_dividend, *, width=None):
        if not isinstance(divisor, int) or divisor < 1:
            raise TypeError(f"Divisor must be a positive integer, not {divisor!r}")
        if not isinstance(max_dividend, int) or max_dividend < 0:
            raise TypeError(f"Largest dividend must be a non-negative integer, "
                            f"not {max_dividend!r}")
        self._divisor = divisor
        self._max = max_dividend
        width = max(width or 0, max(1, max_dividend.bit_length()))
        if divisor & (divisor - 1) == 0:
            self._reciprocal = None
        else:
            self._reciprocal = _reciprocal(divisor, max_dividend)
        super().__init__({
            "dividend": In(width),
            "quotient": Out(range(max_dividend // divisor + 1)),
            "remainder": Out(range(divisor)),
        })

    @property
    def divisor(self):
        return self._divisor

    def elaborate(self, platform):
        m = Module()
        n = self.dividend
        if self._reciprocal is None:
            shift = self._divisor.bit_length() - 1
            m.d.comb += [self.quotient.eq(n >> shift),
                         self.remainder.eq(n & (self._divisor - 1))]
        else:
            multiplier, shift = self._reciprocal
            quotient = Signal.like(self.quotient)
            m.d.comb += [
                quotient.eq((n * Const(multiplier)) >> shift),
                self.quotient.eq(quotient),
                self.remainder.eq(n - quotient * self._divisor),
            ]
        return m


class RowPositions(wiring.Component):
    """Positions of a row's entries within their block, from the running sum of the indices.

    Entry ``l`` of a row lies at ``base + Σ_{m<l}(zeros[m] + 1) + zeros[l]``; the next row starts
    at ``next_base = base + Σ_m (zeros[m] + 1)``. Combinational.

    Parameters
    ----------
    lanes : int
    index_bits : int
    width : int
        Width of the positions (they wrap beyond it; size it for the longest block plus a row).
    """

    def __init__(self, lanes, index_bits, width):
        self._lanes = lanes
        super().__init__({
            "base": In(width),
            "zeros": In(data.ArrayLayout(index_bits, lanes)),
            "positions": Out(data.ArrayLayout(width, lanes)),
            "next_base": Out(width),
        })

    def elaborate(self, platform):
        m = Module()
        width = len(self.base)
        running = self.base
        for lane in range(self._lanes):
            pos = Signal(width, name=f"pos{lane}")
            m.d.comb += [pos.eq(running + self.zeros[lane]),
                         self.positions[lane].eq(pos)]
            after = Signal(width, name=f"after{lane}")
            m.d.comb += after.eq(pos + 1)
            running = after
        m.d.comb += self.next_base.eq(running)
        return m


class ActOffset(wiring.Component):
    """Activation part of an accumulator address: tile position ``q`` → ``yi·acc_w + xi``.

    ``(yi, xi) = divmod(q, W_t)`` by a constant divider; the part is ``q + yi·2h``.
    Combinational.

    Attributes
    ----------
    position : In(width)
    offset : Out(range(acc_plane))
    """

    def __init__(self, cfg, width):
        self._cfg = cfg
        super().__init__({
            "position": In(width),
            "offset": Out(range(cfg.acc_plane)),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        m.submodules.div = div = ConstDivider(cfg.tile_w, cfg.tile_elems - 1,
                                              width=len(self.position))
        m.d.comb += [
            div.dividend.eq(self.position),
            self.offset.eq(self.position + div.quotient * (2 * cfg.halo)),
        ]
        return m


class WeightOffset(wiring.Component):
    """Output channel and weight part of a plane position: block position ``p``, layer's R, S.

    Blocks are linearized ``r``, ``s``, ``k`` with ``k`` innermost, ``p = (r·S + s)·kc + kk``, a
    last partial group padded with zeros to ``kc`` channels (:mod:`sparseforge.sim.scnn.format`):
    the stride of ``s`` is the constant ``kc`` whatever the group's size, so
    ``(p', kk) = divmod(p, kc)`` is one constant divider (a shift when ``kc`` is a power of two)
    and only ``(r, s) = divmod(p', S)`` is a case over the odd sides up to ``kernel_max``. The
    part is ``(h + pr − r)·acc_w + (h + ps − s)``. Combinational.

    Attributes
    ----------
    position : In(width)
    r, s : In(range(kernel_max + 1))
        The layer's kernel sides (odd, ≤ kernel_max; other values give unspecified results).
    kk : Out(range(kc))
        The output channel within the group.
    offset : Out(range(acc_plane))
    """

    def __init__(self, cfg, width):
        self._cfg = cfg
        side = range(cfg.kernel_max + 1)
        super().__init__({
            "position": In(width),
            "r": In(side),
            "s": In(side),
            "kk": Out(range(max(2, cfg.kc))),
            "offset": Out(range(cfg.acc_plane)),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        top = cfg.weight_block_max - 1
        p = self.position
        m.submodules.div_k = div_k = ConstDivider(cfg.kc, top, width=len(p))
        m.d.comb += div_k.dividend.eq(p)
        kk = div_k.remainder
        outer = div_k.quotient                               # r·S + s
        r_idx = Signal(range(cfg.kernel_max))
        s_idx = Signal(range(cfg.kernel_max))
        # A case over the supported sides, written as an if-chain (no incomplete Verilog case).
        for side in odd_sides(cfg.kernel_max):
            div = m.submodules[f"div_s{side}"] = ConstDivider(side, top // cfg.kc,
                                                               width=len(outer))
            m.d.comb += div.dividend.eq(outer)
            with m.If(self.s == side):
                m.d.comb += [r_idx.eq(div.quotient), s_idx.eq(div.remainder)]
        h = cfg.halo
        pr = Signal(range(cfg.halo + 1))
        ps = Signal(range(cfg.halo + 1))
        m.d.comb += [pr.eq((self.r - 1) >> 1), ps.eq((self.s - 1) >> 1)]
        m.d.comb += [self.kk.eq(kk),
                     self.offset.eq((h + pr - r_idx) * cfg.acc_w + (h + ps - s_idx))]
        return m


class ProductAddresses(wiring.Component):
    """Bank and entry of each of the F·I products of a vector pair: combinational.

    Product ``f·I + i`` goes to output channel ``kk[f]`` at plane position
    ``pos = woff[f] + aoff[i]``: bank ``(pos mod A) XOR ((kk << fold_shift) mod A)``, entry
    ``kk·plane_entries + pos div A``. The channel's XOR key and first entry are computed once per
    weight lane.

    Attributes
    ----------
    kk : In(ArrayLayout(range(kc), F))
    woff : In(ArrayLayout(range(acc_plane), F))
    aoff : In(ArrayLayout(range(acc_plane), I))
    bank : Out(ArrayLayout(range(A), F·I))
    entry : Out(ArrayLayout(range(bank_entries), F·I))
    """

    def __init__(self, cfg):
        self._cfg = cfg
        plane = range(cfg.acc_plane)
        super().__init__({
            "kk": In(data.ArrayLayout(range(max(2, cfg.kc)), cfg.f)),
            "woff": In(data.ArrayLayout(plane, cfg.f)),
            "aoff": In(data.ArrayLayout(plane, cfg.i)),
            "bank": Out(data.ArrayLayout(max(1, cfg.bank_bits), cfg.f * cfg.i)),
            "entry": Out(data.ArrayLayout(max(1, (cfg.bank_entries - 1).bit_length()),
                                          cfg.f * cfg.i)),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        bits = cfg.bank_bits
        for f in range(cfg.f):
            key = Signal(max(1, bits), name=f"key{f}")
            first = Signal(range(cfg.kc * cfg.plane_entries + 1), name=f"first{f}")
            m.d.comb += [key.eq(self.kk[f] << cfg.fold_shift if bits else 0),
                         first.eq(self.kk[f] * cfg.plane_entries)]
            for i in range(cfg.i):
                p = f * cfg.i + i
                pos = Signal(range(2 * cfg.acc_plane), name=f"pos{f}_{i}")
                m.d.comb += pos.eq(self.woff[f] + self.aoff[i])
                if bits:
                    m.d.comb += [self.bank[p].eq(pos[:bits] ^ key),
                                 self.entry[p].eq(first + (pos >> bits))]
                else:
                    m.d.comb += [self.bank[p].eq(0), self.entry[p].eq(first + pos)]
        return m
