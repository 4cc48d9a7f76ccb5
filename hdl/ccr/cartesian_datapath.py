"""SparseKI's datapath: Cartesian product, one coordinate per product, bank arbitration (CCR,
Sec. IV-B, Table I).

A step multiplies a vector of ``P_x`` non-zero weights by a vector of ``P_y`` non-zero inputs.
"The CCU has to calculate P_x × P_y coordinates for each P_x × P_y product since the coordinates
of the products are randomly distributed", and the products contend for the OB banks: the
arbiter delivers one product per bank per cycle and the datapath stalls until the pair is done.
"""

from amaranth import Cat, Module
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .arbiter import BankArbiter
from .cartesian import CartesianProduct
from .ccu import Ccu
from .layouts import bank_port_layout, ib_entry_layout, kb_entry_layout
from .obmap import OutputAddress

__all__ = ["CartesianDatapath"]


class CartesianDatapath(wiring.Component):
    """A vector pair in cycle t (taken when ``ready``), bank updates from cycle t + 1
    (``latency`` 1), ``max(1, L)`` cycles for a pair whose busiest bank gets ``L`` products.

    A lane whose entry's value is zero (a vector's padding) takes part in no product; products
    whose output lies outside the window are dropped.

    Parameters
    ----------
    cfg : CcrConfig
    coord_shape, origin_shape, out_shape : shape

    Attributes
    ----------
    valid : In(1)
        A pair this cycle.
    ready : Out(1)
        The pair is taken this cycle; low while the previous pair's products still wait (the PU
        stalls). Depends only on the datapath's state.
    weights : In(ArrayLayout(kb_entry_layout(cfg), P_x))
    inputs : In(ArrayLayout(ib_entry_layout(cfg), P_y))
    kbase : In
    x0, y0, ho, wo, wbo : In
    banks : Out(ArrayLayout(bank_port_layout(cfg), P_x·P_y))
    stall : Out(1)
        ``~ready``.
    """

    latency = 1

    def __init__(self, cfg, *, coord_shape, origin_shape, out_shape):
        self._cfg = cfg
        self._shapes = (coord_shape, origin_shape, out_shape)
        words = max(2, cfg.ob_bank_words)
        super().__init__({
            "valid": In(1), "ready": Out(1),
            "weights": In(data.ArrayLayout(kb_entry_layout(cfg), cfg.px)),
            "inputs": In(data.ArrayLayout(ib_entry_layout(cfg), cfg.py)),
            "kbase": In(range(words)),
            "x0": In(origin_shape), "y0": In(origin_shape),
            "ho": In(out_shape), "wo": In(out_shape), "wbo": In(range(words + 1)),
            "banks": Out(data.ArrayLayout(bank_port_layout(cfg), cfg.multipliers)),
            "stall": Out(1),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        coord, origin, out = self._shapes
        px, py = cfg.px, cfg.py
        m = Module()
        m.submodules.pu = pu = CartesianProduct(px, py, weight_width=cfg.weight_width,
                                                act_width=cfg.act_width,
                                                product_width=cfg.acc_width)
        m.submodules.ccu = ccu = Ccu(px, py, input_bits=cfg.input_index_bits,
                                     kernel_bits=cfg.kernel_index_bits, origin_shape=origin,
                                     coord_shape=coord)
        m.submodules.address = address = OutputAddress(cfg, px * py, coord, out)
        m.submodules.arbiter = arbiter = BankArbiter(cfg)
        for p in range(px):
            m.d.comb += [pu.weights[p].eq(self.weights[p].value),
                         ccu.i[p].eq(self.weights[p].i), ccu.j[p].eq(self.weights[p].j)]
        for q in range(py):
            m.d.comb += [pu.inputs[q].eq(self.inputs[q].value),
                         ccu.m[q].eq(self.inputs[q].m), ccu.n[q].eq(self.inputs[q].n)]
        m.d.comb += [
            ccu.x0.eq(self.x0), ccu.y0.eq(self.y0),
            address.u.eq(ccu.u), address.v.eq(ccu.v), address.kbase.eq(self.kbase),
            address.ho.eq(self.ho), address.wo.eq(self.wo), address.wbo.eq(self.wbo),
        ]
        real_w = Cat(self.weights[p].value != 0 for p in range(px))
        real_x = Cat(self.inputs[q].value != 0 for q in range(py))
        for p in range(px):
            for q in range(py):
                lane = arbiter.i.payload[p * py + q]
                n = p * py + q
                m.d.comb += [
                    lane.valid.eq(real_w[p] & real_x[q] & address.inside[n]),
                    lane.bank.eq(address.bank[n]), lane.word.eq(address.word[n]),
                    lane.value.eq(pu.products[n]),
                ]
        m.d.comb += [
            arbiter.i.valid.eq(self.valid), self.ready.eq(arbiter.i.ready),
            self.stall.eq(arbiter.stall), self.banks.eq(arbiter.banks),
        ]
        return m
