"""A GEMM as the STA engine sees it: output tiles, zero padding, and the beats of each stream.

The engine computes output tiles of ``M·A`` rows by ``N·C`` columns (:class:`StaConfig`
``tile_rows``/``tile_cols``), tile after tile, row-tiles outer and column-tiles inner. For each
tile and each block of B along K it takes one activation beat (the block of every row of the tile)
and ``steps`` weight steps: one dense step (B values per column), ⌈NNZ/b⌉ DBB steps (b value
slots each, with the block's mask), or NNZ VDBB steps (one value slot each, with the block's
mask).

The dense kinds receive one weight word per step. The sparse kinds receive the compressed blocks
of Fig. 2 instead — per tile and column, block after block, the mask and then the NNZ values, in
words of ``word_slots`` slots per column (:attr:`EngineStreams.weight_words`) — and unpack the
steps themselves.
"""

from dataclasses import dataclass

import numpy as np

from . import dbb

__all__ = ["EngineStreams", "engine_streams", "tile_grid", "gated_mac_cycles", "assemble",
           "words_per_tile"]


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
    weight_words : ndarray (words_total, word_slots, tile_cols) or None
        The compressed weight stream (sparse kinds only): slot values as the unsigned
        ``slot_bits``-wide integers the hardware reads (masks, and values in two's complement).
    tiles, k, nnz : int
        The job descriptor.
    """

    act: np.ndarray
    weight_values: np.ndarray
    weight_masks: np.ndarray | None
    weight_words: np.ndarray | None
    tiles: int
    k: int
    nnz: int
    blocks: int
    steps_per_block: int

    @property
    def act_beats(self):
        return self.act.reshape((-1,) + self.act.shape[2:])

    def weight_leaves(self):
        """The ``weight`` stream, one row of leaf values per word, in the order of
        :func:`~sparseforge.hdl.sta.layouts.weight_word_layout` (for its packer)."""
        if self.weight_words is None:
            return self.weight_values.reshape(self.weight_values.shape[0], -1)
        return self.weight_words.reshape(self.weight_words.shape[0], -1)


def words_per_tile(cfg, k, nnz):
    """Weight words of one output tile: one a step (dense kinds); for the sparse kinds the
    tile's NNZ + ``mask_slots`` slots a block, ``word_slots`` a word, rounded up."""
    blocks = dbb.block_count(k, cfg.block)
    if not cfg.sparse:
        return blocks
    return -(-blocks * (nnz + cfg.mask_slots) // cfg.word_slots)

def tile_grid(cfg, m, n):
    """Row-tiles and column-tiles covering an m×n output."""
    return -(-m // cfg.tile_rows), -(-n // cfg.tile_cols)


def engine_streams(cfg, act, weights, nnz):
    """Tile, pad and encode ``act`` (M×K) and ``weights`` (K×N) for the engine.

    ``nnz`` is the job's density bound, 1 … B: the values of each compressed block (VDBB steps per
    block; ⌈NNZ/b⌉ steps for ``dbb``); dense kinds ignore it. Weights must meet the bound (see
    :mod:`.dbb`).
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
    tiles = row_tiles * col_tiles
    if not cfg.sparse:
        values = np.tile(w_cols, (row_tiles, 1, 1, 1))             # (tiles, b, col, B)
        return EngineStreams(act=act_beats, weight_values=values.reshape(-1, cols, bz),
                             weight_masks=None, weight_words=None, tiles=tiles, k=k, nnz=nnz,
                             blocks=blocks, steps_per_block=spb)

    vals, masks = dbb.encode(w_cols, nnz, bz, axis=-1)             # (q, b, col, 1, nnz)
    vals, masks = vals[..., 0, :], masks[..., 0]                   # (q, b, col, nnz), (q, b, col)
    # Steps: step t of a block holds its values t·lanes … t·lanes + lanes − 1, zero-padded.
    lanes = cfg.lanes
    stepped = np.zeros(vals.shape[:-1] + (spb * lanes,), dtype=np.int64)
    stepped[..., :nnz] = vals
    stepped = stepped.reshape(vals.shape[:-1] + (spb, lanes)).transpose(0, 1, 3, 2, 4)
    step_masks = np.repeat(masks[:, :, None], spb, axis=2)        # (q, b, spb, col)

    # The compressed stream: per block the mask (in mask_slots slots, low bits first), then the
    # values; slot-major across columns.
    width, per_block = cfg.slot_bits, nnz + cfg.mask_slots
    slot_mask = (1 << width) - 1
    mask_parts = [(masks >> (width * i)) & slot_mask for i in range(cfg.mask_slots)]
    block_slots = np.concatenate([np.stack(mask_parts, axis=-1), vals & slot_mask], axis=-1)
    seq = block_slots.transpose(0, 1, 3, 2).reshape(col_tiles, blocks * per_block, cols)
    per_tile = words_per_tile(cfg, k, nnz)
    words = np.zeros((col_tiles, per_tile * cfg.word_slots, cols), dtype=np.int64)
    words[:, :seq.shape[1]] = seq
    words = words.reshape(col_tiles, per_tile, cfg.word_slots, cols)

    def per_job(x):
        return np.tile(x, (row_tiles,) + (1,) * (x.ndim - 1))
    return EngineStreams(act=act_beats,
                         weight_values=per_job(stepped).reshape(-1, cols, lanes),
                         weight_masks=per_job(step_masks).reshape(-1, cols),
                         weight_words=per_job(words).reshape(-1, cfg.word_slots, cols),
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
