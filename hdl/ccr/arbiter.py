"""SparseKI's contended scatter: a vector pair's products to the OB banks, one per bank per
cycle (CCR, Sec. IV-B).

"Notably, the randomness of the output coordinates will cause bank contention in AccUnit and the
Crossbar since multiple partial sums may hash to the same buffer banks." Each bank takes one
product per cycle by fixed priority (the lowest-numbered product waiting for it); the pair is
held, and the PU stalls, until every product has been delivered.
"""

from amaranth import Cat, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .layouts import bank_port_layout

__all__ = ["BankArbiter", "product_layout"]


def product_layout(cfg):
    """One product of a pair: ``valid`` (both operands real and the output in the window), its
    ``bank``, OB ``word`` and ``value``."""
    return data.StructLayout({"valid": 1, "bank": range(max(2, cfg.multipliers)),
                              "word": range(max(2, cfg.ob_bank_words)),
                              "value": signed(cfg.acc_width)})


class BankArbiter(wiring.Component):
    """Deliver a held pair's products to their banks, one product per bank per cycle.

    In every cycle each bank takes the lowest-numbered product still waiting for it; the others
    wait. When no product waits any more after this cycle, the arbiter takes the next pair in
    the same cycle (``i.ready``). A pair whose busiest bank receives ``L`` products therefore
    occupies it ``max(1, L)`` cycles, ``max(0, L − 1)`` of them with ``stall`` high; every
    product is delivered exactly once.

    Parameters
    ----------
    cfg : CcrConfig

    Attributes
    ----------
    i : In(stream.Signature(ArrayLayout(product_layout(cfg), P_x·P_y)))
        Pairs; ``i.ready`` depends only on the arbiter's state.
    banks : Out(ArrayLayout(bank_port_layout(cfg), P_x·P_y))
        Per bank: ``en`` when a product is delivered this cycle, its ``addr`` and ``addend``.
    stall : Out(1)
        Products of the held pair still wait after this cycle.
    """

    def __init__(self, cfg):
        self._cfg = cfg
        n = cfg.multipliers
        super().__init__({
            "i": In(stream.Signature(data.ArrayLayout(product_layout(cfg), n))),
            "banks": Out(data.ArrayLayout(bank_port_layout(cfg), n)),
            "stall": Out(1),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        n = banks = cfg.multipliers
        held = Signal(data.ArrayLayout(product_layout(cfg), n))
        pending = Signal(n)

        # Each pending product as a one-hot request for its bank; bank b's candidates are bit b
        # of every request (a transpose: wiring only).
        wants = []
        for p in range(n):
            want = Signal(banks, name=f"want{p}")
            m.d.comb += want.eq(Mux(pending[p], 1 << held[p].bank, 0))
            wants.append(want)
        words = Cat(held[p].word for p in range(n))
        values = Cat(held[p].value for p in range(n))
        word_bits, value_bits = len(held[0].word), len(held[0].value)
        grant = 0
        for b in range(banks):
            port = self.banks[b]
            cand = Signal(n, name=f"cand{b}")
            first = Signal(n, name=f"first{b}")          # the lowest-numbered candidate, one-hot
            pick = Signal(range(max(2, n)), name=f"pick{b}")
            m.d.comb += [
                cand.eq(Cat(want[b] for want in wants)),
                first.eq(cand & (~cand + 1)),
                pick.eq(_encode(first, n)),
                port.en.eq(cand.any()),
                port.addr.eq(words.word_select(pick, word_bits)),
                port.addend.eq(values.word_select(pick, value_bits)),
            ]
            grant = grant | first
        after = Signal(n)
        m.d.comb += [
            after.eq(pending & ~grant),
            self.stall.eq(after.any()),
            self.i.ready.eq(~after.any()),
        ]
        with m.If(self.i.ready):
            m.d.sync += [held.eq(self.i.payload), pending.eq(0)]
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
