"""What an SCNN layer does, counted: the actions its energy model prices (SCNN paper, Sec. 4).

Counts follow the accelerator's structure (:class:`sparseforge.hdl.scnn.ScnnAccelerator`: per PE
the loaders, the channel sequencer, the F×I multiplier array, the queued crossbar, two sets of A
accumulator banks and the post-processing unit; the output streamer) and the cycle model of
:mod:`.cycles`. Per-PE quantities are summed over PEs.

``cycle``, ``pe_cycle``
    Cycles of the layer (its first input beat to its last output beat), and that times the PEs.
``slot``
    Slots issued (bubbles without products included; :attr:`.cycles.LayerCycles.slots`).
``product``
    Non-zero products, each one crossbar transfer and one accumulator-bank update (the
    ``products`` register).
``stall``
    Cycles a PE's multiplier array waits for a full crossbar queue (``stall_cycles``).
``compute``
    PE-cycles computing a group (``compute_cycles``).
``channel``
    Blocks the PEs' weight FIFOs keep (each taken once by its sequencer).
``ppu_cycle``
    PE-cycles the post-processors are busy (:func:`.cycles.ppu_cycles` per group).
``ppu_write``
    Accumulator-bank writes by the post-processors (halo exchange and read-and-clear): per output
    channel ``[S > 1]·(H_t + 2·pr)·(2·ps + min(2·ps, W_t)) + 4·pr·W_t + H_t·W_t``.
``entry``
    Compressed output entries the compressors emit (placeholders included, trailing ones too).
``beat``, ``load_beat``
    Output beats; weight and activation beats taken.

SRAM accesses, named as the energy hooks' macro groups (``sram_<group>_read``/``_write``):

* ``wbuf``, ``iaram`` reads: every cycle the pipeline advances, so ``pe_cycle − stall`` each
  (the read enable is the crossbar's ``ready``, low only in stalls); writes: the rows of the
  weight blocks each PE's FIFO keeps and of the non-empty activation blocks the loaders store.
* ``wqueue`` (the weight FIFO's block queue, read combinationally): a write and a read per kept
  block (``channel``). ``alist`` (activation directory): a write per activation block and per
  output block of a channel below IARAM rows (the PPU writes the output RAM's directory, for a
  chained layer); a read on every PE in the last loading cycle and at the end of every weight
  block (it looks up the broadcast's pending channel).
* ``acc``: a bank write per ``product`` and ``ppu_write``. Bank reads are combinational, without
  an enable; each read feeds a write of the same entry (read-add-write for a product,
  read-and-clear or read-add-write in the post-processor), so reads are counted equal to writes.
* ``oaram``: rows the compressors write (full rows of I entries while compressing, then the row
  still buffered that holds the block's last value); ``counts``: one write per output channel
  and PE. Both are read on every PE for every output beat (the streamer enables all PEs' ports).
"""

import numpy as np

from .cycles import layer_cycles, layer_group_sizes, ppu_cycles
from .schedule import pe_blocks
from .format import act_tile, max_zeros
from .streams import golden, pe_positions

__all__ = ["ppu_writes_per_channel", "emitted_entries", "oaram_writes", "layer_actions"]


def ppu_writes_per_channel(cfg, r, s):
    """Accumulator-bank writes of the post-processor for one output channel (see the module
    docstring): x exchange, y exchange, compression."""
    pr, ps = (r - 1) // 2, (s - 1) // 2
    x_rows = cfg.tile_h + 2 * pr if ps else 0
    return x_rows * (2 * ps + min(2 * ps, cfg.tile_w)) + 4 * pr * cfg.tile_w + \
        cfg.tile_h * cfg.tile_w


def emitted_entries(values, index_bits):
    """Entries the compressor emits for a block of dense ``values`` (in order): each non-zero
    value, and a placeholder for every ``max_zeros + 1`` zeros in a row (trailing ones too)."""
    step = max_zeros(index_bits) + 1
    emitted = run = 0
    for value in np.asarray(values).ravel():
        if value != 0 or run == step - 1:
            emitted += 1
            run = 0
        else:
            run += 1
    return emitted


def oaram_writes(cfg, tile_blocks):
    """OARAM row writes of one PE for its output blocks, in order: ``[(dense values, count)]``.

    Full rows while compressing (``⌊E / I⌋`` of a block's ``E`` emitted entries), then the row
    holding the last value when still buffered; the block's rows start after the previous
    block's ``⌈count / I⌉`` rows, and rows past the OARAM are not written."""
    lanes = cfg.i
    writes = base = 0
    for values, count in tile_blocks:
        full = emitted_entries(values, cfg.index_bits) // lanes
        rows = -(-count // lanes)
        writes += max(0, min(full, cfg.oaram_rows - base))
        if rows > full and base + full < cfg.oaram_rows:
            writes += 1
        base += rows
    return writes


def layer_actions(cfg, streams, act, weights, cycles=None, model=None):
    """Action counts of one layer (``cycles``: the measured window; default the cycle model's).
    ``streams`` is the layer's :class:`~.streams.LayerStreams`; ``act`` and ``weights`` its
    operands (the compressors' work depends on the dense output); ``model`` its
    :func:`~.cycles.layer_cycles` when the caller has it (computed otherwise: on a large layer
    it takes as long as the rest)."""
    layer = streams.layer
    model = layer_cycles(cfg, streams) if model is None else model
    cycles = model.cycles if cycles is None else cycles
    npe = cfg.pes
    sizes = layer_group_sizes(cfg, layer)
    kept = pe_blocks(cfg, streams)
    channel = sum(len(blocks) for blocks in kept)
    kept_rows = sum(b.rows for blocks in kept for b in blocks)
    out_listed = npe * min(layer.k, cfg.iaram_rows)
    ppu = npe * sum(ppu_cycles(cfg, kg, layer.r, layer.s) for kg in sizes)
    ppu_write = npe * layer.k * ppu_writes_per_channel(cfg, layer.r, layer.s)
    out = golden(cfg, act, weights)
    entries = oaram = 0
    for (px, py), blocks in zip(pe_positions(cfg), streams.output_blocks):
        tiles = [act_tile(plane, px, py, cfg.tile_w, cfg.tile_h).ravel() for plane in out]
        entries += sum(emitted_entries(tile, cfg.index_bits) for tile in tiles)
        oaram += oaram_writes(cfg, [(tile, block.count) for tile, block in zip(tiles, blocks)])
    beats = int(sum(model.group_beats))
    w_counts = streams.weight_rows[0]
    a_rows = sum(int(np.count_nonzero(rows[0])) for rows in streams.act_rows)
    a_beats = sum(len(rows[0]) for rows in streams.act_rows)
    a_blocks = sum(len(blocks) for blocks in streams.act_blocks)
    w_blocks = sum(len(group) for group in streams.weight_blocks)
    reads = npe * cycles - model.stall_cycles
    acc = model.products + ppu_write
    return {
        "cycle": cycles, "pe_cycle": npe * cycles, "slot": model.slots,
        "product": model.products, "stall": model.stall_cycles,
        "compute": model.compute_cycles, "channel": channel, "ppu_cycle": ppu,
        "ppu_write": ppu_write, "entry": entries, "beat": beats,
        "load_beat": len(w_counts) + a_beats,
        "sram_wbuf_read": reads, "sram_iaram_read": reads,
        "sram_wbuf_write": kept_rows, "sram_iaram_write": a_rows,
        "sram_wqueue_read": channel, "sram_alist_read": npe * (1 + w_blocks),
        "sram_wqueue_write": channel, "sram_alist_write": a_blocks + out_listed,
        "sram_acc_read": acc, "sram_acc_write": acc,
        "sram_oaram_write": oaram, "sram_counts_write": npe * layer.k,
        "sram_oaram_read": npe * beats, "sram_counts_read": npe * beats,
    }
