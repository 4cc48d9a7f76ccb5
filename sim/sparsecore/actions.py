"""What SparseCore does during a layer, counted: the actions its energy model prices.

Counts follow the PE's structure (:class:`sparseforge.hdl.sparsecore.pe.SparseCorePE`: tap
sequencer, ALUs, accumulation buffer, post-processor) and the work units of the cycle model
(:mod:`.cycles`); with the layer's cycle count they are everything the energy model needs. Every
unit of band ``b`` costs the same in every chunk, so the counts are sums over the scheduler's
grants of per-band figures:

``cycle``
    Cycles of the layer (the scheduler, the register file, the top's counters).
``pe_cycle``
    PEs × cycles: every PE's clock and leakage, busy or not.
``pe_busy``
    PE cycles inside a unit (the ``pes · cycles − pe_idle_cycles`` of the statistics registers).
``unit``
    Work units granted (register ``work_units``).
``pair``
    Pointer reads: one per (input row of the band's window, channel segment) of every unit.
``entry``
    Activation entries read: every entry of a non-empty list some kernel row maps into the band.
``job``
    ALU jobs (register ``alu_jobs``): one per valid tap of an entry; each reads a weight row,
    reads and writes an accumulation row, and uses the PE's ``groups · k`` multipliers.
``pp_read``
    Accumulation rows the post-processor reads (one per output pixel, four per pooled pixel).
``pp_step``
    Requantization steps: ``pp_read · chunk / requant_lanes`` (one requantization-memory read
    each).
``beat``
    Output pixels emitted (one compressed beat each).

SRAM accesses, named as the energy hooks' macro groups: ``sram_pointers_read`` (= ``pair``),
``sram_entries_read`` (= ``entry``), ``sram_weights_read`` (= ``job``), ``sram_accbuf_read``
(= ``job + pp_read``), ``sram_accbuf_write`` (= ``job``), ``sram_requant_read`` (=
``pp_step``); nothing is written to the weight, requantization or activation memories while a
layer runs.
"""

from . import cycles as sc_cycles

__all__ = ["band_actions", "layer_actions"]


def band_actions(shape, store, band_rows, band):
    """``{pair, entry, job, pp_read, beat}`` of one unit of band ``band`` (any chunk)."""
    oy0 = band * band_rows
    oy1 = min(shape.ho, oy0 + band_rows)
    lo, hi = sc_cycles._window(shape, oy0, oy1)
    ns = sc_cycles.col_taps(shape)
    pairs = entries = taps = 0
    for iy in range(lo, hi + 1):
        nr = len(sc_cycles.row_taps(shape, iy, oy0, oy1))
        for q in range(store.segments):
            pairs += 1
            if nr == 0 or store.count[iy, q] == 0:
                continue
            x, _, _ = store.row(iy, q)
            entries += len(x)
            taps += int((nr * ns[x]).sum())
    rows = oy1 - oy0
    if shape.pool:
        beats = (rows // 2) * (shape.wo // 2)
        reads = 4 * beats
    else:
        beats = reads = rows * shape.wo
    return {"pair": pairs, "entry": entries, "job": taps, "pp_read": reads, "beat": beats}


def layer_actions(cfg, shape, store, cycles):
    """Action counts of a layer over ``cycles`` cycles on ``cfg`` with activations ``store``
    (an :class:`~.format.ActStore` of segment ``cfg.chunk``: ``compress_acts`` for SparseCore,
    :func:`.format.dense_acts` for a dense array). A layer of more chunks than PEs runs in
    passes of ``pes`` chunks (:mod:`.cycles`); the weight loads between them are not counted."""
    steps = cfg.chunk // cfg.requant_lanes
    nbands = -(-shape.ho // cfg.band_rows)
    per_band = [band_actions(shape, store, cfg.band_rows, b) for b in range(nbands)]
    # More chunks than PEs (a dense baseline's narrower chunks) run in passes of ``pes`` chunks.
    _, grants, busy, _ = sc_cycles._run(shape, store, cfg.chunk, cfg.band_rows, cfg.pes, steps)
    counts = {"cycle": cycles, "pe_cycle": cfg.pes * cycles, "pe_busy": sum(busy),
              "unit": len(grants)}
    for name in ("pair", "entry", "job", "pp_read", "beat"):
        counts[name] = sum(per_band[b][name] for _t, _p, b, _j in grants)
    counts["pp_step"] = counts["pp_read"] * steps
    counts.update({
        "sram_pointers_read": counts["pair"], "sram_entries_read": counts["entry"],
        "sram_weights_read": counts["job"], "sram_accbuf_read": counts["job"] + counts["pp_read"],
        "sram_accbuf_write": counts["job"], "sram_requant_read": counts["pp_step"],
    })
    for group in ("pointers", "entries", "weights", "requant"):
        counts[f"sram_{group}_write"] = 0
    return counts
