"""RAM macros of the SCNN PE: :class:`RamBanks`, the accumulator banks; the single RAM and the
port signatures are shared (:mod:`sparseforge.hdl.common.rams`).
"""

from amaranth import Module, Shape
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from ..common.rams import Ram, read_port_signature, write_port_signature

__all__ = ["write_port_signature", "read_port_signature", "Ram", "RamBanks"]


class RamBanks(wiring.Component):
    """``banks`` independent ``depth × shape`` register files: bank ``b`` (a :class:`Ram`
    submodule ``bank{b}`` with one combinational read port, so area flows can keep each bank as a
    macro) has write port ``w[b]`` and read port ``r[b]``.

    Attributes
    ----------
    w : In(write_port_signature(shape, depth)).array(banks)
    r : In(read_port_signature(shape, depth, comb=True)).array(banks)
    """

    def __init__(self, shape, depth, banks):
        if not isinstance(banks, int) or banks < 1:
            raise TypeError(f"Bank count must be a positive integer, not {banks!r}")
        if not isinstance(depth, int) or depth < 1:
            raise TypeError(f"RAM depth must be a positive integer, not {depth!r}")
        self._shape = shape
        self._depth = depth
        self._banks = banks
        super().__init__({
            "w": In(write_port_signature(shape, depth)).array(banks),
            "r": In(read_port_signature(shape, depth, comb=True)).array(banks),
        })

    @property
    def bits(self):
        """Storage bits: banks × depth × row width."""
        return self._banks * self._depth * Shape.cast(self._shape).width

    def elaborate(self, platform):
        m = Module()
        for b in range(self._banks):
            bank = m.submodules[f"bank{b}"] = Ram(self._shape, self._depth, comb=True)
            wiring.connect(m, wiring.flipped(self.w[b]), bank.w)
            wiring.connect(m, wiring.flipped(self.r[b]), bank.r[0])
        return m
