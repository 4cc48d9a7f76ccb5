"""Stream payloads of the Sparse-Blox blocks (Hotfilter et al., III-B, Fig. 4), defined once."""

from amaranth import signed, unsigned
from amaranth.lib import data

from ..common.adder_tree import tree_levels

__all__ = ["beat_layout", "block_sum_layout", "verdict_layout", "count_bits", "sum_bits"]


def count_bits(block_size):
    """Width of ``n_valid`` for blocks of up to ``block_size`` elements."""
    return block_size.bit_length()


def sum_bits(width, block_size):
    """Width of the exact sum of ``block_size`` signed ``width``-bit values."""
    return width + tree_levels(block_size)


def _with_tag(fields, tag_shape):
    if tag_shape is not None:
        fields["tag"] = tag_shape
    return data.StructLayout(fields)


def beat_layout(width, lanes, tag_shape=None):
    """One beat of results: ``lanes`` values, a mask of the real ones, the block's last beat."""
    return _with_tag({"values": data.ArrayLayout(signed(width), lanes), "mask": unsigned(lanes),
                      "last": unsigned(1)}, tag_shape)


def block_sum_layout(width, block_size, tag_shape=None):
    """A block's exact signed sum and its count of real elements."""
    return _with_tag({"sum": signed(sum_bits(width, block_size)),
                      "n_valid": unsigned(count_bits(block_size))}, tag_shape)


def verdict_layout(tag_shape=None):
    """A block's decision: ``below`` threshold (a pruning candidate)."""
    return _with_tag({"below": unsigned(1)}, tag_shape)
