"""The area flow's black-box PEs (hdl/common/blackbox.py, ``SparseCoreAccelerator(pe_blackbox=)``):
the stub module declares exactly the ports of the real PE's Verilog (names, directions, widths),
and the black-box top instantiates it once per PE with every port connected."""

import re

from amaranth.back import verilog

from sparseforge.hdl.common.blackbox import stub_verilog
from sparseforge.hdl.sparsecore.accelerator import SparseCoreAccelerator
from sparseforge.hdl.sparsecore.pe import SparseCorePE, pe_signature

from .test_sparsecore_top import small_cfg

_DECL = re.compile(r"^\s*(input|output)\s+(?:wire\s+)?(?:\[(\d+):0\]\s+)?\\?(\S+?);", re.M)


def _module(text, name):
    start = re.search(rf"^module \\?{re.escape(name)}\(", text, re.M).start()
    return text[start:text.index("endmodule", start)]


def _ports(module_text):
    return sorted((d, name, int(msb) + 1 if msb else 1) for d, msb, name in _DECL.findall(
        module_text))


def test_stub_ports_are_the_real_pe_ports():
    cfg = small_cfg()
    entries, ptrs = cfg.act_entries, cfg.max_h * cfg.max_segments
    real = verilog.convert(SparseCorePE(cfg, entries, ptrs), name="pe", emit_src=False)
    stub = stub_verilog("pe", pe_signature(cfg, entries, ptrs))
    expected = _ports(_module(real, "pe"))
    assert len(expected) > 20                     # the parse found the PE's ports
    assert _ports(stub) == expected
    assert stub.startswith("(* blackbox *)\nmodule pe(")


def test_blackbox_top_instantiates_the_stub_per_pe():
    cfg = small_cfg()
    top = SparseCoreAccelerator(cfg, pe_blackbox="sc_pe")
    text = verilog.convert(top, name="top", emit_src=False)
    assert not re.search(r"^module \\?top\.pe\d+\.", text, re.M)    # nothing of a PE's body
    instances = re.findall(r"^\s*sc_pe \\?\S+ \((.*?)\);", text, re.M | re.S)
    assert len(instances) == cfg.pes
    stub = SparseCoreAccelerator.pe_stub_verilog(cfg, "sc_pe")
    stub_ports = {name for _d, name, _w in _ports(stub)}
    for conns in instances:
        assert set(re.findall(r"\.(\w+)\(", conns)) == stub_ports
