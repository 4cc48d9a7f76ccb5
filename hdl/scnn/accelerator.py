"""The SCNN accelerator: a tiled array of PEs and its layer sequencer (SCNN paper, Sec. 4.1).

"A full SCNN accelerator employing the PT-IS-CP-sparse dataflow consists of multiple SCNN
processing elements (PEs) connected via simple interconnections ... The PEs are connected to their
nearest neighbors to exchange halo values during the processing of each CNN layer. The PE array
is driven by a layer sequencer that orchestrates the movement of weights and activations."
"""

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import data, enum, wiring
from amaranth.lib.wiring import In, Out

from ..common.axi import AxiLiteRegisterFile, Register, axi_lite_signature, axi_stream_signature
from .layouts import (
    COUNTER_BITS,
    act_row_layout,
    layer_layout,
    out_row_layout,
    stream_width,
    weight_row_layout,
)
from .coords import ConstDivider
from .outstream import OutputStreamer
from .pe import PE_PIPELINE, ScnnPE, pe_memories
from .wfifo import group_count
from .blox import BLOCK
from .ppu import BLOX_WAIT, ppu_cycles
from .requant import shift_bits
from .swap import buffer_rows

__all__ = ["ScnnAccelerator", "register_map", "REGISTER_ADDR_BITS"]

#: Address bits of the AXI4-Lite register file.
REGISTER_ADDR_BITS = 8


def register_map(cfg):
    """The control and status registers, in address order (see :class:`ScnnAccelerator`)."""
    layer = layer_layout(cfg)
    field = {name: layer[name].shape.width for name in ("h", "w", "c", "k", "r", "s")}
    return [
        Register("start", 0x00, 1, "pulse",
                 doc="write 1: run the layer described below: load, compute, stream the outputs "
                     "(held until the accumulators are cleared after reset and the previous "
                     "layer is done)"),
        Register("clear", 0x04, 1, "pulse",
                 doc="write 1: forget loaded activations; clear done and error; abandon a "
                     "layer still loading"),
        Register("status", 0x08, 5, "ro",
                 doc="bit 0 busy (computing), bit 1 done (the last output beat has left), "
                     "bit 2 error (a RAM overflowed or a beat had a bad tdest), bit 3 outputs "
                     "streaming, bit 4 loading"),
        Register("cycles", 0x0C, COUNTER_BITS, "ro",
                 doc="cycles of the last layer: from its first activation beat after start "
                     "(or the first compute cycle when none streams: activations loaded before, "
                     "or a chained layer) to its last output beat (with keep_outputs: its last "
                     "busy cycle), inclusive: load_cycles + busy_cycles + drain_cycles"),
        Register("layer_h", 0x10, field["h"], "rw", doc="input height H (≤ pes.y · tile.h)"),
        Register("layer_w", 0x14, field["w"], "rw", doc="input width W (≤ pes.x · tile.w)"),
        Register("layer_c", 0x18, field["c"], "rw", doc="input channels C"),
        Register("layer_k", 0x1C, field["k"], "rw", doc="output channels K"),
        Register("layer_r", 0x20, field["r"], "rw", doc="kernel height R (odd)"),
        Register("layer_s", 0x24, field["s"], "rw", doc="kernel width S (odd)"),
        Register("stall_cycles", 0x28, COUNTER_BITS, "ro",
                 doc="sum over PEs of cycles the multiplier array waited for a crossbar queue"),
        Register("barrier_cycles", 0x2C, COUNTER_BITS, "ro",
                 doc="sum over PEs of cycles spent idle at the inter-PE barrier of a group"),
        Register("products", 0x30, COUNTER_BITS, "ro",
                 doc="non-zero products accumulated, all PEs"),
        Register("ppu_wait_cycles", 0x34, COUNTER_BITS, "ro",
                 doc="cycles the next group waited for the PPU to free its accumulators"),
        Register("weight_rows", 0x38, COUNTER_BITS, "ro",
                 doc="weight rows broadcast since clear"),
        Register("compute_cycles", 0x3C, COUNTER_BITS, "ro",
                 doc="sum over PEs of cycles spent computing a group (to its last product)"),
        Register("clear_acts", 0x40, 1, "pulse",
                 doc="write 1: as clear, but weight_rows keeps counting"),
        Register("load_cycles", 0x44, COUNTER_BITS, "ro",
                 doc="cycles of the last layer from its first activation beat to its last, and "
                     "one more (the loaders' counts settle)"),
        Register("busy_cycles", 0x48, COUNTER_BITS, "ro",
                 doc="cycles of the last layer spent computing (busy high)"),
        Register("drain_cycles", 0x4C, COUNTER_BITS, "ro",
                 doc="cycles of the last layer after computing, to its last output beat"),
        *(_blox_registers(cfg) if cfg.sparseblox is not None else []),
        *_chain_registers(cfg),
        Register("weight_stall_cycles", 0xE0, COUNTER_BITS, "ro",
                 doc="cycles of the last layer the weight broadcast offered a beat that a PE "
                     "keeping its block had no free weight FIFO row for"),
    ]


def _chain_registers(cfg):
    """The layer's output mode and chaining (read at ``start``; see :class:`ScnnAccelerator`)."""
    return [
        Register("requant", 0x64, 1, "rw",
                 doc="1: the PPU writes its ReLU outputs requantized to the activation width "
                     "(the shift below; what a chained layer needs); 0: the raw accumulators"),
        Register("shift", 0x68, shift_bits(cfg.acc_width), "rw",
                 doc="requantization right shift: min((relu(acc) + (1 << (shift-1))) >> shift, "
                     f"{(1 << (cfg.act_width - 1)) - 1})"),
        Register("chain", 0x6C, 1, "rw",
                 doc="1: the layer's input is the previous layer's output, on chip (the "
                     "activation RAMs swap roles; no activation streams; C, H, W must equal the "
                     "previous layer's K, H, W, which requantized, else error)"),
        Register("keep_outputs", 0x70, 1, "rw",
                 doc="1: the outputs stay on chip for a chained layer and none stream out "
                     "(done after the last group's post-processing)"),
    ]


#: Sparse-Blox counter registers and the PE strobes they sum (see :class:`.ppu.PostProcessor`).
BLOX_COUNTERS = {"blocks_cached": "blox_cached", "blocks_pruned": "blox_created",
                 "blocks_refused": "blox_refused", "blocks_zero_before": "blox_zero"}


def _blox_registers(cfg):
    blox = cfg.sparseblox
    return [
        Register("blox_threshold", 0x50, blox.bits, "rw",
                 doc=f"Sparse-Blox threshold of the next layer's 4x4 output blocks, unsigned "
                     f"{blox.name} (0 prunes nothing); taken at start"),
        Register("blocks_cached", 0x54, COUNTER_BITS, "ro",
                 doc="blocks of the last layer the PPUs pruned (all PEs' caches took them)"),
        Register("blocks_pruned", 0x58, COUNTER_BITS, "ro",
                 doc="blocks of the last layer pruned that were not all-zero before (created)"),
        Register("blocks_refused", 0x5C, COUNTER_BITS, "ro",
                 doc="blocks of the last layer below threshold but stored: the PE's cache was "
                     "full"),
        Register("blocks_zero_before", 0x60, COUNTER_BITS, "ro",
                 doc="blocks of the last layer all-zero before pruning (with a real element)"),
    ]


class Phase(enum.Enum, shape=3):
    IDLE = 0
    LOAD = 1         # started; streams accepted until every PE has its blocks
    BEGIN = 2        # first group starts
    COMPUTE = 3      # a group computes; waiting for the barrier
    PPU_WAIT = 4     # barrier reached; the PPU still drains the previous group
    LAST = 5         # last group computed; its PPU runs
    DRAIN = 6        # computed; output beats remain


class ScnnAccelerator(wiring.Component):
    """``P_x × P_y`` SCNN PEs behind AXI4-Stream data ports and AXI4-Lite registers.

    **Use.** Write the layer registers and ``start``; stream each PE's compressed activation
    tiles to ``s_axis_act`` with ``tdest`` = PE index ``py·P_x + px`` and the layer's compressed
    weights to ``s_axis_w`` (broadcast to every PE); collect the compressed outputs from
    ``m_axis_out``, which streams each output-channel group as soon as it is post-processed:
    group by group, PE by PE (``tdest`` = PE index), output channel by output channel.
    ``status.done`` (and ``irq``) rises after the last output beat. Computing starts once every
    PE has its C activation blocks (activations loaded for an earlier start stay until
    ``clear``); the weight stream is taken only while the layer computes: each PE keeps the
    blocks it needs in its weight FIFO (:class:`.wfifo.WeightFifo`), and a beat waits until
    every PE keeping its block has a free row (``weight_stall_cycles``). A weight block of more
    rows than the FIFO is dropped and raises the error flag.

    **Streams.** Every beat is one row of a compressed block (:mod:`.layouts`): the block's entry
    ``count`` and F (weights) or I (activations, outputs) entries, ``tlast`` on a block's last
    row; an empty block is one beat with count 0. Weight blocks come in order group ``g``, input
    channel ``c``; activation blocks of a PE in channel order; the output stream gives lanes past
    a block's count as zeros. The activation stream is accepted from ``start`` until every PE
    has its blocks; the weight stream while computing, until the layer's ``⌈K/kc⌉·C`` blocks
    have passed.

    **Chained layers** (SCNN, Sec. 4.1: the PE array runs a network layer after layer, the
    output RAM of one layer becoming the input RAM of the next). With ``requant`` a layer's PPU
    writes its outputs requantized to the activation width; a layer started with ``chain``
    then takes them as its input activations where they lie: each PE's output tile of a stride-1
    'same' convolution is its input tile of the next layer, so the two activation RAMs of every
    PE swap roles (:class:`.swap.BufferSwap`): nothing loads before it computes (``s_axis_act``
    is not ready), and its weights stream while it computes as for any layer, each PE's weight
    FIFO keeping a block when the input RAM's directory (the one the previous layer's PPU wrote)
    has a non-empty block of its channel. Its C, H and W must be the previous layer's K, H and
    W, that layer must have requantized and finished, and K ≤ ``iaram_rows`` (the directory's
    half); otherwise ``status.error`` is set at ``start`` (the layer still runs, on whatever the
    RAM holds). ``keep_outputs`` keeps a layer's outputs on chip only: nothing streams out, and
    the layer is done when its last group is post-processed (a chained layer may stream its
    outputs too; the last layer of a chain must, to be read). ``requant``, ``shift``, ``chain``
    and ``keep_outputs`` are taken at ``start``; ``clear`` forgets loaded data but not a
    finished layer's outputs.

    **Layer sequencer.** Groups of ``kc`` output channels run one after the other. Every PE
    computes the group into one accumulator set; when all have finished (the inter-PE barrier),
    the PPUs of all PEs drain that set in lockstep (halo exchange, ReLU, compression into the
    OARAM) while the PEs compute the next group into the other set. A group starts once the PPU
    has freed its set.

    **Cycles.** ``cycles`` counts from the layer's first input beat to its last output beat,
    split into ``load_cycles``, ``busy_cycles`` (computing, ``busy`` high) and ``drain_cycles``
    (with ``keep_outputs``: to its last busy cycle, no drain);
    with input streams at full rate and the output always accepted, each is predicted exactly by
    :func:`sparseforge.sim.scnn.cycles.layer_cycles`.

    Attributes
    ----------
    s_axil : In(axi_lite_signature(REGISTER_ADDR_BITS))
    s_axis_w : In(axi_stream_signature(weight row width))
    s_axis_act : In(axi_stream_signature(activation row width, dest_width))
    m_axis_out : Out(axi_stream_signature(output row width, dest_width))
    irq : Out(1)
        ``status.done``: high from the last output beat of a layer to the next ``start`` or
        ``clear``.
    busy : Out(1)
        A layer computes.
    """

    PROBES = {"busy": "busy"}

    def __init__(self, cfg):
        self._cfg = cfg
        self._registers = register_map(cfg)
        dest = max(1, (cfg.pes - 1).bit_length())
        super().__init__({
            "s_axil": In(axi_lite_signature(REGISTER_ADDR_BITS)),
            "s_axis_w": In(axi_stream_signature(stream_width(weight_row_layout(cfg)))),
            "s_axis_act": In(axi_stream_signature(stream_width(act_row_layout(cfg)),
                                                  dest_width=dest)),
            "m_axis_out": Out(axi_stream_signature(stream_width(out_row_layout(cfg)),
                                                   dest_width=dest)),
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
        """The RAM macros of every PE (:func:`.pe.pe_memories`): ``[{"module", "words", "width"}]``,
        for black-boxing and sizing in area flows (``sparseforge synth``)."""
        return [{"module": f"{cfg.name}.pe_{px}_{py}.{name}", "words": rows, "width": bits}
                for py in range(cfg.py) for px in range(cfg.px)
                for name, (rows, bits) in pe_memories(cfg).items()]

    def manifest_details(self):
        """What the manifest records of this accelerator beside its config and ports."""
        cfg = self._cfg
        row = {"weights": weight_row_layout(cfg), "activations": act_row_layout(cfg),
               "outputs": out_row_layout(cfg)}
        return {
            "notation": cfg.notation,
            "pes": cfg.pes,
            "multipliers_per_pe": cfg.multipliers_per_pe,
            "multipliers_total": cfg.multipliers_total,
            "accumulator_banks_per_pe": {"sets": 2, "banks": cfg.banks,
                                         "entries": cfg.bank_entries,
                                         "bits": 2 * cfg.banks * cfg.bank_entries *
                                         cfg.acc_width},
            "accumulator_space": {"kc": cfg.kc, "w": cfg.acc_w, "h": cfg.acc_h,
                                  "halo": cfg.halo, "entries_per_plane": cfg.plane_entries,
                                  "bank": "(pos mod A) XOR ((kk << fold_shift) mod A)",
                                  "fold_shift": cfg.fold_shift},
            "crossbar": {"queues": cfg.multipliers_per_pe, "queue_depth": cfg.queue_depth,
                         "arbitration": "two rounds (heads, then second entries) per cycle; "
                                        "fullest queue first, ties to the lowest"},
            "weight_fifo": {"rows": cfg.weight_rows, "entries": cfg.weights,
                            "largest_block_rows": -(-cfg.weight_block_max // cfg.f),
                            "use": "circular buffer of the weight blocks the PE keeps from "
                                   "the broadcast during compute; a block must fit whole"},
            "rams_per_pe_rows": {"weights": cfg.weight_rows, "iaram": cfg.iaram_rows,
                                 "oaram": cfg.oaram_rows, "out_counts": cfg.out_channels},
            "layer_limits": {"h": cfg.max_h, "w": cfg.max_w, "r_s_odd_max": cfg.kernel_max,
                             "k": cfg.out_channels},
            "row_bits": {name: data.Layout.cast(layout).size for name, layout in row.items()},
            "registers": [{"name": r.name, "offset": r.offset, "width": r.width,
                           "access": r.access, "doc": r.doc} for r in self._registers],
            "latency": {
                "pe_pipeline": f"{PE_PIPELINE} stages from the sequencer to the crossbar "
                               "queues, one more to a bank",
                "ppu_cycles_per_group": "kg · ((H_t + 2·pr)·[S > 1] + 4·pr + H_t·⌈W_t/I⌉) + 1, "
                                        "or kg · (H_t·⌈W_t/I⌉ + 1) for kernels without halo",
                "ppu_cycles_example_kc_3x3": ppu_cycles(cfg, cfg.kc, min(3, cfg.kernel_max),
                                                        min(3, cfg.kernel_max)),
                **({"sparseblox_pass_cycles_per_channel":
                    f"⌈W_t/4⌉·H_t + {BLOX_WAIT} (between exchange and compression; it also "
                    "closes the previous channel's block)"} if cfg.sparseblox else {}),
            },
            **({"sparseblox": {"block": [BLOCK, BLOCK], "blocks_per_tile": cfg.blox_blocks,
                               "position": "k · blocks_per_tile + b (b row-major in the tile)",
                               "cache_per_pe_positions_per_bank": cfg.sparseblox.capacity,
                               "threshold_format": cfg.sparseblox.name}}
               if cfg.sparseblox else {}),
            "streams": {
                "s_axis_w": "weight blocks (g, c) in order, rows of F entries with the count; "
                            "taken while the layer computes (broadcast to the weight FIFOs)",
                "s_axis_act": "per PE (tdest): activation blocks per channel, rows of I entries "
                              "(not ready for a chained layer)",
                "m_axis_out": "per PE (tdest), per output channel: rows of I entries (none "
                              "with keep_outputs)",
            },
            "chaining": {
                "requant": "min((relu(acc) + (1 << (shift-1))) >> shift, 2^(act-1) - 1), "
                           "sparseforge.sim.conv.requantize with bits = widths.act",
                "activation_rams": "IARAM and OARAM swap roles when a chained layer begins; "
                                   f"each has {buffer_rows(cfg)} rows of I entries of "
                                   f"{max(cfg.acc_width, cfg.act_width)}-bit values",
                "chain_requires": "C, H, W = the previous layer's K, H, W; it requantized; "
                                  f"K <= {cfg.iaram_rows}",
            },
            "memories": self.memory_macros(cfg),
            "probes": dict(self.PROBES),
        }

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        npe = cfg.pes

        m.submodules.regs = regs = AxiLiteRegisterFile(self._registers,
                                                       addr_width=REGISTER_ADDR_BITS)
        wiring.connect(m, wiring.flipped(self.s_axil), regs.bus)

        pes = {}
        for py in range(cfg.py):
            for px in range(cfg.px):
                pes[px, py] = m.submodules[f"pe_{px}_{py}"] = ScnnPE(cfg, px, py)
        order = [pes[px, py] for py in range(cfg.py) for px in range(cfg.px)]

        # -- halo links between neighbours (zero at the array's edges) ---------------------------
        for (px, py), pe in pes.items():
            if (px - 1, py) in pes:
                m.d.comb += pe.from_left.eq(pes[px - 1, py].links.right)
            if (px + 1, py) in pes:
                m.d.comb += pe.from_right.eq(pes[px + 1, py].links.left)
            if (px, py - 1) in pes:
                m.d.comb += pe.from_up.eq(pes[px, py - 1].links.down)
            if (px, py + 1) in pes:
                m.d.comb += pe.from_down.eq(pes[px, py + 1].links.up)

        # -- layer sequencer ----------------------------------------------------------------------
        phase = Signal(Phase)
        threshold = Signal(cfg.sparseblox.bits) if cfg.sparseblox is not None else None
        layer = Signal(layer_layout(cfg))
        done = Signal()
        error = Signal()
        acc_set = Signal()
        k_left = Signal(range(cfg.out_channels + 1))      # output channels from this group on
        kbase = Signal(range(max(2, cfg.out_channels)))
        # The layer's output mode and chaining, taken at start; in_sel: which activation RAM is
        # the input (it flips when a chained layer begins); src: the finished layer a chained
        # one may take its input from.
        requant = Signal()
        shift = Signal(shift_bits(cfg.acc_width))
        chain = Signal()
        keep = Signal()
        in_sel = Signal()
        src_ok = Signal()
        src = Signal(layer_layout(cfg))

        computing = Signal(npe)
        ppu_busy = Signal()
        ppu_was = Signal()
        m.d.comb += [computing.eq(Cat(pe.computing for pe in order)),
                     ppu_busy.eq(order[0].ppu_busy)]
        m.d.sync += ppu_was.eq(ppu_busy)

        layer_start = Signal()
        group_start = Signal()
        ppu_start = Signal()
        kg_now = Signal(range(cfg.kc + 1))
        m.d.comb += kg_now.eq(Mux(k_left > cfg.kc, cfg.kc, k_left))
        for pe in order:
            m.d.comb += [
                pe.layer.eq(layer),
                pe.layer_start.eq(layer_start),
                pe.in_sel.eq(in_sel),
                pe.requant.eq(requant),
                pe.shift.eq(shift),
                pe.group_start.eq(group_start),
                pe.acc_set.eq(acc_set),
                pe.ppu_start.eq(ppu_start),
                pe.ppu_kg.eq(kg_now),
                pe.ppu_kbase.eq(kbase),
            ]
            if cfg.sparseblox is not None:
                m.d.comb += pe.blox_threshold.eq(threshold)

        m.submodules.outputs = outs = OutputStreamer(cfg)
        for n, pe in enumerate(order):
            wiring.connect(m, outs.count_read[n], pe.count_read)
            wiring.connect(m, outs.out_read[n], pe.out_read)

        def launch():
            """Barrier passed and PPU free: drain this group, start the next if any."""
            m.d.comb += ppu_start.eq(1)
            m.d.sync += acc_set.eq(~acc_set)
            with m.If(k_left > cfg.kc):
                m.d.comb += group_start.eq(1)
                m.d.sync += [phase.eq(Phase.COMPUTE), k_left.eq(k_left - cfg.kc),
                             kbase.eq(kbase + cfg.kc)]
            with m.Else():
                m.d.sync += phase.eq(Phase.LAST)

        # Loading is complete when every PE has its C activation blocks (counted by the PEs'
        # loaders); the layer has ⌈K/kc⌉ groups of weight blocks.
        m.submodules.groups = groups = ConstDivider(cfg.kc, cfg.out_channels + cfg.kc - 1)
        loaded = Signal()
        m.d.comb += [
            groups.dividend.eq(layer.k + cfg.kc - 1),
            # A chained layer's activations are on chip: nothing to load.
            loaded.eq(chain | Cat(pe.a_blocks >= layer.c for pe in order).all()),
        ]

        def finish():
            """The layer's outputs are complete: a chained layer may take them if requantized
            and their directory fits its half of the directory RAM (K ≤ iaram_rows)."""
            m.d.sync += [src_ok.eq(requant & (layer.k <= cfg.iaram_rows)), src.eq(layer)]

        barrier = Signal()
        m.d.comb += barrier.eq(~computing.any())
        # A start is held until the accumulators are cleared after reset and the previous
        # layer is done.
        pending = Signal()
        launch_layer = Signal()
        m.d.comb += launch_layer.eq((phase == Phase.IDLE) & (pending | regs.start) &
                                    Cat(pe.ready for pe in order).all())
        with m.If(launch_layer):
            m.d.sync += pending.eq(0)
        with m.Elif(regs.start):
            m.d.sync += pending.eq(1)
        with m.If(regs.clear):
            m.d.sync += pending.eq(0)
        m.d.comb += [outs.layer_start.eq(launch_layer), outs.k.eq(layer.k),
                     outs.group_done.eq(ppu_was & ~ppu_busy & ~keep)]

        # A chained layer's input: the last finished layer's output, requantized, of this
        # layer's C × H × W, its directory within the directory RAM's half.
        chain_ok = Signal()
        m.d.comb += chain_ok.eq(src_ok & (regs.layer_c == src.k) & (regs.layer_h == src.h) &
                                (regs.layer_w == src.w))

        with m.If(phase == Phase.IDLE):
            with m.If(launch_layer):
                m.d.sync += [
                    phase.eq(Phase.LOAD), done.eq(0),
                    layer.h.eq(regs.layer_h), layer.w.eq(regs.layer_w),
                    layer.c.eq(regs.layer_c), layer.k.eq(regs.layer_k),
                    layer.r.eq(regs.layer_r), layer.s.eq(regs.layer_s),
                    k_left.eq(regs.layer_k), kbase.eq(0), acc_set.eq(0),
                    requant.eq(regs.requant), shift.eq(regs.shift), chain.eq(regs.chain),
                    keep.eq(regs.keep_outputs),
                    # A chained layer's input RAM is the last output RAM from its first cycle
                    # on: the weight FIFOs look its directory up in the last loading cycle.
                    in_sel.eq(in_sel ^ regs.chain),
                ]
                with m.If(regs.chain & ~chain_ok):
                    m.d.sync += error.eq(1)
                if threshold is not None:
                    m.d.sync += threshold.eq(regs.blox_threshold)
        with m.Elif(phase == Phase.LOAD):
            with m.If(loaded):
                m.d.sync += phase.eq(Phase.BEGIN)
        with m.Elif(phase == Phase.BEGIN):
            m.d.comb += [layer_start.eq(1), group_start.eq(1)]
            # The outputs of the layer before are overwritten from now on (or are the input).
            m.d.sync += [phase.eq(Phase.COMPUTE), src_ok.eq(0)]
        with m.Elif(phase == Phase.COMPUTE):
            with m.If(barrier):
                with m.If(ppu_busy):
                    m.d.sync += phase.eq(Phase.PPU_WAIT)
                with m.Else():
                    launch()
        with m.Elif(phase == Phase.PPU_WAIT):
            with m.If(~ppu_busy):
                launch()
        with m.Elif(phase == Phase.LAST):
            with m.If(~ppu_busy):
                m.d.sync += [phase.eq(Mux(keep, Phase.IDLE, Phase.DRAIN)), done.eq(keep)]
                with m.If(keep):
                    finish()
        with m.Elif(phase == Phase.DRAIN):
            with m.If(outs.finishing):
                m.d.sync += [phase.eq(Phase.IDLE), done.eq(1)]
                finish()
        # A clear while loading abandons the layer (e.g. after an overflow set the error flag).
        # An abandoned chained layer gives the RAMs their roles back.
        with m.If((phase == Phase.LOAD) & (regs.clear | regs.clear_acts)):
            m.d.sync += [phase.eq(Phase.IDLE), in_sel.eq(in_sel ^ chain)]

        busy = Signal()
        m.d.comb += [busy.eq((phase != Phase.IDLE) & (phase != Phase.LOAD) &
                             (phase != Phase.DRAIN)),
                     self.busy.eq(busy), self.irq.eq(done)]

        # -- activations by tdest while loading; weights broadcast while computing --------------
        s_w, s_a = self.s_axis_w, self.s_axis_act
        w_beat = Signal()
        a_beat = Signal()
        m.d.comb += [s_a.tready.eq((phase == Phase.LOAD) & ~chain),
                     w_beat.eq(s_w.tvalid & s_w.tready), a_beat.eq(s_a.tvalid & s_a.tready)]
        w_row_bits = data.Layout.cast(weight_row_layout(cfg)).size
        a_row_bits = data.Layout.cast(act_row_layout(cfg)).size
        w_row = Signal(weight_row_layout(cfg))
        m.d.comb += w_row.eq(s_w.tdata[:w_row_bits])
        # The broadcast's position: group and channel of the pending beat, rows of its block
        # still due after it (0: the pending beat starts a block).
        bgroup = Signal(range(group_count(cfg) + 1))
        bchan = Signal(range(max(2, cfg.iaram_rows)))
        bchan_next = Signal.like(bchan)
        left = Signal(range(-(-cfg.weight_block_max // cfg.f) + 1))
        m.submodules.block_rows = div = ConstDivider(cfg.f, cfg.weight_block_max + cfg.f - 1)
        span = Signal.like(left)                  # rows of a block starting with the pending beat
        w_first, w_last, w_fits, w_open = Signal(), Signal(), Signal(), Signal()
        m.d.comb += [
            div.dividend.eq(w_row.count + cfg.f - 1),
            span.eq(Mux(w_row.count == 0, 1, div.quotient)),
            w_first.eq(left == 0),
            w_last.eq(Mux(w_first, span == 1, left == 1)),
            w_fits.eq(span <= cfg.weight_rows),
            w_open.eq(busy & (bgroup < groups.quotient)),
            s_w.tready.eq(w_open & Cat(pe.w_ready for pe in order).all()),
            bchan_next.eq(Mux(w_beat & w_last, Mux(bchan + 1 == layer.c, 0, bchan + 1), bchan)),
        ]
        with m.If(launch_layer):
            m.d.sync += [bgroup.eq(0), bchan.eq(0), left.eq(0)]
        with m.Elif(w_beat):
            m.d.sync += [bchan.eq(bchan_next),
                         left.eq(Mux(w_first, span, left) - 1)]
            with m.If(w_last & (bchan + 1 == layer.c)):
                m.d.sync += bgroup.eq(bgroup + 1)
        with m.If(w_beat & w_first & (w_row.count != 0) & ~w_fits):
            m.d.sync += error.eq(1)
        w_rows = Signal(COUNTER_BITS)
        for n, pe in enumerate(order):
            m.d.comb += [
                pe.w_row.eq(w_row),
                pe.w_first.eq(w_first),
                pe.w_last.eq(w_last),
                pe.w_fits.eq(w_fits),
                pe.w_group.eq(bgroup),
                pe.w_take.eq(w_beat),
                pe.w_c_next.eq(bchan_next),
                # The pending channel's activation block: read in the last loading cycle (the
                # directory is complete) and whenever a block ends.
                pe.w_lookup.eq(((phase == Phase.LOAD) & loaded) | (w_beat & w_last)),
                pe.a_row.eq(s_a.tdata[:a_row_bits]),
                pe.a_en.eq(a_beat & (s_a.tdest == n)),
                pe.clear_w.eq(launch_layer),
                pe.clear_a.eq(regs.clear | regs.clear_acts),
            ]
        with m.If(w_beat):
            m.d.sync += w_rows.eq(w_rows + 1)
        with m.If(a_beat & (s_a.tdest >= npe)):
            m.d.sync += error.eq(1)
        with m.If(Cat(pe.overflow | pe.load_error for pe in order).any()):
            m.d.sync += error.eq(1)
        with m.If(regs.clear | regs.clear_acts):
            m.d.sync += [error.eq(0), done.eq(0)]
        with m.If(regs.clear):
            m.d.sync += w_rows.eq(0)

        # -- statistics ---------------------------------------------------------------------------
        cycles = Signal(COUNTER_BITS)
        loads = Signal(COUNTER_BITS)
        busies = Signal(COUNTER_BITS)
        drains = Signal(COUNTER_BITS)
        stalls = Signal(COUNTER_BITS)
        waits = Signal(COUNTER_BITS)
        products = Signal(COUNTER_BITS)
        ppu_waits = Signal(COUNTER_BITS)
        computes = Signal(COUNTER_BITS)
        w_stalls = Signal(COUNTER_BITS)
        counting = Signal()                   # the layer's first input beat has been taken
        with m.If(launch_layer):
            m.d.sync += [cycles.eq(0), loads.eq(0), busies.eq(0), drains.eq(0), stalls.eq(0),
                         waits.eq(0), products.eq(0), ppu_waits.eq(0), computes.eq(0),
                         counting.eq(0), w_stalls.eq(0)]
        with m.Elif((phase == Phase.LOAD) & (counting | a_beat)):
            m.d.sync += [counting.eq(1), cycles.eq(cycles + 1), loads.eq(loads + 1)]
        with m.Elif(phase == Phase.DRAIN):
            m.d.sync += [cycles.eq(cycles + 1), drains.eq(drains + 1)]
        with m.Elif(busy):
            m.d.sync += [
                cycles.eq(cycles + 1),
                busies.eq(busies + 1),
                computes.eq(computes + sum(pe.computing for pe in order)),
                stalls.eq(stalls + sum(pe.stall for pe in order)),
                products.eq(products + sum(pe.granted for pe in order)),
            ]
            with m.If((phase == Phase.COMPUTE) & ~barrier):
                m.d.sync += waits.eq(waits + sum(~pe.computing for pe in order))
            with m.If(phase == Phase.PPU_WAIT):
                m.d.sync += ppu_waits.eq(ppu_waits + 1)
            with m.If(w_open & s_w.tvalid & ~s_w.tready):
                m.d.sync += w_stalls.eq(w_stalls + 1)

        # -- output stream ------------------------------------------------------------------------
        o = self.m_axis_out
        m.d.comb += [
            o.tdata.eq(outs.o.payload.row.as_value()),
            o.tdest.eq(outs.o.payload.dest),
            o.tlast.eq(outs.o.payload.last),
            o.tvalid.eq(outs.o.valid),
            outs.o.ready.eq(o.tready),
            regs.status.eq(Cat(busy, done, error, outs.active, phase == Phase.LOAD)),
            regs.cycles.eq(cycles),
            regs.load_cycles.eq(loads),
            regs.busy_cycles.eq(busies),
            regs.drain_cycles.eq(drains),
            regs.stall_cycles.eq(stalls),
            regs.barrier_cycles.eq(waits),
            regs.products.eq(products),
            regs.ppu_wait_cycles.eq(ppu_waits),
            regs.weight_rows.eq(w_rows),
            regs.compute_cycles.eq(computes),
            regs.weight_stall_cycles.eq(w_stalls),
        ]
        if cfg.sparseblox is not None:
            self._blox_counters(m, regs, order, launch_layer)
        return m

    @staticmethod
    def _blox_counters(m, regs, order, launch_layer):
        """Sparse-Blox: each counter register sums its strobe over the PEs, from ``start``."""
        for reg, strobe in BLOX_COUNTERS.items():
            counter = Signal(COUNTER_BITS, name=reg)
            with m.If(launch_layer):
                m.d.sync += counter.eq(0)
            with m.Else():
                m.d.sync += counter.eq(counter + sum(getattr(pe, strobe) for pe in order))
            m.d.comb += getattr(regs, reg).eq(counter)
