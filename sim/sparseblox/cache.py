"""Sparse-block cache: positions of a layer's pruned blocks (Hotfilter et al., III-B, Fig. 4).

Instead of a pruned block, the output stage records its *position* (the block's index in the
layer's production order, ``position_bits`` wide; the paper's SCNN extension holds 8,196 16-bit
positions). The consumer of the next layer looks a block up before fetching it: on a hit the block
is zeros and its work is skipped; on a miss it is read and computed as usual.

Contract (the RTL's :class:`~sparseforge.hdl.sparseblox.SparseBlockCache` follows it exactly):

- Two banks. Inserts go to the *write* bank (the layer being produced), lookups to the *read* bank
  (the layer being consumed). ``swap()`` at a layer boundary turns the write bank into the read
  bank and empties the new write bank.
- A candidate is a block position with its verdict *below threshold*. Candidates arrive in strictly
  increasing position order within a layer (positions are production indices), which keeps the bank
  sorted for the lookup's binary search.
- A below-threshold candidate is taken while the write bank holds fewer than ``capacity``
  positions; the answer *pruned* tells the producer to drop the block. When the bank is full the
  answer is *not pruned*: the producer stores the block normally, so a block is never lost, and
  pruning stops until the next layer.
"""

from bisect import bisect_left

__all__ = ["SparseBlockCacheModel"]


class SparseBlockCacheModel:
    """Reference model of the two-bank sparse-block cache (see the module docstring)."""

    def __init__(self, capacity, position_bits=16):
        if not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"Cache capacity must be a positive integer, not {capacity!r}")
        if not isinstance(position_bits, int) or position_bits < 1:
            raise ValueError(f"Position width must be a positive integer, not {position_bits!r}")
        self.capacity = capacity
        self.position_bits = position_bits
        self._write = []
        self._read = []
        self._last = -1

    @property
    def full(self):
        return len(self._write) >= self.capacity

    @property
    def count(self):
        """Positions in the write bank."""
        return len(self._write)

    @property
    def read_positions(self):
        return tuple(self._read)

    def insert(self, position, below):
        """Offer a block: True if it is pruned (recorded), False if it must be stored normally."""
        if not 0 <= position < (1 << self.position_bits):
            raise ValueError(f"Block position must fit {self.position_bits} bits, "
                             f"not {position!r}")
        if position <= self._last:
            raise ValueError(f"Block positions must increase within a layer: {position} "
                             f"after {self._last}")
        self._last = position
        if below and not self.full:
            self._write.append(position)
            return True
        return False

    def lookup(self, position):
        """True when ``position`` is a pruned block of the layer being consumed."""
        i = bisect_left(self._read, position)
        return i < len(self._read) and self._read[i] == position

    def search(self, position):
        """``(hit, probes)``: the RTL's binary search of the read bank, probe by probe.

        ``lo, hi = 0, count``; while ``lo < hi``: probe ``mid = (lo + hi) // 2``; stop on a match,
        else ``lo = mid + 1`` (entry below the key) or ``hi = mid``. The RTL answers ``2·probes``
        cycles after taking a lookup that hits and ``2·probes + 1`` after one that misses.
        """
        lo, hi, probes = 0, len(self._read), 0
        while lo < hi:
            mid = (lo + hi) >> 1
            probes += 1
            if self._read[mid] == position:
                return True, probes
            if self._read[mid] < position:
                lo = mid + 1
            else:
                hi = mid
        return False, probes

    def lookup_cycles(self, position):
        """Cycles from a lookup taken to its answer valid (see :meth:`search`)."""
        hit, probes = self.search(position)
        return 2 * probes + (0 if hit else 1)

    def swap(self):
        """Layer boundary: the produced layer becomes the consumed one; the write bank empties."""
        self._read, self._write = self._write, []
        self._last = -1
