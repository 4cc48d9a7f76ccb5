"""Sparse-Blox in the VDBB accelerator's output stage (Hotfilter et al., III-B, Fig. 4).

The output stage hands every result row of a pruning layer to the :class:`BloxPruner`, which sums
each output block (``B`` channels of the tile's ``M·A`` pixels) with the block adders, decides it
against the layer's threshold, offers it to the sparse-block cache, and releases the tile's rows
to be written with the words of pruned blocks dropped. The :class:`BloxReadFilter` looks each word
of a read-back map up in the cache: a pruned block's words are zeros, not read from SRAM.
"""

from amaranth import Module, Signal, unsigned
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from ...gen.schema import bits_for
from ..sparseblox import BlockSummer, PruneDecision
from .layouts import CH_BITS, layer_layout

__all__ = ["row_record_layout", "BloxPruner", "BloxReadFilter", "blox_registers", "attach_blox"]


def row_record_layout(cfg):
    """A result row on its way to SRAM, as the output stage would write it.

    ``words``: the row's INT8 channel blocks (word ``j`` is channel block ``first + j``);
    ``row_base``, ``rot``, ``n``: where they go (word ``j < n`` to bank ``(rot + j) mod banks``,
    row ``row_base + j``); ``inside``: the pixel is in the map; ``last``: the row closes its
    output tile; ``keep``: per word, written (cleared for a pruned block's word).
    """
    blocks = cfg.out_blocks_per_row
    return data.StructLayout({
        "words": data.ArrayLayout(cfg.word_bits, blocks),
        "keep": unsigned(blocks),
        "row_base": unsigned(bits_for(cfg.act_bank_depth)),
        "rot": unsigned(max(1, cfg.act_banks.bit_length() - 1)),
        "n": unsigned(bits_for(4 * blocks + 1)),
        "first": unsigned(CH_BITS),
        "inside": 1,
        "last": 1,
    })


def _tree_latency(cfg):
    return max(1, (cfg.block - 1).bit_length())


class BloxPruner(wiring.Component):
    """Sum, decide and cache each output block; release its rows with pruned words dropped.

    Rows arrive in the output stage's order (column tiles outer, patches, ``M·A`` pixel rows of a
    patch), at most one a cycle, and are queued. Block ``j`` of a row (``B`` channels) enters
    adder ``j``, its lanes masked to the pixels inside the map and the channels below ``k``; the
    row with ``last`` closes the tile's ``N·C/B`` blocks. Their sums are decided one a cycle,
    ``j`` ascending, at position ``tile·(N·C/B) + j`` (the layer's production order), and offered
    to the cache; a position past ``2**position_bits`` is never a candidate. Once the last verdict
    of a tile is back, the tile's rows are released one a cycle with the verdicts in ``keep``.

    Timing: from a tile's last row taken in cycle ``c``, its rows are released in cycles
    ``c + L + 1 … c + L + M·A`` with ``L = tree latency + N·C/B + 2``
    (:func:`sparseforge.sim.accel.blox.blox_tail`). Tiles arrive at least ``M·A`` cycles
    apart, so the decisions of one tile are done before the next tile's are ready, the adders
    never stall, and the queue (depth ``2·M·A + L``) never fills: the pruner takes a row every
    cycle.

    Attributes
    ----------
    layer : In(layer_layout(cfg))
    start : In(1)
        Clear the counters and the position (the layer's first cycle).
    k : In(CH_BITS)
        The layer's output channels.
    threshold : In(unsigned(fmt.bits))
    row : In(stream.Signature(row_record_layout(cfg)))
        Always ready.
    released : Out(stream.Signature(row_record_layout(cfg)))
        Expected always ready.
    insert : Out(cache insert stream); verdict : In(cache verdict stream); full : In(1)
        To and from :class:`~sparseforge.hdl.sparseblox.SparseBlockCache`.
    busy : Out(1)
        Rows not yet released.
    cached, refused : Out(32)
        Blocks of the layer recorded in the cache (pruned), and below threshold but refused by
        the full cache (stored normally).
    """

    def __init__(self, cfg):
        self._cfg = cfg
        blox = cfg.sparseblox
        pos = unsigned(blox.position_bits)
        record = row_record_layout(cfg)
        super().__init__({
            "layer": In(layer_layout(cfg)),
            "start": In(1),
            "k": In(CH_BITS),
            "threshold": In(blox.bits),
            "row": In(stream.Signature(record)),
            "released": Out(stream.Signature(record)),
            "insert": Out(stream.Signature(data.StructLayout({"position": pos, "below": 1}))),
            "verdict": In(stream.Signature(data.StructLayout({"position": pos, "pruned": 1}))),
            "full": In(1),
            "busy": Out(1),
            "cached": Out(32),
            "refused": Out(32),
        })

    @property
    def queue_depth(self):
        cfg = self._cfg
        return 2 * cfg.array.tile_rows + _tree_latency(cfg) + cfg.out_blocks_per_row + 4

    def elaborate(self, platform):
        cfg = self._cfg
        blox = cfg.sparseblox
        m = Module()
        bz, blocks, rows = cfg.block, cfg.out_blocks_per_row, cfg.array.tile_rows
        record = row_record_layout(cfg)
        row = self.row.payload
        m.d.comb += self.row.ready.eq(1)

        # The rows wait here for their tile's verdicts.
        m.submodules.rows = rows_q = fifo.SyncFIFO(width=record.size, depth=self.queue_depth)
        m.d.comb += [rows_q.w_en.eq(self.row.valid), rows_q.w_data.eq(row)]

        # Block adders, one per channel block of the row.
        summers = []
        for j in range(blocks):
            s = m.submodules[f"sum{j}"] = BlockSummer(width=8, lanes=bz, block_size=rows * bz)
            beat = s.i.payload
            m.d.comb += [s.i.valid.eq(self.row.valid), beat.last.eq(row.last)]
            for e in range(bz):
                m.d.comb += [
                    beat.values[e].eq(row.words[j][8 * e:8 * e + 8].as_signed()),
                    beat.mask[e].eq(row.inside & ((row.first + j) * bz + e < self.k)),
                ]
            summers.append(s)

        # Decisions in position order: channel block j of tile t is position t·blocks + j.
        tag = unsigned(32)
        m.submodules.decide = decide = PruneDecision(width=8, block_size=rows * bz,
                                                     fmt=blox, tag_shape=tag)
        sel = Signal(range(blocks))
        position = Signal(32)
        m.d.comb += decide.threshold.eq(self.threshold)
        for j, s in enumerate(summers):
            # The tag is set here, with the rest of the payload: a lone copy of a register into
            # part of a payload becomes a bare ``always @*`` that Icarus does not run until the
            # register first changes, so the first block's position would be X there.
            with m.If(sel == j):
                m.d.comb += [decide.i.valid.eq(s.o.valid), decide.i.payload.sum.eq(s.o.payload.sum),
                             decide.i.payload.n_valid.eq(s.o.payload.n_valid),
                             decide.i.payload.tag.eq(position), s.o.ready.eq(decide.i.ready)]
        with m.If(decide.i.valid & decide.i.ready):
            m.d.sync += [sel.eq(0 if blocks == 1 else (sel + 1) % blocks),
                         position.eq(position + 1)]

        in_range = decide.o.payload.tag < (1 << blox.position_bits)
        below = Signal()
        m.d.comb += [
            below.eq(decide.o.payload.below & in_range),
            self.insert.valid.eq(decide.o.valid),
            self.insert.payload.position.eq(decide.o.payload.tag),
            self.insert.payload.below.eq(below),
            decide.o.ready.eq(self.insert.ready),
        ]
        with m.If(self.insert.valid & self.insert.ready & below & self.full):
            m.d.sync += self.refused.eq(self.refused + 1)

        # Verdicts of a tile gather into its keep mask, queued for its rows.
        m.submodules.masks = masks = fifo.SyncFIFO(width=blocks, depth=4)
        got = Signal(range(blocks))
        keep = Signal(blocks)
        m.d.comb += [self.verdict.ready.eq(1),
                     masks.w_data.eq(keep | (~self.verdict.payload.pruned << got))]
        with m.If(self.verdict.valid):
            m.d.sync += keep.bit_select(got, 1).eq(~self.verdict.payload.pruned)
            with m.If(self.verdict.payload.pruned):
                m.d.sync += self.cached.eq(self.cached + 1)
            with m.If(got == blocks - 1):
                m.d.comb += masks.w_en.eq(1)
                m.d.sync += [got.eq(0), keep.eq(0)]
            with m.Else():
                m.d.sync += got.eq(got + 1)

        # Release: a row leaves with its tile's verdicts; the tile's last row retires them.
        head = Signal(record)
        m.d.comb += [
            head.eq(rows_q.r_data),
            self.released.valid.eq(rows_q.r_rdy & masks.r_rdy),
            self.released.payload.eq(head),
            self.released.payload.keep.eq(masks.r_data),
            rows_q.r_en.eq(self.released.valid & self.released.ready),
            masks.r_en.eq(self.released.valid & self.released.ready & head.last),
            self.busy.eq(rows_q.r_rdy | self.row.valid),
        ]

        with m.If(self.start):
            m.d.sync += [sel.eq(0), position.eq(0), got.eq(0), keep.eq(0), self.cached.eq(0),
                         self.refused.eq(0)]
        return m


class BloxReadFilter(wiring.Component):
    """Look up every word of a read-back map in the sparse-block cache before it is read.

    The read walks the last layer's INT8 output map in load order (pixel-major, channel block
    inner) from its first word. For each word the filter finds its block's position (column tile,
    patch, channel block in the tile, as :class:`BloxPruner` numbered them) and asks the cache;
    ``hold`` keeps the reader waiting until the answer, then ``zero`` says the word is a pruned
    block's: the reader delivers zeros without reading SRAM. Throughput: one word per lookup
    (``2·probes + 1`` cycles and two more for the hand-offs); the read is not part of a layer's
    cycles.

    Attributes
    ----------
    layer : In(layer_layout(cfg))
        The last layer's descriptor (still latched after it finished).
    enable : In(1)
        The read is such a map (held steady during the read); low: ``hold`` and ``zero`` low.
    start : In(1)
    count : In(32)
        Words of the read (a read runs to its end before the next starts).
    advance : In(1)
        The reader issues the current word this cycle.
    hold, zero : Out(1)
    lookup : Out(stream.Signature(unsigned(position_bits))); hit : In(stream.Signature(1))
    """

    def __init__(self, cfg):
        self._cfg = cfg
        pos = unsigned(cfg.sparseblox.position_bits)
        super().__init__({
            "layer": In(layer_layout(cfg)),
            "enable": In(1),
            "start": In(1),
            "count": In(32),
            "advance": In(1),
            "hold": Out(1),
            "zero": Out(1),
            "lookup": Out(stream.Signature(pos)),
            "hit": In(stream.Signature(1)),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        layer = self.layer
        blocks = cfg.out_blocks_per_row
        pbits = cfg.sparseblox.position_bits

        # Where the current word is: pixel (x, y) in patch (tx, ty) at (px, py); channel block
        # cb = q·blocks + j.
        x, px, tx = (Signal.like(layer.wo, name=n) for n in ("x", "px", "tx"))
        y, py, ty = (Signal.like(layer.ho, name=n) for n in ("y", "py", "ty"))
        cb = Signal.like(layer.cb_out)
        q = Signal.like(layer.cb_out)
        j = Signal(range(blocks))
        left = Signal(32)
        position = Signal(64)
        m.d.comb += position.eq(((q * layer.tiles_y + ty) * layer.tiles_x + tx) * blocks + j)

        def step(counter, sub, tile, patch):
            """Advance a coordinate and its place in the patch grid."""
            with m.If(sub == patch - 1):
                m.d.sync += [sub.eq(0), tile.eq(tile + 1)]
            with m.Else():
                m.d.sync += sub.eq(sub + 1)
            m.d.sync += counter.eq(counter + 1)

        with m.If(self.advance):
            m.d.sync += left.eq(left - 1)
            with m.If(cb == layer.cb_out - 1):
                m.d.sync += [cb.eq(0), q.eq(0), j.eq(0)]
                with m.If(x == layer.wo - 1):
                    m.d.sync += [x.eq(0), px.eq(0), tx.eq(0)]
                    step(y, py, ty, layer.ph)
                with m.Else():
                    step(x, px, tx, layer.pw)
            with m.Else():
                m.d.sync += cb.eq(cb + 1)
                if blocks == 1:
                    m.d.sync += q.eq(q + 1)
                else:
                    with m.If(j == blocks - 1):
                        m.d.sync += [j.eq(0), q.eq(q + 1)]
                    with m.Else():
                        m.d.sync += j.eq(j + 1)

        # One lookup per word: ask (hold), wait for the answer (hold until it is valid), hand it
        # to the reader with the word. A position past the cache's width is never cached: the
        # word is read without asking. (Flags, not an FSM: Verilator -Wall flags a case over a
        # 2-bit state with three values.)
        waiting = Signal()                      # the current word's lookup is taken
        m.d.comb += [self.lookup.payload.eq(position), self.hit.ready.eq(self.advance)]
        with m.If(~self.enable | (left == 0) | (position >= (1 << pbits))):
            pass                                # hold and zero low: read the word
        with m.Elif(~waiting):
            m.d.comb += [self.lookup.valid.eq(1), self.hold.eq(1)]
            with m.If(self.lookup.ready):
                m.d.sync += waiting.eq(1)
        with m.Else():
            m.d.comb += [self.hold.eq(~self.hit.valid), self.zero.eq(self.hit.payload)]
            with m.If(self.advance):
                m.d.sync += waiting.eq(0)
        with m.If(self.start):
            m.d.sync += [left.eq(self.count), x.eq(0), px.eq(0), tx.eq(0), y.eq(0), py.eq(0),
                         ty.eq(0), cb.eq(0), q.eq(0), j.eq(0), waiting.eq(0)]
        return m


def blox_registers(cfg):
    """The registers Sparse-Blox adds to the accelerator's map (none without ``sparseblox``)."""
    from ..common.axi import Register
    if cfg.sparseblox is None:
        return []
    fmt = cfg.sparseblox                 # bits, frac_bits, name of the threshold format
    return [
        Register("blox", 0xD0, 1, doc="1: prune the layer's output blocks (needs int8_out)"),
        Register("blox_threshold", 0xD4, fmt.bits,
                 doc=f"the layer's threshold t, unsigned {fmt.name} (0: prune nothing)"),
        Register("blox_cached", 0xD8, 32, "ro",
                 doc="blocks of the last layer recorded in the sparse-block cache (pruned)"),
        Register("blox_refused", 0xDC, 32, "ro",
                 doc="blocks of the last layer below threshold but stored: the cache was full"),
        Register("read_blox", 0xE0, 1,
                 doc="1: the read is the last layer's INT8 output map from its first word; "
                     "its pruned blocks' words are zeros, not read from SRAM"),
        Register("blox_zero_reads", 0xE4, 32, "ro",
                 doc="activation words the last layer's reader asked for whose pruned-word flag "
                     "was set (an earlier layer pruned their block): zeros, not read from SRAM "
                     "(act_reads counts only the SRAM reads)"),
    ] + ([
        Register("blox_skip", 0xE8, 1,
                 doc="1: the layer's engine drops every step whose activation words are all "
                     "zero, at least one of them pruned (not its tile's last block), with its "
                     "weight slots"),
        Register("blox_skips", 0xEC, 32, "ro",
                 doc="engine steps (activation beats) the last layer dropped"),
    ] if cfg.blox_skips else [])



def attach_blox(m, cfg, regs, layer, setup, start, finish, output, readback):
    """Instantiate the sparse-block cache, the pruner and the read filter of ``cfg`` in the
    accelerator's module ``m`` and wire them; return the pruner's ``busy``.

    ``setup``: the sequencer latches the descriptor (the Sparse-Blox registers are latched with
    it); ``start``: the layer's first running cycle; ``finish``: its last (the cache swaps banks:
    the finished layer's positions become the ones reads look up)."""
    from ..sparseblox import SparseBlockCache
    blox = cfg.sparseblox
    m.submodules.blox_cache = cache = SparseBlockCache(capacity=blox.capacity,
                                                       position_bits=blox.position_bits)
    m.submodules.blox_pruner = pruner = BloxPruner(cfg)
    m.submodules.blox_reads = reads = BloxReadFilter(cfg)
    prune = Signal()
    k = Signal(CH_BITS)
    threshold = Signal(blox.bits)
    with m.If(setup):
        m.d.sync += [prune.eq(regs.blox), k.eq(regs.out_k), threshold.eq(regs.blox_threshold)]
    wiring.connect(m, pruner.insert, cache.insert)
    wiring.connect(m, cache.verdict, pruner.verdict)
    wiring.connect(m, reads.lookup, cache.lookup)
    wiring.connect(m, cache.hit, reads.hit)
    wiring.connect(m, output.row, pruner.row)
    wiring.connect(m, pruner.released, output.released)
    m.d.comb += [
        output.prune.eq(prune),
        pruner.layer.eq(layer), pruner.start.eq(start), pruner.k.eq(k),
        pruner.threshold.eq(threshold), pruner.full.eq(cache.full),
        cache.swap.eq(finish),
        regs.blox_cached.eq(pruner.cached), regs.blox_refused.eq(pruner.refused),
        reads.layer.eq(layer), reads.enable.eq(regs.read_blox), reads.start.eq(regs.read_start),
        reads.count.eq(regs.read_count), reads.advance.eq(readback.issued),
        readback.hold.eq(reads.hold), readback.zero.eq(reads.zero),
    ]
    return pruner.busy
