"""Proof of the stream handshake rules on CCR's OB read-out, the accelerator's ``m_axis_o``
(SymbiYosys + Z3 through :func:`sparseforge.gen.formal.check_component`).

:class:`~sparseforge.hdl.ccr.obreader.ObReader` (2×2 PU, 4-bit accumulators) under its input
contract (its docstring): AccUnit's read data changes only in the cycle after the reader's
``rd_en``, and ``words`` only in a cycle after one without a read-out; ``read``, ``busy`` and
``tready`` are free in every cycle. On ``o``, ``tvalid`` is never withdrawn and
``tdata``/``tlast`` are stable while ``tready`` is low, in every reachable state (k-induction,
depth ``DEPTH``). A reader that reads the next word while the shown one waits is shown to fail.
"""

from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from sparseforge.gen.ccr.config import parse_ccr
from sparseforge.gen.ccr.presets import CCR_PRESETS
from sparseforge.gen.formal import assume_held, assume_no_reset, check_component, stream_rules
from sparseforge.hdl.ccr.obreader import ObReader

DEPTH = 4


def small_cfg():
    raw = dict(CCR_PRESETS["ccr_sparse_k_small"][1])
    raw.update(pu={"x": 2, "y": 2}, widths={"acc": 4}, map_max=7, kernel_max=3,
               buffers={"ib_kb": 1, "kb_kb": 1, "ob_kb": 1})
    return parse_ccr(raw, "ccr_obreader_formal")


class ReaderPrefetching(ObReader):
    """Mutant: keeps AccUnit's read enabled while the shown word waits for ``tready``."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.comb += self.rd_en.eq(self.streaming)
        return m


class ReaderHandshake(wiring.Component):
    def __init__(self, dut):
        self.dut = dut
        members = dut.signature.members
        super().__init__({name: In(members[name].shape)
                          for name in ("read", "busy", "words", "rd_data")} | {"tready": In(1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = dut = self.dut
        assume_no_reset(m)
        m.d.comb += [getattr(dut, name).eq(getattr(self, name))
                     for name in ("read", "busy", "words", "rd_data")]
        m.d.comb += dut.o.tready.eq(self.tready)
        assume_held(m, self.rd_data, unless=dut.rd_en)
        assume_held(m, self.words, unless=~dut.streaming)
        stream_rules(m, dut.o.tvalid, dut.o.tready, dut.o.tdata, name="o")
        stream_rules(m, dut.o.tvalid, dut.o.tready, dut.o.tlast, name="o_last")
        return m


def test_ob_reader_keeps_the_handshake():
    result = check_component(ReaderHandshake(ObReader(small_cfg())), depth=DEPTH, mode="prove")
    assert result.status == "proved", result.log


def test_a_reader_prefetching_while_stalled_is_caught():
    result = check_component(ReaderHandshake(ReaderPrefetching(small_cfg())), depth=DEPTH,
                             mode="prove")
    assert result.status == "failed"
