"""Bit layouts of the STA engine's ports and of the steps inside the array, defined once.

The test benches and the CLI pack and unpack beats with packers derived from these layouts
(:mod:`sparseforge.tb.packing`), so the hardware and the software cannot disagree on bit order.
"""

from amaranth import signed, unsigned
from amaranth.lib import data

__all__ = [
    "K_BITS", "TILE_BITS", "GATED_COUNTER_BITS",
    "act_beat_layout", "weight_column_layout", "weight_beat_layout", "result_beat_layout",
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
    """One step of every weight column of an output tile: ``[col]``, N·C columns."""
    return data.ArrayLayout(weight_column_layout(cfg), cfg.tile_cols)


def result_beat_layout(cfg):
    """One row of an output tile: N·C accumulators."""
    return data.ArrayLayout(signed(cfg.acc_width), cfg.tile_cols)


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
