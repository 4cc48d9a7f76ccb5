"""AMBA AXI4-Stream and AXI4-Lite for accelerator tops: signatures and a register file.

Signal names follow the AMBA specification (``tdata``, ``awaddr``, …); in the generated Verilog a
port ``s_axil`` becomes ``s_axil__awaddr`` and so on, which cocotbext-axi binds with
``AxiLiteBus.from_prefix(dut, "s_axil", bus_separator="__")``.
"""

from dataclasses import dataclass

from amaranth import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["axi_stream_signature", "axi_lite_signature", "Register", "AxiLiteRegisterFile",
           "RESP_OKAY", "RESP_SLVERR"]

RESP_OKAY = 0b00
RESP_SLVERR = 0b10


def axi_stream_signature(data_width, *, dest_width=0, user_width=0):
    """AXI4-Stream as seen by the transmitter: ``tdata``, ``tvalid``, ``tlast`` out, ``tready`` in.

    ``tdest`` and ``tuser`` are present when their widths are non-zero. A receiving port is
    ``In(axi_stream_signature(...))``.
    """
    members = {"tdata": Out(data_width), "tvalid": Out(1), "tready": In(1), "tlast": Out(1)}
    if dest_width:
        members["tdest"] = Out(dest_width)
    if user_width:
        members["tuser"] = Out(user_width)
    return wiring.Signature(members)


def axi_lite_signature(addr_width, data_width=32):
    """AXI4-Lite as seen by the manager (the five channels, without ``prot``)."""
    return wiring.Signature({
        "awaddr": Out(addr_width), "awvalid": Out(1), "awready": In(1),
        "wdata": Out(data_width), "wstrb": Out(data_width // 8), "wvalid": Out(1),
        "wready": In(1),
        "bresp": In(2), "bvalid": In(1), "bready": Out(1),
        "araddr": Out(addr_width), "arvalid": Out(1), "arready": In(1),
        "rdata": In(data_width), "rresp": In(2), "rvalid": In(1), "rready": Out(1),
    })


@dataclass(frozen=True)
class Register:
    """One register of a register map.

    Attributes
    ----------
    name : str
        Port name on the register file and key in the manifest's register map.
    offset : int
        Byte offset, a multiple of 4.
    width : int
        1 to 32 bits; the rest of the word reads as zero.
    access : str
        ``"rw"``: a control register the bus writes and reads back (an ``Out`` port);
        ``"ro"``: a status register the hardware drives (an ``In`` port);
        ``"pulse"``: writing 1 to bit 0 pulses the ``Out(1)`` port for one cycle (reads 0).
    init : int
        Reset value of an ``rw`` register.
    doc : str
        One line for the manifest.
    """

    name: str
    offset: int
    width: int = 32
    access: str = "rw"
    init: int = 0
    doc: str = ""

    def __post_init__(self):
        if self.access not in ("rw", "ro", "pulse"):
            raise ValueError(f"Register access must be 'rw', 'ro' or 'pulse', "
                             f"not {self.access!r}")
        if not 1 <= self.width <= 32:
            raise ValueError(f"Register width must be from 1 to 32, not {self.width!r}")
        if self.offset % 4:
            raise ValueError(f"Register offset must be a multiple of 4, not {self.offset!r}")


class AxiLiteRegisterFile(wiring.Component):
    """An AXI4-Lite subordinate holding a register map.

    Writes take the address and data channels together and answer ``OKAY`` (``SLVERR`` at an
    address with no register, or writing a read-only one); byte strobes apply to ``rw`` registers.
    Reads answer the register's value (``SLVERR`` and zero at an unmapped address). One
    transaction of each kind is in flight at a time; both channels accept a request in the cycle
    it is offered when no response is pending, so a write takes two cycles and a read two.

    Parameters
    ----------
    registers : sequence of :class:`Register`
    addr_width : int

    Attributes
    ----------
    bus : In(axi_lite_signature(addr_width))
    <name> : one port per register, ``Out`` for ``rw`` and ``pulse``, ``In`` for ``ro``.
    """

    def __init__(self, registers, *, addr_width=12):
        registers = list(registers)
        offsets = [reg.offset for reg in registers]
        if len(set(offsets)) != len(offsets):
            raise ValueError("Register offsets must be unique")
        names = [reg.name for reg in registers]
        if len(set(names)) != len(names) or "bus" in names:
            raise ValueError("Register names must be unique and not 'bus'")
        if max(offsets, default=0) >= 1 << addr_width:
            raise ValueError(f"Register offsets must fit {addr_width} address bits")
        self._registers = registers
        self._addr_width = addr_width
        members = {"bus": In(axi_lite_signature(addr_width))}
        for reg in registers:
            members[reg.name] = (In(reg.width) if reg.access == "ro" else
                                 Out(1 if reg.access == "pulse" else reg.width, init=reg.init))
        super().__init__(members)

    @property
    def registers(self):
        return tuple(self._registers)

    def elaborate(self, platform):
        m = Module()
        bus = self.bus

        # Write: accept address and data together, then hold the response until taken.
        write = Signal()
        m.d.comb += [
            write.eq(bus.awvalid & bus.wvalid & ~bus.bvalid),
            bus.awready.eq(write),
            bus.wready.eq(write),
        ]
        for reg in self._registers:
            if reg.access == "pulse":
                m.d.sync += getattr(self, reg.name).eq(0)
        with m.If(bus.bvalid & bus.bready):
            m.d.sync += bus.bvalid.eq(0)
        with m.If(write):
            m.d.sync += [bus.bvalid.eq(1), bus.bresp.eq(RESP_SLVERR)]
            word = bus.awaddr[2:]
            # Independent ifs, not a case: Verilator -Wall flags a case that misses values.
            for reg in self._registers:
                with m.If(word == reg.offset // 4):
                    port = getattr(self, reg.name)
                    if reg.access == "ro":
                        continue
                    m.d.sync += bus.bresp.eq(RESP_OKAY)
                    if reg.access == "pulse":
                        m.d.sync += port.eq(bus.wdata[0] & bus.wstrb[0])
                        continue
                    for byte in range((reg.width + 7) // 8):
                        lo, hi = 8 * byte, min(8 * byte + 8, reg.width)
                        with m.If(bus.wstrb[byte]):
                            m.d.sync += port[lo:hi].eq(bus.wdata[lo:hi])

        # Read: accept the address, answer the next cycle, hold until taken.
        m.d.comb += bus.arready.eq(~bus.rvalid)
        with m.If(bus.rvalid & bus.rready):
            m.d.sync += bus.rvalid.eq(0)
        with m.If(bus.arvalid & bus.arready):
            m.d.sync += [bus.rvalid.eq(1), bus.rresp.eq(RESP_SLVERR), bus.rdata.eq(0)]
            for reg in self._registers:
                with m.If(bus.araddr[2:] == reg.offset // 4):
                    m.d.sync += bus.rresp.eq(RESP_OKAY)
                    if reg.access != "pulse":
                        m.d.sync += bus.rdata.eq(getattr(self, reg.name))
        return m
