"""The test-only dot-product unit: one beat of ``lanes`` operand pairs per cycle."""

from amaranth import Module, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["DotUnit"]


class DotUnit(wiring.Component):
    """Sum of products over the beats of a job, wrapping modulo ``2**acc_width``.

    Attributes
    ----------
    i : stream of ``{a, w, last}``
        ``lanes`` activations and weights; ``last`` ends a job.
    o : stream of ``signed(acc_width)``
        One sum per job, valid the cycle after the job's last beat is accepted.
    """

    def __init__(self, cfg):
        self.cfg = cfg
        beat = data.StructLayout({"a": data.ArrayLayout(signed(cfg.act_width), cfg.lanes),
                                  "w": data.ArrayLayout(signed(cfg.weight_width), cfg.lanes),
                                  "last": 1})
        super().__init__({"i": In(stream.Signature(beat)),
                          "o": Out(stream.Signature(signed(cfg.acc_width)))})

    def manifest_details(self):
        return {"macs_total": self.cfg.lanes}

    def elaborate(self, platform):
        m = Module()
        acc = Signal(signed(self.cfg.acc_width))
        beat = self.i.payload
        total = acc + sum(beat.a[k] * beat.w[k] for k in range(self.cfg.lanes))
        m.d.comb += self.i.ready.eq(~self.o.valid | self.o.ready)
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(self.i.valid & self.i.ready):
            with m.If(beat.last):
                m.d.sync += [self.o.payload.eq(total), self.o.valid.eq(1), acc.eq(0)]
            with m.Else():
                m.d.sync += acc.eq(total)
        return m
