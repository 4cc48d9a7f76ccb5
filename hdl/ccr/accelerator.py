"""The CCR accelerator: KB, IB, sequencer, PU, CCU, crossbar, AccUnit and OB behind AXI (CCR,
Sec. IV, Fig. 7 and Table I).

All four designs of Table I are built from the same blocks: the dense baseline of Fig. 7(a)
("ShiDianNao-like"), SparseK (compressed KB, Fig. 7(b)), SparseI (compressed IB, Fig. 7(c)) and
SparseKI (both compressed, Cartesian product, O(P_x × P_y) CCU and bank arbitration). They differ
in what a buffer word is (:mod:`sparseforge.sim.ccr.format`), where the loops' counts come from
(:mod:`.sequencer`) and which datapath takes a step (:mod:`.block_datapath`,
:mod:`.cartesian_datapath`).
"""

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import data, enum, wiring
from amaranth.lib.wiring import In, Out

from ..common.axi import AxiLiteRegisterFile, Register, axi_lite_signature, axi_stream_signature
from .accunit import AccUnit
from .block_datapath import BlockDatapath
from .buffer import Buffer
from .cartesian_datapath import CartesianDatapath
from .layouts import (COUNTER_BITS, coord_shape, ib_word_layout, kb_word_layout, layer_layout,
                      out_word_layout, stream_width)
from .loader import Loader
from .obreader import ObReader
from .sequencer import Sequencer

__all__ = ["CcrAccelerator", "register_map", "REGISTER_ADDR_BITS", "STATUS_BITS"]

#: Address bits of the AXI4-Lite register file.
REGISTER_ADDR_BITS = 8

#: Bits of the ``status`` register.
STATUS_BITS = {"busy": 0, "done": 1, "error": 2, "streaming": 3}

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
        Register("clear", 0x04, 1, "pulse",
                 doc="write 1: forget loaded IB, KB and counts, clear the error flag"),
        Register("status", 0x08, 4, "ro",
                 doc="bit 0 busy, bit 1 done, bit 2 error (a beat overflowed a buffer or had a "
                     "tdest the design has no table for), bit 3 outputs streaming"),
        Register("cycles", 0x0C, COUNTER_BITS, "ro", doc="cycles of the last pass"),
    ]
    regs += [Register(f"layer_{name}", off, layer[name].shape.width, "rw", doc=doc)
             for name, off, doc in _LAYER_REGS]
    regs += [
        Register("accumulate", 0x38, 1, "rw",
                 doc="1: the next pass adds to OB (no clear); for stride phases"),
        Register("read", 0x3C, 1, "pulse", doc="write 1: stream the K·⌈Ho/Px⌉·⌈Wo/Py⌉ OB words"),
        Register("macs", 0x40, COUNTER_BITS, "ro",
                 doc="products of a real input and a real kernel element, last pass"),
        Register("steps", 0x44, COUNTER_BITS, "ro",
                 doc="PU steps (scalar × matrix, or vector pairs), last pass"),
        Register("coords", 0x48, COUNTER_BITS, "ro",
                 doc="output coordinates the CCU computed, last pass (0 in the dense design)"),
        Register("stalls", 0x4C, COUNTER_BITS, "ro",
                 doc="cycles the PU stalled on OB bank conflicts, last pass (SparseKI)"),
    ]
    return regs


class Phase(enum.Enum, shape=2):
    IDLE = 0
    CLEAR = 1
    RUN = 2
    DRAIN = 3


class CcrAccelerator(wiring.Component):
    """A ``P_x × P_y`` CCR accelerator (any design of Table I) behind AXI.

    **Use.** Write ``clear``; stream IB words to ``s_axis_i`` and KB words to ``s_axis_k`` with
    ``tdest`` 0, and the compressed buffers' word counts with ``tdest`` 1
    (:func:`sparseforge.sim.ccr.format.buffers`); write the layer registers and ``start``; wait
    for ``status.done`` (``irq``); write ``read`` and take the OB words from ``m_axis_o``
    (``tlast`` on the last). A stride-``s`` layer is ``s²`` passes
    (:func:`~sparseforge.sim.ccr.layer.passes`), the later ones with ``accumulate`` set; IB and
    KB are reloaded between passes.

    **Dataflow.** Per output channel ``k`` and input channel ``c``, the sequencer steps through
    the channel's IB words and, for each, the kernel's KB words. A step reads a word of each
    buffer; the datapath multiplies them (scalar × matrix, or Cartesian product), the CCU
    computes the output coordinates and AccUnit adds the products to OB through the crossbar
    (or the bank arbiter). One step per cycle, except that a SparseKI step whose busiest bank
    receives ``L`` products takes ``L`` cycles; an empty kernel or channel costs one cycle.

    **Cycles.** ``cycles`` counts from the cycle after the ``start`` write takes effect to the
    last busy cycle: OB clear, steps and stalls, pipeline drain, as
    :func:`sparseforge.sim.ccr.cycles.pass_cycles` predicts.

    Attributes
    ----------
    s_axil : In(axi_lite_signature(REGISTER_ADDR_BITS))
    s_axis_i : In(axi_stream_signature(IB word width, dest_width=1))
    s_axis_k : In(axi_stream_signature(KB word width, dest_width=1))
    m_axis_o : Out(axi_stream_signature(OB word width))
    irq : Out(1)
        ``status.done``.
    busy : Out(1)
    """

    PROBES = {"busy": "busy"}

    def __init__(self, cfg):
        self._cfg = cfg
        self._registers = register_map(cfg)
        super().__init__({
            "s_axil": In(axi_lite_signature(REGISTER_ADDR_BITS)),
            "s_axis_i": In(axi_stream_signature(stream_width(ib_word_layout(cfg)),
                                                dest_width=1)),
            "s_axis_k": In(axi_stream_signature(stream_width(kb_word_layout(cfg)),
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
        """The buffers and count tables: ``[{"module", "words", "width"}]``."""
        macros = [
            {"module": f"{cfg.name}.ib", "words": cfg.ib_words, "width": cfg.ib_word_bits},
            {"module": f"{cfg.name}.kb", "words": cfg.kb_words, "width": cfg.kb_word_bits},
        ]
        macros += [{"module": f"{cfg.name}.acc.ob_{bx}_{by}", "words": cfg.ob_bank_words,
                    "width": cfg.acc_width} for bx in range(cfg.px) for by in range(cfg.py)]
        if cfg.sparse_kernels:
            macros.append({"module": f"{cfg.name}.kb_counts", "words": cfg.kernels_max,
                           "width": cfg.count_bits})
        if cfg.sparse_inputs:
            macros.append({"module": f"{cfg.name}.ib_counts", "words": cfg.kernels_max,
                           "width": cfg.ib_count_bits})
        return macros

    def manifest_details(self):
        cfg = self._cfg
        return {
            "notation": cfg.notation,
            "variant": cfg.variant,
            "multipliers": cfg.multipliers,
            "buffers_words": {"ib": cfg.ib_words, "kb": cfg.kb_words,
                              "ob_per_bank": cfg.ob_bank_words},
            "registers": [{"name": r.name, "offset": r.offset, "width": r.width,
                           "access": r.access, "doc": r.doc} for r in self._registers],
            "latency": {"drain": "3 cycles from the last step to its OB write, plus the last "
                                 "SparseKI pairs' stalls"},
            "memories": self.memory_macros(cfg),
            "probes": dict(self.PROBES),
        }

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        m.submodules.regs = regs = AxiLiteRegisterFile(self._registers,
                                                       addr_width=REGISTER_ADDR_BITS)
        wiring.connect(m, wiring.flipped(self.s_axil), regs.bus)

        # -- buffers, count tables and their loaders ----------------------------------------------
        m.submodules.ib = ib = Buffer(ib_word_layout(cfg), cfg.ib_words)
        m.submodules.kb = kb = Buffer(kb_word_layout(cfg), cfg.kb_words)
        m.submodules.load_i = load_i = Loader(
            len(self.s_axis_i.tdata), words=cfg.ib_words, word_bits=cfg.ib_word_bits,
            counts=cfg.kernels_max if cfg.sparse_inputs else 0, count_bits=cfg.ib_count_bits)
        m.submodules.load_k = load_k = Loader(
            len(self.s_axis_k.tdata), words=cfg.kb_words, word_bits=cfg.kb_word_bits,
            counts=cfg.kernels_max if cfg.sparse_kernels else 0, count_bits=cfg.count_bits)
        wiring.connect(m, wiring.flipped(self.s_axis_i), load_i.s_axis)
        wiring.connect(m, wiring.flipped(self.s_axis_k), load_k.s_axis)
        self._write(m, ib, load_i.w_addr, load_i.w_data, load_i.w_en)
        self._write(m, kb, load_k.w_addr, load_k.w_data, load_k.w_en)

        m.submodules.seq = seq = Sequencer(cfg, ib_table=cfg.sparse_inputs,
                                           kb_table=cfg.sparse_kernels)
        for used, loader, depth, name, count, address in (
                (cfg.sparse_inputs, load_i, cfg.ib_words, "ib_counts", seq.ib_count, seq.chan),
                (cfg.sparse_kernels, load_k, cfg.kernel_max ** 2, "kb_counts", seq.kb_count,
                 seq.group)):
            if used:
                table = Buffer(range(depth + 1), cfg.kernels_max, comb_read=True)
                m.submodules[name] = table
                self._write(m, table, loader.c_addr, loader.c_data, loader.c_en)
                m.d.comb += [table.rd_addr.eq(address), count.eq(table.rd_data)]

        # -- the pass: registers latched at start, geometry ---------------------------------------
        layer = Signal(layer_layout(cfg))
        geometry = self._geometry(m, cfg, layer, seq)

        # -- step (t), datapath (t+1), AccUnit read (t+2) and write (t+3) -------------------------
        m.d.comb += [ib.rd_addr.eq(seq.ib_addr), ib.rd_en.eq(seq.issue),
                     kb.rd_addr.eq(seq.kb_addr), kb.rd_en.eq(seq.issue)]
        m.submodules.acc = acc = AccUnit(cfg)
        advance = Signal()          # the pipeline moves this cycle (SparseKI: no stall)
        s1 = Signal(data.StructLayout({"valid": 1, "m": seq.m.shape(), "n": seq.n.shape(),
                                       "i": seq.i.shape(), "j": seq.j.shape(),
                                       "kbase": seq.kbase.shape()}))
        with m.If(advance):
            m.d.sync += [s1.valid.eq(seq.issue), s1.m.eq(seq.m), s1.n.eq(seq.n),
                         s1.i.eq(seq.i), s1.j.eq(seq.j), s1.kbase.eq(seq.kbase)]
        products, stall = self._datapath(m, cfg, layer, geometry, s1, ib.rd_data, kb.rd_data,
                                         acc)
        m.d.comb += advance.eq(~stall)

        # -- control, statistics, output ----------------------------------------------------------
        m.submodules.ob_reader = reader = ObReader(cfg)
        streaming = reader.streaming
        busy, done, words = self._control(m, cfg, regs, layer, geometry, seq, acc, advance,
                                          streaming)
        error = load_i.error | load_k.error
        m.d.comb += [
            load_i.accept.eq(~busy & ~streaming), load_k.accept.eq(~busy & ~streaming),
            load_i.clear.eq(regs.clear), load_k.clear.eq(regs.clear),
            self.busy.eq(busy), self.irq.eq(done),
            regs.status.eq(Cat(busy, done, error, streaming)),
        ]
        self._statistics(m, cfg, regs, busy, streaming, seq, s1, products, stall, advance)
        m.d.comb += [reader.read.eq(regs.read), reader.busy.eq(busy), reader.words.eq(words),
                     acc.rd_en.eq(reader.rd_en), acc.rd_addr.eq(reader.rd_addr),
                     reader.rd_data.eq(acc.rd_data)]
        wiring.connect(m, reader.o, wiring.flipped(self.m_axis_o))
        return m

    @staticmethod
    def _write(m, buffer, addr, data_, en):
        m.d.comb += [buffer.wr_addr.eq(addr), buffer.wr_data.eq(data_), buffer.wr_en.eq(en)]

    @staticmethod
    def _geometry(m, cfg, layer, seq):
        """Blocks, tiles and OB words of the pass, and the sequencer's fixed loop counts."""
        lx, ly = (cfg.px - 1).bit_length(), (cfg.py - 1).bit_length()
        g = {name: Signal(range(cfg.map_max + cfg.kernel_max + 1), name=name)
             for name in ("hb", "wb", "tr", "ts", "hbo")}
        g["wbo"] = Signal(range(max(2, cfg.ob_bank_words) + 1), name="wbo")
        m.d.comb += [
            g["hb"].eq((layer.h + cfg.px - 1) >> lx), g["wb"].eq((layer.w + cfg.py - 1) >> ly),
            g["tr"].eq((layer.r + cfg.px - 1) >> lx), g["ts"].eq((layer.s + cfg.py - 1) >> ly),
            g["hbo"].eq((layer.ho + cfg.px - 1) >> lx),
            g["wbo"].eq((layer.wo + cfg.py - 1) >> ly),
            seq.c.eq(layer.c), seq.k.eq(layer.k), seq.wpk.eq(g["hbo"] * g["wbo"]),
            seq.nb.eq(g["hb"] * g["wb"]), seq.wb.eq(g["wb"]),
        ]
        if cfg.variant == "sparse_i":       # KB words per kernel: its tiles
            m.d.comb += [seq.rs.eq(g["tr"] * g["ts"]), seq.s.eq(g["ts"])]
        else:
            m.d.comb += [seq.rs.eq(layer.r * layer.s), seq.s.eq(layer.s)]
        return g

    @staticmethod
    def _datapath(m, cfg, layer, g, s1, ib_word, kb_word, acc):
        """The variant's datapath on stage 1; returns (products of real operands this step,
        stall)."""
        lx, ly = (cfg.px - 1).bit_length(), (cfg.py - 1).bit_length()
        shapes = {"coord_shape": coord_shape(cfg), "origin_shape": layer.x0.shape(),
                  "out_shape": layer.ho.shape()}
        geometry = {"x0": layer.x0, "y0": layer.y0, "ho": layer.ho, "wo": layer.wo,
                    "wbo": g["wbo"]}
        if cfg.variant == "sparse_ki":
            m.submodules.datapath = dp = CartesianDatapath(cfg, **shapes)
            m.d.comb += [dp.valid.eq(s1.valid), dp.weights.eq(kb_word), dp.inputs.eq(ib_word),
                         dp.kbase.eq(s1.kbase), acc.banks.eq(dp.banks)]
            m.d.comb += [getattr(dp, name).eq(value) for name, value in geometry.items()]
            real_w = [kb_word[p].value != 0 for p in range(cfg.px)]
            real_x = [ib_word[q].value != 0 for q in range(cfg.py)]
            products = sum(a & b for a in real_w for b in real_x)
            return Mux(s1.valid, products, 0), dp.stall

        sparse_i = cfg.variant == "sparse_i"
        m.submodules.datapath = dp = BlockDatapath(
            cfg, scalar_width=cfg.act_width if sparse_i else cfg.weight_width,
            lane_width=cfg.weight_width if sparse_i else cfg.act_width,
            input_bits=cfg.input_index_bits,
            kernel_bits=(cfg.kernel_max + cfg.px + cfg.py).bit_length(), **shapes)
        m.d.comb += [dp.valid.eq(s1.valid), dp.kbase.eq(s1.kbase), acc.banks.eq(dp.banks)]
        m.d.comb += [getattr(dp, name).eq(value) for name, value in geometry.items()]
        real = []
        if sparse_i:
            # An input times a rotated tile: lane (p, q) is kernel (i0 − p, j0 − q).
            i0, j0 = (s1.i << lx) + cfg.px - 1, (s1.j << ly) + cfg.py - 1
            m.d.comb += [dp.scalar.eq(ib_word.value), dp.matrix.eq(kb_word),
                         dp.m.eq(ib_word.m), dp.n.eq(ib_word.n), dp.i.eq(i0), dp.j.eq(j0)]
            for p in range(cfg.px):
                for q in range(cfg.py):
                    real.append((i0 - p < layer.r) & (j0 - q < layer.s))
        else:
            # A weight times an input block: lane (p, q) is input (M·P_x + p, N·P_y + q).
            m0, n0 = s1.m << lx, s1.n << ly
            dense = cfg.variant == "dense"
            m.d.comb += [dp.scalar.eq(kb_word.value), dp.matrix.eq(ib_word),
                         dp.m.eq(m0), dp.n.eq(n0),
                         dp.i.eq(s1.i if dense else kb_word.i),
                         dp.j.eq(s1.j if dense else kb_word.j)]
            for p in range(cfg.px):
                for q in range(cfg.py):
                    real.append((m0 + p < layer.h) & (n0 + q < layer.w))
        return Mux(s1.valid, sum(real), 0), 0

    @staticmethod
    def _control(m, cfg, regs, layer, g, seq, acc, advance, streaming):
        """Idle → clear OB → run the loops → drain the pipeline (a start is taken only while
        the OB is not ``streaming`` out); returns (busy, done, OB words of the pass)."""
        phase = Signal(Phase)
        done = Signal()
        busy = Signal()
        ptr = Signal(range(cfg.ob_bank_words + 1))
        drain = Signal(2)
        words = Signal(range(cfg.ob_bank_words + 2))
        m.d.comb += [busy.eq(phase != Phase.IDLE), words.eq(layer.k * seq.wpk)]
        # If/Elif rather than a Switch: Yosys would write the combinational outputs as case
        # statements that cover only the phases assigning them.
        with m.If(phase == Phase.IDLE):
            with m.If(regs.start & ~streaming):
                m.d.comb += seq.start.eq(1)
                m.d.sync += [done.eq(0), ptr.eq(0),
                             phase.eq(Mux(regs.accumulate, Phase.RUN, Phase.CLEAR))]
                for name, _, _ in _LAYER_REGS:
                    m.d.sync += getattr(layer, name).eq(getattr(regs, f"layer_{name}"))
        with m.Elif(phase == Phase.CLEAR):
            m.d.comb += [acc.clear.eq(1), acc.clear_addr.eq(ptr)]
            m.d.sync += ptr.eq(ptr + 1)
            with m.If(ptr == words - 1):
                m.d.sync += phase.eq(Phase.RUN)
        with m.Elif(phase == Phase.RUN):
            m.d.comb += seq.run.eq(advance)
            with m.If(seq.last):
                m.d.sync += [phase.eq(Phase.DRAIN), drain.eq(0)]
        with m.Else():
            # Three pipeline moves: the last step's datapath, OB read, OB write.
            with m.If(advance):
                m.d.sync += drain.eq(drain + 1)
                with m.If(drain == 2):
                    m.d.sync += [phase.eq(Phase.IDLE), done.eq(1)]
        with m.If(regs.clear):
            m.d.sync += done.eq(0)
        return busy, done, words

    @staticmethod
    def _statistics(m, cfg, regs, busy, streaming, seq, s1, products, stall, advance):
        """The counters of the last pass: cycles, MACs, steps, CCU coordinates, stalls."""
        names = ("cycles", "macs", "steps", "coords", "stalls")
        counters = {name: Signal(COUNTER_BITS, name=name) for name in names}
        with m.If(~busy & regs.start & ~streaming):
            m.d.sync += [counter.eq(0) for counter in counters.values()]
        with m.Elif(busy):
            m.d.sync += counters["cycles"].eq(counters["cycles"] + 1)
            taken = Mux(advance, products, 0)
            m.d.sync += [counters["steps"].eq(counters["steps"] + seq.issue),
                         counters["macs"].eq(counters["macs"] + taken),
                         counters["stalls"].eq(counters["stalls"] + stall)]
            if cfg.variant in ("sparse_k", "sparse_i"):       # one coordinate per step
                m.d.sync += counters["coords"].eq(counters["coords"] + seq.issue)
            elif cfg.variant == "sparse_ki":                  # one per product
                m.d.sync += counters["coords"].eq(counters["coords"] + taken)
        m.d.comb += [getattr(regs, name).eq(counter) for name, counter in counters.items()]
