"""``sparseforge run CONFIG --conv ... --threshold T``: one pruning layer on an accelerator with
Sparse-Blox (Hotfilter et al., III-B) — the threshold's check and the report's extra fields."""

from ...sim.accel import blox as accel_blox
from ...sim.accel import cycles as accel_cycles
from ..errors import InputError
from ..sparseblox_section import threshold_raw as section_threshold_raw

__all__ = ["threshold_raw", "blox_report"]


def threshold_raw(cfg, args):
    """The raw threshold of ``--threshold`` (:func:`..sparseblox_section.threshold_raw`); the
    accelerator prunes INT8 maps, so ``--shift`` must be given too."""
    raw = section_threshold_raw(cfg, args, "accel_small_blox")
    if raw is not None and args.shift is None:
        raise InputError("--threshold: Sparse-Blox prunes INT8 output maps; give --shift S "
                         "too (0 for no shift)")
    return raw


def blox_report(plan, golden, raw, out):
    """``(map, fields)``: the pruned golden map and the report's Sparse-Blox fields, from the
    golden INT8 map, the raw threshold and the RTL run's outputs (``cycles``, ``cached``,
    ``refused``).

    ``cycles_saved`` is against the same layer without pruning on the same design (the cycle
    model, :func:`sparseforge.sim.accel.cycles.layer_cycles`): negative, since the output stage
    holds each tile's rows until its blocks are decided and the next layer's skipping of pruned
    blocks is not built (so ``macs_skipped`` is 0)."""
    pruned = accel_blox.prune_output(plan, golden, raw)
    counts = pruned.counts
    fmt = plan.cfg.sparseblox.fmt
    fields = {
        "threshold": fmt.to_value(raw),
        "threshold_raw": raw,
        "threshold_format": fmt.name,
        "block": [plan.cfg.block, plan.ph, plan.pw],
        "blocks_total": counts.blocks_total,
        "blocks_zero_before": counts.blocks_zero_before,
        "blocks_pruned": counts.blocks_pruned,
        "blocks_cached": counts.blocks_cached,
        "blocks_refused": counts.blocks_refused,
        "rtl_blocks_cached": int(out["cached"]),
        "rtl_blocks_refused": int(out["refused"]),
        "macs_skipped": counts.macs_skipped,
        "act_words_saved": counts.act_words_saved,
        "act_words_not_written": counts.words_not_written,
        "act_words_not_read": counts.words_not_read,
        "model_cycles_blox": accel_blox.blox_layer_cycles(plan),
        "cycles_saved": accel_cycles.layer_cycles(plan) - int(out["cycles"]),
    }
    return pruned.data, fields
