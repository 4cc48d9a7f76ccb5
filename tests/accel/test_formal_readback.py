"""Proof of the stream handshake rules on the accelerator's readback, its ``m_axis_out``
(SymbiYosys + Z3 through :func:`sparseforge.gen.formal.check_component`).

:class:`~sparseforge.hdl.accel.loaders.Readback` (elaborated from the ``accel_test`` regression
design) with every input free in every cycle — ``start``, ``base``, ``blocks``, ``count``,
``blocked``, the SRAM's read data and ``tready``: it needs no input contract, since its beats
come out of its own FIFO. On ``m_axis``, ``tvalid`` is never withdrawn and ``tdata``/``tlast``
are stable while ``tready`` is low for the first 5 cycles from reset (BMC depth 5: k-induction
does not close at depths the suite can afford, as its FIFO's counters admit unreachable states).
A readback that pops its FIFO whatever ``tready`` says is shown to fail (its first word is
offered in cycle 3 from ``start``; popped under a low ``tready``, the next one shows in cycle 4).
"""

from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from sparseforge.gen.config import parse_config
from sparseforge.gen.formal import assume_no_reset, check_component, stream_rules
from sparseforge.hdl.accel.loaders import Readback

DEPTH = 5


def cfg():
    """The smallest accelerator: one 1×2×2 STA TPE, 16-bit SRAM words (B = 2 INT8), 4 banks."""
    return parse_config({"arch": "accel", "array": {"kind": "sta", "tpe": {"a": 1, "b": 2, "c": 2},
                                                    "array": {"m": 1, "n": 1}},
                         "sram": {"act_kb": 1, "weight_kb": 1}, "im2col": False},
                        "accel_readback_formal")


class ReadbackIgnoringReady(Readback):
    """Mutant: pops a word from its FIFO every cycle, taken or not."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.comb += m.submodules.out.r_en.eq(1)
        return m


class ReadbackHandshake(wiring.Component):
    def __init__(self, dut):
        self.dut = dut
        members = dut.signature.members
        inputs = [name for name, member in members.items()
                  if member.is_port and member.flow == In]
        self._inputs = inputs
        super().__init__({name: In(members[name].shape) for name in inputs} | {"tready": In(1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = dut = self.dut
        assume_no_reset(m)
        m.d.comb += [getattr(dut, name).eq(getattr(self, name)) for name in self._inputs]
        axis = dut.m_axis
        m.d.comb += axis.tready.eq(self.tready)
        stream_rules(m, axis.tvalid, axis.tready, axis.tdata, name="m_axis")
        stream_rules(m, axis.tvalid, axis.tready, axis.tlast, name="m_axis_last")
        return m


def test_readback_keeps_the_handshake():
    result = check_component(ReadbackHandshake(Readback(cfg())), depth=DEPTH)
    assert result.status == "proved", result.log


def test_a_readback_popping_while_stalled_is_caught():
    result = check_component(ReadbackHandshake(ReadbackIgnoringReady(cfg())), depth=DEPTH)
    assert result.status == "failed"
