"""Sparse-Blox block forms: the authors' im2col blocks, the hardware's stored-map blocks (III).

Hotfilter et al. (III-A) prune blocks of the IM2COL matrix of a layer's *input* (rows = output
pixels, columns = the ``C·R·S`` kernel taps, ``c`` slowest, as ``torch.nn.functional.unfold``), so
one activation may be zeroed in one row and kept in another. Hardware (III-B, Fig. 4) prunes the
blocks the output stage writes: blocks of the *stored* map, ``channels × rows × cols`` — on the
VDBB accelerator the output patch of ``M·A`` pixels by ``B`` channels, on SCNN 4×4 pixels of one
channel. Both use the decision of :mod:`.blocks`; the counters are :class:`.BlockCounts`.
"""

from dataclasses import dataclass

import numpy as np

from ..conv import im2col_matrix, output_size
from .blocks import below_threshold, block_stats, expand_blocks
from .counts import BlockCounts

__all__ = ["Consumer", "prune_im2col", "prune_map", "PruneResult"]


@dataclass(frozen=True)
class Consumer:
    """The layer that reads the pruned map: ``k`` output channels, ``r×s`` kernel, stride, padding.

    A fully connected layer over a flattened ``C×H×W`` map is ``Consumer(k, r=H, s=W)``: one output
    pixel whose im2col row is the flattened map, in the same ``(c, y, x)`` order.
    """

    k: int
    r: int = 1
    s: int = 1
    stride: int = 1
    pad: int = 0

    def __post_init__(self):
        for name in ("k", "r", "s", "stride"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"Consumer {name} must be a positive integer, not {v!r}")
        if not isinstance(self.pad, int) or self.pad < 0:
            raise ValueError(f"Consumer pad must be a non-negative integer, not {self.pad!r}")

    def out_size(self, h, w):
        ho, wo = output_size(h, w, self.r, self.s, self.stride, self.pad)
        if ho < 1 or wo < 1:
            raise ValueError(f"A {self.r}×{self.s} kernel does not fit a {h}×{w} map "
                             f"with padding {self.pad}")
        return ho, wo

    def macs(self, c, h, w):
        ho, wo = self.out_size(h, w)
        return self.k * ho * wo * c * self.r * self.s

    def uses(self, h, w):
        """H×W: how many im2col entries (output pixel, tap) read each map pixel."""
        ho, wo = self.out_size(h, w)

        def along(n, taps, outs):
            count = np.zeros(n, dtype=np.int64)
            for o in range(outs):
                for t in range(taps):
                    p = o * self.stride - self.pad + t
                    if 0 <= p < n:
                        count[p] += 1
            return count

        return np.outer(along(h, self.r, ho), along(w, self.s, wo))


@dataclass(frozen=True)
class PruneResult:
    """``data``: the pruned tensor; ``cached``: the block grid of pruned blocks; ``counts``."""

    data: np.ndarray
    cached: np.ndarray
    counts: BlockCounts


def _check_block(block, n):
    block = tuple(block)
    if len(block) != n:
        raise ValueError(f"Block must have {n} extents, not {block!r}")
    return block


def prune_im2col(x, consumer, block, raw, frac_bits=8):
    """The authors' form: prune ``block = (rows, cols)`` blocks of the consumer's IM2COL matrix.

    Parameters
    ----------
    x : C×H×W integers
        The consumer's input map.
    consumer : Consumer
    block : (int, int)
        Output pixels × kernel-tap columns per block.
    raw, frac_bits : int
        The threshold in fixed point (``t = raw / 2**frac_bits``).

    Returns
    -------
    PruneResult
        ``data`` is the pruned IM2COL matrix (the consumer multiplies it by ``W.reshape(K, -1).T``).
        Every entry of a pruned block is a skipped MAC per output channel and an entry not read;
        nothing is written (the matrix is formed on the fly).
    """
    x = np.asarray(x, dtype=np.int64)
    block = _check_block(block, 2)
    consumer.out_size(x.shape[1], x.shape[2])
    matrix = im2col_matrix(x, consumer.r, consumer.s, consumer.stride, consumer.pad)
    sums, n_valid, nonzero = block_stats(matrix, block)
    below = below_threshold(sums, n_valid, raw, frac_bits)
    zero = nonzero == 0
    pruned = matrix.copy()
    pruned[expand_blocks(below, block, matrix.shape)] = 0
    entries = int(n_valid[below].sum())
    counts = BlockCounts(
        blocks_total=int(below.size), blocks_zero_before=int(zero.sum()),
        blocks_pruned=int((below & ~zero).sum()), blocks_cached=int(below.sum()),
        macs_total=consumer.k * matrix.size, macs_skipped=consumer.k * entries,
        words_total=matrix.size, words_not_read=entries)
    return PruneResult(pruned, below, counts)


def prune_map(x, block, raw, frac_bits=8, consumer=None, capacity=None, order=None,
              elems_per_word=1):
    """The hardware's form: prune ``block = (channels, rows, cols)`` blocks of a stored C×H×W map.

    Parameters
    ----------
    x : C×H×W integers
        The map as the output stage produces it (after requantization and ReLU).
    block : (int, int, int)
    raw, frac_bits : int
        The layer's threshold in fixed point.
    consumer : Consumer or None
        The next layer, for MAC counts (none: MAC counts are zero).
    capacity : int or None
        Sparse-block cache capacity (None: unbounded). Blocks are offered to the cache in
        production ``order``; once it is full the rest are stored normally (``blocks_refused``).
    order : sequence of int or None
        Flat block indices (C order over the block grid) in production order; default C order.
    elems_per_word : int
        Channels per activation-memory word (the accelerator packs ``B`` channels of a pixel in a
        word; SCNN stores one value per word). A block's words are its valid pixels times
        ``ceil(valid channels / elems_per_word)``.

    Returns
    -------
    PruneResult
        ``data`` is the map with cached blocks zeroed. A cached block's words are not written and
        not read back (once each); a consumer MAC is skipped when its activation lies in a cached
        block (each pixel feeds ``consumer.uses`` taps of each of ``k`` output channels).
    """
    x = np.asarray(x, dtype=np.int64)
    if x.ndim != 3:
        raise ValueError(f"A stored map is C×H×W, not of shape {x.shape}")
    block = _check_block(block, 3)
    if not isinstance(elems_per_word, int) or elems_per_word < 1:
        raise ValueError(f"Channels per word must be a positive integer, not {elems_per_word!r}")
    sums, n_valid, nonzero = block_stats(x, block)
    below = below_threshold(sums, n_valid, raw, frac_bits)
    zero = nonzero == 0
    cached = below.copy()
    refused = np.zeros_like(below)
    if capacity is not None:
        if not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"Cache capacity must be a positive integer, not {capacity!r}")
        seq = np.arange(below.size) if order is None else np.asarray(order, dtype=np.int64)
        if sorted(seq.tolist()) != list(range(below.size)):
            raise ValueError(f"Production order must list each of the {below.size} blocks once")
        flat = below.reshape(-1)[seq]
        taken = flat & (np.cumsum(flat) <= capacity)
        c_flat = np.zeros(below.size, dtype=bool)
        c_flat[seq] = taken
        cached = c_flat.reshape(below.shape)
        refused = below & ~cached
    mask = expand_blocks(cached, block, x.shape)
    pruned = np.where(mask, 0, x)
    # Words per block: valid pixels × ceil(valid channels / elems_per_word).
    _, pix, _ = block_stats(np.zeros(x.shape[1:], dtype=np.int64), block[1:])
    ch = np.minimum(block[0], x.shape[0] - block[0] * np.arange(sums.shape[0]))
    words = (-(-ch // elems_per_word))[:, None, None] * pix[None]
    saved = int(words[cached].sum())
    macs_total = macs_skipped = 0
    if consumer is not None:
        uses = consumer.uses(x.shape[1], x.shape[2])
        macs_total = consumer.macs(*x.shape)
        macs_skipped = consumer.k * int((mask * uses[None]).sum())
    counts = BlockCounts(
        blocks_total=int(below.size), blocks_zero_before=int(zero.sum()),
        blocks_pruned=int((cached & ~zero).sum()), blocks_cached=int(cached.sum()),
        blocks_refused=int(refused.sum()), macs_total=macs_total, macs_skipped=macs_skipped,
        words_total=int(words.sum()), words_not_written=saved, words_not_read=saved)
    return PruneResult(pruned, cached, counts)
