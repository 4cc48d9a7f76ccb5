"""A GEMM as the STA engine sees it: output tiles, zero padding, and the beats of each stream.

The engine computes output tiles of ``M·A`` rows by ``N·C`` columns (:class:`StaConfig`
``tile_rows``/``tile_cols``), tile after tile, row-tiles outer and column-tiles inner. For each
tile and each block of B along K it takes one activation beat (the block of every row of the tile)
and ``steps`` weight beats: one dense step (B values per column), one DBB step (the block's b value
slots and its mask per column), or NNZ VDBB steps (one value slot each, with the block's mask).
"""

from dataclasses import dataclass

import numpy as np

from . import dbb

__all__ = ["EngineStreams", "engine_streams", "tile_grid", "gated_mac_cycles", "assemble"]


@dataclass(frozen=True)
class EngineStreams:
    """Everything the engine consumes for one GEMM job, as integer arrays.

    Attributes
    ----------
    act : ndarray (tiles, blocks, tile_rows, B)
        Activation beats.
    weight_values : ndarray (steps_total, tile_cols, lanes)
        Weight value slots of every weight beat.
    weight_masks : ndarray (steps_total, tile_cols) or None
        DBB masks (sparse kinds only).
    tiles, k, nnz : int
        The job descriptor.
    """

    act: np.ndarray
    weight_values: np.ndarray
    weight_masks: np.ndarray | None
    tiles: int
    k: int
    nnz: int
    blocks: int
    steps_per_block: int

    @property
    def act_beats(self):
        return self.act.reshape((-1,) + self.act.shape[2:])


def tile_grid(cfg, m, n):
    """Row-tiles and column-tiles covering an m×n output."""
    return -(-m // cfg.tile_rows), -(-n // cfg.tile_cols)


def engine_streams(cfg, act, weights, nnz):
    """Tile, pad and encode ``act`` (M×K) and ``weights`` (K×N) for the engine.

    ``nnz`` is the job's density bound: VDBB steps per block; for ``dbb`` it must not exceed
    ``dbb_macs``; dense kinds ignore it. Weights must meet the bound (see :mod:`.dbb`).
    """
    act = np.asarray(act, dtype=np.int64)
    weights = np.asarray(weights, dtype=np.int64)
    m, k = act.shape
    n = weights.shape[1]
    rows, cols, bz = cfg.tile_rows, cfg.tile_cols, cfg.block
    row_tiles, col_tiles = tile_grid(cfg, m, n)
    blocks = dbb.block_count(k, bz)

    act_p = np.zeros((row_tiles * rows, blocks * bz), dtype=np.int64)
    act_p[:m, :k] = act
    w_p = np.zeros((blocks * bz, col_tiles * cols), dtype=np.int64)
    w_p[:k, :n] = weights

    # act_tiles[p, b, r, e] = act_p[p*rows + r, b*bz + e]
    act_tiles = act_p.reshape(row_tiles, rows, blocks, bz).transpose(0, 2, 1, 3)
    act_beats = np.repeat(act_tiles, col_tiles, axis=0)          # tile (p, q) = p*col_tiles + q

    # Weight columns, blockwise: w_cols[q, b, col, e] = w_p[b*bz + e, q*cols + col]
    w_cols = w_p.T.reshape(col_tiles, cols, blocks, bz).transpose(0, 2, 1, 3)
    spb = cfg.steps_per_block(nnz)
    masks = None
    if not cfg.sparse:
        values = w_cols                                            # (q, b, col, B)
        values = values[:, :, None]                                # one step per block
    else:
        slots = cfg.lanes if cfg.kind == "dbb" else nnz
        vals, masks = dbb.encode(w_cols, slots, bz, axis=-1)       # (q, b, col, 1, slots)
        vals = vals[..., 0, :]
        masks = masks[..., 0]                                      # (q, b, col)
        if cfg.kind == "dbb":
            values = vals[:, :, None]                              # (q, b, 1, col, b)
            masks = masks[:, :, None]
        else:
            values = vals.transpose(0, 1, 3, 2)[..., None]         # (q, b, nnz, col, 1)
            masks = np.repeat(masks[:, :, None], spb, axis=2)      # (q, b, nnz, col)
    tiles = row_tiles * col_tiles
    values = np.tile(values, (row_tiles,) + (1,) * (values.ndim - 1))
    weight_values = values.reshape(tiles * blocks * spb, cols, -1)
    weight_masks = None
    if masks is not None:
        masks = np.tile(masks, (row_tiles,) + (1,) * (masks.ndim - 1))
        weight_masks = masks.reshape(tiles * blocks * spb, cols)
    return EngineStreams(act=act_beats, weight_values=weight_values, weight_masks=weight_masks,
                         tiles=tiles, k=k, nnz=nnz, blocks=blocks, steps_per_block=spb)


def assemble(cfg, rows, m, n):
    """Reassemble result rows (tiles·tile_rows, tile_cols) into the m×n output, dropping padding."""
    row_tiles, col_tiles = tile_grid(cfg, m, n)
    rows = np.asarray(rows).reshape(row_tiles, col_tiles, cfg.tile_rows, cfg.tile_cols)
    full = rows.transpose(0, 2, 1, 3).reshape(row_tiles * cfg.tile_rows,
                                              col_tiles * cfg.tile_cols)
    return full[:m, :n]


def _positions(masks, step_in_block, block):
    """Position of set bit number ``step_in_block`` of each mask, 0 where there is none."""
    bits = (masks[..., None] >> np.arange(block)) & 1
    rank = np.cumsum(bits, axis=-1) - 1
    hit = (bits == 1) & (rank == step_in_block[..., None])
    return np.where(hit.any(axis=-1), hit.argmax(axis=-1), 0)


def gated_mac_cycles(cfg, streams):
    """MAC-cycles whose activation operand is zero (the ones activation gating disables).

    Counted per MAC of every TPE and every step of the job, padding included, with the operand
    each MAC sees: ``sa`` multiplies its row's activation; a ``vdbb`` MAC at step t of a block
    the activation at the position of the mask's t-th set bit (position 0 when the block has fewer
    than t + 1 non-zeros). Only the single-MAC kinds gate; others return 0.
    """
    if not cfg.act_zero_gating:
        return 0
    act = streams.act                                             # (tiles, blocks, rows, B)
    if cfg.kind == "sa":
        zeros = np.count_nonzero(act == 0)
        return int(zeros * cfg.tile_cols)
    spb = streams.steps_per_block
    masks = streams.weight_masks.reshape(act.shape[0], act.shape[1], spb, cfg.tile_cols)
    step = np.broadcast_to(np.arange(spb)[None, None, :, None], masks.shape)
    pos = _positions(masks, step, cfg.block)                      # (tiles, blocks, spb, cols)
    # operand[t, b, s, r, col] = act[t, b, r, pos[t, b, s, col]]
    operand = np.take_along_axis(act[:, :, None, :, :], pos[:, :, :, None, :], axis=-1)
    return int(np.count_nonzero(operand == 0))
