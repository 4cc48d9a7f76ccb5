"""What the STA engine does during a GEMM job, counted: the actions its energy model prices.

Counts follow the engine's structure (:class:`sparseforge.hdl.sta.StaEngine`) and a job's streams
(:func:`sparseforge.sim.sta.streams.engine_streams`); with the job's cycle count (measured, or from
:func:`sparseforge.sim.sta.cycles.sta_job_cycles`) they are everything the energy model needs:

``mac_cycle``
    MAC units × cycles: every unit's clock and leakage, busy or not.
``mac_step``, ``zero_weight_step``, ``gated_mac_step``
    Multiplier lanes × steps, split by the operands the lane multiplies: both non-zero; a zero
    weight (a dense design running a sparse model, or a DBB slot without a non-zero); a zero
    activation (the steps activation gating disables: for ``sa`` and ``vdbb`` designs with
    ``act_zero_gating`` these are exactly the RTL's gated MAC-cycles; other kinds still switch
    less). A ``vdbb`` lane at step t of a block multiplies the activation at the position of the
    block mask's t-th set bit (position 0 when there is none); a ``dbb`` lane l at step t the one
    at the (t·b + l)-th set bit; dense lanes their own element.
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


def lane_operands(cfg, streams):
    """``(act, weight)``: the operands every multiplier lane of one TPE column multiplies.

    Arrays of shape (tiles, blocks, steps per block, rows, cols, lanes) and (tiles, blocks,
    steps per block, 1, cols, lanes): the activation at the position each lane selects and the
    weight value it is given (zero for a DBB slot without a non-zero).
    """
    act = streams.act                                             # (tiles, blocks, rows, B)
    tiles, blocks, rows, _ = act.shape
    spb, cols, lanes = streams.steps_per_block, cfg.tile_cols, cfg.lanes
    weights = streams.weight_values.reshape(tiles, blocks, spb, 1, cols, lanes)
    if not cfg.sparse:
        # A dense lane e multiplies element e of its row's block.
        operands = np.broadcast_to(act[:, :, None, :, None, :], (tiles, blocks, spb, rows, cols,
                                                                 lanes))
        return operands, weights
    masks = streams.weight_masks.reshape(tiles, blocks, spb, cols)
    positions = []
    for lane in range(lanes):
        # Lane l of step t of a block: the block's (t·lanes + l)-th set bit (one lane for vdbb;
        # a dbb block denser than its bound takes several steps).
        index = np.broadcast_to(np.arange(spb)[None, None, :, None] * lanes + lane, masks.shape)
        positions.append(_positions(masks, index, cfg.block))     # (tiles, blocks, spb, cols)
    pos = np.stack(positions, axis=-1)                            # (tiles, blocks, spb, cols, L)
    # operand[t, b, s, r, col, l] = act[t, b, r, pos[t, b, s, col, l]]
    flat = pos.reshape(tiles, blocks, spb, 1, cols * lanes)
    operands = np.take_along_axis(act[:, :, None, :, :], flat, axis=-1)
    return operands.reshape(tiles, blocks, spb, rows, cols, lanes), weights


def operand_zero_lanes(cfg, streams):
    """``(zero activation, zero weight with a non-zero activation)`` lane-steps of the array."""
    operands, weights = lane_operands(cfg, streams)
    act_zero = operands == 0
    return int(np.count_nonzero(act_zero)), int(np.count_nonzero(~act_zero & (weights == 0)))


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
    zero, zero_weight = operand_zero_lanes(cfg, streams)
    selectors = cfg.tile_cols * cfg.lanes if cfg.sparse else 0
    counts = {
        "mac_cycle": units * cycles,
        "mac_step": lane_steps - zero - zero_weight,
        "zero_weight_step": zero_weight,
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
