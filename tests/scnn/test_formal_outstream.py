"""Proof of the stream handshake rules on SCNN's output streamer, the accelerator's
``m_axis_out`` (SymbiYosys + Z3 through :func:`sparseforge.gen.formal.check_component`).

:class:`~sparseforge.hdl.scnn.outstream.OutputStreamer` under its input contract (its
docstring): ``layer_start`` is not asserted while a beat is presented, and each PE's count
table and OARAM read ports behave as synchronous RAM reads (their ``data`` changes only in the
cycle after a read is enabled); ``k``, ``group_done``, the RAMs' contents and ``o.ready`` are
otherwise free in every cycle. On ``o``, ``valid`` is never withdrawn and the payload (row,
``dest``, ``last``) is stable while ``ready`` is low, in every reachable state (k-induction,
depth 4; 2 PEs, I = 2, tiles of 4 entries, 4 output channels, 4-bit accumulators). A streamer
that keeps its reads enabled while its beat is stalled is shown to fail (its first stalled beat
changes in cycle 3 from reset, so the base case of depth 4 finds it).
"""

from amaranth import Module
from amaranth.hdl import Assume
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from sparseforge.gen.config import parse_config
from sparseforge.gen.formal import assume_held, assume_no_reset, check_component, stream_rules
from sparseforge.hdl.scnn.outstream import OutputStreamer

DEPTH = 4


def small_cfg():
    return parse_config({"arch": "scnn", "pes": {"x": 2, "y": 1},
                         "pe": {"f": 1, "i": 2, "banks": 2, "bank_entries": 4, "queue_depth": 2},
                         "kc": 2, "tile": {"w": 2, "h": 2}, "kernel_max": 1,
                         "widths": {"act": 2, "weight": 2, "acc": 4},
                         "rams": {"iaram": 8, "oaram": 8, "weights": 4, "out_channels": 4}},
                        "scnn_outstream")


class StreamerReadingWhileStalled(OutputStreamer):
    """Mutant: its RAM reads stay enabled while the presented beat waits, so the next beat's
    row replaces it before it is taken."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        for n in range(self._cfg.pes):
            m.d.comb += [self.count_read[n].en.eq(1), self.out_read[n].en.eq(1)]
        return m


class StreamerHandshake(wiring.Component):
    def __init__(self, dut):
        self.dut = dut
        cfg = dut._cfg
        members = dut.signature.members
        count = members["count_read"].signature.members["data"].shape
        row = members["out_read"].signature.members["data"].shape
        super().__init__({"layer_start": In(1), "k": In(members["k"].shape),
                          "group_done": In(1), "ready": In(1),
                          "counts": In(count).array(cfg.pes), "rows": In(row).array(cfg.pes)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = dut = self.dut
        assume_no_reset(m)
        m.d.comb += [dut.layer_start.eq(self.layer_start), dut.k.eq(self.k),
                     dut.group_done.eq(self.group_done), dut.o.ready.eq(self.ready),
                     Assume(~(self.layer_start & dut.o.valid))]
        for n in range(dut._cfg.pes):
            m.d.comb += [dut.count_read[n].data.eq(self.counts[n]),
                         dut.out_read[n].data.eq(self.rows[n])]
            assume_held(m, self.counts[n], unless=dut.count_read[n].en)
            assume_held(m, self.rows[n], unless=dut.out_read[n].en)
        stream_rules(m, dut.o.valid, dut.o.ready, dut.o.payload, name="o")
        return m


def test_output_streamer_keeps_the_handshake():
    result = check_component(StreamerHandshake(OutputStreamer(small_cfg())), depth=DEPTH,
                             mode="prove")
    assert result.status == "proved", result.log


def test_a_streamer_reading_while_stalled_is_caught():
    result = check_component(StreamerHandshake(StreamerReadingWhileStalled(small_cfg())),
                             depth=DEPTH, mode="prove")
    assert result.status == "failed"
