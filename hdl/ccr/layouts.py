"""Bit layouts of the CCR accelerator's buffers, streams and layer descriptor, defined once
(CCR paper, Sec. IV, Table I).

The packers of the benches derive from these layouts, so the hardware and the software cannot
disagree on bit order. What the buffers hold is described in :mod:`sparseforge.sim.ccr.format`.
"""

from amaranth import signed, unsigned
from amaranth.lib import data

__all__ = ["COUNTER_BITS", "block_layout", "ib_entry_layout", "kb_entry_layout",
           "ib_word_layout", "kb_word_layout", "out_word_layout", "bank_port_layout",
           "coord_shape", "layer_layout", "stream_width"]

#: Width of the statistics counters (cycles, MACs, steps, coordinates, stalls).
COUNTER_BITS = 32


def block_layout(cfg):
    """A ``P_x × P_y`` input block (dense IB word), lane ``p·P_y + q``."""
    return data.ArrayLayout(signed(cfg.act_width), cfg.multipliers)


def ib_entry_layout(cfg):
    """A compressed IB entry: a non-zero input and its coordinates ``(m, n)`` in the map."""
    return data.StructLayout({"value": signed(cfg.act_width),
                              "m": unsigned(cfg.input_index_bits),
                              "n": unsigned(cfg.input_index_bits)})


def kb_entry_layout(cfg):
    """A compressed KB entry: a non-zero weight and its coordinates ``(i, j)`` in the kernel."""
    return data.StructLayout({"value": signed(cfg.weight_width),
                              "i": unsigned(cfg.kernel_index_bits),
                              "j": unsigned(cfg.kernel_index_bits)})


def ib_word_layout(cfg):
    """An IB word: a block (dense, SparseK), an entry (SparseI), ``P_y`` entries (SparseKI)."""
    if cfg.variant == "sparse_i":
        return ib_entry_layout(cfg)
    if cfg.variant == "sparse_ki":
        return data.ArrayLayout(ib_entry_layout(cfg), cfg.py)
    return block_layout(cfg)


def kb_word_layout(cfg):
    """A KB word: a weight (dense), an entry (SparseK), a rotated ``P_x × P_y`` tile (SparseI),
    ``P_x`` entries (SparseKI)."""
    if cfg.variant == "sparse_k":
        return kb_entry_layout(cfg)
    if cfg.variant == "sparse_i":
        return data.ArrayLayout(signed(cfg.weight_width), cfg.multipliers)
    if cfg.variant == "sparse_ki":
        return data.ArrayLayout(kb_entry_layout(cfg), cfg.px)
    return data.StructLayout({"value": signed(cfg.weight_width)})


def out_word_layout(cfg):
    """An output stream beat: one word of every OB bank, lane ``bx·P_y + by``."""
    return data.ArrayLayout(signed(cfg.acc_width), cfg.multipliers)


def bank_port_layout(cfg):
    """An update of one OB bank in a cycle: ``en``, the word ``addr`` and the ``addend``."""
    return data.StructLayout({"en": 1, "addr": range(max(2, cfg.ob_bank_words)),
                              "addend": signed(cfg.acc_width)})


def coord_shape(cfg):
    """Signed output coordinates: input coordinates minus kernel coordinates minus the window's
    origin, with room for a tile's ``P_x − 1``."""
    return signed((cfg.map_max + 2 * cfg.kernel_max + cfg.px + cfg.py).bit_length() + 2)


def layer_layout(cfg):
    """A pass descriptor: input ``c × h × w``, ``k × r × s`` kernels, the window's origin
    ``(x0, y0)`` and size ``ho × wo``."""
    dim = unsigned(cfg.map_bits)
    out = unsigned(cfg.out_bits)
    ker = unsigned(cfg.kernel_max.bit_length())
    channels = unsigned(cfg.kernels_max.bit_length())
    return data.StructLayout({
        "c": channels, "h": dim, "w": dim, "k": channels, "r": ker, "s": ker,
        "x0": signed(cfg.origin_bits), "y0": signed(cfg.origin_bits),
        "ho": out, "wo": out,
    })


def stream_width(layout):
    """AXI4-Stream ``tdata`` width carrying ``layout``: its size rounded up to whole bytes."""
    return -(-data.Layout.cast(layout).size // 8) * 8
