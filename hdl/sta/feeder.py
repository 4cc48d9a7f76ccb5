"""Step feeder: turns a job and the activation and weight streams into steps at the array's edge."""

from amaranth import Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..common import NthSetBit
from .layouts import (K_BITS, TILE_BITS, act_beat_layout, act_step_layout, job_layout,
                      weight_step_layout, weight_word_layout)
from .unpacker import BlockUnpacker

__all__ = ["StepFeeder"]


class StepFeeder(wiring.Component):
    """Sequence a job's steps into the array, decoding DBB masks into mux positions.

    A job is ``tiles`` output tiles, each a reduction over ``k`` elements in ``⌈k/B⌉`` blocks. A
    block takes one step (``sa``, ``sta``), ``nnz`` steps (``vdbb``) or ``⌈nnz/b⌉`` steps
    (``dbb``: one up to its bound b, more for denser blocks, the paper's dense fallback). Every
    step takes one weight beat — a ``weight`` word for the dense kinds, unpacked from compressed
    words by a :class:`~sparseforge.hdl.sta.unpacker.BlockUnpacker` for the sparse ones — and the
    first step of a block also one ``act`` beat. A step enters the array (``act_edge``/``w_edge``
    with ``valid`` set) in the cycle both are accepted; a cycle without them is a bubble.

    Spacing rule, with D = ``result_banks``: the last step of a tile enters at least N advancing
    cycles after the previous tile's and after tile t − D's, and at least M + N − 1 after tile
    t − D − 1's. Rows drain in order, so before row i of tile t can capture, row i of tile t − D
    must have drained, and before it every row of tile t − D − 1; the rule makes all of those
    captures happen before the array can stall on row i, so a stall always waits on a drain that
    can progress. With ``⌈k/B⌉·steps ≥ max(N, (M+N−1)/(D+1))`` it never delays a step.

    Attributes
    ----------
    job : In(stream.Signature(job_layout(cfg)))
        Accepted when no job is being fed and ``hold`` is low.
    act : In(stream.Signature(act_beat_layout(cfg)))
    weight : In(stream.Signature(weight_word_layout(cfg)))
    hold : In(1)
        Do not accept a job (results of the previous one are still draining).
    advance : In(1)
        The array advances this cycle; no step is taken otherwise.
    act_edge : Out(ArrayLayout(act_step_layout(cfg), M))
    w_edge : Out(ArrayLayout(weight_step_layout(cfg), N))
    active : Out(1)
        Steps of the current job remain to be fed.
    act_skip : In(1)
        Only with ``skip`` (sparse kinds): comes with ``act``; the beat's activations are all
        zero, so its block is *dropped* — unless it is its tile's last block, which always runs
        (a tile ends on a real step): the beat is taken with the block's first handshake and
        no step enters the array while the unpacker drops the block's weight slots
        (:class:`~sparseforge.hdl.sta.unpacker.BlockUnpacker`, ``drop``), one word a cycle.
        The array advances meanwhile (bubbles), so the spacing rule counts those cycles.
    dropped : Out(1)
        Only with ``skip``: a dropped block's beat is taken this cycle.
    """

    def __init__(self, cfg, *, skip=False):
        if skip and not cfg.sparse:
            raise ValueError(f"Only the sparse kinds (dbb, vdbb) drop blocks, not {cfg.kind!r}")
        self._cfg = cfg
        self._skip = bool(skip)
        ports = {
            "job": In(stream.Signature(job_layout(cfg))),
            "act": In(stream.Signature(act_beat_layout(cfg))),
            "weight": In(stream.Signature(weight_word_layout(cfg))),
            "hold": In(1),
            "advance": In(1),
            "act_edge": Out(data.ArrayLayout(act_step_layout(cfg), cfg.m)),
            "w_edge": Out(data.ArrayLayout(weight_step_layout(cfg), cfg.n)),
            "active": Out(1),
        }
        if skip:
            ports.update({"act_skip": In(1), "dropped": Out(1)})
        super().__init__(ports)

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        job = self.job.payload
        if cfg.sparse:
            m.submodules.unpack = unpack = BlockUnpacker(cfg, skip=self._skip)
            wiring.connect(m, wiring.flipped(self.weight), unpack.i)
            weight = unpack.o
        else:
            weight = self.weight

        k = Signal(K_BITS)
        nnz = Signal.like(job.nnz)
        tiles_left = Signal(TILE_BITS)
        kleft = Signal(K_BITS)                # elements of K from the current block on
        step = Signal(range(cfg.block))       # step within a block (sparse kinds)
        # Advancing cycles since the last tile-last step (gap), since the one before (gap2) and,
        # with two result banks, the one before that (gap3).
        horizon = cfg.m + cfg.n - 1
        gap = Signal(range(horizon + 1), init=horizon)
        gap2 = Signal(range(horizon + 1), init=horizon)
        gaps = [gap, gap2]
        if cfg.result_banks == 2:
            gaps.append(Signal(range(horizon + 1), init=horizon, name="gap3"))
        spaced = Signal()
        m.d.comb += spaced.eq((gaps[0] >= cfg.n) & (gaps[-2] >= cfg.n) &
                              (gaps[-1] >= horizon))

        # The step's flags are registers, each set one step ahead from the state the step moves
        # to (the same values a comparison of that state would give, so cycles are unchanged):
        # the handshake below starts from flip-flops, not from a K-wide comparison (clock speed).
        # `active`: tiles remain (tiles_left != 0); `last_block`: the current block is its
        # tile's last (kleft <= B); `last_in_block`: the step is its block's last
        # ((step + 1)·lanes >= nnz; a step takes `lanes` of the block's values: one for VDBB,
        # b for DBB; undriven, so always 1, for the dense kinds' one-step blocks).
        active = Signal()
        last_block = Signal(init=1)
        last_in_block = Signal(init=1)
        tile_last = Signal()
        need_act = Signal()

        # Sparse kinds, for the unpacker: the step is its block's first (step 0), and its values.
        first = Signal(init=1)
        count = Signal(range(cfg.lanes + 1))

        def last_step(step_value, nnz_value):
            return (step_value + 1) * cfg.lanes >= nnz_value

        def step_flags(step_value, nnz_value):
            """The registered flags of step ``step_value`` of a block of ``nnz_value`` values."""
            rest = nnz_value - step_value * cfg.lanes
            return [last_in_block.eq(last_step(step_value, nnz_value)),
                    first.eq(step_value == 0),
                    count.eq(Mux(rest > cfg.lanes, cfg.lanes, rest))]

        m.d.comb += [
            self.active.eq(active),
            self.job.ready.eq(~active & ~self.hold),
            tile_last.eq(last_block & last_in_block),
        ]
        with m.If(self.job.valid & self.job.ready):
            m.d.sync += [k.eq(job.k), nnz.eq(job.nnz), tiles_left.eq(job.tiles),
                         kleft.eq(job.k), step.eq(0),
                         active.eq(job.tiles != 0), last_block.eq(job.k <= cfg.block)]
            if cfg.sparse:
                m.d.sync += step_flags(0, job.nnz)

        block_done = last_in_block
        if self._skip:
            drop = Signal()                   # the current block is dropped
            dropping = Signal()               # … and its beat was taken in an earlier cycle
            block_done = Signal()
            m.d.comb += [
                need_act.eq(first & ~dropping),
                drop.eq(dropping | (need_act & self.act.valid & self.act_skip & ~last_block)),
                block_done.eq(Mux(drop, unpack.drop_last, last_in_block)),
                unpack.drop.eq(drop),
            ]
        else:
            m.d.comb += need_act.eq(first if cfg.sparse else step == 0)

        # A step needs a weight beat, an activation beat at the start of a block, and the gap.
        can_step = Signal()
        go = Signal()
        m.d.comb += [
            can_step.eq(self.active & self.advance &
                        (~tile_last | spaced)),
            weight.ready.eq(can_step & (~need_act | self.act.valid)),
            self.act.ready.eq(can_step & need_act & weight.valid),
            go.eq(weight.ready & weight.valid),
        ]
        if cfg.sparse:
            m.d.comb += [unpack.nnz.eq(nnz), unpack.first.eq(first), unpack.count.eq(count),
                         unpack.tile_last.eq(tile_last)]

        if self._skip:
            m.d.comb += self.dropped.eq(go & drop & ~dropping)
            with m.If(go & drop):
                m.d.sync += dropping.eq(~unpack.drop_last)
        with m.If(go):
            # The step after this one: its step number, and whether it ends its block.
            if self._skip:
                with m.If(block_done):
                    m.d.sync += [step.eq(0), *step_flags(0, nnz)]
                with m.Elif(~drop):
                    m.d.sync += [step.eq(step + 1), *step_flags(step + 1, nnz)]
            elif cfg.sparse:
                with m.If(last_in_block):
                    m.d.sync += [step.eq(0), *step_flags(0, nnz)]
                with m.Else():
                    m.d.sync += [step.eq(step + 1), *step_flags(step + 1, nnz)]
            with m.If(block_done):
                with m.If(last_block):
                    m.d.sync += [kleft.eq(k), tiles_left.eq(tiles_left - 1),
                                 active.eq(tiles_left != 1), last_block.eq(k <= cfg.block)]
                with m.Else():
                    m.d.sync += [kleft.eq(kleft - cfg.block),
                                 last_block.eq(kleft <= 2 * cfg.block)]

        def count(value):
            return Mux(value == horizon, horizon, value + 1)
        with m.If(self.advance):
            with m.If(go & tile_last):
                m.d.sync += gaps[0].eq(1)
                m.d.sync += [later.eq(count(earlier)) for earlier, later in zip(gaps, gaps[1:])]
            with m.Else():
                m.d.sync += [g.eq(count(g)) for g in gaps]

        # Activation edge: the same flags on every row of TPEs, each with its A rows of the beat.
        for i in range(cfg.m):
            edge = self.act_edge[i]
            valid = go & ~drop if self._skip else go
            m.d.comb += [edge.valid.eq(valid), edge.first.eq(need_act), edge.last.eq(tile_last)]

            for a in range(cfg.a):
                m.d.comb += edge.data[a].eq(self.act.payload[i * cfg.a + a])

        # Weight edge: DBB masks become one mux position per value; a value without a matching
        # set bit (a block with fewer non-zeros than slots) is forced to zero. Lane l of step t
        # holds the block's value t·lanes + l.
        for j in range(cfg.n):
            for c in range(cfg.c):
                column = weight.payload[j * cfg.c + c]
                out = self.w_edge[j][c]
                for lane in range(cfg.lanes):
                    if not cfg.sparse:
                        m.d.comb += out.values[lane].eq(column.values[lane])
                        continue
                    select = NthSetBit(cfg.block)
                    m.submodules[f"select_{j * cfg.c + c}_{lane}"] = select
                    m.d.comb += [select.mask.eq(column.mask),
                                 select.index.eq(step * cfg.lanes + lane)]
                    m.d.comb += [
                        out.positions[lane].eq(select.position),
                        out.values[lane].eq(Mux(select.found, column.values[lane], 0)),
                    ]
        return m
