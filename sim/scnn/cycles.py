"""Cycle model of the SCNN accelerator: predicts the RTL's cycle count exactly, and its statistics.

Counting convention. A layer is started by a register write; its ``cycles`` run from its first
input beat to its last output beat, both included, in three parts: ``load_cycles`` (from the
first activation beat to the last, plus one cycle in which the loaders' block counts settle),
``busy_cycles`` (the accelerator computes: ``busy`` high) and ``drain_cycles`` (after computing,
to the last output beat). The model assumes the input streams start together right after
``start`` and run at full rate (one beat per cycle each) and that every output beat is accepted
at once; the RTL's counters then equal it. Data loaded before ``start`` is not counted.

The accelerator (:class:`sparseforge.hdl.scnn.ScnnAccelerator`) behaves as follows; the model
walks the same vector pairs with the same address arithmetic:

* **Load.** Only the activations are loaded before computing: ``activation beats + 1`` cycles
  (the activation stream carries every PE's rows), none when none streams. The weight stream is
  not taken while loading: it is broadcast while the PEs compute, each PE keeping the blocks it
  needs in its weight FIFO. A chained layer (``chain``) streams no activations and loads nothing:
  its PEs find the previous layer's output blocks in their output RAM, stored and in a directory
  as the loader stores streamed blocks, so its computing part is that of the same blocks
  streamed (the weight FIFOs keep the same blocks).
* **Computing** (:mod:`.schedule`, one simulation of the layer, cycle by cycle): the broadcast and
  its weight stalls, each PE's sequencer over the blocks it keeps (``⌈nA / I⌉ · ⌈nW / F⌉`` slots
  per kept block, activation rows outer; bubbles while its next block has not arrived), the
  pipeline and the queued crossbar (:mod:`.crossbar`) and the group barriers and launches.
* **Banks.** A product with both operands non-zero goes to the accumulator of output channel
  ``kk`` at plane position ``pos`` (:func:`weight_parts`, :func:`act_parts`), which lies in bank
  ``(pos mod A) XOR ((kk << fold_shift) mod A)`` (:func:`bank_of`, the config's
  ``fold_shift``).
* **Barrier.** The group's barrier is the first cycle no PE computes, ``B``; PE ``p`` waits
  ``B`` minus its own first idle cycle at it.
* **PPU.** The group's post-processing is launched in cycle ``X = max(B, X' + T' + 1)`` where
  ``X'``, ``T'`` are the previous group's launch and PPU time (the PPU, and the accumulator set
  the next group needs, are busy until then); the next group starts in the same cycle,
  ``L_next = X``. The PPU is busy ``T = ppu_cycles(kg, R, S)`` cycles from ``X + 1``. The
  next group waits ``X − B`` cycles for it.
* **Computing** starts in the cycle after loading (the first group's ``L``, cycle 0) and ends in
  cycle ``X_last + T_last + 1``: ``busy_cycles = X_last + T_last + 2``.
* **Outputs.** Group ``g`` is complete in cycle ``X_g + T_g + 1``; its ``n_g`` beats (every PE's
  blocks of the group, ``max(1, ⌈count / I⌉)`` each) are read from ``r_g = max(X_g + T_g + 2,
  r_{g−1} + n_{g−1})`` on, one per cycle, and leave one cycle after their read. Draining lasts
  from the cycle after computing to the last beat. A layer that keeps its outputs on chip
  (``keep_outputs``) streams none: no drain, its run ends with its last busy cycle.
"""

from dataclasses import dataclass, field

import numpy as np

from .blox import blox_pass_cycles
from .schedule import naive_compute, simulate_compute

__all__ = ["LayerCycles", "layer_cycles", "layer_group_sizes", "ppu_cycles", "weight_parts",
           "act_parts", "bank_of", "entry_of", "load_cycles", "group_beats", "PLAIN_UP_TO"]

#: Largest PE array whose compute part :func:`layer_cycles` simulates with the plain per-PE
#: reference (:func:`.schedule.naive_compute`, faster there) instead of the vectorized one.
PLAIN_UP_TO = 16


def ppu_cycles(cfg, kg, r, s):
    """Cycles the PPU is busy for a group of ``kg`` output channels with an ``r × s`` kernel:
    per channel the x exchange (one cycle per row of the kernel's extended height, when S > 1),
    the y exchange (four cycles per halo row, when R > 1) and ``H_t · ⌈W_t / I⌉`` compression
    cycles (I elements of a row per cycle); then one cycle closing the last block, or, for a
    kernel without halo, one per channel. With Sparse-Blox, each channel's block pass
    (:func:`.blox.blox_pass_cycles`) comes between the exchange and the compression; it also
    closes the previous channel's block, so only the last channel needs a closing cycle."""
    pr, ps = (r - 1) // 2, (s - 1) // 2
    exchange = (cfg.tile_h + 2 * pr if ps else 0) + 4 * pr
    compress = cfg.tile_h * -(-cfg.tile_w // cfg.i)
    blox = blox_pass_cycles(cfg)
    if exchange or blox:
        return kg * (exchange + blox + compress) + 1
    return kg * (compress + 1)


def _positions(block):
    """Dense positions of a block's entries, and which of them are non-zero values."""
    positions = np.cumsum(np.asarray(block.zeros, dtype=np.int64) + 1) - 1
    return positions, np.asarray(block.values) != 0


def weight_parts(cfg, block, r, s):
    """Output channel and plane offset of each entry of a weight block (and a non-zero mask).

    Blocks are linearized ``r``, ``s``, ``k`` with ``k`` innermost and every group padded to
    ``kc`` channels (:mod:`.format`), so the stride of ``s`` is the constant ``kc``. Entry at
    position ``p = (ri·S + si)·kc + kk`` of its block: channel ``kk``, offset
    ``(h + pr − ri)·acc_w + (h + ps − si)``.
    """
    p, nonzero = _positions(block)
    rs, kk = np.divmod(p, cfg.kc)
    ri, si = np.divmod(rs, s)
    h = cfg.halo
    off = (h + (r - 1) // 2 - ri) * cfg.acc_w + (h + (s - 1) // 2 - si)
    return kk, off, nonzero


def act_parts(cfg, block):
    """Plane offset of each entry of an activation block (and a non-zero mask).

    Entry at tile position ``q = yi·W_t + xi``: ``yi·acc_w + xi``. A weight entry's offset plus
    an activation entry's is the plane position ``pos`` of their product's output.
    """
    q, nonzero = _positions(block)
    yi, xi = np.divmod(q, cfg.tile_w)
    return yi * cfg.acc_w + xi, nonzero


def bank_of(cfg, kk, pos):
    """Bank of the accumulator of output channel ``kk`` (of the group) at plane position ``pos``:
    ``(pos mod A) XOR ((kk << fold_shift) mod A)``."""
    A = cfg.banks
    return (np.asarray(pos) % A) ^ ((np.asarray(kk) << cfg.fold_shift) % A)


def entry_of(cfg, kk, pos):
    """Entry, within its bank, of that accumulator: ``kk · plane_entries + pos div A``."""
    return np.asarray(kk) * cfg.plane_entries + np.asarray(pos) // cfg.banks


@dataclass
class LayerCycles:
    """The model's figures for one layer (see the module docstring for the rules).

    Attributes
    ----------
    cycles : int
        Predicted cycles from the first input beat to the last output beat.
    load_cycles, busy_cycles, drain_cycles : int
        Its three parts (see the module docstring).
    products : int
        Non-zero products accumulated, all PEs (the Cartesian products of non-zero weights and
        activations of each input channel).
    stall_cycles, barrier_cycles, ppu_wait_cycles, compute_cycles, weight_stall_cycles : int
        As the accelerator's statistics registers count them: crossbar stalls summed over PEs,
        cycles PEs wait at barriers, cycles the next group waits for the PPU, PE-cycles spent
        computing, cycles the weight broadcast waited for a PE's free FIFO row.
    slots : int
        Slots issued, all PEs (bubbles included).
    group_end : ndarray (groups, PEs)
        The first cycle each PE no longer computes each group (:mod:`.schedule`).
    group_barrier, group_launch : list of int
        Per group, the barrier cycle and the PPU launch cycle, counted from the layer's first
        cycle (cycle 0).
    """

    cycles: int
    load_cycles: int
    busy_cycles: int
    drain_cycles: int
    products: int
    stall_cycles: int
    barrier_cycles: int
    ppu_wait_cycles: int
    compute_cycles: int
    slots: int
    weight_stall_cycles: int
    group_end: np.ndarray = field(repr=False)
    group_barrier: list = field(repr=False)
    group_launch: list = field(repr=False)

    group_ready: list = field(repr=False, default_factory=list)
    group_beats: list = field(repr=False, default_factory=list)

    def ideal_cycles(self, cfg):
        """Cycles with every multiplier of every PE busy: products / (F·I·PEs)."""
        return self.products / (cfg.multipliers_per_pe * cfg.pes)

    def utilization(self, cfg):
        """Ideal over measured: the share of the array's multiplier-cycles doing a product, over
        the whole run (load and drain included)."""
        return self.ideal_cycles(cfg) / self.cycles if self.cycles else 0.0

    def multiplier_utilization(self, cfg):
        """Products per multiplier-cycle while PEs compute (barrier waits and the PPU's drain of
        the last group excluded): intra-PE fragmentation and crossbar stalls only."""
        slots = self.compute_cycles * cfg.multipliers_per_pe
        return self.products / slots if slots else 0.0


def load_cycles(streams, *, acts=True):
    """Cycles of loading a layer's activations after ``start``: ``activation beats + 1``, or 0
    when none streams (``acts=False``: a chained layer, whose activations are on chip)."""
    a_beats = sum(len(rows[0]) for rows in streams.act_rows) if acts else 0
    return a_beats + 1 if a_beats else 0


def group_beats(cfg, streams):
    """Output beats of each group: every PE's blocks of the group, ``max(1, ⌈count / I⌉)``
    each (needs the streams' output blocks)."""
    sizes = layer_group_sizes(cfg, streams.layer)
    beats = []
    for g, kg in enumerate(sizes):
        k0 = g * cfg.kc
        beats.append(sum(max(1, -(-block.count // cfg.i))
                         for pe_blocks in streams.output_blocks
                         for block in pe_blocks[k0:k0 + kg]))
    return beats


def layer_cycles(cfg, streams, *, chained=False, keep=False):
    """Model one layer given its :class:`~.streams.LayerStreams`; return :class:`LayerCycles`.

    ``chained``: the layer takes its activations from the previous layer's output RAM (the
    ``chain`` register): none stream, the PEs find the same blocks on chip (stored as the
    loader would store them), so only the load part changes (to none). ``keep``: its outputs
    stay on chip (the ``keep_outputs`` register): no beat streams out, no drain, and the run ends
    with the last busy cycle.
    """
    layer = streams.layer
    sizes = layer_group_sizes(cfg, layer)
    # The plain per-PE simulation is the faster one for arrays of a few PEs (both are checked
    # equal in tests/scnn/test_schedule.py).
    run = (naive_compute if cfg.pes <= PLAIN_UP_TO else simulate_compute)(cfg, streams)
    launch, last = run.group_launch[-1], ppu_cycles(cfg, sizes[-1], layer.r, layer.s)
    ready = [x + ppu_cycles(cfg, kg, layer.r, layer.s) + 1
             for x, kg in zip(run.group_launch, sizes)]
    busy = launch + last + 2

    load = load_cycles(streams, acts=not chained)
    ppu_waits = sum(x - b for x, b in zip(run.group_launch, run.group_barrier))
    if keep:
        beats, drain = [0] * len(sizes), 0
    else:
        beats = group_beats(cfg, streams)
        read = None
        for g, n in enumerate(beats):
            read = ready[g] + 1 if read is None else max(ready[g] + 1, read + beats[g - 1])
        last_beat = read + beats[-1]
        drain = last_beat - (busy - 1)
    return LayerCycles(cycles=load + busy + drain, load_cycles=load, busy_cycles=busy,
                       drain_cycles=drain, products=run.products, stall_cycles=run.stall_cycles,
                       barrier_cycles=run.barrier_cycles, ppu_wait_cycles=ppu_waits,
                       compute_cycles=run.compute_cycles, slots=run.slots,
                       weight_stall_cycles=run.weight_stall_cycles, group_end=run.group_end,
                       group_barrier=run.group_barrier, group_launch=run.group_launch,
                       group_ready=ready, group_beats=beats)


def layer_group_sizes(cfg, layer):
    """Output channels of each group: ``kc`` each, the last one possibly fewer."""
    return [min(cfg.kc, layer.k - k0) for k0 in range(0, layer.k, cfg.kc)]
