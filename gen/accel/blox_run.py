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

    The savings need a consumer: ``next_layer`` is the layer that would read this map on chip
    (``K`` outputs, the same kernel, padding and NNZ, stride 1), run with ``blox_skip`` where the
    design drops blocks (:func:`sparseforge.sim.accel.blox.skip_allowed`); from the cycle model,
    its ``steps_dropped``, and ``macs_skipped`` (the array MACs of those steps,
    :func:`~sparseforge.sim.accel.blox.macs_skipped`). ``cycles_saved``: both layers without
    pruning (the model) minus this layer on the RTL and the next one's model with the drops —
    this layer alone is always slower, by the output stage's fixed tail."""
    pruned = accel_blox.prune_output(plan, golden, raw)
    nxt = _next_layer(plan, pruned.cached)
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
        "macs_skipped": nxt["macs_skipped"] if nxt else 0,
        "act_words_saved": counts.act_words_saved,
        "act_words_not_written": counts.words_not_written,
        "act_words_not_read": counts.words_not_read,
        "model_cycles_blox": accel_blox.blox_layer_cycles(plan),
        "cycles_saved": accel_cycles.layer_cycles(plan) - int(out["cycles"]) +
                        (nxt["cycles_plain"] - nxt["cycles_skip"] if nxt else 0),
        "next_layer": nxt,
    }
    return pruned.data, fields


def _next_layer(plan, cached):
    """The model of the layer reading ``plan``'s pruned map on chip (see :func:`blox_report`),
    or None if none fits the design."""
    from ...sim.accel import plan as accel_plan
    try:
        nxt = accel_plan.plan_layer(plan.cfg, plan.ho, plan.wo, plan.k, plan.k, plan.r, plan.s,
                                    1, plan.pad, plan.nnz, int8_out=True)
    except accel_plan.PlanError:
        return None
    plain = accel_cycles.layer_cycles(nxt)
    report = {"conv": [nxt.h, nxt.w, nxt.c, nxt.k, nxt.r, nxt.s, 1, nxt.pad],
              "skipping": accel_blox.skip_allowed(nxt), "steps_dropped": 0, "macs_skipped": 0,
              "cycles_plain": plain, "cycles_skip": plain}
    if report["skipping"]:
        words = accel_blox.pruned_words(plan, cached)
        dropped = accel_blox.skip_schedule(nxt, words)[1]
        report.update(steps_dropped=dropped, macs_skipped=accel_blox.macs_skipped(nxt, dropped),
                      cycles_skip=accel_blox.skip_layer_cycles(nxt, words))
    return report
