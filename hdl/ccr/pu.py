"""The processing unit: a ``P_x × P_y`` mesh of PEs computing scalar × matrix (CCR, Sec. IV-A).

"A scalar of kernel and a matrix block of input map are fetched from their respective buffers.
Then they are fed into the PU which computes a scalar matrix multiplication, i.e. every element in
the matrix is multiplied by the scalar to form a P_x × P_y products."
"""

from amaranth import Module, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["ProcessingUnit"]


class ProcessingUnit(wiring.Component):
    """``P_x·P_y`` multipliers sharing one scalar. Combinational (latency 0).

    Parameters
    ----------
    lanes : int
        ``P_x·P_y``.
    scalar_width, lane_width, product_width : int
        Two's-complement widths; products are exact, then wrapped to ``product_width``.

    Attributes
    ----------
    scalar : In(signed(scalar_width))
    matrix : In(ArrayLayout(signed(lane_width), lanes))
    products : Out(ArrayLayout(signed(product_width), lanes))
        ``products[n] = scalar · matrix[n]`` modulo ``2**product_width``.
    """

    def __init__(self, lanes, *, scalar_width, lane_width, product_width):
        if not isinstance(lanes, int) or lanes < 1:
            raise ValueError(f"PU lanes must be a positive integer, not {lanes!r}")
        self._lanes = lanes
        super().__init__({
            "scalar": In(signed(scalar_width)),
            "matrix": In(data.ArrayLayout(signed(lane_width), lanes)),
            "products": Out(data.ArrayLayout(signed(product_width), lanes)),
        })

    def elaborate(self, platform):
        m = Module()
        for n in range(self._lanes):
            m.d.comb += self.products[n].eq(self.scalar * self.matrix[n])
        return m
