"""What the host streams into SparseCore and how its output lanes decode, as plain numbers
(the bit packing lives with the layouts in ``hdl``; this module imports no Amaranth).

* weights: per chunk ``j``, per ``(c, r, s)``: the weight-memory row
  ``c·kernel_max² + r·kernel_max + s`` and ``groups × k`` slots ``(value, pos)`` — output channels
  ``j·D … j·D+D−1``; a last chunk with fewer channels is padded with zero groups;
* requantization: per chunk, rows of ``requant_lanes`` channels' ``(bias, mult, shift)``
  (zeros past ``K``);
* activations: the compressed entries ``(x, c, value)`` in order, then the pointer rows
  ``(start, count)`` for ``iy · max_segments + q``, every row of the table up to ``H`` (segments
  past the layer's count are empty).
"""

import numpy as np

from . import format as kmf

__all__ = ["weight_rows", "requant_rows", "act_entries", "pointer_rows", "collect_output"]


def weight_rows(cfg, weights):
    """``{chunk: [(addr, [[(value, pos)] * k] * groups)]}`` for ``weights`` (K×C×R×S)."""
    weights = np.asarray(weights, dtype=np.int64)
    kk, c, r, s = weights.shape
    nchunks = -(-kk // cfg.chunk)
    padded = np.zeros((nchunks * cfg.chunk, c, r, s), dtype=np.int64)
    padded[:kk] = weights
    values, positions = kmf.compress_weights(padded, cfg.k, cfg.m)   # (K/m, C, R, S, k)
    kmax = cfg.kernel_max
    out = {}
    for j in range(nchunks):
        rows = []
        for ci in range(c):
            for ri in range(r):
                for si in range(s):
                    groups = [[(int(values[j * cfg.groups + g, ci, ri, si, i]),
                                int(positions[j * cfg.groups + g, ci, ri, si, i]))
                               for i in range(cfg.k)] for g in range(cfg.groups)]
                    rows.append(((ci * kmax + ri) * kmax + si, groups))
        out[j] = rows
    return out


def requant_rows(cfg, bias, mult, shift, k):
    """``{chunk: [(row, [(bias, mult, shift)] * requant_lanes)]}`` for the ``k`` output channels
    (zeros past ``k``): row ``n`` of a chunk holds channels ``n·requant_lanes …``."""
    nchunks = -(-k // cfg.chunk)
    params = np.zeros((3, nchunks * cfg.chunk), dtype=np.int64)
    for n, a in enumerate((bias, mult, shift)):
        params[n, :k] = np.broadcast_to(np.asarray(a, dtype=np.int64), (k,))
    lanes = cfg.requant_lanes
    out = {}
    for j in range(nchunks):
        rows = []
        for row in range(cfg.chunk // lanes):
            first = j * cfg.chunk + row * lanes
            rows.append((row, [tuple(int(v) for v in params[:, first + n])
                               for n in range(lanes)]))
        out[j] = rows
    return out


def act_entries(store):
    """The entries ``(x, c, value)`` in memory order."""
    return list(zip(store.x.tolist(), store.c.tolist(), store.value.tolist()))


def pointer_rows(cfg, store):
    """The pointer table rows ``(start, count)`` for rows ``0 … H−1``, ``max_segments`` each."""
    rows = []
    for y in range(store.height):
        for q in range(cfg.max_segments):
            if q < store.segments:
                rows.append((int(store.start[y, q]), int(store.count[y, q])))
            else:
                rows.append((0, 0))
    return rows


def collect_output(cfg, beats, channels, height, width):
    """The :class:`.format.ActStore` rebuilt from output beats ``(chunk, y, x, [(c, value)])``
    in arrival order (each ``(y, chunk)`` list is written by one unit, in ``x`` order)."""
    nseg = -(-channels // cfg.chunk)
    lists = {}
    for chunk, y, x, lanes in beats:
        lists.setdefault((y, chunk), []).extend((x, c, v) for c, v in lanes)
    xs, cs, vs = [], [], []
    start = np.zeros((height, nseg), dtype=np.int64)
    count = np.zeros((height, nseg), dtype=np.int64)
    for y in range(height):
        for q in range(nseg):
            entries = lists.get((y, q), [])
            start[y, q] = len(vs)
            count[y, q] = len(entries)
            for x, c, v in entries:
                xs.append(x)
                cs.append(c)
                vs.append(v)
    return kmf.ActStore(channels, height, width, cfg.chunk, np.asarray(xs, dtype=np.int64),
                        np.asarray(cs, dtype=np.int64), np.asarray(vs, dtype=np.int64), start,
                        count)
