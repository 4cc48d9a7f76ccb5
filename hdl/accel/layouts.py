"""The VDBB accelerator's layer descriptor as its units see it, and its field widths.

The register file holds what a user writes (H, W, C, K, R, S, stride, padding, NNZ, …); at
``start`` the sequencer latches it and derives the values every unit walks by (output size, patch
grid, channel blocks, tile counts), so the units share one consistent, registered view.
"""

from amaranth import unsigned
from amaranth.lib import data

from ...gen.schema import bits_for
from .quant_table import quant_rows

__all__ = ["DIM_BITS", "CH_BITS", "layer_layout"]

#: H, W, Ho, Wo up to 4095.
DIM_BITS = 12
#: C, K up to 8191.
CH_BITS = 13


def layer_layout(cfg):
    """The derived layer descriptor (see :class:`~sparseforge.hdl.accel.Sequencer`)."""
    block = cfg.block
    rows = cfg.array.tile_rows
    return data.StructLayout({
        "h": unsigned(DIM_BITS), "w": unsigned(DIM_BITS),
        "ho": unsigned(DIM_BITS), "wo": unsigned(DIM_BITS),
        "hw": unsigned(2 * DIM_BITS),           # Ho·Wo
        "raster": unsigned(1),
        "cb_in": unsigned(CH_BITS), "cb_out": unsigned(CH_BITS),
        "r": unsigned(4), "s": unsigned(4),
        "stride2": unsigned(1), "pad": unsigned(3),
        "ph": unsigned(bits_for(rows + 1)), "pw": unsigned(bits_for(rows + 1)),
        "wh": unsigned(bits_for(cfg.window_rows + 1)),
        "ww": unsigned(bits_for(cfg.window_cols + 1)),
        "tiles_y": unsigned(DIM_BITS), "tiles_x": unsigned(DIM_BITS),
        "col_tiles": unsigned(CH_BITS),
        "nnz": unsigned(max(1, block.bit_length())),
        "direct": unsigned(1),
        "tile_slots": unsigned(24),
        "ifm_base": unsigned(bits_for(cfg.act_bank_depth)),
        "ofm_base": unsigned(bits_for(cfg.act_bank_depth)),
        "ofm_cbs": unsigned(CH_BITS),           # channel blocks a pixel of the output map
        "ofm_cb0": unsigned(CH_BITS),           # the layer's first block in it
        "ofm_pixel0": unsigned(24),             # the layer's first pixel in it
        "w_base": unsigned(bits_for(cfg.weight_half_words)),
        "int8_out": unsigned(1), "relu": unsigned(1), "shift": unsigned(5),
        "quant": unsigned(1), "quant_base": unsigned(bits_for(max(1, quant_rows(cfg)))),
    })
