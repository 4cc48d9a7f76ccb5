"""The VDBB accelerator of the STA paper (Sec. IV, Fig. 5): SRAMs, IM2COL, array, output stage."""

from amaranth import Module, Mux, Signal
from amaranth.lib import enum, wiring
from amaranth.lib.wiring import In, Out

from ...gen.accel.config import patch_shapes
from ..common.axi import AxiLiteRegisterFile, Register, axi_lite_signature, axi_stream_signature
from ..sta import StaEngine
from ..sta.engine import engine_manifest
from .blox import attach_blox, blox_registers
from .blox_flags import PrunedWordFlags
from .direct_reader import DirectReader
from .im2col import Im2colMagnifier
from .layouts import CH_BITS, DIM_BITS, layer_layout
from .loaders import ActLoader, Readback, WeightLoader, stream_width
from .output_stage import OutputStage
from .quant_table import QuantTable, quant_rows
from .sram import SramBank
from .weight_reader import WeightReader

__all__ = ["Accelerator", "REGISTERS"]

REGISTERS = [
    Register("start", 0x00, 1, "pulse", doc="write 1: run the layer described below"),
    Register("status", 0x04, 3, "ro", doc="bit 0 busy, bit 1 done, bit 2 error (bad descriptor)"),
    Register("cycles", 0x08, 32, "ro",
             doc="cycles of the last layer: from the cycle its start write was accepted to the "
                 "cycle done rose, that one not counted"),
    Register("act_reads", 0x0C, 32, "ro", doc="activation SRAM words the last layer read (with "
             "Sparse-Blox, not the pruned words it got as zeros: blox_zero_reads)"),
    Register("beats", 0x10, 32, "ro", doc="activation beats (IM2COL rows × tile) it emitted"),
    Register("in_h", 0x20, 12, doc="input height H"),
    Register("in_w", 0x24, 12, doc="input width W"),
    Register("in_c", 0x28, 13, doc="input channels C"),
    Register("out_k", 0x2C, 13, doc="output channels K"),
    Register("kernel_r", 0x30, 4, doc="kernel height R"),
    Register("kernel_s", 0x34, 4, doc="kernel width S"),
    Register("stride", 0x38, 2, init=1, doc="1 or 2"),
    Register("pad", 0x3C, 3, doc="zero padding on each side"),
    Register("nnz", 0x40, 6, doc="VDBB non-zeros per block (1…B)"),
    Register("shift", 0x44, 5, doc="requantization right shift"),
    Register("relu", 0x48, 1, doc="1: ReLU before the clamp"),
    Register("int8_out", 0x4C, 1, doc="1: write requantized INT8; 0: raw INT32 accumulators"),
    Register("patch_h", 0x50, 6, init=1, doc="output patch rows (a divisor of the tile rows)"),
    Register("ifm_half", 0x54, 1, doc="activation SRAM half of the input map"),
    Register("ifm_base", 0x58, 24, doc="its first bank row"),
    Register("ofm_half", 0x5C, 1, doc="activation SRAM half of the output map (with two "
             "result rows a cycle, array.drain.rows 2: not ifm_half, else the layer is refused)"),
    Register("ofm_base", 0x60, 24, doc="its first bank row"),
    Register("w_half", 0x64, 1, doc="weight SRAM half of the layer's weights (more than a "
             "half's words run on into the other half)"),
    Register("w_base", 0x68, 24, doc="their first word"),
    Register("direct", 0x6C, 1, doc="1: the direct reader instead of IM2COL (patch_h = 1), for "
             "a layer whose IM2COL window does not fit (designs without IM2COL: always)"),
    Register("act_load_half", 0x70, 1, doc="s_axis_act writes this half…"),
    Register("act_load_base", 0x74, 24, doc="…from this bank row…"),
    Register("act_load_blocks", 0x78, 16, init=1, doc="…with this many words per pixel"),
    Register("raster", 0x7C, 1, doc="1: output tiles of M·A consecutive output pixels in raster "
             "order (crossing rows) through the direct reader; needs patch_h = 1 and, on an "
             "IM2COL design, direct = 1"),
    Register("w_load_half", 0x80, 1, doc="s_axis_w writes this weight half…"),
    Register("w_load_base", 0x84, 24, doc="…from this word (past the half's end, on into "
             "the other half)"),
    Register("read_half", 0x90, 1, doc="m_axis_out reads this half…"),
    Register("read_base", 0x94, 24, doc="…from this bank row…"),
    Register("read_blocks", 0x98, 16, init=1, doc="…with this many words per pixel…"),
    Register("read_count", 0x9C, 32, doc="…this many words"),
    Register("read_start", 0xA0, 1, "pulse", doc="write 1: start streaming them out"),
    Register("quant", 0xA8, 1, doc="1: per-channel bias, mult, shift from the quantization "
             "table (sram.quant_channels > 0); 0: bias 0, mult 1, the shift register"),
    Register("quant_base", 0xAC, 16, doc="table row of the layer's output channel 0 (channel k: "
             "row quant_base + k div tile_cols, lane k mod tile_cols)"),
    Register("qt_row", 0xB0, 16, doc="qt_write fills this table row…"),
    Register("qt_lane", 0xB4, 16, doc="…and lane (0 … tile_cols − 1)…"),
    Register("qt_bias", 0xB8, 32, doc="…with this INT32 bias…"),
    Register("qt_mult", 0xBC, 16, init=1, doc="…this multiplier (1 … 65535)…"),
    Register("qt_shift", 0xC0, 6, doc="…and this right shift (0 … 47)"),
    Register("qt_write", 0xC4, 1, "pulse", doc="write 1: store the channel's parameters"),
    Register("ofm_k", 0xF0, 13, doc="output channels of the map the layer writes into (0: its "
             "own out_k): a time tile of a larger layer writes its channels and rows in place "
             "in the whole layer's map"),
    Register("ofm_k0", 0xF4, 13, doc="the layer's output channel 0 is the map's channel ofm_k0 "
             "(a multiple of the block B; ofm_k0 + out_k <= ofm_k)"),
    Register("ofm_pixel0", 0xF8, 24, doc="the layer's output pixel p (oy·Wo + ox) is the map's "
             "pixel ofm_pixel0 + p (the map has the layer's Wo)"),
]


class Phase(enum.Enum, shape=2):
    IDLE = 0
    SETUP = 1
    DERIVE = 2
    RUN = 3


class Accelerator(wiring.Component):
    """The accelerator: AXI4-Lite registers, AXI4-Stream loaders, SRAMs, IM2COL, the STA engine
    and the output stage (Liu et al., Fig. 5).

    A layer runs as one engine job (see :mod:`sparseforge.sim.accel.plan`): write the descriptor
    registers, write ``start``, wait for the ``done`` output (or poll ``status``). An INT8 layer
    requantizes with the ``shift`` register alone (``quant = 0``) or with per-channel bias,
    multiplier and shift (``quant = 1``) written beforehand into the quantization table through
    the ``qt_*`` registers; a 2×2 max-pool is a host step (read the map back, pool, load it).

    Counting convention (:mod:`sparseforge.sim.accel.cycles`): a layer takes ``D − H`` cycles,
    where ``H`` is the cycle in which the AXI4-Lite write of 1 to ``start`` is accepted (its AW and
    W handshakes; this register file takes both in one cycle) and ``D`` the first cycle after it in
    which ``done`` is high. The ``cycles`` register counts the same: the ``start`` pulse reaches
    the sequencer in ``H + 1``, which loads the counter with 2 (cycles ``H`` and ``H + 1``), and it
    counts every busy cycle after that; the layer's last busy cycle is ``D − 1``.

    Attributes
    ----------
    s_axil : In(AXI4-Lite)
        The register map (:data:`REGISTERS`, recorded in the manifest).
    s_axis_act : In(AXI4-Stream)
        Activation words (one pixel's channel block each) into the activation SRAM.
    s_axis_w : In(AXI4-Stream)
        Weight words (one engine weight beat each) into the weight SRAM.
    m_axis_out : Out(AXI4-Stream)
        Words read back from the activation SRAM.
    done : Out(1)
        The interrupt line: high while the last layer is finished (or was refused: ``status``
        bit 2), from the cycle after its last busy cycle until the next ``start`` write, low from
        the cycle after that write is accepted. Registered (an AND of two flip-flops).
    """

    def __init__(self, cfg):
        self._cfg = cfg
        self._regs = AxiLiteRegisterFile(REGISTERS + blox_registers(cfg), addr_width=8)
        super().__init__({
            "s_axil": In(axi_lite_signature(8)),
            "s_axis_act": In(axi_stream_signature(stream_width(cfg.word_bits))),
            "s_axis_w": In(axi_stream_signature(stream_width(cfg.weight_word_bits))),
            "m_axis_out": Out(axi_stream_signature(stream_width(cfg.word_bits))),
            "done": Out(1),
        })

    @property
    def config(self):
        return self._cfg

    @staticmethod
    def memory_macros(cfg):
        """The SRAM macros (:class:`.sram.SramBank`) of ``cfg``'s accelerator:
        ``[{"module", "words", "width"}]``.

        Synthesis keeps them as black boxes and sizes them from a per-bit model, as an ASIC flow
        with an SRAM compiler would (``sparseforge synth``).
        """
        acts = [{"module": f"{cfg.name}.act{half}_bank{b}", "words": cfg.act_bank_depth,
                 "width": cfg.word_bits} for half in range(2) for b in range(cfg.act_banks)]
        weights = [{"module": f"{cfg.name}.w{half}_bank", "words": cfg.weight_half_words,
                    "width": cfg.weight_word_bits} for half in range(2)]
        quant = [{"module": f"{cfg.name}.quant_table.lane{j}", "words": quant_rows(cfg),
                  "width": 54} for j in range(cfg.array.tile_cols if cfg.quant_channels else 0)]
        blox = cfg.sparseblox
        cache = [{"module": f"{cfg.name}.blox_cache.positions", "words": 2 * blox.capacity,
                  "width": blox.position_bits}] if blox else []
        return acts + weights + quant + cache

    def manifest_details(self):
        cfg = self._cfg
        engine = engine_manifest(cfg.array)
        return {
            "notation": cfg.notation,
            "macs_total": cfg.array.macs_total,
            "macs_per_pe": cfg.array.macs_per_pe,
            "accumulators_per_pe": cfg.array.accumulators_per_pe,
            "array": engine,
            "sram": {
                "act": {"halves": 2, "banks_per_half": cfg.act_banks,
                        "words_per_bank": cfg.act_bank_depth, "word_bits": cfg.word_bits,
                        "kb": cfg.act_kb,
                        "ports": ("2RW: A writes, B reads or writes the second result row"
                                  if cfg.array.drain_rows == 2 else "1R1W")},
                "weight": {"halves": 2, "words_per_half": cfg.weight_half_words,
                           "word_bits": cfg.weight_word_bits, "kb": cfg.weight_kb},
                "macro_modules": [m["module"] for m in self.memory_macros(cfg)],
            },
            "im2col": ({"window": [cfg.window_rows, cfg.window_cols], "buffers": 2,
                        "direct_reader": "also present: a layer with the direct register set "
                                         "(one whose window does not fit) reads through it"}
                       if cfg.im2col else False),
            "sparseblox": None if cfg.sparseblox is None else {
                "block": f"B = {cfg.block} channels x the layer's output patch (M·A = "
                         f"{cfg.array.tile_rows} pixels)",
                "cache_positions_per_bank": cfg.sparseblox.capacity,
                "position_bits": cfg.sparseblox.position_bits,
                "threshold_format": cfg.sparseblox.name,
                "rule": "prune when |sum| * 2**frac < threshold * n_valid (strict)",
                "pruned_word_flags": f"{2 * cfg.act_banks * cfg.act_bank_depth} flip-flops, one "
                                     "per activation word: a next layer reads a pruned block's "
                                     "words as zeros without an SRAM read",
                "skipping": ("blox_skip = 1: the engine drops every step whose beat reads only "
                             "zero words, at least one pruned (not a tile's last block), with "
                             "its weight slots" if cfg.blox_skips else
                             "not built for a dense array")},
            "quant_table": {"channels": cfg.quant_channels, "rows": quant_rows(cfg),
                            "lanes": cfg.array.tile_cols,
                            "entry": "bias INT32, mult uint16, shift uint6",
                            "rule": "clamp(((acc + bias)*mult + (1 << (shift-1))) >> shift, "
                                    "-128, 127), no rounding term for shift 0, then ReLU if "
                                    "relu (sparseforge.sim.quant)",
                            "max_pool": "host step: read the map back, pool 2x2, load it"},
            "registers": [{"name": r.name, "offset": r.offset, "width": r.width,
                           "access": r.access, "reset": r.init, "doc": r.doc}
                          for r in REGISTERS + blox_registers(cfg)],
            "streams": {
                "s_axis_act": f"{stream_width(cfg.word_bits)}-bit words: B INT8 channels of "
                              "one pixel, pixel-major, channel block inner",
                "s_axis_w": f"{stream_width(cfg.weight_word_bits)}-bit words: the engine's "
                            "weight words (compressed DBB blocks for the sparse kinds), column "
                            "tiles in order, each from a new word",
                "m_axis_out": f"{stream_width(cfg.word_bits)}-bit words in load order",
            },
            "done": "interrupt output: high once the last layer is finished (or refused) until "
                    "the next start write; low from the cycle after that write is accepted",
            "cycle_convention": "cycles = D - H: H the cycle the start write's AW and W "
                                "handshakes complete, D the first later cycle with done high",
        }

    def elaborate(self, platform):
        cfg = self._cfg
        array = cfg.array
        m = Module()
        m.submodules.regs = regs = self._regs
        wiring.connect(m, wiring.flipped(self.s_axil), regs.bus)

        # -- the sequencer: latch the descriptor, derive the layer, run it -----------------------
        phase = Signal(Phase)
        layer = Signal(layer_layout(cfg))
        ifm_half = Signal()
        ofm_half = Signal()
        w_half = Signal()
        derived_ok = Signal()
        busy = Signal()
        done = Signal()
        error = Signal()
        cycles = Signal(32)
        m.d.comb += [
            busy.eq(phase != Phase.IDLE),
            regs.status.eq(busy | (done << 1) | (error << 2)),
            regs.cycles.eq(cycles),
            # Low from the cycle the start pulse arrives: it clears `done` at the end of it.
            self.done.eq(done & ~regs.start),
        ]
        with m.If(busy):
            m.d.sync += cycles.eq(cycles + 1)

        bz = cfg.block
        lg_b = bz.bit_length() - 1
        rows = array.tile_rows
        # SETUP: sizes that depend only on registers.
        ho, wo, pw, stride2, descriptor_ok = self._register_sizes(m, regs)

        tiles_y = Signal(DIM_BITS)
        tiles_x = Signal(DIM_BITS)
        with m.Switch(layer.ph):
            for ph_, pw_ in patch_shapes(rows):
                with m.Case(ph_):
                    m.d.comb += [tiles_y.eq((layer.ho + ph_ - 1) // ph_),
                                 tiles_x.eq((layer.wo + pw_ - 1) // pw_)]
            with m.Default():
                m.d.comb += [tiles_y.eq(0), tiles_x.eq(0)]
        with m.If(layer.raster):        # one row of ⌈Ho·Wo / M·A⌉ tiles
            m.d.comb += [tiles_y.eq(1), tiles_x.eq((layer.hw + rows - 1) // rows)]
        col_tiles = Signal(CH_BITS)
        m.d.comb += col_tiles.eq((layer.cb_out * bz + array.tile_cols - 1) // array.tile_cols)
        slots_per_block = layer.nnz + array.mask_slots if array.sparse else 1
        row_tiles = Signal(32)
        windows = Signal(32)
        engine_tiles = Signal(32)
        gemm_k = Signal(20)

        # An if-chain, not a case over the phase: RUN needs no action here, and Verilator -Wall
        # flags a case that misses a value.
        with m.If(phase == Phase.IDLE):
            with m.If(regs.start):
                # 2: this cycle and the one the start write was accepted in.
                m.d.sync += [phase.eq(Phase.SETUP), cycles.eq(2), done.eq(0)]
        with m.Elif(phase == Phase.SETUP):
            m.d.sync += [
                layer.h.eq(regs.in_h), layer.w.eq(regs.in_w),
                layer.cb_in.eq((regs.in_c + bz - 1) >> lg_b),
                layer.cb_out.eq((regs.out_k + bz - 1) >> lg_b),
                layer.r.eq(regs.kernel_r), layer.s.eq(regs.kernel_s),
                layer.stride2.eq(stride2), layer.pad.eq(regs.pad),
                layer.ho.eq(ho), layer.wo.eq(wo), layer.hw.eq(ho * wo),
                layer.raster.eq(regs.raster),
                layer.ph.eq(regs.patch_h), layer.pw.eq(pw),
                layer.wh.eq(((regs.patch_h - 1) << stride2) + regs.kernel_r),
                layer.ww.eq(((pw - 1) << stride2) + regs.kernel_s),
                layer.nnz.eq(regs.nnz),
                layer.direct.eq(regs.direct if cfg.im2col else 1),
                layer.ifm_base.eq(regs.ifm_base), layer.ofm_base.eq(regs.ofm_base),
                layer.ofm_cbs.eq(Mux(regs.ofm_k == 0, (regs.out_k + bz - 1) >> lg_b,
                                     (regs.ofm_k + bz - 1) >> lg_b)),
                layer.ofm_cb0.eq(regs.ofm_k0 >> lg_b), layer.ofm_pixel0.eq(regs.ofm_pixel0),
                layer.w_base.eq(regs.w_base),
                ifm_half.eq(regs.ifm_half), ofm_half.eq(regs.ofm_half),
                w_half.eq(regs.w_half),
                layer.int8_out.eq(regs.int8_out), layer.relu.eq(regs.relu),
                layer.shift.eq(regs.shift),
                layer.quant.eq(regs.quant), layer.quant_base.eq(regs.quant_base),
                derived_ok.eq(descriptor_ok),
                phase.eq(Phase.DERIVE),
            ]
        with m.Elif(phase == Phase.DERIVE):
            # Second step: counts that depend on the first (registered for timing).
            m.d.sync += [
                layer.tiles_y.eq(tiles_y), layer.tiles_x.eq(tiles_x),
                layer.col_tiles.eq(col_tiles),
                layer.tile_slots.eq(layer.r * layer.s * layer.cb_in * slots_per_block),
                row_tiles.eq(tiles_y * tiles_x),
                gemm_k.eq(layer.r * layer.s * (layer.cb_in << lg_b)),
            ]
            # The layer's parameter rows must lie inside the quantization table.
            quant_ok = ~layer.quant | (regs.quant_base + col_tiles <= quant_rows(cfg))
            if not cfg.quant_channels:
                quant_ok = ~layer.quant
            with m.If(derived_ok & quant_ok):
                m.d.sync += phase.eq(Phase.RUN)
            with m.Else():
                m.d.sync += [phase.eq(Phase.IDLE), error.eq(1), done.eq(1)]

        # RUN: the first cycle starts every unit and sends the engine its job.
        first = Signal()
        m.d.sync += first.eq((phase == Phase.DERIVE) & derived_ok)
        m.d.comb += [windows.eq(layer.col_tiles * row_tiles * layer.cb_in),
                     engine_tiles.eq(layer.col_tiles * row_tiles)]

        m.submodules.engine = engine = StaEngine(array, skip=cfg.blox_skips)
        if cfg.im2col:
            m.submodules.im2col = im2col = Im2colMagnifier(cfg)
            m.submodules.direct = direct = DirectReader(cfg)
            m.submodules.reader = acts = _ReaderSelect(cfg, im2col, direct)
        else:
            m.submodules.im2col = acts = DirectReader(cfg)
        m.submodules.weights = weights = WeightReader(cfg)
        m.submodules.output = output = OutputStage(cfg)
        if cfg.quant_channels:
            m.submodules.quant_table = quant = QuantTable(array.tile_cols, quant_rows(cfg))
            m.d.comb += [
                quant.wr_row.eq(regs.qt_row), quant.wr_lane.eq(regs.qt_lane),
                quant.wr_data.bias.eq(regs.qt_bias), quant.wr_data.mult.eq(regs.qt_mult),
                quant.wr_data.shift.eq(regs.qt_shift), quant.wr_en.eq(regs.qt_write),
                quant.rd_row.eq(output.quant_row), output.quant_data.eq(quant.rd_data),
            ]
        m.d.comb += [
            acts.layer.eq(layer), acts.windows.eq(windows), acts.start.eq(first),
            weights.layer.eq(layer), weights.row_tiles.eq(row_tiles), weights.start.eq(first),
            output.layer.eq(layer), output.start.eq(first),
        ]
        wiring.connect(m, acts.act, engine.act)
        if cfg.blox_skips:
            # Sparse-Blox: a beat whose words are all pruned (or zero padding) is dropped by the
            # engine with its weight slots; blox_skips counts them.
            skip_en = Signal()
            skips = Signal(32)
            with m.If(phase == Phase.SETUP):
                m.d.sync += skip_en.eq(regs.blox_skip)
            with m.If(first):
                m.d.sync += skips.eq(0)
            with m.Elif(engine.dropped):
                m.d.sync += skips.eq(skips + 1)
            m.d.comb += [acts.skip_en.eq(skip_en), engine.act_skip.eq(acts.act_skip),
                         regs.blox_skips.eq(skips)]
        wiring.connect(m, weights.weight, engine.weight)
        wiring.connect(m, engine.result, output.result)

        job = engine.job
        job_pending = Signal()
        m.d.comb += [job.valid.eq(job_pending), job.payload.k.eq(gemm_k),
                     job.payload.nnz.eq(layer.nnz), job.payload.tiles.eq(engine_tiles)]
        with m.If(first):
            m.d.sync += [job_pending.eq(1), error.eq(0)]
        with m.Elif(job.ready):
            m.d.sync += job_pending.eq(0)

        beats = Signal(32)
        with m.If(first):
            m.d.sync += beats.eq(0)
        with m.Elif(engine.act.valid & engine.act.ready):
            m.d.sync += beats.eq(beats + 1)
        m.d.comb += regs.beats.eq(beats)

        finish = Signal()
        blox_busy = Signal()                    # Sparse-Blox rows not yet written
        m.d.comb += finish.eq((phase == Phase.RUN) & ~first & ~job_pending & ~engine.busy &
                              ~acts.busy & ~weights.busy & ~blox_busy)
        with m.If(finish):
            m.d.sync += [phase.eq(Phase.IDLE), done.eq(1)]

        # -- SRAMs and who drives their ports ----------------------------------------------------
        m.submodules.act_loader = act_loader = ActLoader(cfg)
        m.submodules.w_loader = w_loader = WeightLoader(cfg)
        m.submodules.readback = readback = Readback(cfg)
        wiring.connect(m, wiring.flipped(self.s_axis_act), act_loader.s_axis)
        wiring.connect(m, wiring.flipped(self.s_axis_w), w_loader.s_axis)
        wiring.connect(m, readback.m_axis, wiring.flipped(self.m_axis_out))
        if cfg.sparseblox:
            m.d.comb += blox_busy.eq(attach_blox(m, cfg, regs, layer, phase == Phase.SETUP,
                                                 first, finish, output, readback))
        running = Signal()
        # Two result rows a cycle: the output half's banks are dual-port macros whose second port
        # writes the second row during a layer, so the readback waits for the layer there too.
        two_rows = array.drain_rows == 2
        m.d.comb += [
            running.eq(phase == Phase.RUN),
            act_loader.base.eq(regs.act_load_base), act_loader.blocks.eq(regs.act_load_blocks),
            act_loader.blocked.eq(running & (regs.act_load_half == ofm_half)),
            readback.base.eq(regs.read_base), readback.blocks.eq(regs.read_blocks),
            readback.count.eq(regs.read_count), readback.start.eq(regs.read_start),
            readback.blocked.eq(running & ((regs.read_half == ifm_half) |
                                           ((regs.read_half == ofm_half) if two_rows else 0))),
            w_loader.base.eq(regs.w_load_base),
        ]

        self._activation_srams(m, regs, acts, output, act_loader, readback, running, first,
                               ifm_half, ofm_half)
        self._weight_srams(m, regs, weights, w_loader, w_half)
        return m

    def _register_sizes(self, m, regs):
        """The layer's sizes that depend on the descriptor registers alone, and whether the
        descriptor is one the accelerator runs: ``(ho, wo, pw, stride2, descriptor_ok)``."""
        cfg = self._cfg
        array = cfg.array
        lg_b = cfg.block.bit_length() - 1
        rows = array.tile_rows
        ho = Signal(DIM_BITS + 2)
        wo = Signal(DIM_BITS + 2)
        pw = Signal(range(rows + 1))
        shape_ok = Signal()
        with m.Switch(regs.patch_h):
            for ph_, pw_ in patch_shapes(rows):
                if cfg.im2col or ph_ == 1:
                    with m.Case(ph_):
                        # The direct reader takes one row of pixels.
                        ok = (~regs.direct | (ph_ == 1)) if cfg.im2col else 1
                        m.d.comb += [pw.eq(pw_), shape_ok.eq(ok)]
            with m.Default():
                m.d.comb += [pw.eq(0), shape_ok.eq(0)]
        stride2 = regs.stride == 2
        m.d.comb += [
            ho.eq(((regs.in_h + 2 * regs.pad - regs.kernel_r) >> stride2) + 1),
            wo.eq(((regs.in_w + 2 * regs.pad - regs.kernel_s) >> stride2) + 1),
        ]
        descriptor_ok = Signal()
        m.d.comb += descriptor_ok.eq(
            shape_ok & ((regs.stride == 1) | (regs.stride == 2)) &
            (regs.kernel_r != 0) & (regs.kernel_s != 0) & (regs.in_c != 0) &
            (regs.out_k != 0) & (regs.in_h != 0) & (regs.in_w != 0) &
            (regs.in_h + 2 * regs.pad >= regs.kernel_r) &
            (regs.in_w + 2 * regs.pad >= regs.kernel_s) &
            (regs.nnz != 0) & (regs.nnz <= array.max_nnz) &
            (~regs.raster | ((regs.patch_h == 1) & (regs.direct if cfg.im2col else 1))) &
            (~regs.blox | regs.int8_out if cfg.sparseblox else 1) &
            # Writing into a larger map: whole blocks, inside its channels; not when pruning
            # (the pruner's block positions are the layer's own).
            (regs.ofm_k0[:lg_b] == 0 if lg_b else 1) &
            (regs.ofm_k0 + regs.out_k <= Mux(regs.ofm_k == 0, regs.out_k, regs.ofm_k)) &
            (~regs.blox | ((regs.ofm_k == 0) & (regs.ofm_k0 == 0) & (regs.ofm_pixel0 == 0))
             if cfg.sparseblox else 1) &
            # Two result rows a cycle: the output half's banks use both ports for writes.
            ((regs.ifm_half != regs.ofm_half) if array.drain_rows == 2 else 1))
        return ho, wo, pw, stride2, descriptor_ok

    def _activation_srams(self, m, regs, acts, output, act_loader, readback, running, first,
                          ifm_half, ofm_half):
        """The activation SRAM's two halves of ``act_banks`` banks and who drives their ports:
        during a layer the reader (``ifm_half``) and the output stage (``ofm_half``), otherwise
        the loader (``act_load_half``) and the readback (``read_half``); with Sparse-Blox, each
        half's pruned-word flags (:class:`.blox_flags.PrunedWordFlags`)."""
        cfg = self._cfg
        two_rows = cfg.array.drain_rows == 2
        # Sparse-Blox: a flag per activation word says its block was pruned (not written); the
        # layer's reader gets zeros for it and the bank is not read (see .blox_flags).
        zero_reads = Signal(32)
        if not cfg.sparseblox:
            m.d.comb += regs.act_reads.eq(acts.reads)
        else:
            m.d.comb += [regs.act_reads.eq(acts.reads - zero_reads),
                         regs.blox_zero_reads.eq(zero_reads)]
            with m.If(first):
                m.d.sync += zero_reads.eq(0)
        for half in range(2):
            flags = zero = None
            if cfg.sparseblox:
                flags = m.submodules[f"act{half}_flags"] = PrunedWordFlags(cfg)
                zero = Signal(cfg.act_banks, name=f"act{half}_zero")   # a flagged word lands
                use_rd = running & (ifm_half == half)
                m.d.comb += flags.rd_addr.eq(acts.rd_addr)
                m.d.sync += zero.eq(Mux(use_rd, acts.rd_en & flags.flag, 0))
                if cfg.blox_skips:
                    with m.If(ifm_half == half):
                        m.d.comb += acts.rd_pruned.eq(zero)
                with m.If(use_rd & ~first):
                    m.d.sync += zero_reads.eq(zero_reads + sum(
                        (acts.rd_en[b] & flags.flag[b]) for b in range(cfg.act_banks)))
            for b in range(cfg.act_banks):
                bank = m.submodules[f"act{half}_bank{b}"] = SramBank(
                    cfg.word_bits, cfg.act_bank_depth, write_ports=2 if two_rows else 1)
                use_layer_rd = running & (ifm_half == half)
                use_layer_wr = running & (ofm_half == half)
                if flags is not None:
                    with m.If(use_layer_wr):
                        m.d.comb += [flags.wr_addr[b].eq(output.wr_addr[b]),
                                     flags.wr_en[b].eq(output.wr_en[b] | output.wr_pruned[b]),
                                     flags.wr_flag[b].eq(output.wr_pruned[b])]
                    with m.Elif(regs.act_load_half == half):
                        m.d.comb += [flags.wr_addr[b].eq(act_loader.wr_addr[b]),
                                     flags.wr_en[b].eq(act_loader.wr_en[b])]
                rd_en = acts.rd_en[b] if flags is None else acts.rd_en[b] & ~flags.flag[b]
                with m.If(use_layer_rd):
                    m.d.comb += [bank.rd.addr.eq(acts.rd_addr[b]), bank.rd.en.eq(rd_en)]
                with m.Elif(regs.read_half == half):
                    m.d.comb += [bank.rd.addr.eq(readback.rd_addr[b]),
                                 bank.rd.en.eq(readback.rd_en[b])]
                if two_rows:
                    m.d.comb += [bank.wr2.addr.eq(output.wr2_addr[b]),
                                 bank.wr2.data.eq(output.wr2_data[b]),
                                 bank.wr2.en.eq(use_layer_wr & output.wr2_en[b])]
                with m.If(use_layer_wr):
                    m.d.comb += [bank.wr.addr.eq(output.wr_addr[b]),
                                 bank.wr.data.eq(output.wr_data[b]),
                                 bank.wr.en.eq(output.wr_en[b])]
                with m.Elif(regs.act_load_half == half):
                    m.d.comb += [bank.wr.addr.eq(act_loader.wr_addr[b]),
                                 bank.wr.data.eq(act_loader.wr_data[b]),
                                 bank.wr.en.eq(act_loader.wr_en[b])]
                with m.If(ifm_half == half):
                    word = bank.rd.data if zero is None else Mux(zero[b], 0, bank.rd.data)
                    m.d.comb += acts.rd_data[b].eq(word)
                with m.If(regs.read_half == half):
                    m.d.comb += readback.rd_data[b].eq(bank.rd.data)

    def _weight_srams(self, m, regs, weights, w_loader, w_half):
        """The weight SRAM's two halves and their ports: the layer's reader and the loader."""
        cfg = self._cfg
        # The weight SRAM's halves: the reader's and the loader's addresses count from their
        # half and run on into the other past its end (a layer's weights may use both halves).
        # A read's data come a cycle later, from the half its address was in.
        whole = cfg.weight_half_words
        rd_over, wr_over, rd_half_q = Signal(), Signal(), Signal()
        rd_in = Signal(range(whole))
        wr_in = Signal(range(whole))
        m.d.comb += [
            rd_over.eq(weights.rd_addr >= whole),
            rd_in.eq(Mux(rd_over, weights.rd_addr - whole, weights.rd_addr)),
            wr_over.eq(w_loader.wr_addr >= whole),
            wr_in.eq(Mux(wr_over, w_loader.wr_addr - whole, w_loader.wr_addr)),
        ]
        with m.If(weights.rd_en):
            m.d.sync += rd_half_q.eq(w_half ^ rd_over)
        for half in range(2):
            bank = m.submodules[f"w{half}_bank"] = SramBank(cfg.weight_word_bits, whole)
            m.d.comb += [
                bank.rd.addr.eq(rd_in),
                bank.rd.en.eq(weights.rd_en & ((w_half ^ rd_over) == half)),
                bank.wr.addr.eq(wr_in), bank.wr.data.eq(w_loader.wr_data),
                bank.wr.en.eq(w_loader.wr_en & ((regs.w_load_half ^ wr_over) == half)),
            ]
            with m.If(rd_half_q == half):
                m.d.comb += weights.rd_data.eq(bank.rd.data)


class _ReaderSelect(wiring.Component):
    """The activation reader of an IM2COL design: its IM2COL unit, or for a layer with
    ``direct`` set its direct reader (same ports as either; combinational, no latency)."""

    def __init__(self, cfg, im2col, direct):
        self._im2col, self._direct = im2col, direct
        self._skips = cfg.blox_skips
        super().__init__(im2col.signature)

    def elaborate(self, platform):
        m = Module()
        units = (self._im2col, self._direct)
        sel = self.layer.direct
        for unit in units:
            m.d.comb += [unit.layer.eq(self.layer), unit.windows.eq(self.windows),
                         unit.rd_data.eq(self.rd_data)]
        im2col, direct = units
        m.d.comb += [
            im2col.start.eq(self.start & ~sel), direct.start.eq(self.start & sel),
            self.busy.eq(im2col.busy | direct.busy),
            self.act.valid.eq(Mux(sel, direct.act.valid, im2col.act.valid)),
            self.act.payload.eq(Mux(sel, direct.act.payload.as_value(),
                                    im2col.act.payload.as_value())),
            im2col.act.ready.eq(self.act.ready & ~sel),
            direct.act.ready.eq(self.act.ready & sel),
            self.rd_addr.eq(Mux(sel, direct.rd_addr.as_value(), im2col.rd_addr.as_value())),
            self.rd_en.eq(Mux(sel, direct.rd_en, im2col.rd_en)),
            self.reads.eq(Mux(sel, direct.reads, im2col.reads)),
        ]
        if self._skips:                 # Sparse-Blox: the skip flags follow the selection
            for unit in units:
                m.d.comb += [unit.skip_en.eq(self.skip_en), unit.rd_pruned.eq(self.rd_pruned)]
            m.d.comb += self.act_skip.eq(Mux(sel, direct.act_skip, im2col.act_skip))
        return m

