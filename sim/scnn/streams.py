"""A convolution layer as the SCNN accelerator sees it: its blocks, rows and RAM usage.

The accelerator (:class:`sparseforge.hdl.scnn.ScnnAccelerator`) takes the layer's compressed
weight blocks as one broadcast stream of rows (group ``g`` outer, input channel ``c`` inner), each
PE's compressed activation tile as rows (channel by channel), and returns each PE's compressed
output blocks as rows. Everything here is derived from :mod:`.scnn_format`; the RAM usage is what
the layer needs of each PE's weight FIFO, IARAM and OARAM.
"""

from dataclasses import dataclass

import numpy as np

from . import format as scnn_format
from .blox import prune_tiles
from .golden import layer_output, requantized

__all__ = ["Layer", "LayerStreams", "layer_streams", "pe_index", "pe_positions",
           "output_rows", "decode_output_rows", "assemble_output", "ram_usage", "golden",
           "row_leaves"]


@dataclass(frozen=True)
class Layer:
    """A stride-1 'same' convolution: ``c × h × w`` input, ``k`` outputs, ``r × s`` kernel."""

    h: int
    w: int
    c: int
    k: int
    r: int
    s: int

    @classmethod
    def of(cls, act, weights):
        c, h, w = np.shape(act)
        k, _, r, s = np.shape(weights)
        return cls(h=h, w=w, c=c, k=k, r=r, s=s)

    @property
    def macs(self):
        """Multiply-accumulates of the dense layer: ``h · w · k · c · r · s``."""
        return self.h * self.w * self.k * self.c * self.r * self.s

    def group_sizes(self, kc):
        """Output channels of each group: ``kc`` each, the last one possibly fewer."""
        return [min(kc, self.k - g) for g in range(0, self.k, kc)]


def pe_positions(cfg):
    """PE coordinates ``(px, py)`` in PE-index order (``index = py·P_x + px``)."""
    return [(px, py) for py in range(cfg.py) for px in range(cfg.px)]


def pe_index(cfg, px, py):
    return py * cfg.px + px


@dataclass(frozen=True)
class LayerStreams:
    """Compressed blocks of a layer and their rows.

    Attributes
    ----------
    layer : Layer
    weight_blocks : list (groups) of list (channels) of Block
    act_blocks : list (PE index) of list (channels) of Block
    weight_rows : tuple of arrays (counts (n,), values (n, F), zeros (n, F))
        The weight stream, in order.
    act_rows : list (PE index) of tuples (counts, values (n, I), zeros (n, I))
    output_blocks : list (PE index) of list (output channels) of Block
        The golden output (:func:`golden`), compressed per PE tile and output channel.
    """

    layer: Layer
    weight_blocks: list
    act_blocks: list
    weight_rows: tuple
    act_rows: list
    output_blocks: list


def _rows(blocks, lanes):
    parts = [scnn_format.rows_of(block, lanes) for block in blocks]
    return tuple(np.concatenate([part[n] for part in parts]) for n in range(3))


def layer_streams(cfg, act, weights, threshold=0, shift=None):
    """Encode ``act`` (C×H×W) and ``weights`` (K×C×R×S) for ``cfg``'s PEs; the output blocks are
    those of :func:`golden` at the raw Sparse-Blox ``threshold`` and requantization ``shift``."""
    act = np.asarray(act, dtype=np.int64)
    weights = np.asarray(weights, dtype=np.int64)
    layer = Layer.of(act, weights)
    wblocks = scnn_format.weight_blocks(weights, cfg.kc, cfg.index_bits)
    flat = [block for group in wblocks for block in group]
    ablocks = [scnn_format.tile_blocks(act, px, py, cfg.tile_w, cfg.tile_h, cfg.index_bits)
               for px, py in pe_positions(cfg)]
    _, oblocks = output_rows(cfg, golden(cfg, act, weights, threshold, shift))
    return LayerStreams(layer=layer, weight_blocks=wblocks, act_blocks=ablocks,
                        weight_rows=_rows(flat, cfg.f),
                        act_rows=[_rows(blocks, cfg.i) for blocks in ablocks],
                        output_blocks=oblocks)


def output_rows(cfg, output):
    """Expected output stream of each PE (rows of its blocks, one per output channel) and the
    blocks: ``([rows per PE], [blocks per PE])`` for a ``K × H × W`` post-ReLU output."""
    output = np.asarray(output, dtype=np.int64)
    blocks = [scnn_format.tile_blocks(output, px, py, cfg.tile_w, cfg.tile_h, cfg.index_bits)
              for px, py in pe_positions(cfg)]
    return [_rows(b, cfg.i) for b in blocks], blocks


def decode_output_rows(cfg, rows, k):
    """Blocks of one PE from its output rows (``k`` blocks of ``W_t·H_t`` elements)."""
    counts, values, zeros = rows
    return scnn_format.blocks_of_rows(counts, values, zeros, [cfg.tile_elems] * k)


def assemble_output(cfg, blocks, layer):
    """The ``K × H × W`` output from each PE's decoded blocks (tiles cropped to the image)."""
    out = np.zeros((layer.k, cfg.max_h, cfg.max_w), dtype=np.int64)
    for (px, py), pe_blocks in zip(pe_positions(cfg), blocks):
        x0, y0 = scnn_format.pe_origin(px, py, cfg.tile_w, cfg.tile_h)
        for kk, block in enumerate(pe_blocks):
            tile = scnn_format.decode(block).reshape(cfg.tile_h, cfg.tile_w)
            out[kk, y0:y0 + cfg.tile_h, x0:x0 + cfg.tile_w] = tile
    return out[:, :layer.h, :layer.w]


def ram_usage(cfg, streams):
    """What each RAM of the busiest PE needs: ``{"weights", "iaram", "oaram"}``: rows of the
    weight FIFO (the largest weight block: blocks stream through it one after the other), IARAM
    rows (non-empty activation blocks) and OARAM rows."""
    def stored(blocks, lanes):
        return sum(-(-b.count // lanes) for b in blocks)
    return {
        "weights": max(-(-b.count // cfg.f) for group in streams.weight_blocks for b in group),
        "iaram": max(stored(blocks, cfg.i) for blocks in streams.act_blocks),
        "oaram": max(stored(blocks, cfg.i) for blocks in streams.output_blocks),
    }


def golden(cfg, act, weights, threshold=0, shift=None):
    """The layer's expected post-ReLU output (K×H×W) with ``cfg``'s accumulator width; on a
    design with Sparse-Blox, with the blocks the PPUs prune at raw ``threshold`` zeroed
    (:func:`.blox.prune_tiles`; 0 prunes nothing). With a ``shift`` (the PPU's ``requant``
    mode), requantized to ``cfg``'s activation width (:func:`.golden.requantized`); None: the
    raw accumulators."""
    out = layer_output(act, weights, cfg.acc_width)
    if threshold:
        if getattr(cfg, "sparseblox", None) is None:
            raise ValueError(f"a threshold needs a design with Sparse-Blox; {cfg.name} has none")
        out = prune_tiles(cfg, out, threshold).data
    if shift is not None:
        out = requantized(out, shift, cfg.act_width)
    return out


def row_leaves(rows):
    """Rows ``(counts, values, zeros)`` as one array of packer leaves per row:
    ``count, value0, zeros0, value1, zeros1, …`` (the order of :func:`.layouts.row_layout`)."""
    counts, values, zeros = (np.asarray(x, dtype=np.int64) for x in rows)
    pairs = np.stack([values, zeros], axis=-1).reshape(len(counts), -1)
    return np.concatenate([counts[:, None], pairs], axis=1)
