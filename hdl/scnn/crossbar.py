"""Scatter crossbar: F·I products to A accumulator banks, with arbitration (SCNN paper, Sec. 4.2).

"The F×I products are delivered to an array of A accumulator banks, indexed by the output
coordinates. To reduce contention among products that hash to the same accumulator bank, A is set
to be larger than F×I."
"""

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .layouts import request_layout

__all__ = ["ScatterCrossbar", "bank_port_layout", "products_layout"]


def products_layout(cfg):
    """The products of one vector pair: ``[f·I + i]`` requests, each with its ``valid`` bit."""
    fields = {name: field.shape for name, field in request_layout(cfg)}
    return data.ArrayLayout(data.StructLayout({"valid": 1, **fields}),
                            cfg.f * cfg.i)


def bank_port_layout(cfg):
    """What a bank receives in a cycle: ``en``, the ``entry`` to update and the ``addend``."""
    req = request_layout(cfg)
    return data.StructLayout({"en": 1, "entry": req["entry"].shape,
                              "addend": req["product"].shape})


class ScatterCrossbar(wiring.Component):
    """Route the products of a vector pair to their banks, one product per bank per cycle.

    The crossbar holds one vector pair. In each cycle every bank takes the lowest-numbered
    product still waiting for it (product ``f·I + i``); the others wait. When none of the pair's
    products waits any more, the crossbar takes the next pair in the same cycle. A pair whose
    busiest bank receives ``m`` products therefore occupies it ``max(1, m)`` cycles; every
    product is delivered exactly once.

    Attributes
    ----------
    i : In(stream.Signature(products_layout(cfg)))
        Vector pairs; a product with ``valid`` low (a zero operand, or a lane past the block) is
        not delivered. ``i.ready`` depends only on the crossbar's state.
    banks : Out(ArrayLayout(bank_port_layout(cfg), A))
        Per bank: ``en`` when a product is delivered this cycle, its ``entry`` and ``addend``.
    stall : Out(1)
        Products of the held pair still wait after this cycle (the multiplier array stalls).
    granted : Out(range(F·I + 1))
        Products delivered this cycle.
    busy : Out(1)
        The crossbar holds products not yet delivered.
    """

    def __init__(self, cfg):
        self._cfg = cfg
        super().__init__({
            "i": In(stream.Signature(products_layout(cfg))),
            "banks": Out(data.ArrayLayout(bank_port_layout(cfg), cfg.banks)),
            "stall": Out(1),
            "granted": Out(range(cfg.f * cfg.i + 1)),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        n = cfg.f * cfg.i
        held = Signal(products_layout(cfg))
        pending = Signal(n)

        # Each pending product as a one-hot request for its bank; bank b's candidates are bit b
        # of every request (a transpose: wiring only).
        wants = []
        for p in range(n):
            want = Signal(cfg.banks, name=f"want{p}")
            m.d.comb += want.eq(Mux(pending[p], 1 << held[p].bank, 0))
            wants.append(want)
        entries = Cat(held[p].entry for p in range(n))
        products = Cat(held[p].product for p in range(n))
        entry_bits = len(held[0].entry)
        product_bits = len(held[0].product)
        grant = 0
        for b in range(cfg.banks):
            port = self.banks[b]
            cand = Signal(n, name=f"cand{b}")
            first = Signal(n, name=f"first{b}")          # the lowest-numbered candidate, one-hot
            pick = Signal(range(n), name=f"pick{b}")      # and its number
            m.d.comb += [
                cand.eq(Cat(want[b] for want in wants)),
                first.eq(cand & (~cand + 1)),
                pick.eq(_encode(first, n)),
                port.en.eq(cand.any()),
                port.entry.eq(entries.word_select(pick, entry_bits)),
                port.addend.eq(products.word_select(pick, product_bits)),
            ]
            grant = grant | first
        granted = Signal(n)
        after = Signal(n)
        m.d.comb += [
            granted.eq(grant),
            after.eq(pending & ~granted),
            self.stall.eq(after.any()),
            self.i.ready.eq(~after.any()),
            self.granted.eq(sum(granted[p] for p in range(n))),
            self.busy.eq(pending.any()),
        ]

        with m.If(self.i.ready):
            m.d.sync += held.eq(self.i.payload)
            m.d.sync += pending.eq(0)
            with m.If(self.i.valid):
                m.d.sync += pending.eq(Cat(self.i.payload[p].valid for p in range(n)))
        with m.Else():
            m.d.sync += pending.eq(after)
        return m


def _encode(onehot, n):
    """The position of the set bit of a one-hot (or zero) value of ``n`` bits."""
    index = 0
    for p in range(1, n):
        index = index | Mux(onehot[p], p, 0)
    return index
