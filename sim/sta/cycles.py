"""Cycle model of the STA engine: predicts the RTL's cycle count exactly, stalls included.

Counting convention (used by every sparseforge cycle figure): a job's ``cycles`` run from the clock
cycle in which its first input beat is accepted to the cycle in which its last output beat is
accepted, both included, with every input stream always valid and every output always ready.

The engine (see :class:`sparseforge.hdl.sta.StaEngine`) behaves as follows; the model follows the
same rules, tile by tile, without simulating data:

* Steps enter the array one per *advancing* cycle. A tile is ``L = ⌈K/B⌉ · steps`` steps, where
  ``steps`` is NNZ for ``vdbb``, ⌈NNZ/b⌉ for ``dbb`` and 1 otherwise. With ``D`` result banks
  per TPE (``result_banks``), a tile's last step enters at least ``N`` advancing cycles after the
  previous tile's, at least ``N`` after tile ``t − D``'s and at least ``M + N − 1`` after tile
  ``t − D − 1``'s (a tile shorter than that waits at its last step).
* A step entering at array time τ is computed by TPE ``(i, j)`` at array time ``τ + 1 + i + j``
  and reaches its accumulators ``P`` cycles later (``P = mac_stages``, the MACs' pipeline
  registers, which stall with the array); at the end of the cycle that accumulates a tile's last
  step, the TPE captures the tile into a result bank; a TPE whose ``D`` banks all hold
  undelivered tiles is full.
* Rows of TPEs drain in order, tile after tile, ``A`` result rows each, ``R`` per cycle
  (``drain_rows``), starting once all N TPEs of the row hold the tile; the row's bank is free from
  the cycle after its last result beat.
* The array stalls (array time stands still while real time goes on) while a TPE that must capture
  is full; draining goes on during a stall.
"""

import heapq

from . import dbb

__all__ = ["sta_job_cycles", "sta_ideal_cycles", "sta_tiles", "useful_macs", "utilization"]


def sta_tiles(cfg, m, n):
    return (-(-m // cfg.tile_rows)) * (-(-n // cfg.tile_cols))


def useful_macs(dense_macs, nnz, block, channels=None):
    """The MACs that count at density ``nnz``/B: ``dense_macs`` × NNZ/B (the STA paper's
    effective operations). With ``channels`` (a convolution's input channels per group) fewer
    than B, a block holds at most that many values, so the fraction is
    ``min(NNZ, channels) / min(B, channels)``."""
    if channels is not None and channels < block:
        return dense_macs * min(nnz, channels) / channels
    return dense_macs * nnz / block


def utilization(cfg, useful, cycles):
    """Useful MACs over multiplier-cycles: ``useful / (cfg.macs_total · cycles)``."""
    return useful / (cfg.macs_total * cycles) if cycles else 0.0


def sta_ideal_cycles(cfg, tiles, k, nnz):
    """Cycles with every MAC busy every cycle: tiles × ⌈K/B⌉ × (NNZ for ``vdbb``, else 1)."""
    return tiles * dbb.block_count(k, cfg.block) * cfg.steps_per_block(nnz)


def sta_job_cycles(cfg, tiles, k, nnz, tile_steps=None):
    """Cycles of one job of ``tiles`` output tiles reducing over ``k`` at density ``nnz``/B.

    ``tile_steps``: per tile, the advancing cycles from its first step to its last when they
    differ from ``⌈K/B⌉·steps`` (an engine that drops blocks, whose cycles are bubbles: see
    :class:`sparseforge.hdl.sta.feeder.StepFeeder`); the rules above are otherwise the same.
    """
    if tiles == 0:
        return 0
    steps = dbb.block_count(k, cfg.block) * cfg.steps_per_block(nnz)
    lengths = [steps] * tiles if tile_steps is None else [int(x) for x in tile_steps]
    if len(lengths) != tiles or min(lengths) < 1:
        raise ValueError(f"Expected {tiles} tile lengths of at least 1, not {lengths[:8]}")
    m_rows, n_cols = cfg.m, cfg.n
    a = cfg.a // cfg.drain_rows                 # cycles to drain a row of TPEs
    banks = cfg.result_banks
    stages = cfg.mac_stages                     # MAC pipeline registers: captures come later

    # Array time of the last step of each tile.
    last = [lengths[0] - 1]
    for t in range(1, tiles):
        earliest = last[-1] + max(lengths[t], n_cols)

        if t >= banks:
            earliest = max(earliest, last[t - banks] + n_cols)
        if t >= banks + 1:
            earliest = max(earliest, last[t - banks - 1] + m_rows + n_cols - 1)
        last.append(earliest)

    # Events in array time: a row's first TPE capturing (may stall), a row complete (all N full).
    CHECK, COMPLETE = 0, 1
    events = []
    for t, tau in enumerate(last):
        for i in range(m_rows):
            if t >= banks:
                events.append((tau + 1 + i + stages, CHECK, t, i))
            events.append((tau + n_cols + i + stages, COMPLETE, t, i))
    heapq.heapify(events)

    full_from = {}      # (t, i) -> first real cycle the row is full
    drain_start = {}    # (t, i) -> real cycle of its first result row

    def start(t, i):
        """Real cycle of row i's first result row of tile t (rows drain in order)."""
        key = (t, i)
        if key not in drain_start:
            prev = (t, i - 1) if i else (t - 1, m_rows - 1)
            earliest = full_from[key]
            if prev[0] >= 0:
                earliest = max(earliest, start(*prev) + a)
            drain_start[key] = earliest
        return drain_start[key]

    stall = 0
    while events:
        tau, kind, t, i = heapq.heappop(events)
        if kind == CHECK:                         # needs row i's bank of tile t − D free
            free_from = start(t - banks, i) + a
            stall = max(stall, free_from - tau)
        else:
            full_from[(t, i)] = tau + stall + 1
    for t in range(tiles):            # resolve in order without deep recursion
        for i in range(m_rows):
            start(t, i)
    return start(tiles - 1, m_rows - 1) + a
