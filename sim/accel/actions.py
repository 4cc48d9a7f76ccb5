"""What the VDBB accelerator does during a layer, counted: the actions its energy model prices.

A layer (a :class:`~.plan.LayerPlan`) runs as one STA engine job fed by an activation reader (the
IM2COL unit, or the direct reader), a weight reader, and drained into the output stage, which
writes the output map back into activation SRAM (:class:`sparseforge.hdl.accel.Accelerator`).
The engine's actions are those of :mod:`sparseforge.sim.sta.actions` on the layer's GEMM view
(``mac_step``, ``gated_mac_step``, ``operand_shift``, ...); the accelerator adds:

``cycle``
    Cycles of the layer (the sequencer, registers, loaders and readback idle, SRAM muxes).
``window``, ``im2col_fill_row``
    IM2COL windows filled (column tiles × patches × input channel blocks) and window rows
    issued (one cycle each: ``window`` × window rows, out-of-image rows included).
``im2col_latch``, ``im2col_shift``
    Beats emitted by the IM2COL unit split by how the emission register takes them: a segment
    latched from the window (the first kernel column of each kernel row: ``window`` × R) or the
    segments shifted one word (the other S − 1 kernel columns); their sum is the ``beats``
    statistics register.
``act_read``
    Activation words read from SRAM (the ``act_reads`` statistics register):
    :func:`~.plan.act_sram_reads` through IM2COL, every in-image IM2COL element through the
    direct reader.
``direct_beat``
    Beats of the direct reader (a layer sent to it: one patch row of ``tile_rows`` pixels a beat).
``weight_read``
    Weight words read: every column tile's words once per output patch.
``out_row``
    Result rows the output stage takes (tiles × tile rows, pixels past the map included).
``out_word``
    Words it writes (pixels in the map × channel blocks below K, × 4 for INT32 output).
``out_int8_row``
    Rows it requantizes and writes (pixels in the map × column tiles, INT8 output only).

SRAM accesses, named as the energy hooks' macro groups: ``sram_act_read`` (= ``act_read``),
``sram_act_write`` (= ``out_word``), ``sram_weights_read`` (= ``weight_read``),
``sram_weights_write`` (0); nothing is loaded into SRAM while a layer runs (loads are separate
AXI4-Stream transfers before it).

On a design with Sparse-Blox (:mod:`.blox`, :class:`sparseforge.hdl.accel.blox.BloxPruner`),
a pruning layer adds:

``blox_row``
    Result rows through the pruner's queue (= ``out_row``).
``blox_block``
    Output blocks summed by the block adders and decided (tiles × N·C/B: a tile's every block
    slot, those past K included).
``blox_cached``, ``blox_refused``
    Blocks recorded in the sparse-block cache (pruned: one cache write each,
    ``sram_blox_cache_write``) and below threshold but refused by the full cache (the
    statistics registers ``blox_cached``, ``blox_refused``).
``flag_write``
    Pruned-word flags written: every word of a pixel in the map (set for a pruned block's word,
    cleared for the others), on any Sparse-Blox design, pruning or not.
``flag_read``
    Flags read with the reader's requests (``act_read`` plus the words read as zeros).

A pruned block's words are not written: ``sram_act_write`` = ``out_word`` − the words of the
cached blocks (``out_word`` counts every word the output stage produces).
"""

from . import plan as accel_plan
from ..sta import streams as sta_streams
from ..sta.actions import sta_actions

__all__ = ["layer_actions", "reader_actions", "blox_actions"]


def reader_actions(plan):
    """The activation and weight readers' and output stage's counts of a layer (no operands)."""
    array = plan.array
    windows = plan.col_tiles * plan.row_tiles * plan.cb_in
    beats = plan.tiles * plan.r * plan.s * plan.cb_in
    counts = {"act_read": accel_plan.act_sram_reads(plan),
              "weight_read": plan.col_tiles * plan.row_tiles * plan.tile_words,
              "out_row": plan.tiles * array.tile_rows,
              "window": 0, "im2col_fill_row": 0, "im2col_latch": 0, "im2col_shift": 0,
              "direct_beat": 0, "beats": beats}
    if plan.uses_im2col:
        counts.update(window=windows, im2col_fill_row=windows * plan.window[0],
                      im2col_latch=windows * plan.r, im2col_shift=windows * plan.r * (plan.s - 1))
    else:
        counts["direct_beat"] = beats
    return counts


def output_actions(plan, int8_out):
    """``out_word`` and ``out_int8_row`` of a layer."""
    pixels = plan.ho * plan.wo
    return {"out_word": pixels * plan.cb_out * (1 if int8_out else 4),
            "out_int8_row": pixels * plan.col_tiles if int8_out else 0}


def blox_actions(plan, counts, pruned):
    """The Sparse-Blox counts of a layer (module docstring) given its reader and output
    ``counts`` and ``pruned``: the :class:`~sparseforge.sim.sparseblox.BlockCounts` of its
    pruning (None: a layer that does not prune)."""
    out = {"flag_write": counts["out_word"], "flag_read": counts["act_read"],
           "blox_row": 0, "blox_block": 0, "blox_cached": 0, "blox_refused": 0,
           "sram_blox_cache_write": 0, "sram_blox_cache_read": 0}
    if pruned is not None:
        out.update(blox_row=counts["out_row"],
                   blox_block=plan.tiles * plan.cfg.out_blocks_per_row,
                   blox_cached=pruned.blocks_cached, blox_refused=pruned.blocks_refused,
                   sram_blox_cache_write=pruned.blocks_cached)
    return out


def layer_actions(plan, x, weights, cycles, *, int8_out, skew_bits, pruned=None):
    """Action counts of a layer over ``cycles`` cycles (see the module docstring).

    ``skew_bits``: register bits of the engine's edge skew buffers
    (:func:`sparseforge.gen.sta.energy.skew_bits`, a property of the generated design);
    ``pruned``: a pruning layer's :class:`~sparseforge.sim.sparseblox.BlockCounts`.
    """
    act, w = accel_plan.gemm_view(plan, x, weights)
    streams = sta_streams.engine_streams(plan.array, act, w, plan.nnz)
    counts = sta_actions(plan.array, streams, cycles, skew_bits=skew_bits)
    counts.update(reader_actions(plan))
    counts.update(output_actions(plan, int8_out))
    counts["cycle"] = cycles
    counts["sram_act_read"] = counts["act_read"]
    counts["sram_act_write"] = counts["out_word"]
    counts["sram_weights_read"] = counts["weight_read"]
    counts["sram_weights_write"] = 0
    if plan.cfg.sparseblox is not None:
        counts.update(blox_actions(plan, counts, pruned))
        if pruned is not None:
            counts["sram_act_write"] -= pruned.words_not_written
    return counts
