"""Cycle model of the VDBB accelerator: one convolution layer and whole networks.

A layer runs as one job on the STA engine (see :mod:`sparseforge.sim.accel.plan`), so its cycles
are the engine's (:func:`sparseforge.sim.sta.cycles.sta_job_cycles`) plus the accelerator's own
fixed latencies. A layer larger than the SRAMs runs as time tiles, one job each, with DMA moves
between them (:mod:`sparseforge.sim.accel.tiling`, :func:`tiled_layer_cycles`).

Counting convention, as a bench sees the ports: a layer takes ``D − H`` cycles, where ``H`` is the
cycle in which the AXI4-Lite write of 1 to the ``start`` register is accepted (its AW and W
handshakes) and ``D`` the first cycle after it in which the ``done`` output is high. The
accelerator's ``cycles`` register counts the same (see :class:`sparseforge.hdl.accel.Accelerator`).
"""

from ..sta.cycles import sta_ideal_cycles, sta_job_cycles
from .plan import act_word_bytes, weight_word_bytes

__all__ = ["layer_cycles", "layer_ideal_cycles", "tiled_layer_cycles", "dma_cycles",
           "START_LATENCY", "END_LATENCY"]

#: Cycles before the engine's first step, besides the first window's row reads: the start write
#: accepted (1), its pulse reaching the sequencer (1), latch the descriptor (1), derive the layer
#: (1), start the units (1); then, after the rows, the last row's data landing (1) and the window
#: turning full while its first row is latched into the emission segments (1).
START_LATENCY = 7
#: Cycles after the engine's last result row (written to SRAM in that cycle): the sequencer sees
#: every unit idle (1); ``done`` is high in the next cycle, which is not counted.
END_LATENCY = 1


def layer_cycles(plan, tile_steps=None):
    """Cycles of a layer (a :class:`~sparseforge.sim.accel.plan.LayerPlan`) on the RTL.

    After its first window the IM2COL unit stays ahead of the engine: the plan's patch takes at
    most as many cycles to fill a window as the engine spends on the previous one, and the weight
    reader supplies a word per cycle; so the engine runs as if its inputs were always valid.
    Without IM2COL (or for a layer sent to the direct reader, raster-mapped layers included) the
    reader's first beat costs one read (its "window" has one row) and reaches the engine through
    the reader's buffer, one cycle sooner than a latched segment would.

    ``tile_steps``: the engine's cycles per output tile when Sparse-Blox drops blocks
    (:func:`sparseforge.sim.accel.blox.skip_schedule`).
    """
    first_window = plan.window[0] if plan.uses_im2col else 0
    engine = sta_job_cycles(plan.array, plan.tiles, plan.gemm_k, plan.nnz, tile_steps)
    return START_LATENCY + first_window + engine + END_LATENCY


def layer_ideal_cycles(plan):
    """Every MAC busy every cycle: output tiles × ⌈K/B⌉ × (NNZ for VDBB, else 1)."""
    return sta_ideal_cycles(plan.array, plan.tiles, plan.gemm_k, plan.nnz)


def dma_cycles(words, word_bytes, dma_bytes):
    """Cycles to move ``words`` words of ``word_bytes`` bytes at ``dma_bytes`` bytes a cycle
    through a stream that takes one word a cycle: ``max(words, ⌈words·word_bytes/dma_bytes⌉)``."""
    if not words:
        return 0
    return max(words, -(-words * word_bytes // dma_bytes))


def tiled_layer_cycles(tiled, job_cycles=None):
    """``(jobs, moves)``: the cycles of a :class:`~sparseforge.sim.accel.tiling.TiledLayer`'s
    jobs (each :func:`layer_cycles`, back to back) and those its DMA moves add.

    One DMA channel moves everything in order. Before tile ``t``: its input band
    (``act_words``), then what is left of its weights (``weight_words``), which load into the
    other weight half during tile ``t − 1``'s job and so cost ``max(0, load − job(t − 1))``,
    or the whole load when tile ``t``'s or ``t − 1``'s weights need more than a half (they
    use both halves); after it, its output (``out_words``). Activation moves do not overlap a
    job. A layer of one tile moves nothing, ``(layer_cycles(plan), 0)``, unless its weights
    need both halves (then they load before it). ``job_cycles``: a function giving a
    job's :func:`layer_cycles` (a cache), if not that function itself.
    """
    cfg = tiled.plan.cfg
    act, weight = act_word_bytes(cfg), weight_word_bytes(cfg)
    dma = tiled.dma_bytes
    jobs = moves = previous = 0
    if job_cycles is None:
        known = {}                  # tiles of one shape share their plan

        def job_cycles(plan):
            if id(plan) not in known:
                known[id(plan)] = layer_cycles(plan)
            return known[id(plan)]

    half = cfg.weight_half_words
    for tile in tiled.tiles:
        job = job_cycles(tile.plan)
        spans = tile.plan.weight_word_count > half
        moves += dma_cycles(tile.act_words, act, dma)
        moves += max(0, dma_cycles(tile.weight_words, weight, dma) -
                     (0 if spans else previous))
        moves += dma_cycles(tile.out_words, act, dma)
        jobs += job
        previous = 0 if spans else job
    return jobs, moves
