"""The PE's ALUs: one activation times the chunk's k non-zero weights per group of m
(*SparseCore*, Sec. 2.1 and 3: k/m:d sparsity along the output depth, PEs of 16 ALUs).

Group ``g`` of the chunk covers output channels ``g·m … g·m+m−1`` and holds ``k`` weights with
their positions; ALU ``(g, i)`` multiplies the activation by slot ``i`` and its product goes to
channel ``g·m + pos``. Positions within a group are distinct, so each channel receives at most one
product per cycle and the scatter is a ``k:1`` select per channel — no crossbar, no conflicts.
"""

from amaranth import Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .layouts import acc_row_layout, weight_row_layout

__all__ = ["AluArray"]


class AluArray(wiring.Component):
    """``groups × k`` multipliers and the chunk's ``D`` accumulator adders (combinational).

    Attributes
    ----------
    value : In(signed(act_width))
        The broadcast activation.
    weights : In(weight_row_layout(cfg))
        The chunk's weights at the job's ``(c, r, s)``.
    acc_in : In(acc_row_layout(cfg))
    acc_out : Out(acc_row_layout(cfg))
        ``acc_in`` plus the products at their channels, each wrapped to ``acc_width`` bits.
    """

    latency = 0

    def __init__(self, cfg):
        self._cfg = cfg
        super().__init__({
            "value": In(signed(cfg.act_width)),
            "weights": In(weight_row_layout(cfg)),
            "acc_in": In(acc_row_layout(cfg)),
            "acc_out": Out(acc_row_layout(cfg)),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        pw = cfg.act_width + cfg.weight_width
        for g in range(cfg.groups):
            products = []
            for i in range(cfg.k):
                p = Signal(signed(pw), name=f"p{g}_{i}")
                m.d.comb += p.eq(self.value * self.weights[g][i].value)
                products.append(p)
            for pos in range(cfg.m):
                ch = g * cfg.m + pos
                add = Signal(signed(pw), name=f"add{ch}")
                for i in range(cfg.k):
                    with m.If(self.weights[g][i].pos == pos):
                        m.d.comb += add.eq(products[i])
                m.d.comb += self.acc_out[ch].eq(self.acc_in[ch] + add)
        return m
