"""Sparse-Blox (Hotfilter et al.): blockwise activation pruning, its counters, cache and Spex.

NumPy only: the one definition of the semantics used by the RTL tests, the integrations and Spex.
"""

from .blocks import below_threshold, block_grid, block_stats, expand_blocks
from .cache import SparseBlockCacheModel
from .counts import BlockCounts
from .forms import Consumer, PruneResult, prune_im2col, prune_map
from .threshold import Q8_8, ThresholdFormat

__all__ = [
    "below_threshold", "block_grid", "block_stats", "expand_blocks",
    "SparseBlockCacheModel", "BlockCounts", "Consumer", "PruneResult", "prune_im2col",
    "prune_map", "Q8_8", "ThresholdFormat",
]
