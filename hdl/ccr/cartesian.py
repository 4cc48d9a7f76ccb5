"""SparseKI's PU: the Cartesian product of a weight vector and an input vector (CCR, Sec. IV-B,
Table I).

"As every scalar in I (a 1×1 input map) will be multiplied by every scalar in K (a 1×1 kernel),
the original convolution then, is transformed to Cartesian product of vectors." The ``P_x × P_y``
multipliers of the PU take ``P_x`` non-zero weights and ``P_y`` non-zero inputs.
"""

from amaranth import Module, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["CartesianProduct"]


class CartesianProduct(wiring.Component):
    """``products[p·P_y + q] = weights[p] · inputs[q]``. Combinational (latency 0).

    Parameters
    ----------
    px, py : int
        Vector lengths: ``P_x`` weights, ``P_y`` inputs.
    weight_width, act_width, product_width : int
        Two's-complement widths; products are exact, then wrapped to ``product_width``.

    Attributes
    ----------
    weights : In(ArrayLayout(signed(weight_width), P_x))
    inputs : In(ArrayLayout(signed(act_width), P_y))
    products : Out(ArrayLayout(signed(product_width), P_x·P_y))
    """

    def __init__(self, px, py, *, weight_width, act_width, product_width):
        for name, n in (("px", px), ("py", py)):
            if not isinstance(n, int) or n < 1:
                raise ValueError(f"Cartesian product {name} must be a positive integer, "
                                 f"not {n!r}")
        self._px, self._py = px, py
        super().__init__({
            "weights": In(data.ArrayLayout(signed(weight_width), px)),
            "inputs": In(data.ArrayLayout(signed(act_width), py)),
            "products": Out(data.ArrayLayout(signed(product_width), px * py)),
        })

    def elaborate(self, platform):
        m = Module()
        for p in range(self._px):
            for q in range(self._py):
                m.d.comb += self.products[p * self._py + q].eq(self.weights[p] * self.inputs[q])
        return m
