"""SCNN compressed-sparse format (SCNN paper, Sec. 4.2 and Fig. 7): encode, decode, blocks, rows.

One definition, used by the hardware's layouts, the golden and cycle models, the test benches and
the CLI alike.

A **compressed block** encodes a run of ``length`` dense elements as ``count`` entries, each a
``(value, zeros)`` pair: ``zeros`` (``index_bits`` wide) zero elements, then ``value``. Entries
cover the elements up to and including the last non-zero one; trailing zeros are not encoded (the
block's length is known from its shape). A run of ``z`` zeros before a non-zero value is written as
``z // 2**index_bits`` *placeholders* ``(0, 2**index_bits − 1)`` — each stands for
``2**index_bits − 1`` zeros and itself, one more zero — followed by the value with
``zeros = z % 2**index_bits``. An all-zero block has no entries. The encoding is canonical: every
dense run has exactly one.

Example, ``index_bits = 2`` (at most 3 zeros per index)::

    dense   5 0 0 0 0 0 7 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 -3 0 0
    entries (5,0) (0,3) (7,1) (0,3) (0,3) (0,3) (0,3) (-3,0)

**Blocks of a layer.** Weights: one block per (output-channel group ``g``, input channel ``c``)
over the group's ``R × S × K_c`` volume linearized as the paper does (Sec. 4.2, "Compression"):
``r`` outermost, then ``s``, then ``k`` innermost, position ``p = (r·S + s)·K_c + kk``. The F
weights of a dense row are then F output channels at one kernel position (for F ≤ K_c), whose
products with I activations land on F·I distinct accumulators. A last partial group of ``Kg < K_c``
channels is padded to ``K_c`` with zero weights, so the stride of ``s`` is the constant ``K_c`` for
every group and the hardware recovers ``kk`` with a constant divider; the padding costs entries
only where it lengthens a zero run past ``2**index_bits − 1`` (a placeholder). Activations: one
block per input channel over a PE's ``W_t × H_t`` tile, row-major (``y`` outer, ``x`` inner);
positions outside the image are zeros. Outputs: the same as activations, one block per output
channel and PE.

**Rows.** Hardware stores and streams a block as ``max(1, ⌈count / L⌉)`` rows of ``L`` lanes
(``L = F`` for weights, ``I`` for activations and outputs); every row carries the block's
``count`` and ``L`` entries, lanes past ``count`` being ``(0, 0)``. An empty block is one row with
count 0. A row is one AXI4-Stream beat.
"""

from dataclasses import dataclass

import numpy as np

__all__ = ["max_zeros", "encode", "decode", "Block", "block_rows", "rows_of", "blocks_of_rows",
           "weight_volume", "weight_blocks", "act_tile", "act_blocks", "tile_blocks", "pe_origin"]


def max_zeros(index_bits):
    """Largest zero run one index can hold: ``2**index_bits − 1``."""
    if not isinstance(index_bits, int) or index_bits < 1:
        raise ValueError(f"index_bits must be a positive integer, not {index_bits!r}")
    return (1 << index_bits) - 1


@dataclass(frozen=True)
class Block:
    """A compressed block: ``values`` and ``zeros`` of its entries, and its dense ``length``."""

    values: np.ndarray
    zeros: np.ndarray
    length: int

    @property
    def count(self):
        return len(self.values)

    def __eq__(self, other):
        return (isinstance(other, Block) and self.length == other.length and
                np.array_equal(self.values, other.values) and
                np.array_equal(self.zeros, other.zeros))

    def __hash__(self):
        return hash((self.length, tuple(self.values.tolist()), tuple(self.zeros.tolist())))


def encode(dense, index_bits):
    """Encode a 1-D run of integers into a :class:`Block` (see the module docstring).

    Parameters
    ----------
    dense : array_like of int, 1-D
    index_bits : int
        Width of the zero-count field (≥ 1).
    """
    dense = np.asarray(dense, dtype=np.int64)
    if dense.ndim != 1:
        raise ValueError(f"encode takes a 1-D run, not an array of shape {dense.shape}")
    period = max_zeros(index_bits) + 1
    positions = np.flatnonzero(dense)
    gaps = np.diff(np.concatenate([[-1], positions])) - 1          # zeros before each value
    placeholders = gaps // period
    # Entry list: for each value, its placeholders then itself.
    per_value = placeholders + 1
    total = int(per_value.sum())
    values = np.zeros(total, dtype=np.int64)
    zeros = np.full(total, period - 1, dtype=np.int64)
    ends = np.cumsum(per_value) - 1                                 # index of each value entry
    values[ends] = dense[positions]
    zeros[ends] = gaps % period
    return Block(values=values, zeros=zeros, length=len(dense))


def decode(block, index_bits=None):
    """The dense run of a :class:`Block`.

    Raises
    ------
    ValueError
        If the entries reach past the block's length, or a zeros field exceeds ``index_bits``.
    """
    values = np.asarray(block.values, dtype=np.int64)
    zeros = np.asarray(block.zeros, dtype=np.int64)
    if index_bits is not None and zeros.size and (zeros.min() < 0 or
                                                   zeros.max() > max_zeros(index_bits)):
        raise ValueError(f"a zeros field does not fit {index_bits} bits")
    positions = np.cumsum(zeros + 1) - 1
    if positions.size and positions[-1] >= block.length:
        raise ValueError(f"entries reach position {positions[-1]}, past the block's length "
                         f"{block.length}")
    dense = np.zeros(block.length, dtype=np.int64)
    dense[positions] = values
    return dense


# -- rows ---------------------------------------------------------------------------------------

def block_rows(count, lanes):
    """Rows a block of ``count`` entries takes: ``max(1, ⌈count / lanes⌉)``."""
    return max(1, -(-count // lanes))


def rows_of(block, lanes):
    """A block as rows: ``(counts, values, zeros)`` arrays of shapes (rows,), (rows, lanes) ×2."""
    n = block.count
    rows = block_rows(n, lanes)
    values = np.zeros(rows * lanes, dtype=np.int64)
    zeros = np.zeros(rows * lanes, dtype=np.int64)
    values[:n] = block.values
    zeros[:n] = block.zeros
    return (np.full(rows, n, dtype=np.int64), values.reshape(rows, lanes),
            zeros.reshape(rows, lanes))


def blocks_of_rows(counts, values, zeros, lengths):
    """Inverse of :func:`rows_of` over a sequence of blocks stored back to back.

    ``counts``, ``values`` and ``zeros`` are row arrays as produced by concatenating
    :func:`rows_of` results; ``lengths`` the dense length of each block. Lanes past a block's
    count are ignored.
    """
    counts = np.asarray(counts, dtype=np.int64)
    values = np.asarray(values, dtype=np.int64)
    zeros = np.asarray(zeros, dtype=np.int64)
    lanes = values.shape[1]
    blocks = []
    row = 0
    for length in lengths:
        n = int(counts[row])
        rows = block_rows(n, lanes)
        v = values[row:row + rows].reshape(-1)[:n]
        z = zeros[row:row + rows].reshape(-1)[:n]
        blocks.append(Block(values=v.copy(), zeros=z.copy(), length=int(length)))
        row += rows
    if row != len(counts):
        raise ValueError(f"{len(counts) - row} row(s) left after the last block")
    return blocks


# -- blocks of a layer --------------------------------------------------------------------------

def weight_volume(weights, kc, g, c):
    """The dense ``R × S × kc`` volume of block ``(g, c)`` of a ``K × C × R × S`` array:
    ``weights[g·kc + kk, c, r, s]`` at ``[r, s, kk]``, zeros for ``kk`` past the last output
    channel (a last partial group). Its C-order flattening is the block's dense run."""
    weights = np.asarray(weights, dtype=np.int64)
    part = weights[g * kc:(g + 1) * kc, c]                           # Kg × R × S
    volume = np.zeros((kc, *part.shape[1:]), dtype=np.int64)
    volume[:len(part)] = part
    return volume.transpose(1, 2, 0)


def weight_blocks(weights, kc, index_bits):
    """Compressed weight blocks of a ``K × C × R × S`` array, in stream order.

    Returns a list over groups ``g`` of lists over channels ``c`` of :class:`Block`: block
    ``(g, c)`` covers ``weights[g·kc : g·kc + kc, c]`` linearized ``r``, ``s``, ``k`` (``k``
    innermost, a last partial group padded with zeros to ``kc`` channels; see
    :func:`weight_volume`), ``kc·R·S`` elements long.
    """
    weights = np.asarray(weights, dtype=np.int64)
    k, c = weights.shape[:2]
    groups = -(-k // kc)
    return [[encode(weight_volume(weights, kc, g, ch).reshape(-1), index_bits)
             for ch in range(c)] for g in range(groups)]


def pe_origin(px, py, tile_w, tile_h):
    """Global ``(x, y)`` of the top-left element of PE ``(px, py)``'s tile."""
    return px * tile_w, py * tile_h


def act_tile(plane, px, py, tile_w, tile_h):
    """PE ``(px, py)``'s ``tile_h × tile_w`` window of an ``H × W`` plane (zeros outside it)."""
    plane = np.asarray(plane, dtype=np.int64)
    x0, y0 = pe_origin(px, py, tile_w, tile_h)
    tile = np.zeros((tile_h, tile_w), dtype=np.int64)
    window = plane[y0:y0 + tile_h, x0:x0 + tile_w]
    tile[:window.shape[0], :window.shape[1]] = window
    return tile


def tile_blocks(volume, px, py, tile_w, tile_h, index_bits):
    """Compressed blocks of a ``N × H × W`` volume on PE ``(px, py)``: one per plane, in order."""
    return [encode(act_tile(plane, px, py, tile_w, tile_h).reshape(-1), index_bits)
            for plane in np.asarray(volume)]


def act_blocks(act, pes_x, pes_y, tile_w, tile_h, index_bits):
    """Compressed activation blocks of a ``C × H × W`` input: ``{(px, py): [block per c]}``."""
    return {(px, py): tile_blocks(act, px, py, tile_w, tile_h, index_bits)
            for py in range(pes_y) for px in range(pes_x)}
