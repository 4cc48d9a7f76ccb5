"""The SparseCore accelerator: PEs, global scheduler, activation/index memory, register file and
streams (*SparseCore*, Sec. 3 and Fig. 2).

"The compute subsystem consists of array of Processing Elements (PE), where each PE is assigned an
output depth chunk as a work unit. Intermediate partial summations are stored in the Accumulation
Buffer, and upon completion, the data is sent through streaming processor ... and are eventually
compressed."
"""

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..common.blackbox import BlackBox, stub_verilog
from ..common.axi import AxiLiteRegisterFile, Register, axi_lite_signature, axi_stream_signature
from .actmem import ActivationMemory, act_stream_width
from .decoder import RAW_FIELDS, LayerDecoder, raw_widths
from .layouts import (COUNTER_BITS, acc_row_layout, act_entry_layout, layer_layout, out_layout,
                      pointer_layout, requant_beat_layout, requant_row_layout, stream_width,
                      weight_beat_layout, weight_row_layout)
from .outmerge import OutputMerge
from .pe import SparseCorePE, pe_signature, weight_rows
from .scheduler import GlobalScheduler

__all__ = ["SparseCoreAccelerator", "register_map", "REGISTER_ADDR_BITS"]

REGISTER_ADDR_BITS = 8


def register_map(cfg):
    """The control and status registers, in address order."""
    widths = raw_widths(cfg)
    regs = [
        Register("start", 0x00, 1, "pulse", doc="write 1: run the layer described below"),
        Register("clear", 0x04, 1, "pulse",
                 doc="write 1: forget loaded activations (weights stay); clear done and error"),
        Register("status", 0x08, 3, "ro",
                 doc="bit 0 busy, bit 1 done, bit 2 error (bad layer or activation overflow)"),
        Register("cycles", 0x0C, COUNTER_BITS, "ro",
                 doc="cycles of the last layer: from the cycle after start to the cycle the "
                     "scheduler saw every PE idle"),
        Register("alu_jobs", 0x10, COUNTER_BITS, "ro",
                 doc="PE cycles with an ALU job (each uses every ALU of the PE)"),
        Register("work_units", 0x14, COUNTER_BITS, "ro", doc="work units granted"),
        Register("pe_idle_cycles", 0x18, COUNTER_BITS, "ro",
                 doc="sum over PEs of cycles without a unit while the layer ran"),
    ]
    for n, name in enumerate(RAW_FIELDS):
        regs.append(Register(f"layer_{name}", 0x20 + 4 * n, widths[name], "rw",
                             doc=f"layer field {name}"))
    return regs


class SparseCoreAccelerator(wiring.Component):
    """``pes`` PEs of ``alus_per_pe`` ALUs behind AXI4-Stream ports and AXI4-Lite registers.

    **Use.** Write the layer registers (``layer_k`` first: it decides which PEs hold which
    chunk); stream each chunk's weight rows to ``s_axis_w`` (``tdest`` = chunk) and its
    requantization to ``s_axis_q``; write ``clear``; stream the compressed activations to
    ``s_axis_act`` (``tdest`` 0 entries, 1 pointer rows, see :mod:`.actmem`); write ``start``;
    read beats from ``m_axis_out`` while the layer runs: one lane per PE, each lane a compressed
    output pixel of its chunk (:func:`.layouts.out_layout`); wait for ``status.done``.

    **Output bandwidth.** Each output beat is a frame of its own (``tlast`` high). Every PE's
    post-processor can emit a beat per cycle, so the output stream carries one lane per PE
    (:class:`.outmerge.OutputMerge`); ``tready`` low stalls every PE in the waiting beat, and a
    PE whose beat becomes pending meanwhile joins the next beat (``tdata`` stays stable while
    ``tvalid`` waits). With ``tready`` high, ``cycles`` equals
    :func:`sparseforge.sim.sparsecore.cycles.layer_cycles`.

    Parameters
    ----------
    cfg : SparseCoreConfig
    pe_blackbox : str or None
        For the area flow only: each PE is then a :class:`~sparseforge.hdl.common.blackbox.
        BlackBox`, an instance of this module with the PE's ports and no body (declared by
        :meth:`pe_stub_verilog`), so that the top's own logic converts and synthesizes without
        ``pes`` copies of a PE measured on its own.

    Attributes
    ----------
    s_axil, s_axis_w, s_axis_q, s_axis_act, m_axis_out, irq, busy
    """

    PROBES = {"busy": "busy"}

    def __init__(self, cfg, *, pe_blackbox=None):
        self._cfg = cfg
        self._pe_blackbox = pe_blackbox
        self._registers = register_map(cfg)
        cd = max(1, (cfg.pes - 1).bit_length())
        super().__init__({
            "s_axil": In(axi_lite_signature(REGISTER_ADDR_BITS)),
            "s_axis_w": In(axi_stream_signature(stream_width(weight_beat_layout(cfg)),
                                                dest_width=cd)),
            "s_axis_q": In(axi_stream_signature(stream_width(requant_beat_layout(cfg)),
                                                dest_width=cd)),
            "s_axis_act": In(axi_stream_signature(act_stream_width(cfg), dest_width=1)),
            "m_axis_out": Out(axi_stream_signature(stream_width(out_layout(cfg)))),
            "irq": Out(1), "busy": Out(1),
        })

    @property
    def config(self):
        return self._cfg

    @property
    def registers(self):
        return tuple(self._registers)

    @staticmethod
    def memory_macros(cfg):
        """The SRAM macros, ``[{"module", "words", "width"}]``, for black-boxing and sizing in
        area flows: the activation memory's entries and pointer table (Table 2's activation/index
        memory), and per PE its weight memory, accumulation buffer and requantization memory."""
        entries = data.Layout.cast(act_entry_layout(cfg)).size
        ptr = data.Layout.cast(pointer_layout(cfg, cfg.act_entries)).size
        wrow = data.Layout.cast(weight_row_layout(cfg)).size
        arow = data.Layout.cast(acc_row_layout(cfg)).size
        qrow = data.Layout.cast(requant_row_layout(cfg)).size
        macros = [
            {"module": f"{cfg.name}.actmem.entries", "words": cfg.act_entries, "width": entries},
            {"module": f"{cfg.name}.actmem.pointers", "words": cfg.max_h * cfg.max_segments,
             "width": ptr},
        ]
        for p in range(cfg.pes):
            macros += [
                {"module": f"{cfg.name}.pe{p}.wmem", "words": weight_rows(cfg), "width": wrow},
                {"module": f"{cfg.name}.pe{p}.accbuf.macro",
                 "words": cfg.band_rows * cfg.max_w, "width": arow},
                {"module": f"{cfg.name}.pe{p}.rqmem", "words": cfg.chunk // cfg.requant_lanes,
                 "width": qrow},
            ]
        return macros

    def manifest_details(self):
        """What the manifest records beside the config and the ports."""
        cfg = self._cfg
        return {
            "pes": cfg.pes, "alus_per_pe": cfg.alus_per_pe, "alus_total": cfg.alus_total,
            "km": f"{cfg.k}/{cfg.m}", "chunk": cfg.chunk, "groups": cfg.groups,
            "band_rows": cfg.band_rows, "requant_lanes": cfg.requant_lanes,
            "registers": [{"name": r.name, "offset": r.offset, "width": r.width,
                           "access": r.access, "doc": r.doc} for r in self._registers],
            "memories": self.memory_macros(cfg),
            "probes": dict(self.PROBES),
        }

    def _pe(self, act):
        if self._pe_blackbox is None:
            return SparseCorePE(self._cfg, act.entries_depth, act.ptr_depth)
        return BlackBox(self._pe_blackbox,
                        pe_signature(self._cfg, act.entries_depth, act.ptr_depth))

    @staticmethod
    def pe_stub_verilog(cfg, module):
        """The declaration of ``module`` (a PE's ports, no body), to append to the Verilog of a
        top made with ``pe_blackbox=module``."""
        return stub_verilog(module, pe_signature(cfg, cfg.act_entries,
                                                 cfg.max_h * cfg.max_segments))

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        m.submodules.regs = regs = AxiLiteRegisterFile(self._registers,
                                                       addr_width=REGISTER_ADDR_BITS)
        wiring.connect(m, wiring.flipped(self.s_axil), regs.bus)
        m.submodules.decoder = dec = LayerDecoder(cfg)
        for name in RAW_FIELDS:
            m.d.comb += getattr(dec, name).eq(getattr(regs, f"layer_{name}"))
        m.submodules.actmem = act = ActivationMemory(cfg)
        m.submodules.scheduler = sch = GlobalScheduler(cfg.pes, cfg.max_bands)
        pes = [self._pe(act) for _ in range(cfg.pes)]
        for p, pe in enumerate(pes):
            m.submodules[f"pe{p}"] = pe

        # -- layer start: latch the decoded layer; a bad one only raises the error flag ---------
        busy, done, error = Signal(), Signal(), Signal()
        layer = Signal(layer_layout(cfg))
        go = Signal()
        m.d.comb += [busy.eq(sch.busy), go.eq(regs.start & ~busy & ~dec.bad),
                     sch.start.eq(go)]
        # Held while the layer runs; between layers they follow the registers (the weight
        # loader needs each PE's chunk for the layer to come).
        nbands, nchunks = Signal.like(sch.nbands), Signal.like(sch.nchunks)
        m.d.comb += [sch.nbands.eq(Mux(busy, nbands, dec.nbands)),
                     sch.nchunks.eq(Mux(busy, nchunks, dec.nchunks))]
        layer_k = Signal.like(regs.layer_k)
        with m.If(go):
            m.d.sync += [layer.eq(dec.layer), nbands.eq(dec.nbands), nchunks.eq(dec.nchunks),
                         layer_k.eq(regs.layer_k), done.eq(0)]
        with m.If(regs.start & ~busy & dec.bad):
            m.d.sync += error.eq(1)
        was_busy = Signal()
        m.d.sync += was_busy.eq(busy)
        with m.If(was_busy & ~busy):
            m.d.sync += done.eq(1)

        # -- loading (while no layer runs) ------------------------------------------------------
        wiring.connect(m, wiring.flipped(self.s_axis_act), act.load)
        m.d.comb += [act.load_enable.eq(~busy), act.clear.eq(regs.clear)]
        w, q = self.s_axis_w, self.s_axis_q
        wb = Signal(weight_beat_layout(cfg))
        qb = Signal(requant_beat_layout(cfg))
        m.d.comb += [w.tready.eq(~busy), q.tready.eq(~busy),
                     wb.eq(w.tdata[:len(wb.as_value())]), qb.eq(q.tdata[:len(qb.as_value())])]
        with m.If(regs.clear):
            m.d.sync += [error.eq(0), done.eq(0)]
        with m.If(act.overflow):
            m.d.sync += error.eq(1)

        # -- PEs ---------------------------------------------------------------------------------
        m.submodules.merge = merge = OutputMerge(cfg)
        for p, pe in enumerate(pes):
            mine_w = w.tvalid & w.tready & (w.tdest == sch.chunk_of[p])
            mine_q = q.tvalid & q.tready & (q.tdest == sch.chunk_of[p])
            first = Signal(range(cfg.pes * cfg.chunk + 1), name=f"first{p}")
            m.d.comb += first.eq(sch.chunk_of[p] * cfg.chunk)
            m.d.comb += [
                pe.channels.eq(Mux(layer_k - first >= cfg.chunk, cfg.chunk, layer_k - first)),
                pe.w_load.addr.eq(wb.addr), pe.w_load.data.eq(wb.row), pe.w_load.en.eq(mine_w),
                pe.rq_load.addr.eq(qb.row), pe.rq_load.data.eq(qb.params),
                pe.rq_load.en.eq(mine_q), pe.layer.eq(layer), pe.start.eq(sch.grant[p]),
                pe.band.eq(sch.band), sch.idle[p].eq(~pe.busy),
                merge.chunk_of[p].eq(sch.chunk_of[p]),
            ]
            wiring.connect(m, pe.o, merge.i[p])
            wiring.connect(m, pe.ptr, act.ptr[p])
            wiring.connect(m, pe.entries, act.entries[p])
        wiring.connect(m, merge.o, wiring.flipped(self.m_axis_out))

        # -- statistics --------------------------------------------------------------------------
        cycles, jobs, idle = (Signal(COUNTER_BITS, name=n) for n in ("cyc", "jobs", "idle"))
        with m.If(go):
            m.d.sync += [cycles.eq(0), jobs.eq(0), idle.eq(0)]
        with m.Elif(busy):
            m.d.sync += [cycles.eq(cycles + 1), jobs.eq(jobs + sum(pe.job for pe in pes)),
                         idle.eq(idle + sum(~pe.busy for pe in pes))]
        m.d.comb += [regs.status.eq(Cat(busy, done, error)), regs.cycles.eq(cycles),
                     regs.alu_jobs.eq(jobs), regs.work_units.eq(sch.units),
                     regs.pe_idle_cycles.eq(idle), self.busy.eq(busy), self.irq.eq(done)]
        return m
