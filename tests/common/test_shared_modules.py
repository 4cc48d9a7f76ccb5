"""Each distinct sub-module written once (sparseforge.hdl.common.shared_modules).

The expected texts come from Amaranth's own Verilog back end (``amaranth.back.verilog.convert``),
not from the code under test; that the shared modules of the real designs compute what the flat
ones do is shown by the RTL regression (tests/test_regression.py), which simulates them.
"""

import re
import subprocess

from amaranth import Const, Module
from amaranth.back import verilog
from amaranth.hdl import EnableInserter
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from sparseforge.gen.toolchain import yosys_command
from sparseforge.hdl.common.sram_model import convert


class _Acc(wiring.Component):
    """An accumulator: ``total`` adds ``x`` every cycle."""

    def __init__(self, width=8):
        super().__init__({"x": In(width), "total": Out(width)})

    def elaborate(self, platform):
        m = Module()
        m.d.sync += self.total.eq(self.total + self.x)
        return m


class _Different(wiring.Component):
    """Two sub-modules of different widths: nothing to share."""

    def __init__(self):
        super().__init__({"x": In(8), "y": Out(8), "z": Out(4)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.wide = wide = _Acc(8)
        m.submodules.narrow = narrow = _Acc(4)
        m.d.comb += [wide.x.eq(self.x), narrow.x.eq(self.x[:4]),
                     self.y.eq(wide.total), self.z.eq(narrow.total)]
        return m


class _Chain(wiring.Component):
    """Three identical accumulators, one with a constant input, all stalled by ``en``."""

    def __init__(self):
        super().__init__({"x": In(8), "en": In(1), "a": Out(8), "b": Out(8), "c": Out(8)})

    def elaborate(self, platform):
        m = Module()
        inner = Module()
        accs = [_Acc(8) for _ in range(3)]
        for n, acc in enumerate(accs):
            inner.submodules[f"acc{n}"] = acc
        inner.d.comb += [accs[0].x.eq(self.x), accs[1].x.eq(accs[0].total),
                         accs[2].x.eq(Const(3, 8))]
        m.submodules.inner = EnableInserter(self.en)(inner)
        m.d.comb += [self.a.eq(accs[0].total), self.b.eq(accs[1].total),
                     self.c.eq(accs[2].total)]
        return m


def _modules(text):
    return re.findall(r"^module (\S+?)\s*\(", text, re.M)


def test_a_design_without_repeats_is_written_as_amaranth_writes_it():
    expected = verilog.convert(_Different(), name="diff", emit_src=False)
    assert convert(_Different(), "diff") == expected


def test_identical_sub_modules_are_written_once_and_instantiated():
    text = convert(_Chain(), "chain")
    flat = verilog.convert(_Chain(), name="chain", emit_src=False)
    assert len(_modules(flat)) == 5                 # chain, inner, acc0..acc2
    assert sorted(_modules(text)) == ["\\chain.inner", "\\chain.inner._Acc", "chain"]
    instances = re.findall(r"^\s*\\chain\.inner\._Acc\s+(acc\d) \(", text, re.M)
    assert instances == ["acc0", "acc1", "acc2"]
    assert ".x(8'h03)" in text        # the constant input is a port of the shared module
    assert convert(_Chain(), "chain") == text       # reproducible


def test_the_shared_design_is_equivalent_to_amaranths_flat_one(tmp_path):
    """Yosys proves the two equivalent (both flattened; ``equiv_induct`` over the registers)."""
    gold = verilog.convert(_Chain(), name="gold", emit_src=False)
    (tmp_path / "gold.v").write_text(gold)
    (tmp_path / "gate.v").write_text(convert(_Chain(), "gate"))
    script = """
        read_verilog gold.v; hierarchy -top gold; proc; flatten; design -stash gold
        read_verilog gate.v; hierarchy -top gate; proc; flatten; design -stash gate
        design -copy-from gold -as gold gold; design -copy-from gate -as gate gate
        equiv_make gold gate equiv; hierarchy -top equiv
        equiv_simple -seq 2; equiv_induct; equiv_status -assert
    """
    result = subprocess.run(yosys_command() + ["-q", "-p", script], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr + result.stdout


def test_a_kept_module_keeps_its_own_module_name():
    """Synthesis black-boxes the SRAM macros by module name: a kept one is not shared."""
    text = convert(_Chain(), "chain", keep=["chain.inner.acc1"])
    assert "\\chain.inner.acc1" in _modules(text)
    assert "\\chain.inner._Acc" in _modules(text)        # acc0 and acc2 are still one module
