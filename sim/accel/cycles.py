"""Cycle model of the VDBB accelerator: one convolution layer and whole networks.

A layer runs as one job on the STA engine (see :mod:`sparseforge.sim.accel.plan`), so its cycles
are the engine's (:func:`sparseforge.sim.sta.cycles.sta_job_cycles`) plus the accelerator's own
fixed latencies.

Counting convention, as a bench sees the ports: a layer takes ``D − H`` cycles, where ``H`` is the
cycle in which the AXI4-Lite write of 1 to the ``start`` register is accepted (its AW and W
handshakes) and ``D`` the first cycle after it in which the ``done`` output is high. The
accelerator's ``cycles`` register counts the same (see :class:`sparseforge.hdl.accel.Accelerator`).
"""

from ..sta.cycles import sta_ideal_cycles, sta_job_cycles

__all__ = ["layer_cycles", "layer_ideal_cycles", "START_LATENCY", "END_LATENCY"]

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
