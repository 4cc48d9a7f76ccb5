"""The CCR accelerator: KB, IB, PU, CCU, AccUnit, crossbar and OB behind AXI (CCR, Sec. IV,
Fig. 7(a) and 7(b)).

The dense baseline of Fig. 7(a) ("ShiDianNao-like") and SparseK of Fig. 7(b) are built; they
share everything but the kernel buffer's format and where the kernel coordinates come from.
SparseI and SparseKI (Fig. 7(c), Table I) exist as cycle models only
(:mod:`sparseforge.sim.ccr.cycles`).
"""

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import data, enum, memory, wiring
from amaranth.lib.wiring import In, Out

from ..common.axi import AxiLiteRegisterFile, Register, axi_lite_signature, axi_stream_signature
from .accunit import AccUnit
from .ccu import Ccu
from .layouts import (COUNTER_BITS, block_layout, coord_shape, kb_entry_layout, layer_layout,
                      out_word_layout, stream_width)
from .pu import ProcessingUnit
from .sequencer import Sequencer

__all__ = ["CcrAccelerator", "register_map", "REGISTER_ADDR_BITS", "BUILT_VARIANTS"]

#: Address bits of the AXI4-Lite register file.
REGISTER_ADDR_BITS = 8

#: Variants with RTL.
BUILT_VARIANTS = ("dense", "sparse_k")

_LAYER_REGS = (("c", 0x10, "input channels C"), ("h", 0x14, "input height H"),
               ("w", 0x18, "input width W"), ("k", 0x1C, "output channels K"),
               ("r", 0x20, "kernel height R"), ("s", 0x24, "kernel width S"),
               ("x0", 0x28, "window origin x0 (two's complement)"),
               ("y0", 0x2C, "window origin y0 (two's complement)"),
               ("ho", 0x30, "window height Ho"), ("wo", 0x34, "window width Wo"))


def register_map(cfg):
    """The control and status registers, in address order (see :class:`CcrAccelerator`)."""
    layer = layer_layout(cfg)
    regs = [
        Register("start", 0x00, 1, "pulse", doc="write 1: run the pass described below"),
        Register("clear", 0x04, 1, "pulse", doc="write 1: forget loaded IB, KB and counts"),
        Register("status", 0x08, 4, "ro",
                 doc="bit 0 busy, bit 1 done, bit 2 error (a buffer overflowed or a bad tdest), "
                     "bit 3 outputs streaming"),
        Register("cycles", 0x0C, COUNTER_BITS, "ro", doc="cycles of the last pass"),
    ]
    regs += [Register(f"layer_{name}", off, layer[name].shape.width, "rw", doc=doc)
             for name, off, doc in _LAYER_REGS]
    regs += [
        Register("accumulate", 0x38, 1, "rw",
                 doc="1: the next pass adds to OB (no clear); for stride phases"),
        Register("read", 0x3C, 1, "pulse", doc="write 1: stream the K·⌈Ho/Px⌉·⌈Wo/Py⌉ OB words"),
        Register("macs", 0x40, COUNTER_BITS, "ro",
                 doc="products of a real input and a kernel entry, last pass"),
        Register("steps", 0x44, COUNTER_BITS, "ro",
                 doc="PU steps (coordinates the CCU computed, for SparseK), last pass"),
    ]
    return regs


class Phase(enum.Enum, shape=2):
    IDLE = 0
    CLEAR = 1
    RUN = 2
    DRAIN = 3


class CcrAccelerator(wiring.Component):
    """A ``P_x × P_y`` CCR accelerator, dense baseline or SparseK, behind AXI.

    **Use.** Write ``clear``; stream IB words (:func:`~sparseforge.sim.ccr.format.input_blocks`)
    to ``s_axis_i`` and KB entries to ``s_axis_k`` with ``tdest`` 0 (for SparseK also the entry
    counts with ``tdest`` 1); write the layer registers and ``start``; wait for ``status.done``
    (``irq``); write ``read`` and take the OB words from ``m_axis_o`` (``tlast`` on the last).
    A stride-``s`` layer is ``s²`` passes (:func:`~sparseforge.sim.ccr.layer.passes`), the
    later ones with ``accumulate`` set; IB and KB are reloaded between passes.

    **Dataflow.** Per output channel ``k``, input channel ``c`` and input block ``(M, N)``, the
    sequencer steps through the kernel's entries: all ``R·S`` (dense) or the non-zeros
    (SparseK). A step reads the weight from KB and the block from IB; the PU multiplies, the CCU
    computes the block's output coordinate (CCR-1), AccUnit adds the products to OB through the
    crossbar. One step per cycle; an all-zero SparseK kernel costs one cycle.

    **Cycles.** ``cycles`` counts from the cycle after the ``start`` write takes effect to the
    last busy cycle: OB clear, steps, pipeline drain, as
    :func:`sparseforge.sim.ccr.cycles.pass_cycles` predicts.

    Attributes
    ----------
    s_axil : In(axi_lite_signature(REGISTER_ADDR_BITS))
    s_axis_i : In(axi_stream_signature(IB word width))
    s_axis_k : In(axi_stream_signature(KB entry width, dest_width=1))
    m_axis_o : Out(axi_stream_signature(OB word width))
    irq : Out(1)
        ``status.done``.
    busy : Out(1)
    """

    PROBES = {"busy": "busy"}

    def __init__(self, cfg):
        if cfg.variant not in BUILT_VARIANTS:
            raise ValueError(f"CCR variant must be one of {', '.join(BUILT_VARIANTS)} to build "
                             f"RTL, not {cfg.variant!r} (it has a cycle model only)")
        self._cfg = cfg
        self._registers = register_map(cfg)
        super().__init__({
            "s_axil": In(axi_lite_signature(REGISTER_ADDR_BITS)),
            "s_axis_i": In(axi_stream_signature(stream_width(block_layout(cfg)))),
            "s_axis_k": In(axi_stream_signature(stream_width(kb_entry_layout(cfg)),
                                                dest_width=1)),
            "m_axis_o": Out(axi_stream_signature(stream_width(out_word_layout(cfg)))),
            "irq": Out(1),
            "busy": Out(1),
        })

    @property
    def config(self):
        return self._cfg

    @property
    def registers(self):
        return tuple(self._registers)

    @staticmethod
    def memory_macros(cfg):
        """The buffers: ``[{"module", "words", "width"}]``."""
        macros = [
            {"module": f"{cfg.name}.ib", "words": cfg.ib_words, "width": cfg.ib_word_bits},
            {"module": f"{cfg.name}.kb", "words": cfg.kb_words, "width": cfg.kb_word_bits},
        ]
        macros += [{"module": f"{cfg.name}.acc.ob_{bx}_{by}", "words": cfg.ob_bank_words,
                    "width": cfg.acc_width} for bx in range(cfg.px) for by in range(cfg.py)]
        if cfg.sparse_kernels:
            macros.append({"module": f"{cfg.name}.counts", "words": cfg.kernels_max,
                           "width": cfg.count_bits})
        return macros

    def manifest_details(self):
        cfg = self._cfg
        return {
            "notation": cfg.notation,
            "multipliers": cfg.multipliers,
            "buffers_words": {"ib": cfg.ib_words, "kb": cfg.kb_words,
                              "ob_per_bank": cfg.ob_bank_words},
            "registers": [{"name": r.name, "offset": r.offset, "width": r.width,
                           "access": r.access, "doc": r.doc} for r in self._registers],
            "latency": {"drain": "3 cycles from the last step to its OB write"},
            "memories": self.memory_macros(cfg),
            "probes": dict(self.PROBES),
        }

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        dense = cfg.variant == "dense"
        lx, ly = (cfg.px - 1).bit_length(), (cfg.py - 1).bit_length()

        m.submodules.regs = regs = AxiLiteRegisterFile(self._registers,
                                                       addr_width=REGISTER_ADDR_BITS)
        wiring.connect(m, wiring.flipped(self.s_axil), regs.bus)

        m.submodules.ib = ib = memory.Memory(shape=block_layout(cfg), depth=cfg.ib_words,
                                             init=[])
        m.submodules.kb = kb = memory.Memory(shape=kb_entry_layout(cfg), depth=cfg.kb_words,
                                             init=[])
        ib_w, ib_r = ib.write_port(), ib.read_port()
        kb_w, kb_r = kb.write_port(), kb.read_port()
        m.submodules.seq = seq = Sequencer(cfg, dense=dense)
        m.submodules.pu = pu = ProcessingUnit(cfg.multipliers, scalar_width=cfg.weight_width,
                                              lane_width=cfg.act_width,
                                              product_width=cfg.acc_width)
        coord = coord_shape(cfg)
        layer = Signal(layer_layout(cfg))
        m.submodules.ccu = ccu = Ccu(cfg.px, cfg.py, block_bits=len(seq.m),
                                     index_bits=max(1, cfg.kernel_index_bits),
                                     origin_shape=layer.x0.shape(), coord_shape=coord)
        m.submodules.acc = acc = AccUnit(cfg, coord, layer.ho.shape())

        # -- pass geometry, from the registers latched at start -----------------------------------
        hb, wb = Signal.like(seq.wb), Signal.like(seq.wb)
        hbo, wbo = Signal(range(cfg.map_max + cfg.kernel_max + 1)), Signal.like(acc.wbo)
        m.d.comb += [
            hb.eq((layer.h + cfg.px - 1) >> lx), wb.eq((layer.w + cfg.py - 1) >> ly),
            hbo.eq((layer.ho + cfg.px - 1) >> lx), wbo.eq((layer.wo + cfg.py - 1) >> ly),
            seq.c.eq(layer.c), seq.k.eq(layer.k), seq.nb.eq(hb * wb), seq.wb.eq(wb),
            seq.rs.eq(layer.r * layer.s), seq.s.eq(layer.s), seq.wpk.eq(hbo * wbo),
        ]
        words = Signal(range(cfg.ob_bank_words + 2))
        m.d.comb += words.eq(layer.k * seq.wpk)

        if not dense:
            m.submodules.counts = counts = memory.Memory(
                shape=range(cfg.kernel_max ** 2 + 1), depth=cfg.kernels_max, init=[])
            cnt_w, cnt_r = counts.write_port(), counts.read_port(domain="comb")
            m.d.comb += [cnt_r.addr.eq(seq.group), seq.count.eq(cnt_r.data)]

        # -- pipeline: step (t), PU and CCU (t+1), AccUnit read (t+2) and write (t+3) -------------
        m.d.comb += [ib_r.addr.eq(seq.ib_addr), ib_r.en.eq(seq.issue),
                     kb_r.addr.eq(seq.kb_addr), kb_r.en.eq(seq.issue)]
        s1 = Signal(data.StructLayout({"valid": 1, "m": seq.m.shape(), "n": seq.n.shape(),
                                       "i": seq.i.shape(), "j": seq.j.shape(),
                                       "kbase": seq.kbase.shape()}))
        m.d.sync += [s1.valid.eq(seq.issue), s1.m.eq(seq.m), s1.n.eq(seq.n), s1.i.eq(seq.i),
                     s1.j.eq(seq.j), s1.kbase.eq(seq.kbase)]
        entry = kb_r.data
        m.d.comb += [
            pu.scalar.eq(entry.value), pu.matrix.eq(ib_r.data),
            ccu.m.eq(s1.m), ccu.n.eq(s1.n), ccu.x0.eq(layer.x0), ccu.y0.eq(layer.y0),
            ccu.i.eq(s1.i if dense else entry.i), ccu.j.eq(s1.j if dense else entry.j),
        ]
        # Lanes holding a real input (inside H × W): the products the layer counts.
        real = Signal(cfg.multipliers)
        for p in range(cfg.px):
            for q in range(cfg.py):
                m.d.comb += real[p * cfg.py + q].eq(
                    ((s1.m << lx) + p < layer.h) & ((s1.n << ly) + q < layer.w))
        s2_valid = Signal()
        m.d.sync += [s2_valid.eq(s1.valid), acc.u0.eq(ccu.u0), acc.v0.eq(ccu.v0),
                     acc.kbase.eq(s1.kbase), acc.products.eq(pu.products)]
        m.d.comb += [acc.valid.eq(s2_valid), acc.ho.eq(layer.ho), acc.wo.eq(layer.wo),
                     acc.wbo.eq(wbo)]

        # -- control ------------------------------------------------------------------------------
        phase = Signal(Phase)
        done = Signal()
        error = Signal()
        ptr = Signal(range(cfg.ob_bank_words + 1))
        drain = Signal(2)
        busy = Signal()
        streaming = Signal()
        m.d.comb += [busy.eq(phase != Phase.IDLE), self.busy.eq(busy), self.irq.eq(done)]
        with m.Switch(phase):
            with m.Case(Phase.IDLE):
                with m.If(regs.start & ~streaming):
                    m.d.comb += seq.start.eq(1)
                    m.d.sync += [done.eq(0), ptr.eq(0),
                                 phase.eq(Mux(regs.accumulate, Phase.RUN, Phase.CLEAR))]
                    for name, _, _ in _LAYER_REGS:
                        m.d.sync += getattr(layer, name).eq(getattr(regs, f"layer_{name}"))
            with m.Case(Phase.CLEAR):
                m.d.comb += [acc.clear.eq(1), acc.clear_addr.eq(ptr)]
                m.d.sync += ptr.eq(ptr + 1)
                with m.If(ptr == words - 1):
                    m.d.sync += phase.eq(Phase.RUN)
            with m.Case(Phase.RUN):
                m.d.comb += seq.run.eq(1)
                with m.If(seq.last):
                    m.d.sync += [phase.eq(Phase.DRAIN), drain.eq(0)]
            with m.Case(Phase.DRAIN):
                m.d.sync += drain.eq(drain + 1)
                with m.If(drain == 2):
                    m.d.sync += [phase.eq(Phase.IDLE), done.eq(1)]

        # -- statistics ---------------------------------------------------------------------------
        cycles, macs, steps = (Signal(COUNTER_BITS, name=n) for n in ("cycles", "macs", "steps"))
        with m.If((phase == Phase.IDLE) & regs.start & ~streaming):
            m.d.sync += [cycles.eq(0), macs.eq(0), steps.eq(0)]
        with m.Elif(busy):
            m.d.sync += cycles.eq(cycles + 1)
            with m.If(seq.issue):
                m.d.sync += steps.eq(steps + 1)
            with m.If(s1.valid):
                m.d.sync += macs.eq(macs + sum(real[n] for n in range(cfg.multipliers)))

        # -- loading ------------------------------------------------------------------------------
        s_i, s_k = self.s_axis_i, self.s_axis_k
        ib_ptr = Signal(range(cfg.ib_words + 1))
        kb_ptr = Signal(range(cfg.kb_words + 1))
        cnt_ptr = Signal(range(cfg.kernels_max + 1))
        accept = ~busy & ~streaming
        m.d.comb += [s_i.tready.eq(accept), s_k.tready.eq(accept)]
        take_i = s_i.tvalid & accept
        take_k = s_k.tvalid & accept & (s_k.tdest == 0)
        take_c = s_k.tvalid & accept & (s_k.tdest == 1)
        m.d.comb += [
            ib_w.addr.eq(ib_ptr), ib_w.data.eq(s_i.tdata[:len(ib_w.data.as_value())]),
            ib_w.en.eq(take_i & (ib_ptr < cfg.ib_words)),
            kb_w.addr.eq(kb_ptr), kb_w.data.eq(s_k.tdata[:len(kb_w.data.as_value())]),
            kb_w.en.eq(take_k & (kb_ptr < cfg.kb_words)),
        ]
        for take, wp, limit in ((take_i, ib_ptr, cfg.ib_words), (take_k, kb_ptr, cfg.kb_words)):
            with m.If(take):
                with m.If(wp < limit):
                    m.d.sync += wp.eq(wp + 1)
                with m.Else():
                    m.d.sync += error.eq(1)
        if dense:
            with m.If(take_c):
                m.d.sync += error.eq(1)
        else:
            m.d.comb += [cnt_w.addr.eq(cnt_ptr), cnt_w.data.eq(s_k.tdata[:len(cnt_w.data)]),
                         cnt_w.en.eq(take_c & (cnt_ptr < cfg.kernels_max))]
            with m.If(take_c):
                with m.If(cnt_ptr < cfg.kernels_max):
                    m.d.sync += cnt_ptr.eq(cnt_ptr + 1)
                with m.Else():
                    m.d.sync += error.eq(1)
        with m.If(regs.clear):
            m.d.sync += [ib_ptr.eq(0), kb_ptr.eq(0), cnt_ptr.eq(0), error.eq(0), done.eq(0)]

        # -- output stream: OB words in order ------------------------------------------------------
        o = self.m_axis_o
        rd = Signal(range(cfg.ob_bank_words + 1))
        showing = Signal()
        with m.If(~busy & ~streaming & regs.read):
            m.d.sync += [streaming.eq(1), rd.eq(0), showing.eq(0)]
        with m.Elif(streaming & ~showing):
            m.d.comb += [acc.rd_en.eq(1), acc.rd_addr.eq(rd)]
            m.d.sync += showing.eq(1)
        with m.Elif(streaming & showing & o.tready):
            m.d.sync += [showing.eq(0), rd.eq(rd + 1)]
            with m.If(rd == words - 1):
                m.d.sync += streaming.eq(0)
        m.d.comb += [
            o.tvalid.eq(streaming & showing), o.tdata.eq(acc.rd_data.as_value()),
            o.tlast.eq(rd == words - 1),
            regs.status.eq(Cat(busy, done, error, streaming)),
            regs.cycles.eq(cycles), regs.macs.eq(macs), regs.steps.eq(steps),
        ]
        return m
