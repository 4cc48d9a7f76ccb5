"""k/m:d sparsity along output depth: check, prune, compress weights; compress activations
(*SparseCore*, Sections 2.1–2.2).

**Weights** are K×C×R×S. Along the output depth K, every ``m`` consecutive output channels at one
``(c, r, s)`` form a *group*; a weight tensor meets k/m when each group holds at most ``k``
non-zeros (the paper says "exactly k": a kept weight that happens to be zero is stored as a zero
value, so the compressed size is exactly ``k`` per group either way). ``K`` must be a multiple of
``m``.

**Compressed weights** of a group: ``k`` slots, each a value and its position ``0 … m−1`` in
``log2(m)`` bits, positions strictly ascending. The slots hold the group's non-zeros; a group with
fewer than ``k`` non-zeros fills its remaining slots with zero values at the lowest free positions,
so every tensor has exactly one encoding.

**Magnitude pruning** keeps the ``k`` largest ``|w|`` of each group, ties to the lower position.
The paper prunes iteratively ("we iteratively prune the minimum weight in output dimension"):
:func:`prune_iterative` removes the smallest remaining weight of every group one step at a time,
``m → m−1 → … → k``; without retraining between steps it lands on the same tensor as one-shot
:func:`prune` (the smallest of the survivors is always a weight one-shot pruning drops), which a
test checks. With training between steps (the network code's business) the steps differ.

**Compressed activations** (C×H×W, the CLI layout) are stored per input row ``y`` and channel
*segment* ``q`` (channels ``q·Q … q·Q+Q−1``, ``Q`` the chunk depth of the array): the list of the
row's non-zero activations of that segment as entries ``(x, c − q·Q, value)``, ordered by ``x``
then channel, and a pointer table (the "index memory") giving each ``(y, q)`` list's start and
length in one flat entry array. This is what the post-processor writes for the next layer: a work
unit produces exactly the ``(y, q)`` lists of its band and chunk.
"""

import numpy as np

__all__ = ["check_km", "km_violations", "prune", "prune_iterative", "compress_weights",
           "dense_acts", "decompress_weights", "ActStore", "compress_acts", "decompress_acts",
           "pos_bits"]


def pos_bits(m):
    """Bits of a position inside a group of ``m``: ``log2(m)`` (at least 1)."""
    return max(1, (m - 1).bit_length())


def _check_km_args(k, m):
    if not isinstance(m, int) or m < 2 or m & (m - 1):
        raise ValueError(f"m must be a power of two of at least 2, not {m!r}")
    if not isinstance(k, int) or not 1 <= k <= m:
        raise ValueError(f"k must be an integer from 1 to m = {m}, not {k!r}")


def _groups(w, m):
    """``w`` (K×C×R×S) as ``(K/m, m, C, R, S)``: group, position, then the rest."""
    w = np.asarray(w)
    if w.ndim != 4:
        raise ValueError(f"Weights must be K×C×R×S, not of shape {w.shape}")
    if w.shape[0] % m:
        raise ValueError(f"Output channels K = {w.shape[0]} must be a multiple of m = {m}")
    return w.reshape(w.shape[0] // m, m, *w.shape[1:])


def km_violations(w, k, m):
    """Groups with more than ``k`` non-zeros (0 when ``w`` meets k/m along K)."""
    _check_km_args(k, m)
    return int(np.count_nonzero(np.count_nonzero(_groups(w, m), axis=1) > k))


def check_km(w, k, m):
    """Raise ``ValueError`` with one line naming the first group that breaks k/m."""
    _check_km_args(k, m)
    groups = _groups(w, m)
    counts = np.count_nonzero(groups, axis=1)              # (K/m, C, R, S)
    bad = np.argwhere(counts > k)
    if len(bad):
        g, c, r, s = (int(v) for v in bad[0])
        raise ValueError(f"weights break {k}/{m} sparsity along K: output channels "
                         f"{g * m}..{g * m + m - 1} at (c={c}, r={r}, s={s}) hold "
                         f"{int(counts[g, c, r, s])} non-zeros ({len(bad)} groups break it; "
                         f"prune them with --prune)")


def _keep_mask(w, k, m):
    groups = _groups(w, m)
    magnitude = np.abs(groups.astype(np.int64))
    # Stable sort on −|w| along the group keeps the lower position first among equals.
    order = np.argsort(-magnitude, axis=1, kind="stable")
    keep = np.zeros(groups.shape, dtype=bool)
    np.put_along_axis(keep, order[:, :k], True, axis=1)
    return keep


def prune(w, k, m):
    """One-shot magnitude pruning to k/m along K: the ``k`` largest ``|w|`` of every group stay."""
    _check_km_args(k, m)
    w = np.asarray(w)
    return np.where(_keep_mask(w, k, m), _groups(w, m), 0).reshape(w.shape).astype(w.dtype)


def prune_iterative(w, k, m):
    """Iterative pruning (Sec. 2.2): drop the smallest ``|w|`` left in each group, one weight per
    group per step, until ``k`` remain (ties: the higher position goes first). Returns the final
    tensor and the list of intermediate ones (densities ``(m−1)/m … k/m``)."""
    _check_km_args(k, m)
    w = np.asarray(w)
    groups = _groups(w, m).copy()
    alive = np.ones(groups.shape, dtype=bool)
    steps = []
    for _ in range(m - k):
        magnitude = np.where(alive, np.abs(groups.astype(np.int64)), np.iinfo(np.int64).max)
        # The smallest magnitude, the highest position among equals: reverse, argmin, map back.
        victim = m - 1 - np.argmin(magnitude[:, ::-1], axis=1)
        np.put_along_axis(alive, victim[:, None], False, axis=1)
        groups = np.where(alive, groups, 0)
        steps.append(groups.reshape(w.shape).astype(w.dtype))
    return (steps[-1] if steps else w.copy()), steps


def compress_weights(w, k, m):
    """The compressed format: ``values`` and ``positions``, each of shape ``(K/m, C, R, S, k)``.

    Raises ``ValueError`` (as :func:`check_km`) when ``w`` breaks k/m.
    """
    check_km(w, k, m)
    groups = np.moveaxis(_groups(np.asarray(w, dtype=np.int64), m), 1, -1)   # (G, C, R, S, m)
    nonzero = groups != 0
    # Slots: the non-zeros, then zeros at the lowest free positions; ascending positions. A
    # stable sort of "is zero" puts the non-zero positions first, then the zero ones in order.
    order = np.argsort(~nonzero, axis=-1, kind="stable")[..., :k]
    positions = np.sort(order, axis=-1)
    values = np.take_along_axis(groups, positions, axis=-1)
    return values, positions


def decompress_weights(values, positions, m):
    """Inverse of :func:`compress_weights`: the K×C×R×S tensor."""
    values = np.asarray(values, dtype=np.int64)
    positions = np.asarray(positions, dtype=np.int64)
    g, c, r, s, _ = values.shape
    out = np.zeros((g, c, r, s, m), dtype=np.int64)
    np.put_along_axis(out, positions, values, axis=-1)
    return np.moveaxis(out, -1, 1).reshape(g * m, c, r, s)


class ActStore:
    """Compressed activations: a flat array of entries and a pointer table.

    Attributes
    ----------
    channels, height, width, segment : int
        The plane ``C × H × W`` and the segment depth ``Q``.
    x, c, value : ndarray of int64
        The entries: column, channel within the segment, value (never zero).
    start, count : ndarray of int64, shape ``(H, ⌈C/Q⌉)``
        Where the list of row ``y``, segment ``q`` begins in the entries, and its length.
    """

    def __init__(self, channels, height, width, segment, x, c, value, start, count):
        self.channels, self.height, self.width, self.segment = channels, height, width, segment
        self.x, self.c, self.value = x, c, value
        self.start, self.count = start, count

    @property
    def segments(self):
        return self.start.shape[1]

    @property
    def entries(self):
        return len(self.value)

    def row(self, y, q):
        """Entries ``(x, c_local, value)`` of row ``y``, segment ``q``, as three arrays."""
        sl = slice(int(self.start[y, q]), int(self.start[y, q] + self.count[y, q]))
        return self.x[sl], self.c[sl], self.value[sl]

    def __eq__(self, other):
        if not isinstance(other, ActStore):
            return NotImplemented
        return ((self.channels, self.height, self.width, self.segment) ==
                (other.channels, other.height, other.width, other.segment) and
                all(np.array_equal(getattr(self, f), getattr(other, f))
                    for f in ("x", "c", "value", "start", "count")))


def compress_acts(act, segment):
    """Encode ``act`` (C×H×W) as an :class:`ActStore` with segments of ``segment`` channels."""
    act = np.asarray(act, dtype=np.int64)
    if act.ndim != 3:
        raise ValueError(f"Activations must be C×H×W, not of shape {act.shape}")
    if not isinstance(segment, int) or segment < 1:
        raise ValueError(f"Segment depth must be a positive integer, not {segment!r}")
    ch, h, w = act.shape
    nseg = -(-ch // segment)
    padded = np.zeros((nseg * segment, h, w), dtype=np.int64)
    padded[:ch] = act
    # (H, Q-segments, W, segment): row, segment, then x before channel.
    grid = padded.reshape(nseg, segment, h, w).transpose(2, 0, 3, 1)
    nz = grid != 0
    ys, qs, xs, cs = np.nonzero(nz)                        # row-major order = the list order
    count = nz.reshape(h, nseg, -1).sum(axis=-1).astype(np.int64)
    start = (np.cumsum(count.ravel()) - count.ravel()).reshape(h, nseg)
    return ActStore(ch, h, w, segment, xs.astype(np.int64), cs.astype(np.int64),
                    grid[ys, qs, xs, cs], start, count)


def dense_acts(act, segment):
    """``act`` as a dense array reads it: an :class:`ActStore` listing every position of the
    plane, zeros included (a dense output-stationary array skips no activation), in the order of
    :func:`compress_acts`."""
    act = np.asarray(act, dtype=np.int64)
    store = compress_acts(np.ones_like(act), segment)
    ch, h, w = act.shape
    nseg = store.segments
    padded = np.zeros((nseg * segment, h, w), dtype=np.int64)
    padded[:ch] = act
    grid = padded.reshape(nseg, segment, h, w).transpose(2, 0, 3, 1)
    ys, qs, xs, cs = np.nonzero(np.ones_like(grid, dtype=bool) &
                                (np.arange(nseg * segment).reshape(nseg, segment) <
                                 ch)[None, :, None, :])
    store.value = grid[ys, qs, xs, cs]
    return store


def decompress_acts(store):
    """Inverse of :func:`compress_acts`: the C×H×W plane."""
    out = np.zeros((store.segments * store.segment, store.height, store.width), dtype=np.int64)
    for y in range(store.height):
        for q in range(store.segments):
            x, c, v = store.row(y, q)
            out[q * store.segment + c, y, x] = v
    return out[:store.channels]
