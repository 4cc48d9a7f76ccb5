"""What the STA engine does during a GEMM job, counted: the actions its energy model prices.

Counts follow the engine's structure (:class:`sparseforge.hdl.sta.StaEngine`) and a job's streams
(:func:`sparseforge.sim.sta.streams.engine_streams`); with the job's cycle count (measured, or from
:func:`sparseforge.sim.sta.cycles.sta_job_cycles`) they are everything the energy model needs:

``mac_cycle``
    MAC units × cycles: every unit's clock and leakage, busy or not.
``mac_step``, ``gated_mac_step``
    Multiplier lanes × steps, split by the activation operand the lane multiplies: non-zero, or
    zero (the steps activation gating disables: for ``sa`` and ``vdbb`` designs with
    ``act_zero_gating`` these are exactly the RTL's gated MAC-cycles; other kinds still switch
    less when an operand is zero). A ``vdbb`` lane at step t of a block multiplies the
    activation at the position of the block mask's t-th set bit (position 0 when there is none);
    a ``dbb`` lane l the one at the l-th set bit; dense lanes their own element.
``operand_shift``
    TPEs × steps: the operand registers of every TPE take each step (weights every step; the
    activation tile at the first step of a block, ``act_load``, which differs only for ``vdbb``).
``tpe_cycle``
    TPEs × cycles.
``skew_bit_cycle``, ``skew_bit_step``
    Bits of the edge skew registers × cycles, and × steps.
``select_cycle``, ``select_step``
    DBB mask decoders of the step feeder (``dbb``/``vdbb``: one per column and lane) × cycles and
    × steps.
``feeder_cycle``, ``feeder_step``, ``drain_cycle``, ``drain_row``, ``top_cycle``
    The feeder's and drain's fixed logic per cycle, per step; a result row delivered; the engine's
    own control per cycle.
"""

import numpy as np

from .streams import _positions

__all__ = ["operand_zero_lanes", "sta_actions"]


def operand_zero_lanes(cfg, streams):
    """Lane-steps of the whole array whose activation operand is zero (padding included)."""
    act = streams.act                                             # (tiles, blocks, rows, B)
    cols = cfg.tile_cols
    if not cfg.sparse:
        # A dense lane e multiplies element e of its row's block; every column shares it.
        return int(np.count_nonzero(act == 0)) * cols
    spb = streams.steps_per_block
    masks = streams.weight_masks.reshape(act.shape[0], act.shape[1], spb, cols)
    zeros = 0
    for lane in range(cfg.lanes):
        if cfg.kind == "vdbb":
            index = np.broadcast_to(np.arange(spb)[None, None, :, None], masks.shape)
        else:
            index = np.full(masks.shape, lane)
        pos = _positions(masks, index, cfg.block)                 # (tiles, blocks, spb, cols)
        operand = np.take_along_axis(act[:, :, None, :, :], pos[:, :, :, None, :], axis=-1)
        zeros += int(np.count_nonzero(operand == 0))
    return zeros


def sta_actions(cfg, streams, cycles, *, skew_bits):
    """Action counts of one job (see the module docstring).

    Parameters
    ----------
    streams : EngineStreams
        The job, as :func:`~sparseforge.sim.sta.streams.engine_streams` builds it.
    cycles : int
        The job's cycles (first input accepted to last output accepted).
    skew_bits : int
        Register bits of the array's edge skew buffers (a property of the generated design).
    """
    tpes = cfg.m * cfg.n
    units = tpes * cfg.a * cfg.c
    steps = streams.tiles * streams.blocks * streams.steps_per_block
    lane_steps = units * cfg.lanes * steps
    zero = operand_zero_lanes(cfg, streams)
    selectors = cfg.tile_cols * cfg.lanes if cfg.sparse else 0
    counts = {
        "mac_cycle": units * cycles,
        "mac_step": lane_steps - zero,
        "gated_mac_step": zero,
        "tpe_cycle": tpes * cycles,
        "operand_shift": tpes * steps,
        "skew_bit_cycle": skew_bits * cycles,
        "skew_bit_step": skew_bits * steps,
        "feeder_cycle": cycles,
        "feeder_step": steps,
        "drain_cycle": cycles,
        "drain_row": streams.tiles * cfg.tile_rows,
        "top_cycle": cycles,
    }
    if cfg.kind == "vdbb":
        counts["act_load"] = tpes * streams.tiles * streams.blocks
    if selectors:
        counts["select_cycle"] = selectors * cycles
        counts["select_step"] = selectors * steps
    return counts
