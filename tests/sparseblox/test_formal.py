"""A bounded proof that the Sparse-Blox cache never loses a pruned block's position (SymbiYosys +
Z3 through :func:`sparseforge.gen.formal.check_component`).

The environment keeps the cache's contract — inserts of a layer in strictly increasing position
order, ``swap`` only when no insert, verdict or lookup is in flight — and is otherwise free
(every valid, ready, position and verdict bit, in every cycle). For a watched position ``P`` (a
free constant): if the cache answered an insert of ``P`` with ``pruned`` (the producer will not
store that block), a lookup of ``P`` in the next layer answers hit; if it did not, the lookup
answers miss. So a position the cache accepted is never lost, and a full cache refuses (answers
``pruned = 0``, the block is stored) rather than drops. Capacity 2, 2-bit positions, BMC depth
12 (enough for two inserts, a swap and a whole binary search of the full bank). A cache that
keeps answering ``pruned`` when full (and so drops the position) is shown to fail.
"""

from amaranth import Module, Signal
from amaranth.hdl import Assert, Assume
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from sparseforge.gen.formal import assume_constant, assume_no_reset, check_component
from sparseforge.hdl.sparseblox.cache import SparseBlockCache

DEPTH = 12
CAPACITY, BITS = 2, 2


class CacheDroppingWhenFull(SparseBlockCache):
    """Mutant: a full cache still answers ``pruned`` for a below-threshold block (whose position
    it cannot record)."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        with m.If(self.insert.valid & self.insert.ready):
            m.d.sync += self.verdict.payload.pruned.eq(self.insert.payload.below)
        return m


class CacheKeepsPositions(wiring.Component):
    insert_valid: In(1)
    insert_position: In(BITS)
    insert_below: In(1)
    verdict_ready: In(1)
    lookup_valid: In(1)
    lookup_position: In(BITS)
    hit_ready: In(1)
    swap: In(1)
    watched: In(BITS)

    def __init__(self, cache=SparseBlockCache):
        self._cache = cache
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = dut = self._cache(capacity=CAPACITY, position_bits=BITS)
        assume_no_reset(m)
        assume_constant(m, self.watched)
        m.d.comb += [
            dut.insert.valid.eq(self.insert_valid),
            dut.insert.payload.position.eq(self.insert_position),
            dut.insert.payload.below.eq(self.insert_below),
            dut.verdict.ready.eq(self.verdict_ready),
            dut.lookup.valid.eq(self.lookup_valid),
            dut.lookup.payload.eq(self.lookup_position),
            dut.hit.ready.eq(self.hit_ready),
            dut.swap.eq(self.swap),
        ]

        # The contract: increasing inserts within a layer; swap when nothing is in flight.
        inserted, last = Signal(), Signal(BITS)
        inserting = dut.insert.valid & dut.insert.ready
        with m.If(inserting & inserted):
            m.d.comb += Assume(dut.insert.payload.position > last)
        with m.If(self.swap):
            m.d.comb += Assume(~dut.insert.valid & ~dut.verdict.valid & ~dut.lookup.valid &
                               dut.lookup.ready)
            m.d.sync += inserted.eq(0)
        with m.Elif(inserting):
            m.d.sync += [inserted.eq(1), last.eq(dut.insert.payload.position)]

        # What the cache told the producer about the watched position, layer by layer.
        pruned_here, pruned_before = Signal(), Signal()
        with m.If(self.swap):
            m.d.sync += [pruned_before.eq(pruned_here), pruned_here.eq(0)]
        with m.Elif(dut.verdict.valid & dut.verdict.ready & dut.verdict.payload.pruned &
                    (dut.verdict.payload.position == self.watched)):
            m.d.sync += pruned_here.eq(1)

        asked = Signal()                    # the lookup in flight is of the watched position
        with m.If(dut.lookup.valid & dut.lookup.ready):
            m.d.sync += asked.eq(dut.lookup.payload == self.watched)
        with m.If(dut.hit.valid & asked):
            m.d.comb += Assert(dut.hit.payload == pruned_before)
        return m


def test_the_cache_never_loses_a_pruned_position():
    result = check_component(CacheKeepsPositions(), depth=DEPTH)
    assert result.status == "proved", result.log


def test_a_cache_pruning_when_full_is_caught():
    assert check_component(CacheKeepsPositions(CacheDroppingWhenFull),
                           depth=DEPTH).status == "failed"
