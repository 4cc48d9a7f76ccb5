"""Sparse-Blox (Hotfilter et al., III-B, Fig. 4): block adder, decision logic, sparse-block cache.

The blocks each integration (VDBB accelerator, SCNN) instantiates between its PE array and its
activation memory; the semantics are those of :mod:`sparseforge.sim.sparseblox`.
"""

from .block_sum import BlockSummer
from .cache import SparseBlockCache
from .decision import PruneDecision
from .layouts import beat_layout, block_sum_layout, count_bits, sum_bits, verdict_layout

__all__ = ["BlockSummer", "PruneDecision", "SparseBlockCache", "beat_layout",
           "block_sum_layout", "count_bits", "sum_bits", "verdict_layout"]
