"""Proof of the stream handshake rules on SparseCore's output merge, the accelerator's
``m_axis_out`` (SymbiYosys + Z3 through :func:`sparseforge.gen.formal.check_component`).

:class:`~sparseforge.hdl.sparsecore.outmerge.OutputMerge` (2 PEs, chunks of 4 channels) under its
input contract (its docstring): each PE's stream keeps the handshake rules, and ``chunk_of``
does not change while a beat waits; the PEs' beats and valids and ``tready`` are otherwise free
in every cycle. On ``m_axis_out``, ``tvalid`` is never withdrawn and ``tdata`` is stable while
``tready`` is low, in every reachable state (k-induction, depth ``DEPTH``).

The mutant is the merge as the accelerator had it before this proof — ``tvalid`` the OR of the
PEs' valids, every PE's lane in ``tdata`` as it is, every PE ready with ``tready`` — which the
check shows failing: a PE whose beat becomes pending while another's waits changes ``tdata``
under a waiting ``tvalid`` (AXI4-Stream requires it stable). The bench never saw it, since it
samples ``tdata`` only at the handshake.
"""

from amaranth import Module, Signal
from amaranth.hdl import Assume
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from sparseforge.gen.config import parse_config
from sparseforge.gen.formal import assume_held, assume_no_reset, check_component, stream_rules
from sparseforge.hdl.sparsecore.layouts import out_layout
from sparseforge.hdl.sparsecore.outmerge import OutputMerge

DEPTH = 3


def cfg():
    """2 PEs of 2 ALUs, chunks of 4 channels, 3×3 maps: 47-bit beats, a 98-bit ``tdata``."""
    return parse_config({"arch": "sparsecore", "pes": 2, "alus_per_pe": 2, "k": 1, "m": 2,
                         "band_rows": 2, "requant_lanes": 2,
                         "limits": {"h": 3, "w": 3, "c": 4, "k": 4, "kernel": 1},
                         "memories": {"act_kib": 1, "weight_kib": 1, "acc_kib": 1}},
                        "sparsecore_merge_formal")


class MergeAsBefore(OutputMerge):
    """Mutant: the merge before the fix (lanes join a waiting beat)."""

    def elaborate(self, platform):
        m = Module()
        out = Signal(out_layout(self._cfg))
        for p, i in enumerate(self.i):
            m.d.comb += [i.ready.eq(self.o.tready), out[p].valid.eq(i.valid),
                         out[p].chunk.eq(self.chunk_of[p]), out[p].beat.eq(i.payload)]
        m.d.comb += [self.o.tdata.eq(out.as_value()),
                     self.o.tvalid.eq(sum(i.valid for i in self.i) != 0), self.o.tlast.eq(1)]
        return m


class MergeHandshake(wiring.Component):
    def __init__(self, dut):
        self.dut = dut
        pes = dut._cfg.pes
        payload = dut.signature.members["i"].signature.members["payload"].shape
        super().__init__({"valid": In(pes), "payload": In(payload).array(pes),
                          "chunk_of": In(dut.signature.members["chunk_of"].shape),
                          "tready": In(1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = dut = self.dut
        assume_no_reset(m)
        o = dut.o
        m.d.comb += [dut.chunk_of.eq(self.chunk_of), o.tready.eq(self.tready)]
        for p, i in enumerate(dut.i):
            m.d.comb += [i.valid.eq(self.valid[p]), i.payload.eq(self.payload[p])]
            stream_rules(m, i.valid, i.ready, i.payload, check=Assume, name=f"i{p}")
        assume_held(m, self.chunk_of, unless=~(o.tvalid & ~o.tready))
        stream_rules(m, o.tvalid, o.tready, o.tdata, name="o")
        return m


def test_output_merge_keeps_the_handshake():
    result = check_component(MergeHandshake(OutputMerge(cfg())), depth=DEPTH, mode="prove")
    assert result.status == "proved", result.log


def test_the_merge_as_it_was_is_caught():
    result = check_component(MergeHandshake(MergeAsBefore(cfg())), depth=DEPTH, mode="prove")
    assert result.status == "failed"
