"""Per-layer Sparse-Blox counters (Hotfilter et al., IV-B): blocks, MACs, activation words."""

from dataclasses import asdict, dataclass, fields

__all__ = ["BlockCounts"]


@dataclass(frozen=True)
class BlockCounts:
    """What pruning one activation map (or, summed, a network) did.

    Attributes
    ----------
    blocks_total : int
        Blocks the map is cut into (partial edge blocks included).
    blocks_zero_before : int
        Blocks all-zero before pruning.
    blocks_pruned : int
        Blocks *created*: not all-zero before, zeroed by the threshold (and, with a cache,
        accepted by it).
    blocks_cached : int
        Blocks replaced by a cache entry: every block below threshold that the cache took, already
        zero ones included (t = 0 caches nothing). The im2col form has no cache: all blocks below
        threshold.
    blocks_refused : int
        Blocks below threshold that a full cache could not take: stored normally, not pruned.
    macs_total, macs_skipped : int
        MACs of the consuming layer, and those whose activation operand lies in a cached block.
    words_total, words_not_written, words_not_read : int
        Activation words of the map (as stored, or im2col entries as fetched), and those of cached
        blocks that are not written to, and not read back from, activation memory.
    """

    blocks_total: int = 0
    blocks_zero_before: int = 0
    blocks_pruned: int = 0
    blocks_cached: int = 0
    blocks_refused: int = 0
    macs_total: int = 0
    macs_skipped: int = 0
    words_total: int = 0
    words_not_written: int = 0
    words_not_read: int = 0

    @property
    def act_words_saved(self):
        return self.words_not_written + self.words_not_read

    @property
    def blocks_zero_after(self):
        return self.blocks_zero_before + self.blocks_pruned

    def __add__(self, other):
        if not isinstance(other, BlockCounts):
            return NotImplemented
        return BlockCounts(**{f.name: getattr(self, f.name) + getattr(other, f.name)
                              for f in fields(self)})

    def to_dict(self):
        d = {k: int(v) for k, v in asdict(self).items()}
        d["act_words_saved"] = int(self.act_words_saved)
        return d
