"""The scalar × matrix datapath of the dense design, SparseK and SparseI: PU, CCU, crossbar to
the OB banks (CCR, Sec. IV-A/B, Fig. 7(a)–(c), Table I).

A step multiplies one scalar by a ``P_x × P_y`` matrix whose products form a rectangle of
outputs: the CCU computes the rectangle's first coordinate (one per step, O(1)) and the crossbar
rotates the products into the banks. Dense and SparseK multiply a weight by an input block;
SparseI an input by a rotated kernel tile (:mod:`sparseforge.sim.ccr.format`).
"""

from amaranth import Module, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .ccu import Ccu
from .layouts import bank_port_layout
from .pu import ProcessingUnit
from .scatter import BlockScatter

__all__ = ["BlockDatapath"]


class BlockDatapath(wiring.Component):
    """One step per cycle: products and their coordinate in cycle t, OB bank updates in cycle
    t + 1 (``latency`` 1 to ``banks``); never stalls.

    Parameters
    ----------
    cfg : CcrConfig
    scalar_width, lane_width : int
        Widths of the scalar and of the matrix's lanes.
    input_bits, kernel_bits : int
        Widths of the coordinates ``(m, n)`` and ``(i, j)``.
    coord_shape, origin_shape, out_shape : shape

    Attributes
    ----------
    valid : In(1)
        A step this cycle.
    scalar : In(signed(scalar_width))
    matrix : In(ArrayLayout(signed(lane_width), P_x·P_y))
        Lane ``p·P_y + q`` belongs to output ``(u0 + p, v0 + q)``.
    m, n, i, j : In
        The input coordinate and the kernel coordinate whose product is lane 0.
    kbase : In
        First OB word of the output channel.
    x0, y0, ho, wo, wbo : In
        The window and the OB words per block row.
    banks : Out(ArrayLayout(bank_port_layout(cfg), P_x·P_y))
    """

    latency = 1

    def __init__(self, cfg, *, scalar_width, lane_width, input_bits, kernel_bits, coord_shape,
                 origin_shape, out_shape):
        self._cfg = cfg
        self._shapes = (scalar_width, lane_width, input_bits, kernel_bits, coord_shape,
                        origin_shape, out_shape)
        words = max(2, cfg.ob_bank_words)
        super().__init__({
            "valid": In(1),
            "scalar": In(signed(scalar_width)),
            "matrix": In(data.ArrayLayout(signed(lane_width), cfg.multipliers)),
            "m": In(unsigned(input_bits)), "n": In(unsigned(input_bits)),
            "i": In(unsigned(kernel_bits)), "j": In(unsigned(kernel_bits)),
            "kbase": In(range(words)),
            "x0": In(origin_shape), "y0": In(origin_shape),
            "ho": In(out_shape), "wo": In(out_shape), "wbo": In(range(words + 1)),
            "banks": Out(data.ArrayLayout(bank_port_layout(cfg), cfg.multipliers)),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        scalar_width, lane_width, input_bits, kernel_bits, coord, origin, out = self._shapes
        m = Module()
        m.submodules.pu = pu = ProcessingUnit(cfg.multipliers, scalar_width=scalar_width,
                                              lane_width=lane_width,
                                              product_width=cfg.acc_width)
        m.submodules.ccu = ccu = Ccu(input_bits=input_bits, kernel_bits=kernel_bits,
                                     origin_shape=origin, coord_shape=coord)
        m.submodules.scatter = scatter = BlockScatter(cfg, coord, out)
        m.d.comb += [
            pu.scalar.eq(self.scalar), pu.matrix.eq(self.matrix),
            ccu.m[0].eq(self.m), ccu.n[0].eq(self.n), ccu.i[0].eq(self.i), ccu.j[0].eq(self.j),
            ccu.x0.eq(self.x0), ccu.y0.eq(self.y0),
        ]
        # The step's products and coordinate, registered: the OB read of the next cycle.
        step = Signal(data.StructLayout({
            "valid": 1, "u0": coord, "v0": coord, "kbase": self.kbase.shape(),
            "products": data.ArrayLayout(signed(cfg.acc_width), cfg.multipliers)}))
        m.d.sync += [step.valid.eq(self.valid), step.u0.eq(ccu.u[0]), step.v0.eq(ccu.v[0]),
                     step.kbase.eq(self.kbase), step.products.eq(pu.products)]
        m.d.comb += [
            scatter.valid.eq(step.valid), scatter.u0.eq(step.u0), scatter.v0.eq(step.v0),
            scatter.kbase.eq(step.kbase), scatter.products.eq(step.products),
            scatter.ho.eq(self.ho), scatter.wo.eq(self.wo), scatter.wbo.eq(self.wbo),
            self.banks.eq(scatter.banks),
        ]
        return m
