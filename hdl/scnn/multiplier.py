"""F×I multiplier array: the Cartesian product of F weights and I activations (SCNN, Sec. 3.1).

"A vector of F filter-weights fetched from the weight buffer and a vector of I inputs fetched from
the input activation buffer are delivered to an array of F×I multipliers to compute a full
Cartesian product (CP) of output partial-sums." Each weight is multicast to I multipliers and each
activation to F.
"""

from amaranth import Module, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["MultiplierArray"]


class MultiplierArray(wiring.Component):
    """All F·I products of a weight vector and an activation vector. Combinational.

    Parameters
    ----------
    f, i : int
        Vector lengths.
    weight_width, act_width : int
        Two's-complement operand widths.
    product_width : int
        Products are exact, then wrapped to this width (the accumulator's).

    Attributes
    ----------
    weights : In(ArrayLayout(signed(weight_width), f))
    acts : In(ArrayLayout(signed(act_width), i))
    products : Out(ArrayLayout(signed(product_width), f·i))
        ``products[f·I + i] = weights[f] · acts[i]`` modulo ``2**product_width``.
    """

    def __init__(self, f, i, *, weight_width, act_width, product_width):
        self._f, self._i = f, i
        super().__init__({
            "weights": In(data.ArrayLayout(signed(weight_width), f)),
            "acts": In(data.ArrayLayout(signed(act_width), i)),
            "products": Out(data.ArrayLayout(signed(product_width), f * i)),
        })

    def elaborate(self, platform):
        m = Module()
        for f in range(self._f):
            for i in range(self._i):
                m.d.comb += self.products[f * self._i + i].eq(self.weights[f] * self.acts[i])
        return m
