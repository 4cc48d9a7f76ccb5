"""Sparse-Blox in SCNN's PPU: block adder, decision and sparse-block cache of one PE (Hotfilter et
al., III-B, Fig. 4; the SCNN extension of Table I)."""

from amaranth import Module, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..sparseblox import BlockSummer, PruneDecision, SparseBlockCache, beat_layout

__all__ = ["BlockPruner", "BLOCK"]

#: Side of the square block (the paper's SCNN extension: 4×4).
BLOCK = 4


class BlockPruner(wiring.Component):
    """Decides, block by block, which 4×4 output blocks of a PE's tile are pruned.

    The PPU feeds each block as up to four beats (rows) of four lanes, lanes outside the tile or
    the image masked off, the block's position (``k · blocks_per_tile + b``) as the tag. The
    :class:`~sparseforge.hdl.sparseblox.BlockSummer` sums it, the
    :class:`~sparseforge.hdl.sparseblox.PruneDecision` compares ``|sum| · 2**frac`` with
    ``threshold · n_valid``, and the PE's :class:`~sparseforge.hdl.sparseblox.SparseBlockCache`
    records the candidates while it has room (a full cache answers *not pruned*: the block is
    stored normally). Nothing looks the cache up: SCNN's next layer reads the compressed map, in
    which a pruned block is already zeros.

    Parameters
    ----------
    cfg : ScnnConfig
        With a ``sparseblox`` section (capacity, position width, threshold format).

    Attributes
    ----------
    i : In(stream.Signature(beat_layout(acc_width, 4, unsigned(position_bits))))
        Beats of post-ReLU values; ``last`` closes a block. Always ready (nothing downstream
        stalls): one beat per cycle.
    threshold : In(unsigned(fmt.bits))
        The layer's threshold; steady while blocks flow.
    layer_start : In(1)
        Empties the cache's write bank (a strobe between layers).
    verdict : Out(1)
        A block's verdict is valid this cycle, :data:`latency` cycles after its last beat.
    pruned, refused, zero : Out(1)
        With ``verdict``: the block was cached (its values become zeros); it was below threshold
        but the cache was full; it was all zeros with at least one real element.
    latency : int
        Block adder (its tree and accumulator), decision register, cache register.
    """

    def __init__(self, cfg):
        blox = cfg.sparseblox
        self._cfg = cfg
        self._pos = unsigned(blox.position_bits)
        self._summer = BlockSummer(width=cfg.acc_width, lanes=BLOCK, block_size=BLOCK * BLOCK,
                                   tag_shape=self._pos)
        self._side = data.StructLayout({"position": self._pos, "zero": 1})
        self._decision = PruneDecision(width=cfg.acc_width, block_size=BLOCK * BLOCK,
                                       fmt=blox, tag_shape=self._side)
        self._cache = SparseBlockCache(capacity=blox.capacity,
                                       position_bits=blox.position_bits)
        super().__init__({
            "i": In(stream.Signature(beat_layout(cfg.acc_width, BLOCK, self._pos))),
            "threshold": In(unsigned(blox.bits)),
            "layer_start": In(1),
            "verdict": Out(1),
            "pruned": Out(1),
            "refused": Out(1),
            "zero": Out(1),
        })

    @property
    def latency(self):
        return self._summer.latency + PruneDecision.latency + 1

    def elaborate(self, platform):
        m = Module()
        m.submodules.summer = summer = self._summer
        m.submodules.decision = decision = self._decision
        m.submodules.cache = cache = self._cache
        wiring.connect(m, wiring.flipped(self.i), summer.i)

        # Summer to decision; an all-zero block (post-ReLU values: sum 0) travels as a tag bit.
        total = summer.o.payload
        m.d.comb += [
            decision.i.valid.eq(summer.o.valid),
            summer.o.ready.eq(decision.i.ready),
            decision.i.payload.sum.eq(total.sum),
            decision.i.payload.n_valid.eq(total.n_valid),
            decision.i.payload.tag.position.eq(total.tag),
            decision.i.payload.tag.zero.eq((total.sum == 0) & (total.n_valid != 0)),
            decision.threshold.eq(self.threshold),
        ]
        # Decision to cache; the below and zero bits wait beside the cache's one-cycle answer.
        below = Signal()
        zero = Signal()
        m.d.comb += [
            cache.insert.valid.eq(decision.o.valid),
            decision.o.ready.eq(cache.insert.ready),
            cache.insert.payload.position.eq(decision.o.payload.tag.position),
            cache.insert.payload.below.eq(decision.o.payload.below),
            cache.verdict.ready.eq(1),
            cache.lookup.valid.eq(0),
            cache.hit.ready.eq(1),
            cache.swap.eq(self.layer_start),
        ]
        with m.If(cache.insert.valid & cache.insert.ready):
            m.d.sync += [below.eq(decision.o.payload.below), zero.eq(decision.o.payload.tag.zero)]
        pruned = cache.verdict.payload.pruned
        m.d.comb += [
            self.verdict.eq(cache.verdict.valid),
            self.pruned.eq(cache.verdict.valid & pruned),
            self.refused.eq(cache.verdict.valid & below & ~pruned),
            self.zero.eq(cache.verdict.valid & zero),
        ]
        return m
