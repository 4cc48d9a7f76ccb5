"""Sparse-Blox on SCNN: the pruned layer's golden model and the PPU's extra cycles (Hotfilter et
al., III-B: the SCNN extension sums 4×4 blocks in the PPU before compression).

Each PE prunes its own tile. Output channel ``k`` of PE ``(px, py)``'s ``W_t × H_t`` tile is cut
into 4×4 blocks from the tile's origin, ``across = ⌈W_t/4⌉`` by ``down = ⌈H_t/4⌉``, partial at
the tile's right and bottom edges and, further, at the image's: a block's ``n_valid`` counts the
elements inside both (a block wholly outside the image has ``n_valid = 0`` and is never pruned).
The values summed are the post-ReLU outputs the compressor would encode. Block ``(k, by, bx)`` has
*position* ``k · across · down + by · across + bx`` in that PE's sparse-block cache: the order the
PPU produces blocks in. The decision is :func:`sparseforge.sim.sparseblox.below_threshold`
(``|sum| · 2**frac < raw · n_valid``); the PE's cache takes candidates in position order while it
holds fewer than ``capacity`` positions (the rest are stored normally, *refused*). A cached block
is zeros before compression, so its values are neither written to the OARAM nor streamed out, and
the next layer has fewer non-zeros to multiply.
"""

import numpy as np

from ..sparseblox import BlockCounts, PruneResult, below_threshold, block_stats, expand_blocks
from . import format as scnn_format

__all__ = ["BLOCK", "prune_tiles", "blox_pass_cycles", "SUMMER_LATENCY"]

#: Side of the square block (the paper's SCNN extension: 4×4).
BLOCK = 4

#: Cycles from a block's last beat into the block adder to its sum: the 4-lane adder tree's two
#: levels and the block accumulator (:class:`sparseforge.hdl.sparseblox.BlockSummer`).
SUMMER_LATENCY = 3


def blox_pass_cycles(cfg):
    """Cycles the PPU spends per output channel on Sparse-Blox (0 without it).

    After the halo exchange, the PPU feeds the tile block by block to the block adder, one row of
    a block (4 lanes) per cycle: ``across · H_t`` cycles; then waits for the last block's verdict:
    the adder's :data:`SUMMER_LATENCY`, the decision's register (1), the cache's (1), and the
    cycle in which the PPU records the verdict (1), before it compresses the channel.
    """
    if getattr(cfg, "sparseblox", None) is None:
        return 0
    across, _ = cfg.blox_grid
    return across * cfg.tile_h + SUMMER_LATENCY + 2


def _tile_stats(cfg, out, px, py):
    """``(sums, n_valid, nonzero)`` over PE ``(px, py)``'s block grid ``(K, down, across)``."""
    across, down = cfg.blox_grid
    k, h, w = out.shape
    x0, y0 = scnn_format.pe_origin(px, py, cfg.tile_w, cfg.tile_h)
    grid = (k, down, across)
    sums = np.zeros(grid, np.int64)
    n_valid = np.zeros(grid, np.int64)
    nonzero = np.zeros(grid, np.int64)
    window = out[:, y0:y0 + cfg.tile_h, x0:x0 + cfg.tile_w]
    if window.size:
        s, n, z = block_stats(window, (1, BLOCK, BLOCK))
        sums[:, :s.shape[1], :s.shape[2]] = s
        n_valid[:, :n.shape[1], :n.shape[2]] = n
        nonzero[:, :z.shape[1], :z.shape[2]] = z
    return sums, n_valid, nonzero


def prune_tiles(cfg, out, raw):
    """Prune the post-ReLU output ``out`` (K×H×W) as ``cfg``'s PPUs do at raw threshold ``raw``
    (see the module docstring).

    Returns
    -------
    PruneResult
        ``data``: the output with every cached block zeroed (what the PEs compress);
        ``cached``: per PE (PE-index order) the ``(K, down, across)`` grid of cached blocks;
        ``counts``: blocks (total with a real element, already zero, created, cached, refused)
        and words (the compressed output's entries before pruning, and those no longer written
        to the OARAM — and so not read by the next layer). MAC counts are left to the caller,
        which knows the next layer.
    """
    blox = cfg.sparseblox
    if blox is None:
        raise ValueError(f"{cfg.name} has no Sparse-Blox")
    fmt = blox.fmt
    fmt.check_raw(raw)
    out = np.asarray(out, dtype=np.int64)
    if (out < 0).any():
        raise ValueError("SCNN prunes post-ReLU outputs; got negative values")
    data = out.copy()
    cached_tiles = []
    totals = dict(blocks_total=0, blocks_zero_before=0, blocks_pruned=0, blocks_cached=0,
                  blocks_refused=0, words_total=0, words_not_written=0)
    for px, py in [(px, py) for py in range(cfg.py) for px in range(cfg.px)]:
        sums, n_valid, nonzero = _tile_stats(cfg, out, px, py)
        below = below_threshold(sums, n_valid, raw, fmt.frac_bits)
        flat = below.reshape(-1)                        # row-major = position order
        cached = (flat & (np.cumsum(flat) <= blox.capacity)).reshape(below.shape)
        real = n_valid > 0
        zero = real & (nonzero == 0)
        cached_tiles.append(cached)
        x0, y0 = scnn_format.pe_origin(px, py, cfg.tile_w, cfg.tile_h)
        window = data[:, y0:y0 + cfg.tile_h, x0:x0 + cfg.tile_w]
        if window.size:
            before = sum(b.count for b in scnn_format.tile_blocks(
                out, px, py, cfg.tile_w, cfg.tile_h, cfg.index_bits))
            window[expand_blocks(cached, (1, BLOCK, BLOCK), window.shape)] = 0
            after = sum(b.count for b in scnn_format.tile_blocks(
                data, px, py, cfg.tile_w, cfg.tile_h, cfg.index_bits))
            totals["words_total"] += before
            totals["words_not_written"] += before - after
        totals["blocks_total"] += int(real.sum())
        totals["blocks_zero_before"] += int(zero.sum())
        totals["blocks_pruned"] += int((cached & ~zero).sum())
        totals["blocks_cached"] += int(cached.sum())
        totals["blocks_refused"] += int((below & ~cached).sum())
    counts = BlockCounts(**totals, words_not_read=totals["words_not_written"])
    return PruneResult(data, cached_tiles, counts)
