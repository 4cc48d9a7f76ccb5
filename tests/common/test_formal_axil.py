"""Proof of the handshake rules on the AXI4-Lite register file's response channels, every
accelerator's ``s_axil`` (``bvalid``/``bresp`` and ``rvalid``/``rdata``/``rresp``), with
:func:`sparseforge.gen.formal.prove_verilog`.

:class:`~sparseforge.hdl.common.axi.AxiLiteRegisterFile` is the one register file every
accelerator (accel, SCNN, CCR, SparseCore) instantiates with its own map; here it holds one
register of each access kind (``rw``, ``ro``, ``pulse``; 4 address bits). The request channels
(``aw``, ``w``, ``ar``) are assumed to keep the rules, every other input (the ``ro`` value) is
free: on ``b`` and ``r``, ``valid`` is never withdrawn and the response stable while ``ready`` is
low, in every reachable state (k-induction, depth 4). A register file that accepts a read
while its previous answer waits is shown to fail (reset, a read, a second read over the waiting
answer, the changed answer: cycle 3, so the base case of depth 4 finds it).
"""

from amaranth.back import verilog

from sparseforge.gen.emit import _ports
from sparseforge.gen.formal import prove_verilog
from sparseforge.hdl.common.axi import AxiLiteRegisterFile, Register

DEPTH = 4
REGISTERS = [Register("ctrl", 0x0, 8, doc="rw"), Register("status", 0x4, 8, "ro", doc="ro"),
             Register("start", 0x8, 1, "pulse", doc="pulse")]


class RegisterFileReadingOverAnswer(AxiLiteRegisterFile):
    """Mutant: always ready for a read address, so a new read overwrites a waiting answer."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.comb += self.bus.arready.eq(1)
        return m


def _prove(tmp_path, cls):
    top = cls(REGISTERS, addr_width=4)
    path = tmp_path / "regs.v"
    path.write_text(verilog.convert(top, name="regs", emit_src=False))
    return prove_verilog(path, "regs", _ports(top), depth=DEPTH)


def test_register_file_responses_keep_the_handshake(tmp_path):
    result = _prove(tmp_path, AxiLiteRegisterFile)
    assert {c.valid: c.direction for c in result.channels} == {
        "bus__awvalid": "in", "bus__wvalid": "in", "bus__bvalid": "out",
        "bus__arvalid": "in", "bus__rvalid": "out"}
    assert result.status == "proved", result.log


def test_a_register_file_reading_over_its_answer_is_caught(tmp_path):
    assert _prove(tmp_path, RegisterFileReadingOverAnswer).status == "failed"
