"""``sparseforge formal``: the handshake proof finds broken channels and proves correct ones.

The properties are checked on small hand-written components first — one that keeps the rules (a
stream register), one that withdraws ``valid`` and one that changes its payload while stalled —
so the proof is shown able to fail; then on a generated design through the command.
"""

import json

import pytest

from amaranth import Module
from amaranth.back import verilog
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from sparseforge.gen.cli import main
from sparseforge.gen.emit import _ports
from sparseforge.gen.formal import channels_of, check_component, prove_verilog


class StreamRegister(wiring.Component):
    """A one-entry stream buffer; ``fault`` breaks one rule on purpose."""

    def __init__(self, fault=None):
        self.fault = fault
        super().__init__({"i": In(stream.Signature(8)), "o": Out(stream.Signature(8)),
                          "noise": In(1)})

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.i.ready.eq(~self.o.valid | self.o.ready)
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += [self.o.valid.eq(1), self.o.payload.eq(self.i.payload)]
        with m.Elif(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        if self.fault == "withdraw":             # drops valid on a whim while stalled
            with m.If(self.noise & ~self.o.ready):
                m.d.sync += self.o.valid.eq(0)
        if self.fault == "payload":              # overwrites the held value while stalled
            with m.If(self.noise & ~self.o.ready & self.o.valid):
                m.d.sync += self.o.payload.eq(self.o.payload + 1)
        return m


def _prove(tmp_path, fault):
    top = StreamRegister(fault)
    ports = _ports(top)
    path = tmp_path / f"reg_{fault}.v"
    path.write_text(verilog.convert(top, name="reg_top", emit_src=False))
    return prove_verilog(path, "reg_top", ports, depth=4, work_dir=tmp_path / f"sby_{fault}")


def test_channels_of_the_ports():
    top = StreamRegister()
    top._MustUse__silence = True            # asked for its ports, never elaborated
    ports = _ports(top)
    channels = {c.valid: c for c in channels_of(ports)}
    assert set(channels) == {"i__valid", "o__valid"}
    assert channels["o__valid"].direction == "out" and channels["o__valid"].payload == (
        "o__payload",)
    axi = [{"name": n, "direction": d, "width": 1} for n, d in (
        ("s_axil__awvalid", "in"), ("s_axil__awready", "out"), ("s_axil__awaddr", "in"),
        ("s_axil__rvalid", "out"), ("s_axil__rready", "in"), ("s_axil__rdata", "out"),
        ("s_axil__rresp", "out"), ("m_axis__tvalid", "out"), ("m_axis__tready", "in"),
        ("m_axis__tdata", "out"), ("m_axis__tlast", "out"))]
    found = {c.valid: (c.direction, c.payload) for c in channels_of(axi)}
    assert found == {"s_axil__awvalid": ("in", ("s_axil__awaddr",)),
                     "s_axil__rvalid": ("out", ("s_axil__rdata", "s_axil__rresp")),
                     "m_axis__tvalid": ("out", ("m_axis__tdata", "m_axis__tlast"))}


def test_a_correct_stream_register_is_proved(tmp_path):
    assert _prove(tmp_path, None).status == "proved"


def test_a_withdrawn_valid_is_caught(tmp_path):
    result = _prove(tmp_path, "withdraw")
    assert result.status == "failed" and result.log


def test_a_changing_payload_is_caught(tmp_path):
    assert _prove(tmp_path, "payload").status == "failed"


def test_formal_command_proves_a_generated_design(capsys):
    assert main(["formal", "sa_1x1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "proved"
    assert {c["valid"]: c["driven_by"] for c in report["channels"]} == {
        "job__valid": "environment", "act__valid": "environment",
        "weight__valid": "environment", "result__valid": "design"}
    assert main(["formal", "sa_1x1", "--depth", "0"]) == 2


def test_check_component_rejects_a_bad_mode_or_depth():
    top = StreamRegister()
    top._MustUse__silence = True
    with pytest.raises(ValueError, match="Formal mode must be 'bmc' or 'prove', not 'cover'"):
        check_component(top, depth=2, mode="cover")
    with pytest.raises(ValueError, match="Formal depth must be a positive integer, not 0"):
        check_component(top, depth=0)
