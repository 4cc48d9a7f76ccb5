"""On-chip SRAM of the accelerator: banks of ``amaranth.lib.memory`` with one read and one write
port each (a 1R1W macro; the activation banks of a two-row output stage have a second write
port), grouped into the double-buffered activation and weight SRAMs."""

from amaranth import Module
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["SramBank", "read_port_signature", "write_port_signature"]


def read_port_signature(addr_bits, width):
    """A synchronous read port: ``data`` holds the word at ``addr`` of the cycle ``en`` was high."""
    return wiring.Signature({"addr": Out(addr_bits), "en": Out(1), "data": In(width)})


def write_port_signature(addr_bits, width):
    return wiring.Signature({"addr": Out(addr_bits), "en": Out(1), "data": Out(width)})


class SramBank(wiring.Component):
    """One SRAM macro: ``depth`` words of ``width`` bits, one read and one write port, or with
    ``write_ports = 2`` a second write port ``wr2``.

    The two-write-port bank stands for a dual-port (2RW) macro: port A writes (``wr``), port B
    reads (``rd``) or writes (``wr2``); its user never enables ``rd`` and ``wr2`` in one cycle
    (the accelerator: :class:`.accelerator.Accelerator`, drain rows 2). Two writes to one address
    in a cycle are not allowed.

    ``sparseforge synth`` keeps it as a black box (the accelerator lists its instances,
    :meth:`.Accelerator.memory_macros`), as an ASIC flow with an SRAM compiler would, and reports
    its area from the per-bit model :data:`sparseforge.gen.synth.SRAM_UM2_PER_BIT`.

    Attributes
    ----------
    rd : In(read_port_signature)
        Read latency 1; a read and a write to the same address in one cycle read the old word.
    wr : In(write_port_signature)
    wr2 : In(write_port_signature)
        With ``write_ports = 2`` only.
    """

    def __init__(self, width, depth, write_ports=1):
        assert write_ports in (1, 2)
        self._width = width
        self._depth = depth
        self._write_ports = write_ports
        addr = max(1, (depth - 1).bit_length())
        second = {"wr2": In(write_port_signature(addr, width))} if write_ports == 2 else {}
        super().__init__({"rd": In(read_port_signature(addr, width)),
                          "wr": In(write_port_signature(addr, width)), **second})

    @property
    def bits(self):
        return self._width * self._depth

    def elaborate(self, platform):
        m = Module()
        m.submodules.mem = mem = memory.Memory(shape=self._width, depth=self._depth, init=[])
        rd = mem.read_port()
        wr = mem.write_port()
        m.d.comb += [
            rd.addr.eq(self.rd.addr), rd.en.eq(self.rd.en), self.rd.data.eq(rd.data),
            wr.addr.eq(self.wr.addr), wr.en.eq(self.wr.en), wr.data.eq(self.wr.data),
        ]
        if self._write_ports == 2:
            wr2 = mem.write_port()
            m.d.comb += [wr2.addr.eq(self.wr2.addr), wr2.en.eq(self.wr2.en),
                         wr2.data.eq(self.wr2.data)]
        return m
