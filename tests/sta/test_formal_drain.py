"""Proof of the stream handshake rules on the STA result drain's output, the engine's ``result``
stream (SymbiYosys + Z3 through :func:`sparseforge.gen.formal.check_component`).

:class:`~sparseforge.hdl.sta.drain.ResultDrain` under its input contract (its docstring): a TPE
never captures while :attr:`full`, and a TPE's result registers change only in the cycle after
it captures; ``results``, ``captured`` and ``o.ready`` are otherwise free in every cycle. On
``o``, ``valid`` is never withdrawn and the payload is stable while ``ready`` is low, in every
reachable state (k-induction, depth ``DEPTH``), for one and for two result banks (a 2×2 array of
2×1 TPEs, 4-bit accumulators). A drain that never reports a TPE full (so the TPE overwrites the
tile a stalled beat shows) is shown to fail.
"""

import pytest
from amaranth import Module
from amaranth.hdl import Assume
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from sparseforge.gen.config import parse_config
from sparseforge.gen.formal import assume_held, assume_no_reset, check_component, stream_rules
from sparseforge.hdl.sta.drain import ResultDrain

DEPTH = 4


def small_cfg(banks):
    return parse_config({"arch": "sta", "kind": "sta", "tpe": {"a": 2, "b": 1, "c": 1},
                         "array": {"m": 2, "n": 2}, "widths": {"act": 2, "weight": 2, "acc": 4},
                         "drain": {"rows": 1, "banks": banks}}, f"sta_drain_{banks}")


class DrainNeverFull(ResultDrain):
    """Mutant: never reports a TPE full, so the engine lets a TPE capture over a tile whose
    rows are still being delivered."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.comb += self.full.eq(0)
        return m


class DrainHandshake(wiring.Component):
    def __init__(self, dut):
        self.dut = dut
        members = dut.signature.members
        super().__init__({"results": In(members["results"].shape),
                          "captured": In(members["captured"].shape), "ready": In(1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = dut = self.dut
        cfg = dut._cfg
        assume_no_reset(m)
        m.d.comb += [dut.results.eq(self.results), dut.captured.eq(self.captured),
                     dut.o.ready.eq(self.ready)]
        for i in range(cfg.m):
            for j in range(cfg.n):
                m.d.comb += Assume(~(self.captured[i][j] & dut.full[i][j]))
                assume_held(m, self.results[i][j], unless=self.captured[i][j])
        stream_rules(m, dut.o.valid, dut.o.ready, dut.o.payload, name="o")
        return m


@pytest.mark.parametrize("banks", [1, 2])
def test_result_drain_keeps_the_handshake(banks):
    result = check_component(DrainHandshake(ResultDrain(small_cfg(banks))), depth=DEPTH,
                             mode="prove")
    assert result.status == "proved", result.log


def test_a_drain_letting_a_full_tpe_capture_is_caught():
    result = check_component(DrainHandshake(DrainNeverFull(small_cfg(2))), depth=DEPTH,
                             mode="prove")
    assert result.status == "failed"
