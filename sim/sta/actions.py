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


def _nth_set_bit_table(block, count):
    """``table[mask, i]``: the position of set bit number ``i`` of a ``block``-bit mask, 0 where
    the mask has fewer than ``i + 1`` set bits (as :func:`.streams._positions`)."""
    masks = np.arange(1 << block)
    return _positions(np.repeat(masks[:, None], count, axis=1),
                      np.broadcast_to(np.arange(count), (1 << block, count)), block)


def operand_zero_lanes(cfg, streams):
    """``(zero activation, zero weight with a non-zero activation)`` lane-steps of the array.

    Each lane of a TPE column, at each step, selects one position ``e`` of block ``b`` of tile
    ``t`` (module docstring: a ``vdbb`` lane the mask's t-th set bit, a ``dbb`` lane the
    (t·b + l)-th, a dense lane its own) and multiplies the activations there in every row of the
    tile, so the counts are, over ``(t, b, e)``, the lanes selecting it (with a zero weight,
    for the second) times the tile's zero (non-zero) activations at it: no lane's operand is
    built (the array of them has a lane-step per MAC of the padded GEMM).
    """
    act = streams.act                                             # (tiles, blocks, rows, B)
    tiles, blocks, rows, bz = act.shape
    spb, cols, lanes = streams.steps_per_block, cfg.tile_cols, cfg.lanes
    zeros = np.count_nonzero(act == 0, axis=2)                    # (tiles, blocks, B)
    weights = streams.weight_values.reshape(tiles, blocks, spb, cols, lanes)
    if cfg.sparse:
        masks = streams.weight_masks.reshape(tiles, blocks, spb, cols)
        index = (np.arange(spb)[:, None, None] * lanes + np.arange(lanes)[None, None, :])
        table = _nth_set_bit_table(bz, spb * lanes)               # (2^B, spb·lanes)
        pos = table[masks[..., None], np.broadcast_to(index, (spb, cols, lanes))]
    else:
        # A dense lane e multiplies element e of its row's block.
        pos = np.broadcast_to(np.arange(lanes), weights.shape)
    base = (np.arange(tiles)[:, None] * blocks + np.arange(blocks)[None, :]) * bz
    slot = (base[:, :, None, None, None] + pos).ravel()           # (t, b, e) of every lane
    size = tiles * blocks * bz
    hits = np.bincount(slot, minlength=size)
    hits_w0 = np.bincount(slot[(weights == 0).ravel()], minlength=size)
    zeros = zeros.ravel()
    return int(hits @ zeros), int(hits_w0 @ (rows - zeros))


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
