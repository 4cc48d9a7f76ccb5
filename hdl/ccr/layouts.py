"""Bit layouts of the CCR accelerator's buffers, streams and layer descriptor, defined once
(CCR paper, Sec. IV, Table I).

The packers of the benches derive from these layouts, so the hardware and the software cannot
disagree on bit order. Buffer contents are described in :mod:`sparseforge.sim.ccr.format`.
"""

from amaranth import signed, unsigned
from amaranth.lib import data

__all__ = ["COUNTER_BITS", "block_layout", "kb_entry_layout", "out_word_layout", "coord_shape",
           "layer_layout", "stream_width"]

#: Width of the statistics counters (cycles, MACs, coordinates).
COUNTER_BITS = 32


def block_layout(cfg):
    """An IB word: a ``P_x × P_y`` input block, lane ``p·P_y + q``."""
    return data.ArrayLayout(signed(cfg.act_width), cfg.multipliers)


def kb_entry_layout(cfg):
    """A KB entry: the weight, and its kernel coordinates ``(i, j)`` when compressed."""
    fields = {"value": signed(cfg.weight_width)}
    if cfg.sparse_kernels:
        fields.update(i=unsigned(cfg.kernel_index_bits), j=unsigned(cfg.kernel_index_bits))
    return data.StructLayout(fields)


def out_word_layout(cfg):
    """An output stream beat: one word of every OB bank, lane ``bx·P_y + by``."""
    return data.ArrayLayout(signed(cfg.acc_width), cfg.multipliers)


def coord_shape(cfg):
    """Signed output coordinates: block origins minus kernel offsets minus the window origin."""
    return signed((cfg.map_max + 2 * cfg.kernel_max + cfg.px + cfg.py).bit_length() + 2)


def layer_layout(cfg):
    """A pass descriptor: input ``c × h × w``, ``k × r × s`` kernels, the window's origin
    ``(x0, y0)`` and size ``ho × wo``."""
    dim = unsigned(cfg.map_bits)
    out = unsigned((cfg.map_max + cfg.kernel_max).bit_length())
    ker = unsigned(cfg.kernel_max.bit_length())
    return data.StructLayout({
        "c": unsigned(max(1, cfg.ib_words.bit_length())),
        "h": dim, "w": dim,
        "k": unsigned(cfg.kernels_max.bit_length()),
        "r": ker, "s": ker,
        "x0": signed(cfg.kernel_index_bits + 2), "y0": signed(cfg.kernel_index_bits + 2),
        "ho": out, "wo": out,
    })


def stream_width(layout):
    """AXI4-Stream ``tdata`` width carrying ``layout``: its size rounded up to whole bytes."""
    return -(-data.Layout.cast(layout).size // 8) * 8
