"""The global scheduler: dynamic assignment of work units to PEs as they finish (*SparseCore*,
Sec. 3: "end-to-end global scheduling and dynamic assignment of work units").

A layer of ``nchunks`` output-depth chunks and ``nbands`` bands has ``nchunks · nbands`` work
units. PE ``p`` holds chunk ``p mod nchunks`` (its weights stay local for the layer), so every
chunk has a band counter; in each cycle the scheduler grants the next band of its chunk to the
lowest-numbered idle PE whose chunk has bands left. Since a band's work depends only on the
activations (k/m makes every chunk's weight work equal), uneven activation density is absorbed by
whichever PE frees first. The replay in :func:`sparseforge.sim.sparsecore.cycles.scheduler` is the
specification.
"""

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["GlobalScheduler"]


class GlobalScheduler(wiring.Component):
    """Attributes
    ----------
    start : In(1)
        Begin a layer (``nchunks``, ``nbands`` held from then on); ignored while ``busy``.
    nchunks : In(range(1, pes + 1)), nbands : In(range)
    idle : In(pes)
        PE ``p`` can take a unit in this cycle.
    grant : Out(pes)
        One-hot (or zero): PE ``p`` starts the unit of band ``band`` in this cycle.
    band : Out(range)
    chunk_of : Out(data.ArrayLayout(range(pes), pes))
        Each PE's chunk (combinational from ``nchunks``), for loading its weights.
    busy : Out(1)
        From the cycle after ``start`` to the cycle every unit is granted and every PE is idle,
        both included.
    units : Out(32)
        Units granted in the layer.
    """

    def __init__(self, pes, max_bands):
        self._pes = pes
        self._max_bands = max_bands
        super().__init__({
            "start": In(1), "nchunks": In(range(1, pes + 1)),
            "nbands": In(range(max_bands + 1)),
            "idle": In(pes), "grant": Out(pes), "band": Out(range(max_bands + 1)),
            "chunk_of": Out(data.ArrayLayout(range(max(2, pes)), pes)),
            "busy": Out(1), "units": Out(32),
        })

    def elaborate(self, platform):
        m = Module()
        pes = self._pes
        # Chunk of each PE: a counter chain wrapping at nchunks.
        for p in range(pes):
            if p == 0:
                m.d.comb += self.chunk_of[0].eq(0)
            else:
                prev = self.chunk_of[p - 1]
                m.d.comb += self.chunk_of[p].eq(Mux(prev + 1 == self.nchunks, 0, prev + 1))

        next_band = Signal(data.ArrayLayout(range(self._max_bands + 1), pes))
        exhausted = Signal(pes)
        eligible = Signal(pes)
        m.d.comb += eligible.eq(Cat(self.idle[p] & ~exhausted.bit_select(self.chunk_of[p], 1)
                                    for p in range(pes)) & Cat(self.busy for _ in range(pes)))
        sel = Signal(range(max(2, pes)))
        for p in reversed(range(pes)):
            with m.If(eligible[p]):
                m.d.comb += sel.eq(p)
        chunk = Signal(range(max(2, pes)))
        m.d.comb += [chunk.eq(self.chunk_of[sel]), self.band.eq(next_band[chunk])]
        any_ = eligible.any()
        with m.If(any_):
            m.d.comb += self.grant.eq(1 << sel)
            m.d.sync += self.units.eq(self.units + 1)
            # Independent ifs per chunk (a variable-index assignment is an incomplete case).
            for j in range(pes):
                with m.If(chunk == j):
                    m.d.sync += next_band[j].eq(self.band + 1)
                    with m.If(self.band + 1 == self.nbands):
                        m.d.sync += exhausted[j].eq(1)

        with m.If(~self.busy):
            with m.If(self.start):
                m.d.sync += [self.busy.eq(1), self.units.eq(0), next_band.eq(0),
                             exhausted.eq(Cat((j >= self.nchunks) | (self.nbands == 0)
                                              for j in range(pes)))]
        with m.Elif((exhausted == (1 << pes) - 1) & (self.idle == (1 << pes) - 1)):
            m.d.sync += self.busy.eq(0)
        return m
