"""What the CCR buffers hold in each design of Table I: input map (IB), kernels (KB) and output
(OB) (CCR paper, Sec. IV, Fig. 7 and Table I).

* **IB, dense** (baseline, SparseK): one word per ``P_x × P_y`` input block, blocks in order
  channel ``c``, block row ``M``, block column ``N``; lane ``p·P_y + q`` holds
  ``x[c, M·P_x + p, N·P_y + q]``, zero past the map's edge ("read from IB: matrix").
* **IB, compressed** (SparseI, SparseKI): the non-zero inputs with their coordinates
  ``(value, m, n)``, channels in order, each row-major (1×1 sub-maps, CCR-2). SparseI reads one
  entry per word ("scalar"); SparseKI a vector of ``P_y`` entries per word, each channel's last
  word padded with zero entries. A table gives each channel's word count.
* **KB, dense** (baseline): one weight per word in order ``k, c, i, j`` ("scalar").
* **KB, tiles** (SparseI): per kernel ``(k, c)`` in order, its ``⌈R/P_x⌉ × ⌈S/P_y⌉`` tiles of
  ``P_x × P_y`` weights row-major ("matrix"), each rotated by 180°: lane ``p·P_y + q`` of tile
  ``(a, b)`` holds ``w[k, c, a·P_x + P_x − 1 − p, b·P_y + P_y − 1 − q]`` (zero past the kernel),
  so that the products of one input with a tile land on a ``P_x × P_y`` rectangle of outputs
  whose lane order is the output order.
* **KB, compressed** (SparseK, SparseKI): the non-zero weights with their coordinates
  ``(value, i, j)``, in order ``k, c`` then row-major (1×1 sub-kernels, CCR-1, Sec. II-B);
  SparseK one entry per word ("scalar"), SparseKI a vector of ``P_x`` entries per word, each
  kernel's last word padded with zero entries. A table gives each kernel's word count, in order
  ``k, c``.

A zero value marks a padding entry: the compressed formats hold non-zeros only.
* **OB**: ``P_x × P_y`` banks; output ``(k, u, v)`` lives in bank ``(u mod P_x, v mod P_y)`` at
  word ``k·⌈Ho/P_x⌉·⌈Wo/P_y⌉ + ⌊u/P_x⌋·⌈Wo/P_y⌉ + ⌊v/P_y⌋``, so any ``P_x × P_y`` rectangle of
  one channel touches every bank once. The output stream gives one word of all banks per beat,
  lane ``bx·P_y + by``, words in order.
"""

from dataclasses import dataclass

import numpy as np

__all__ = ["blocks_shape", "input_blocks", "dense_kernel", "compressed_kernel",
           "compressed_input", "vectors", "kernel_tiles", "Buffers", "buffers", "usage",
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


def compressed_input(x):
    """Compressed IB entries of C×H×W activations: ``(counts, entries)``.

    ``counts`` has the number of non-zeros of each channel; ``entries`` is an ``(n, 3)`` array of
    ``(value, m, n)`` rows, each channel's non-zeros row-major, channels in order.
    """
    x = np.asarray(x, dtype=np.int64)
    c, h, w = x.shape
    flat = x.reshape(c, h * w)
    counts = np.count_nonzero(flat, axis=1)
    ch, pos = np.nonzero(flat)
    entries = np.stack([flat[ch, pos], pos // w, pos % w], axis=1).reshape(-1, 3)
    return counts, entries


def vectors(counts, entries, lanes):
    """Entries grouped in words of ``lanes``, each group's last word padded with zero entries.

    Returns ``(word counts, words)``: ``⌈count / lanes⌉`` per group and an array
    ``(words, lanes, 3)``.
    """
    counts = np.asarray(counts, dtype=np.int64)
    words = -(-counts // lanes)
    out = np.zeros((int(words.sum()), lanes, 3), dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)])
    wstarts = np.concatenate([[0], np.cumsum(words)])
    for g, n in enumerate(counts.tolist()):
        if n:
            block = np.zeros((words[g] * lanes, 3), dtype=np.int64)
            block[:n] = entries[starts[g]:starts[g] + n]
            out[wstarts[g]:wstarts[g + 1]] = block.reshape(-1, lanes, 3)
    return words, out


def kernel_tiles(w, px, py):
    """SparseI's KB words of K×C×R×S weights: an array ``(K·C·TR·TS, P_x·P_y)`` of rotated
    tiles (``TR = ⌈R/P_x⌉``, ``TS = ⌈S/P_y⌉``)."""
    w = np.asarray(w, dtype=np.int64)
    k, c, r, s = w.shape
    tr, ts = blocks_shape(r, s, px, py)
    padded = np.zeros((k, c, tr * px, ts * py), dtype=np.int64)
    padded[:, :, :r, :s] = w
    tiles = padded.reshape(k, c, tr, px, ts, py).transpose(0, 1, 2, 4, 3, 5)
    return tiles[..., ::-1, ::-1].reshape(k * c * tr * ts, px * py)


@dataclass(frozen=True)
class Buffers:
    """What one pass loads: IB words and the per-channel word counts (compressed IB), KB words
    and the per-kernel word counts (compressed KB). A design without a count table has
    ``None`` there."""

    ib: np.ndarray
    ib_counts: np.ndarray | None
    kb: np.ndarray
    kb_counts: np.ndarray | None


def buffers(variant, px, py, x, w):
    """The :class:`Buffers` of a pass (C×H×W ``x``, K×C×R×S ``w``) for ``variant``.

    IB words are ``(n, P_x·P_y)`` blocks, ``(n, 3)`` entries or ``(n, P_y, 3)`` vectors; KB
    words ``(n,)`` weights, ``(n, P_x·P_y)`` tiles, ``(n, 3)`` entries or ``(n, P_x, 3)``
    vectors, as the module docstring describes.
    """
    if variant in ("dense", "sparse_k"):
        ib, ib_counts = input_blocks(x, px, py), None
    elif variant == "sparse_i":
        ib_counts, ib = compressed_input(x)
    elif variant == "sparse_ki":
        ib_counts, ib = vectors(*compressed_input(x), py)
    else:
        raise ValueError(f"Variant must be one of dense, sparse_k, sparse_i, sparse_ki, "
                         f"not {variant!r}")
    if variant == "dense":
        kb, kb_counts = dense_kernel(w), None
    elif variant == "sparse_i":
        kb, kb_counts = kernel_tiles(w, px, py), None
    elif variant == "sparse_k":
        kb_counts, kb = compressed_kernel(w)
    else:
        kb_counts, kb = vectors(*compressed_kernel(w), px)
    return Buffers(ib, ib_counts, kb, kb_counts)


def usage(variant, px, py, x, w, ho, wo):
    """Words a pass needs in each buffer, from counts alone (no packing): ``{"ib", "kb",
    "ob", "kernels", "channels"}`` — IB and KB words, OB words per bank, count-table entries of
    the kernels ``K·C`` and of the channels ``C``."""
    x = np.asarray(x)
    w = np.asarray(w)
    c, h, wd = x.shape
    k, _, r, s = w.shape
    nx = np.count_nonzero(x.reshape(c, -1), axis=1)
    nw = np.count_nonzero(w.reshape(k * c, -1), axis=1)
    hb, wb = blocks_shape(h, wd, px, py)
    tr, ts = blocks_shape(r, s, px, py)
    ib = {"dense": c * hb * wb, "sparse_k": c * hb * wb, "sparse_i": int(nx.sum()),
          "sparse_ki": int((-(-nx // py)).sum())}[variant]
    kb = {"dense": k * c * r * s, "sparse_k": int(nw.sum()), "sparse_i": k * c * tr * ts,
          "sparse_ki": int((-(-nw // px)).sum())}[variant]
    return {"ib": ib, "kb": kb, "ob": output_words(k, ho, wo, px, py), "kernels": k * c,
            "channels": c}


def output_words(k, ho, wo, px, py):
    """OB words a layer's outputs occupy in each bank: ``K·⌈Ho/P_x⌉·⌈Wo/P_y⌉``."""
    hb, wb = blocks_shape(ho, wo, px, py)
    return k * hb * wb


def output_map(words, k, ho, wo, px, py):
    """K×Ho×Wo outputs from the output stream's words (an array ``(n, P_x·P_y)``)."""
    hb, wb = blocks_shape(ho, wo, px, py)
    words = np.asarray(words, dtype=np.int64).reshape(k, hb, wb, px, py)
    return words.transpose(0, 1, 3, 2, 4).reshape(k, hb * px, wb * py)[:, :ho, :wo]
