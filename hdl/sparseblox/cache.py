"""Sparse-block cache: positions of pruned blocks, looked up by the next layer (Hotfilter et al.,
III-B, Fig. 4)."""

from amaranth import Module, Mux, Signal, unsigned
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["SparseBlockCache", "PositionMemory"]


class PositionMemory(wiring.Component):
    """The cache's storage: ``depth`` positions, one synchronous read and one write port (a 1R1W
    SRAM macro; its own module so that synthesis can keep it as a black box).

    Attributes
    ----------
    rd_addr : In ; rd_data : Out
        ``rd_data`` holds the word at the ``rd_addr`` of the previous cycle (the old word when it
        is written in that cycle).
    wr_addr, wr_data, wr_en : In
    """

    def __init__(self, width, depth):
        self._width, self._depth = width, depth
        addr = max(1, (depth - 1).bit_length())
        super().__init__({"rd_addr": In(addr), "rd_data": Out(width), "wr_addr": In(addr),
                          "wr_data": In(width), "wr_en": In(1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.mem = mem = memory.Memory(shape=unsigned(self._width), depth=self._depth,
                                               init=[])
        rd = mem.read_port()
        wr = mem.write_port()
        m.d.comb += [rd.addr.eq(self.rd_addr), self.rd_data.eq(rd.data),
                     wr.addr.eq(self.wr_addr), wr.data.eq(self.wr_data), wr.en.eq(self.wr_en)]
        return m


class SparseBlockCache(wiring.Component):
    """Two banks of up to ``capacity`` block positions in one memory; the contract of
    :class:`sparseforge.sim.sparseblox.SparseBlockCacheModel`, cycle for cycle as stated below.

    Inserts go to the write bank (the layer being produced) in strictly increasing position
    order; lookups search the read bank (the layer being consumed) by binary search. ``swap``
    at a layer boundary exchanges the banks and empties the new write bank.

    Parameters
    ----------
    capacity : int
        Positions per bank (the paper's SCNN extension: 8,196).
    position_bits : int
        Width of a position (the paper: 16).

    Attributes
    ----------
    insert : In(stream.Signature(StructLayout({"position", "below"})))
        A block on its way to memory, with its verdict. Latency 1 to ``verdict``, one per cycle;
        stalls with ``verdict``.
    verdict : Out(stream.Signature(StructLayout({"position", "pruned"})))
        ``pruned = below & ~full``: the position was recorded and the block must not be stored.
        When the bank is full a candidate gets ``pruned = 0`` and is stored normally: pruning
        stops, no block is lost.
    lookup : In(stream.Signature(unsigned(position_bits)))
        A position the consumer is about to read. Taken only when idle (no search in flight).
    hit : Out(stream.Signature(1))
        1 when the position is in the read bank (the block is zeros: skip it). A lookup taken at
        edge 0 probes the bank ``p`` times (``SparseBlockCacheModel.search``); its answer is valid
        after edge ``2·p`` on a hit, ``2·p + 1`` on a miss, and held until taken.
    swap : In(1)
        Strobe at a layer boundary, when no insert or lookup is in flight.
    count : Out(range(capacity + 1))
        Positions in the write bank. ``full`` : Out(1) — ``count == capacity``.
    """

    def __init__(self, *, capacity, position_bits=16):
        if not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"Cache capacity must be a positive integer, not {capacity!r}")
        if not isinstance(position_bits, int) or position_bits < 1:
            raise ValueError(f"Position width must be a positive integer, not {position_bits!r}")
        self._capacity = capacity
        self._position_bits = position_bits
        pos = unsigned(position_bits)
        super().__init__({
            "insert": In(stream.Signature(data.StructLayout({"position": pos, "below": 1}))),
            "verdict": Out(stream.Signature(data.StructLayout({"position": pos, "pruned": 1}))),
            "lookup": In(stream.Signature(pos)),
            "hit": Out(stream.Signature(1)),
            "swap": In(1),
            "count": Out(range(capacity + 1)),
            "full": Out(1),
        })

    @property
    def capacity(self):
        return self._capacity

    @property
    def position_bits(self):
        return self._position_bits

    def elaborate(self, platform):
        m = Module()
        cap = self._capacity
        m.submodules.positions = mem = PositionMemory(self._position_bits, 2 * cap)

        bank = Signal()                       # the write bank; lookups read the other one
        rcount = Signal(range(cap + 1))
        m.d.comb += self.full.eq(self.count == cap)
        with m.If(self.swap):
            m.d.sync += [bank.eq(~bank), rcount.eq(self.count), self.count.eq(0)]

        # Insert: record a below-threshold position while the write bank has room.
        take = Signal()
        m.d.comb += [
            self.insert.ready.eq(~self.verdict.valid | self.verdict.ready),
            take.eq(self.insert.valid & self.insert.ready),
            mem.wr_addr.eq(Mux(bank, cap + self.count, self.count)),
            mem.wr_data.eq(self.insert.payload.position),
            mem.wr_en.eq(take & self.insert.payload.below & ~self.full),
        ]
        with m.If(self.verdict.ready):
            m.d.sync += self.verdict.valid.eq(0)
        with m.If(take):
            m.d.sync += [
                self.verdict.valid.eq(1),
                self.verdict.payload.position.eq(self.insert.payload.position),
                self.verdict.payload.pruned.eq(self.insert.payload.below & ~self.full),
            ]
        with m.If(mem.wr_en):
            m.d.sync += self.count.eq(self.count + 1)

        # Lookup: binary search of the sorted read bank, two cycles per probe (address, compare).
        key = Signal.like(self.lookup.payload)
        lo = Signal(range(cap + 1))
        hi = Signal(range(cap + 1))
        mid = Signal(range(cap + 1))
        m.d.comb += [mid.eq((lo + hi) >> 1), mem.rd_addr.eq(Mux(bank, mid, cap + mid))]
        # States: idle (neither flag nor an answer), probe (``searching & ~compare``), compare
        # (``searching & compare``), answer (``hit.valid``).
        searching = Signal()
        compare = Signal()
        m.d.comb += self.lookup.ready.eq(~searching & ~self.hit.valid)
        with m.If(self.lookup.valid & self.lookup.ready):
            m.d.sync += [key.eq(self.lookup.payload), lo.eq(0), hi.eq(rcount), searching.eq(1)]
        with m.Elif(searching & ~compare):
            with m.If(lo < hi):
                m.d.sync += compare.eq(1)          # rd_data holds bank[mid] after this edge
            with m.Else():
                m.d.sync += [searching.eq(0), self.hit.valid.eq(1), self.hit.payload.eq(0)]
        with m.Elif(searching):
            m.d.sync += compare.eq(0)
            with m.If(mem.rd_data == key):
                m.d.sync += [searching.eq(0), self.hit.valid.eq(1), self.hit.payload.eq(1)]
            with m.Elif(mem.rd_data < key):
                m.d.sync += lo.eq(mid + 1)
            with m.Else():
                m.d.sync += hi.eq(mid)
        with m.Elif(self.hit.valid & self.hit.ready):
            m.d.sync += self.hit.valid.eq(0)
        return m
