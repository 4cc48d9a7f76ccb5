"""Proof that CCR's accumulation unit never loses an update (SymbiYosys + Z3 through
:func:`sparseforge.gen.formal.check_component`).

:class:`~sparseforge.hdl.ccr.accunit.AccUnit` with P_x = P_y = 2 (four OB banks), 4-bit
accumulators and 4 words a bank; every input free in every cycle but for the block's contract
(updates, ``clear`` and ``rd_en`` never in the same cycle). For a watched word (a free
constant address) of every bank, a shadow starts unknown, becomes zero when the word is cleared
and adds every update's addend to it; a read of the word returns exactly the shadow (when known),
whatever the spacing of clears, updates and reads — including a clear in the cycle right after
an update, and an update or a read right after a clear or an update. BMC depth 6 (clear, update,
clear of another word, read, result: the mutant fails in cycle 4; depth 7 takes the solver about
three times as long). The unit as it was (a clear
written in its own cycle, taking the write port from the previous cycle's update, which is lost)
is kept here as the mutant and shown to fail.

The OB is cut to 4 words a bank (a config subclass overriding ``ob_bank_words``; every other
parameter is the real config's) so that the solver is quick.
"""

from dataclasses import fields

from amaranth import Module, Mux, Signal, signed
from amaranth.hdl import Assert, Assume
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from sparseforge.gen.ccr.config import parse_ccr
from sparseforge.gen.ccr.presets import CCR_PRESETS
from sparseforge.gen.formal import assume_constant, assume_no_reset, check_component
from sparseforge.hdl.ccr.accunit import AccUnit
from sparseforge.hdl.ccr.buffer import Buffer

DEPTH = 6
WORDS = 4


def small_cfg():
    raw = dict(CCR_PRESETS["ccr_sparse_k_small"][1])
    raw.update(pu={"x": 2, "y": 2}, widths={"acc": 4}, map_max=7, kernel_max=3,
               buffers={"ib_kb": 1, "kb_kb": 1, "ob_kb": 1})
    cfg = parse_ccr(raw, "ccr_accunit_formal")

    class SmallOb(type(cfg)):
        ob_bank_words = WORDS

    return SmallOb(**{f.name: getattr(cfg, f.name) for f in fields(cfg)})


class AccUnitClearingAtOnce(AccUnit):
    """Mutant (the unit before the fix): ``clear`` writes in the cycle it is issued, taking the
    write port from the previous cycle's update, whose write-back is lost."""

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        acc = signed(cfg.acc_width)
        for b in range(cfg.multipliers):
            port = self.banks[b]
            bank = m.submodules[f"ob_{b}"] = Buffer(acc, cfg.ob_bank_words, transparent=True)
            w_addr = Signal.like(bank.wr_addr, name=f"w_addr_{b}")
            w_en = Signal(name=f"w_en_{b}")
            w_add = Signal(acc, name=f"w_add_{b}")
            m.d.sync += [w_addr.eq(port.addr), w_en.eq(port.en), w_add.eq(port.addend)]
            m.d.comb += [
                bank.rd_addr.eq(Mux(self.rd_en, self.rd_addr, port.addr)),
                bank.rd_en.eq(port.en | self.rd_en),
                self.rd_data[b].eq(bank.rd_data),
                bank.wr_addr.eq(Mux(self.clear, self.clear_addr, w_addr)),
                bank.wr_data.eq(Mux(self.clear, 0, bank.rd_data + w_add)),
                bank.wr_en.eq(self.clear | w_en),
            ]
        return m


class NoUpdateLost(wiring.Component):
    def __init__(self, dut):
        self.dut = dut
        members = dut.signature.members
        super().__init__({name: In(members[name].shape) for name in (
            "banks", "clear", "clear_addr", "rd_en", "rd_addr")} |
            {"watch": In(members["rd_addr"].shape)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = dut = self.dut
        cfg = dut._cfg
        assume_no_reset(m)
        assume_constant(m, self.watch)
        for name in ("banks", "clear", "clear_addr", "rd_en", "rd_addr"):
            m.d.comb += getattr(dut, name).eq(getattr(self, name))
        update = self.banks[0].en
        for b in range(1, cfg.multipliers):
            update = update | self.banks[b].en
        m.d.comb += Assume((update + self.clear + self.rd_en) <= 1)   # one kind a cycle

        reading = Signal()
        m.d.sync += reading.eq(self.rd_en & (self.rd_addr == self.watch))
        for b in range(cfg.multipliers):
            port = self.banks[b]
            known = Signal(name=f"known{b}")
            shadow = Signal(signed(cfg.acc_width), name=f"shadow{b}")
            expected = Signal(signed(cfg.acc_width), name=f"expected{b}")
            expected_known = Signal(name=f"expected_known{b}")
            with m.If(self.clear & (self.clear_addr == self.watch)):
                m.d.sync += [known.eq(1), shadow.eq(0)]
            with m.Elif(port.en & (port.addr == self.watch)):
                m.d.sync += shadow.eq(shadow + port.addend)
            m.d.sync += [expected.eq(shadow), expected_known.eq(known)]
            with m.If(reading & expected_known):
                m.d.comb += Assert(dut.rd_data[b] == expected)
        return m


def test_accunit_never_loses_an_update():
    result = check_component(NoUpdateLost(AccUnit(small_cfg())), depth=DEPTH)
    assert result.status == "proved", result.log


def test_a_clear_taking_the_write_back_is_caught():
    result = check_component(NoUpdateLost(AccUnitClearingAtOnce(small_cfg())), depth=DEPTH)
    assert result.status == "failed"
