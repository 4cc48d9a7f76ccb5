"""Bit layouts of the STA engine's ports and of the steps inside the array, defined once.

The test benches and the CLI pack and unpack beats with packers derived from these layouts
(:mod:`sparseforge.tb.packing`), so the hardware and the software cannot disagree on bit order.
"""

from amaranth import signed, unsigned
from amaranth.lib import data

__all__ = [
    "K_BITS", "TILE_BITS", "GATED_COUNTER_BITS",
    "act_beat_layout", "weight_column_layout", "weight_beat_layout", "weight_word_layout",
    "result_beat_layout",
    "job_layout", "act_step_layout", "weight_step_layout", "tpe_results_layout",
]

#: Width of the job's K field: GEMMs up to K = 2**20 - 1 per job.
K_BITS = 20
#: Width of the job's tile count.
TILE_BITS = 32
#: Width of the gated MAC-cycle counter.
GATED_COUNTER_BITS = 48


def _act(cfg):
    return signed(cfg.act_width)


def _weight(cfg):
    return signed(cfg.weight_width)


def position_shape(cfg):
    return unsigned(max(1, (cfg.block - 1).bit_length()))


def act_beat_layout(cfg):
    """One K-block of every row of an output tile: ``[row][k]``, M·A rows of B elements."""
    return data.ArrayLayout(data.ArrayLayout(_act(cfg), cfg.block), cfg.tile_rows)


def weight_column_layout(cfg):
    """One step of one weight column: ``values`` (B dense, b for DBB, 1 for VDBB) and ``mask``.

    For the sparse kinds the values are the block's non-zeros in ascending position, zero-padded,
    and ``mask`` is the block's B-bit DBB mask (bit i set: element i is non-zero). A VDBB block
    takes NNZ steps, one value each, all carrying the same mask.
    """
    fields = {"values": data.ArrayLayout(_weight(cfg), cfg.lanes)}
    if cfg.sparse:
        fields["mask"] = unsigned(cfg.block)
    return data.StructLayout(fields)


def weight_beat_layout(cfg):
    """One step of every weight column of an output tile: ``[col]``, N·C columns.

    The dense kinds take these on their ``weight`` port; the sparse kinds unpack them from
    compressed words (:func:`weight_word_layout`).
    """
    return data.ArrayLayout(weight_column_layout(cfg), cfg.tile_cols)


def weight_word_layout(cfg):
    """A word of the engine's ``weight`` stream.

    Dense kinds: one step (:func:`weight_beat_layout`). Sparse kinds: ``[slot][col]``, the
    compressed DBB stream of Fig. 2 cut into words of ``word_slots`` weight-wide slots per
    column. Per tile and column the stream is, block after block, the block's B-bit mask (in
    ``mask_slots`` slots, low bits first) and then its NNZ values in ascending position,
    zero-padded: NNZ + ``mask_slots`` slots a block, the mask stored once. Every column has the
    same slot sequence, so slot ``i`` of a word is one slice across the tile's columns. A tile's
    last word is padded with zero slots; the next tile starts a new word.
    """
    if not cfg.sparse:
        return weight_beat_layout(cfg)
    return data.ArrayLayout(data.ArrayLayout(unsigned(cfg.slot_bits), cfg.tile_cols),
                            cfg.word_slots)


def result_beat_layout(cfg):
    """One result beat: a row of an output tile, N·C accumulators; with ``drain_rows`` R > 1,
    ``[r][col]``: R consecutive rows."""
    row = data.ArrayLayout(signed(cfg.acc_width), cfg.tile_cols)
    return row if cfg.drain_rows == 1 else data.ArrayLayout(row, cfg.drain_rows)


def job_layout(cfg):
    """A job: ``tiles`` output tiles, each a K-long reduction, at ``nnz`` steps per block (VDBB)."""
    return data.StructLayout({
        "k": unsigned(K_BITS),
        "nnz": unsigned(max(1, cfg.block.bit_length())),
        "tiles": unsigned(TILE_BITS),
    })


def act_step_layout(cfg):
    """A step entering a row of TPEs: control flags plus that row's A×B activation tile.

    ``valid``: a real step (not a bubble); ``first``: the first step of a block (TPEs load the
    activation tile only then, and hold it for a VDBB block's NNZ steps); ``last``: the last step of
    an output tile (TPEs hand their accumulators to the shadow registers).
    """
    return data.StructLayout({
        "valid": 1,
        "first": 1,
        "last": 1,
        "data": data.ArrayLayout(data.ArrayLayout(_act(cfg), cfg.block), cfg.a),
    })


def weight_step_layout(cfg):
    """A step entering a column of TPEs: C weight columns of ``lanes`` values with positions."""
    fields = {"values": data.ArrayLayout(_weight(cfg), cfg.lanes)}
    if cfg.sparse:
        fields["positions"] = data.ArrayLayout(position_shape(cfg), cfg.lanes)
    return data.ArrayLayout(data.StructLayout(fields), cfg.c)


def tpe_results_layout(cfg):
    """A TPE's output tile: ``[a][c]`` accumulators."""
    return data.ArrayLayout(data.ArrayLayout(signed(cfg.acc_width), cfg.c), cfg.a)
