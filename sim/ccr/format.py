"""What the CCR buffers hold: input blocks (IB), dense and compressed kernels (KB), output
blocks (OB) (CCR paper, Sec. IV, Fig. 7 and Table I).

* **IB** (dense): one word per ``P_x × P_y`` input block, blocks in order channel ``c``, block
  row ``M``, block column ``N``; lane ``p·P_y + q`` holds ``x[c, M·P_x + p, N·P_y + q]``, zero
  past the map's edge.
* **KB, dense** (baseline, SparseI): one weight per entry in order ``k, c, i, j``.
* **KB, compressed** (SparseK, SparseKI): the non-zero weights with their coordinates
  ``(value, i, j)``, in order ``k, c`` then row-major; and a table of entry counts, one per
  kernel ``(k, c)`` in order ``k, c`` (a triplet decomposition into 1×1 sub-kernels, Sec. II-B).
* **OB**: ``P_x × P_y`` banks; output ``(k, u, v)`` lives in bank ``(u mod P_x, v mod P_y)`` at
  word ``k·⌈Ho/P_x⌉·⌈Wo/P_y⌉ + ⌊u/P_x⌋·⌈Wo/P_y⌉ + ⌊v/P_y⌋``, so any ``P_x × P_y`` rectangle of
  one channel touches every bank once. The output stream gives one word of all banks per beat,
  lane ``bx·P_y + by``, words in order.
"""

import numpy as np

__all__ = ["blocks_shape", "input_blocks", "dense_kernel", "compressed_kernel",
           "output_words", "output_map"]


def blocks_shape(h, w, px, py):
    """``(⌈h/P_x⌉, ⌈w/P_y⌉)``: blocks covering an ``h × w`` map."""
    return -(-h // px), -(-w // py)


def input_blocks(x, px, py):
    """IB words of C×H×W activations: an array ``(C·HB·WB, P_x·P_y)`` of lanes."""
    x = np.asarray(x, dtype=np.int64)
    c, h, w = x.shape
    hb, wb = blocks_shape(h, w, px, py)
    padded = np.zeros((c, hb * px, wb * py), dtype=np.int64)
    padded[:, :h, :w] = x
    blocks = padded.reshape(c, hb, px, wb, py).transpose(0, 1, 3, 2, 4)
    return blocks.reshape(c * hb * wb, px * py)


def dense_kernel(w):
    """Dense KB entries of K×C×R×S weights: the weights in order ``k, c, i, j``."""
    return np.asarray(w, dtype=np.int64).reshape(-1)


def compressed_kernel(w):
    """Compressed KB of K×C×R×S weights: ``(counts, entries)``.

    ``counts`` has one entry count per kernel ``(k, c)``; ``entries`` is an ``(n, 3)`` array of
    ``(value, i, j)`` rows, the non-zeros of each kernel row-major, kernels in order ``k, c``.
    """
    w = np.asarray(w, dtype=np.int64)
    k, c, r, s = w.shape
    flat = w.reshape(k * c, r * s)
    counts = np.count_nonzero(flat, axis=1)
    g, pos = np.nonzero(flat)                   # row-major: kernels in order, then positions
    entries = np.stack([flat[g, pos], pos // s, pos % s], axis=1).reshape(-1, 3)
    return counts, entries


def output_words(k, ho, wo, px, py):
    """OB words a layer's outputs occupy in each bank: ``K·⌈Ho/P_x⌉·⌈Wo/P_y⌉``."""
    hb, wb = blocks_shape(ho, wo, px, py)
    return k * hb * wb


def output_map(words, k, ho, wo, px, py):
    """K×Ho×Wo outputs from the output stream's words (an array ``(n, P_x·P_y)``)."""
    hb, wb = blocks_shape(ho, wo, px, py)
    words = np.asarray(words, dtype=np.int64).reshape(k, hb, wb, px, py)
    return words.transpose(0, 1, 3, 2, 4).reshape(k, hb * px, wb * py)[:, :ho, :wo]
