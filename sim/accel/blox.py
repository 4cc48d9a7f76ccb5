"""Sparse-Blox on the VDBB accelerator: the pruned layer's golden model and its cycles
(Hotfilter et al., III-B, Fig. 4).

A pruning layer's output map (INT8, after requantization and ReLU) is cut into the output stage's
blocks: ``B`` channels by the layer's ``ph × pw`` output patch (the ``M·A`` pixels of an output
tile), from the origin, partial at the map's right and bottom edges and past ``K``. Block
``(cb, ty, tx)`` has *position* ``((q·tiles_y + ty)·tiles_x + tx)·(N·C/B) + j`` with ``cb =
q·(N·C/B) + j``: the order the output stage produces blocks in (column tiles outer, patches
row-major, channel blocks of a tile inner). The decision is the one of :mod:`sparseforge.sim.
sparseblox` (``|sum|·2**frac < raw·n_valid``); candidates are offered to the sparse-block cache in
position order, which takes them while it holds fewer than ``capacity`` positions (the rest are
stored normally) and never takes a position ``≥ 2**position_bits``. A cached block is zeros: its
words (one a valid pixel) are not written to SRAM, and not read back. A next layer that reads the
map on chip gets zeros for those words from their pruned-word flags
(:mod:`sparseforge.hdl.accel.blox_flags`) without reading SRAM: :func:`zero_reads` counts them.
"""

import numpy as np

from ..sparseblox import BlockCounts, PruneResult, below_threshold, block_stats, expand_blocks
from .cycles import layer_cycles
from .plan import window_taps

__all__ = ["block_positions", "prune_output", "blox_tail", "blox_layer_cycles", "pruned_words",
           "word_reads", "zero_reads", "beat_zero_flags", "drop_cycles", "skip_allowed",
           "skip_schedule", "skip_layer_cycles", "macs_skipped"]


def block_positions(plan):
    """Positions of the output blocks, an int64 array over the grid ``(cb_out, tiles_y,
    tiles_x)``."""
    per_tile = plan.cfg.out_blocks_per_row
    cb = np.arange(plan.cb_out)[:, None, None]
    ty = np.arange(plan.tiles_y)[None, :, None]
    tx = np.arange(plan.tiles_x)[None, None, :]
    q, j = cb // per_tile, cb % per_tile
    return ((q * plan.tiles_y + ty) * plan.tiles_x + tx) * per_tile + j


def prune_output(plan, y, raw):
    """Prune the INT8 output map ``y`` (K×Ho×Wo) of ``plan`` at raw threshold ``raw`` as the
    accelerator does (see the module docstring).

    Returns
    -------
    PruneResult
        ``data``: the map as read back (cached blocks zeroed); ``cached``: the block grid of
        cached blocks; ``counts``: blocks (total, already zero, created, cached, refused) and
        words (total, not written, not read back). MAC counts are zero here: what a next
        layer skips depends on that layer (:func:`skip_schedule`).
    """
    blox = plan.cfg.sparseblox
    fmt = blox.fmt
    fmt.check_raw(raw)
    y = np.asarray(y, dtype=np.int64)
    if y.shape != (plan.k, plan.ho, plan.wo):
        raise ValueError(f"The output map of this layer is {plan.k}×{plan.ho}×{plan.wo}, "
                         f"not {y.shape}")
    block = (plan.cfg.block, plan.ph, plan.pw)
    sums, n_valid, nonzero = block_stats(y, block)
    positions = block_positions(plan)
    below = below_threshold(sums, n_valid, raw, fmt.frac_bits) & \
        (positions < (1 << blox.position_bits))
    order = np.argsort(positions, axis=None)
    flat = below.reshape(-1)[order]
    taken = flat & (np.cumsum(flat) <= blox.capacity)
    cached_flat = np.zeros(below.size, dtype=bool)
    cached_flat[order] = taken
    cached = cached_flat.reshape(below.shape)
    zero = nonzero == 0
    words = n_valid // np.minimum(plan.cfg.block,
                                  plan.k - plan.cfg.block * np.arange(plan.cb_out))[:, None, None]
    saved = int(words[cached].sum())
    counts = BlockCounts(
        blocks_total=int(below.size), blocks_zero_before=int(zero.sum()),
        blocks_pruned=int((cached & ~zero).sum()), blocks_cached=int(cached.sum()),
        blocks_refused=int((below & ~cached).sum()), words_total=int(words.sum()),
        words_not_written=saved, words_not_read=saved)
    data = np.where(expand_blocks(cached, block, y.shape), 0, y)
    return PruneResult(data, cached, counts)


def blox_tail(cfg):
    """Cycles a pruning layer takes beyond the same layer without pruning.

    The pruner (:class:`sparseforge.hdl.accel.blox.BloxPruner`) holds a tile's rows until its
    blocks are decided: from the last result row taken in cycle ``c``, the block adder's tree
    (``⌈log2 B⌉`` levels, at least 1) and accumulator (1), the ``N·C/B`` decisions one a cycle,
    the decision and cache registers (2), then the tile's ``M·A`` rows written one a cycle, the
    first in the cycle after the last verdict: the last row is written ``⌈log2 B⌉ + N·C/B + 2 +
    M·A`` cycles after ``c``, where it was written in ``c`` without pruning.
    """
    tree = max(1, (cfg.block - 1).bit_length())
    return tree + cfg.out_blocks_per_row + 2 + cfg.array.tile_rows


def blox_layer_cycles(plan):
    """Cycles of a pruning layer on the RTL (any threshold: the output stage's delay is fixed)."""
    return layer_cycles(plan) + blox_tail(plan.cfg)


def pruned_words(plan, cached):
    """Which words of ``plan``'s INT8 output map were pruned: a bool array ``(cb_out, ho, wo)``
    (word = one pixel's channel block) from the block grid ``cached`` of :func:`prune_output`."""
    return np.repeat(np.repeat(cached, plan.ph, axis=1), plan.pw, axis=2)[:, :plan.ho, :plan.wo]


def word_reads(plan):
    """How often the layer's reader asks for each input word, per channel block and column tile:
    an int64 array ``(h, w)``. IM2COL reads every in-image word of every window at a position some
    tap uses; the direct reader every in-image element of the beats of real output pixels (the
    two counts of :func:`sparseforge.sim.accel.plan.act_sram_reads`, here pixel by pixel)."""
    count = np.zeros((plan.h, plan.w), dtype=np.int64)
    st, pad = plan.stride, plan.pad
    if plan.uses_im2col:
        wh, ww = plan.window
        rows, cols = window_taps(wh, plan.r, st), window_taps(ww, plan.s, st)
        for ty in range(plan.tiles_y):
            ys = [ty * plan.ph * st - pad + i for i in rows]
            ys = [y for y in ys if 0 <= y < plan.h]
            for tx in range(plan.tiles_x):
                xs = [tx * plan.pw * st - pad + j for j in cols]
                xs = [x for x in xs if 0 <= x < plan.w]
                count[np.ix_(ys, xs)] += 1
        return count
    for oy in range(plan.ho):
        for ox in range(plan.wo):
            for r in range(plan.r):
                for s in range(plan.s):
                    y, x = oy * st - pad + r, ox * st - pad + s
                    if 0 <= y < plan.h and 0 <= x < plan.w:
                        count[y, x] += 1
    return count


def zero_reads(plan, pruned):
    """Words ``plan``'s reader asks for that are pruned (``pruned``: bool ``(cb_in, h, w)``, the
    previous layer's :func:`pruned_words`): it gets zeros for them and reads no SRAM."""
    pruned = np.asarray(pruned, dtype=bool)
    if pruned.shape != (plan.cb_in, plan.h, plan.w):
        raise ValueError(f"The pruned words of this layer's input are {plan.cb_in}×{plan.h}×"
                         f"{plan.w}, not {pruned.shape}")
    return int((pruned * word_reads(plan)[None]).sum()) * plan.col_tiles


# -- the next layer skips the engine steps of pruned beats --------------------------------------

def beat_zero_flags(plan, pruned):
    """Which of ``plan``'s activation beats read only zero words, at least one of them pruned.

    ``pruned``: bool ``(cb_in, h, w)``, the pruned words of the layer's input
    (:func:`pruned_words`). Returns a bool array ``(tiles_y, tiles_x, cb_in, R, S)``: beat
    ``(cb, r, s)`` of patch ``(ty, tx)`` — the engine's block of ``M·A`` rows × B channels — has
    every row's word pruned or zero by construction and at least one pruned. Rows are the
    patch's ``ph × pw`` pixels; the readers differ in what a row reads:

    * IM2COL: row ``(py, px)`` reads window word ``(py·st + r, px·st + s)``, input pixel
      ``(ty·ph·st − pad + py·st + r, tx·pw·st − pad + px·st + s)``, whether or not the row's
      output pixel lies inside the output map; outside the image it is zero padding.
    * Direct reader (``ph = 1``): pixel ``px`` reads input ``(ty·st − pad + r, (tx·pw + px)·st
      − pad + s)``; outside the image, or for an output pixel past the map, it reads nothing
      (zero).
    """
    pruned = np.asarray(pruned, dtype=bool)
    if pruned.shape != (plan.cb_in, plan.h, plan.w):
        raise ValueError(f"The pruned words of this layer's input are {plan.cb_in}×{plan.h}×"
                         f"{plan.w}, not {pruned.shape}")
    st, pad, ph, pw = plan.stride, plan.pad, plan.ph, plan.pw
    ty = np.arange(plan.tiles_y)[:, None, None, None, None, None]
    tx = np.arange(plan.tiles_x)[None, :, None, None, None, None]
    r = np.arange(plan.r)[None, None, :, None, None, None]
    s = np.arange(plan.s)[None, None, None, :, None, None]
    py = np.arange(ph)[None, None, None, None, :, None]
    px = np.arange(pw)[None, None, None, None, None, :]
    y = ty * ph * st - pad + py * st + r
    x = tx * pw * st - pad + px * st + s
    inside = (y >= 0) & (y < plan.h) & (x >= 0) & (x < plan.w)
    if not plan.uses_im2col:
        inside = inside & (tx * pw + px < plan.wo)
    yc, xc = np.clip(y, 0, plan.h - 1), np.clip(x, 0, plan.w - 1)
    flags = pruned[:, yc, xc] & inside[None]              # (cb, ty, tx, r, s, py, px)
    zero = flags | ~inside[None]
    axes = (-2, -1)
    beat = zero.all(axis=axes) & flags.any(axis=axes)     # (cb, ty, tx, r, s)
    return beat.transpose(1, 2, 0, 3, 4)


def drop_cycles(cfg, nnz, held):
    """Cycles the engine takes to drop a block whose weight slots start with ``held`` slots held
    in the unpacker: its NNZ + ``mask_slots`` slots pass at the held ones plus one word of
    ``word_slots`` a cycle, at least one cycle (:class:`~sparseforge.hdl.sta.unpacker.
    BlockUnpacker`)."""
    array = cfg.array
    slots = nnz + array.mask_slots
    return max(1, -(-(slots - held) // array.word_slots))


def skip_allowed(plan):
    """Whether ``plan`` may run with ``blox_skip``: the design drops blocks (a Sparse-Blox design
    with a sparse array) and, through IM2COL, a window's ``R·S`` blocks take at least as many
    cycles as filling the next window (``wh`` rows) even when dropped, so the IM2COL unit keeps
    the engine fed and :func:`skip_schedule` is exact. The direct reader's three-beat buffer
    delivers a beat a cycle, as fast as blocks are dropped."""
    cfg = plan.cfg
    if not cfg.blox_skips:
        return False
    if not plan.uses_im2col:
        return True
    shortest = min(plan.steps_per_block, min(drop_cycles(cfg, plan.nnz, held)
                                             for held in range(cfg.array.word_slots)))
    return plan.window[0] <= plan.r * plan.s * shortest


def skip_schedule(plan, pruned):
    """What the engine does with ``blox_skip`` set on ``plan`` whose input words ``pruned``
    (bool ``(cb_in, h, w)``) were pruned: ``(tile_steps, dropped)``.

    The engine's tiles are column tiles outer, patches row-major inner; a tile's blocks run in
    the order ``(cb, r, s)``. A block whose beat reads only zero words, at least one pruned
    (:func:`beat_zero_flags`), is dropped, except the tile's last block ``(cb_in − 1, R − 1,
    S − 1)``, which always runs. A running block takes ``steps_per_block`` cycles and a dropped
    one :func:`drop_cycles`, with the unpacker holding ``(−slots consumed in the tile) mod
    word_slots`` slots at its start (every block is NNZ + ``mask_slots`` slots, a tile starts on
    a new word). ``tile_steps``: each tile's cycles (for
    :func:`~sparseforge.sim.accel.cycles.layer_cycles`); ``dropped``: blocks dropped in all.
    """
    if not skip_allowed(plan):
        raise ValueError(f"This layer cannot drop blocks on {plan.cfg.name} (see skip_allowed)")
    cfg, array = plan.cfg, plan.cfg.array
    zero = beat_zero_flags(plan, pruned).reshape(plan.tiles_y * plan.tiles_x, -1)
    zero[:, -1] = False                                    # a tile's last block runs
    per_block = plan.nnz + array.mask_slots
    run = plan.steps_per_block
    costs = [drop_cycles(cfg, plan.nnz, held) for held in range(array.word_slots)]
    lengths, dropped = [], 0
    for beats in zero:
        consumed = length = 0
        for drop in beats:
            length += costs[(-consumed) % array.word_slots] if drop else run
            consumed += per_block
        lengths.append(length)
        dropped += int(beats.sum())
    return lengths * plan.col_tiles, dropped * plan.col_tiles


def skip_layer_cycles(plan, pruned, prunes=False):
    """Cycles of ``plan`` with ``blox_skip`` set, reading input words ``pruned`` (and, with
    ``prunes``, pruning its own output: :func:`blox_tail` more)."""
    tile_steps, _ = skip_schedule(plan, pruned)
    return layer_cycles(plan, tile_steps) + (blox_tail(plan.cfg) if prunes else 0)


def macs_skipped(plan, dropped):
    """The array's multiplier-steps ``dropped`` blocks did not take: per block
    ``steps_per_block`` steps of every multiplier (``macs_total``)."""
    return dropped * plan.steps_per_block * plan.cfg.array.macs_total
