"""A SparseCore PE: tap sequencer, weight-local memory, ALUs, accumulation buffer and streaming
post-processor (*SparseCore*, Sec. 3 and Fig. 2: "each PE is assigned an output depth chunk as a
work unit").

The PE keeps its chunk's compressed weights for the whole layer (weight-local) and its partial
sums in its accumulation buffer until the band is complete (output stationary). Per job the
pipeline is two stages: S0 presents the weight row ``(c, r, s)`` and the accumulation row of the
output pixel to their synchronous memories; S1 multiplies the activation by the ``k`` weights of
each group and writes the row back (the buffer's read port is transparent to its write port, so
back-to-back jobs on one pixel need no stall). When the sequencer is done, the post-processor
drains the band; the PE is free again once its last beat has been taken.
"""

from amaranth import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..common.rams import Ram, read_port_signature, write_port_signature
from .accbuf import AccumulationBuffer
from .alus import AluArray
from .layouts import (act_entry_layout, beat_layout, layer_layout, pointer_layout,
                      requant_row_layout, weight_row_layout)
from .postproc import PostProcessor
from .sequencer import TapSequencer

__all__ = ["SparseCorePE", "pe_signature", "weight_rows"]


def weight_rows(cfg):
    """Rows of a PE's weight memory: one per ``(c, r, s)`` of the largest layer."""
    return cfg.max_c * cfg.kernel_max ** 2


def pe_signature(cfg, entries_depth, ptr_depth):
    """The signature of a :class:`SparseCorePE` (its ports, for a black box standing for it)."""
    nbands = -(-cfg.max_h // cfg.band_rows)
    return wiring.Signature({
        "start": In(1), "band": In(range(max(2, nbands))),
        "layer": In(layer_layout(cfg)),
        "rq_load": In(write_port_signature(requant_row_layout(cfg),
                                           cfg.chunk // cfg.requant_lanes)),
        "channels": In(range(cfg.chunk + 1)),
        "w_load": In(write_port_signature(weight_row_layout(cfg), weight_rows(cfg))),
        "ptr": Out(read_port_signature(pointer_layout(cfg, entries_depth), ptr_depth)),
        "entries": Out(read_port_signature(act_entry_layout(cfg), entries_depth)),
        "o": Out(stream.Signature(beat_layout(cfg))),
        "busy": Out(1), "job": Out(1),
    })


class SparseCorePE(wiring.Component):
    """Attributes
    ----------
    start : In(1), band : In(range)
        Begin the unit of ``band`` (one cycle; ignored while ``busy``).
    layer : In(layer_layout(cfg))
    rq_load : In(write_port_signature(requant_row_layout, chunk / requant_lanes))
        Loads the chunk's requantization (row ``n``: channels ``n·requant_lanes …``).
    channels : In(range(chunk + 1))
        Output channels of the chunk that exist (the post-processor drops the others).
    w_load : In(write_port_signature(weight_row_layout, weight_rows))
        Loads the chunk's weights (row ``c·kernel_max² + r·kernel_max + s``) before the layer.
    ptr, entries : Out(read_port_signature(...))
        Read ports into the index and activation memories.
    o : Out(stream.Signature(beat_layout(cfg)))
    busy : Out(1)
        High from the cycle after ``start`` to the cycle its last beat is taken.
    job : Out(1)
        An ALU cycle (statistics).
    """

    def __init__(self, cfg, entries_depth, ptr_depth):
        self._cfg = cfg
        self._entries_depth = entries_depth
        self._ptr_depth = ptr_depth
        super().__init__(pe_signature(cfg, entries_depth, ptr_depth))

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        m.submodules.seq = seq = TapSequencer(cfg, self._entries_depth, self._ptr_depth)
        m.submodules.wmem = wram = Ram(weight_row_layout(cfg), weight_rows(cfg))
        m.submodules.alus = alus = AluArray(cfg)
        m.submodules.accbuf = acc = AccumulationBuffer(cfg)
        m.submodules.pp = pp = PostProcessor(cfg)
        m.submodules.rqmem = rqmem = Ram(requant_row_layout(cfg), cfg.chunk // cfg.requant_lanes)
        wiring.connect(m, wiring.flipped(self.rq_load), rqmem.w)
        wiring.connect(m, pp.rq, rqmem.r[0])

        wiring.connect(m, wiring.flipped(self.ptr), seq.ptr)
        wiring.connect(m, wiring.flipped(self.entries), seq.entries)
        wiring.connect(m, wiring.flipped(self.w_load), wram.w)
        wiring.connect(m, pp.o, wiring.flipped(self.o))

        busy = Signal()
        m.d.comb += [busy.eq(seq.busy | pp.busy), self.busy.eq(busy), self.job.eq(seq.job_valid)]
        start = Signal()
        m.d.comb += [start.eq(self.start & ~busy), seq.start.eq(start), seq.band.eq(self.band),
                     seq.layer.eq(self.layer), acc.clear.eq(start)]

        # -- S0: weight row and accumulation row requested; S1: multiply, add, write back -------
        s1_valid = Signal()
        s1_value = Signal.like(seq.job.value)
        s1_addr = Signal.like(seq.job.aaddr)
        m.d.sync += [s1_valid.eq(seq.job_valid), s1_value.eq(seq.job.value),
                     s1_addr.eq(seq.job.aaddr)]
        m.d.comb += [wram.r[0].addr.eq(seq.job.waddr), wram.r[0].en.eq(seq.job_valid),
                     alus.value.eq(s1_value), alus.weights.eq(wram.r[0].data),
                     alus.acc_in.eq(acc.r.data),
                     acc.w.addr.eq(s1_addr), acc.w.data.eq(alus.acc_out), acc.w.en.eq(s1_valid)]
        with m.If(pp.busy):
            m.d.comb += [acc.r.addr.eq(pp.acc.addr), acc.r.en.eq(pp.acc.en)]
        with m.Else():
            m.d.comb += [acc.r.addr.eq(seq.job.aaddr), acc.r.en.eq(seq.job_valid)]
        m.d.comb += pp.acc.data.eq(acc.r.data)

        # -- post-processing of the band once the sequencer is done -----------------------------
        band = Signal.like(self.band)
        with m.If(start):
            m.d.sync += band.eq(self.band)
        row0 = Signal(range(cfg.max_h + cfg.band_rows + 1))
        m.d.comb += [row0.eq(band * cfg.band_rows),
                     pp.start.eq(seq.done), pp.row0.eq(row0), pp.layer.eq(self.layer),
                     pp.channels.eq(self.channels),
                     pp.rows.eq(Mux(row0 + cfg.band_rows > self.layer.ho, self.layer.ho - row0,
                                    cfg.band_rows))]
        return m
