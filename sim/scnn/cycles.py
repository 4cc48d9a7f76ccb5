"""Cycle model of the SCNN accelerator: predicts the RTL's cycle count exactly, and its statistics.

Counting convention. A layer is started by a register write; its ``cycles`` run from its first
input beat to its last output beat, both included, in three parts: ``load_cycles`` (from the
first input beat to the last, plus one cycle in which the loaders' block counts settle),
``busy_cycles`` (the accelerator computes: ``busy`` high) and ``drain_cycles`` (after computing,
to the last output beat). The model assumes the input streams start together right after
``start`` and run at full rate (one beat per cycle each) and that every output beat is accepted
at once; the RTL's counters then equal it. Data loaded before ``start`` is not counted.

The accelerator (:class:`sparseforge.hdl.scnn.ScnnAccelerator`) behaves as follows; the model
walks the same vector pairs with the same address arithmetic:

* **Load.** ``max(weight beats, activation beats) + 1`` cycles (the activation stream carries
  every PE's rows), none when nothing is streamed. A chained layer (``chain``) streams no
  activations: its PEs find the previous layer's output blocks in their output RAM, stored and
  listed as the loader stores and lists streamed blocks, so everything after loading is as for
  the same blocks streamed.
* **Slots.** For each output-channel group, each PE walks the input channels whose activation
  block is not empty (the others cost nothing). A channel whose weight block ``(g, c)`` is not
  empty takes ``⌈nA / I⌉ · ⌈nW / F⌉`` slots, one per (activation row, weight row) pair,
  activation rows outer: a partial last row (intra-PE fragmentation) costs a full slot. A
  channel whose weight block is empty takes no slot: the sequencer skips one such channel per
  slot while the channel before it issues, so a run of ``e`` of them after a channel of ``k``
  slots costs ``max(0, e + 1 − k)`` slots without products (bubbles), and a run of ``e`` before
  the first channel with weights (or in a group with none) costs ``e``
  (:class:`sparseforge.hdl.scnn.sequencer.ChannelSequencer`). Bubbles go through the pipeline
  and the crossbar like any slot without products.
* **Banks.** A product with both operands non-zero goes to the accumulator of output channel
  ``kk`` at plane position ``pos`` (:func:`weight_parts`, :func:`act_parts`), which lies in bank
  ``(pos mod A) XOR ((kk << fold_shift) mod A)`` (:func:`bank_of`, the config's
  ``fold_shift``).
* **Crossbar.** Slots reach the queued crossbar one per cycle and enter it unless a queue they
  must write is full; :mod:`.crossbar` gives, per group and PE, the cycle its last slot enters
  and the last cycle a product leaves a queue (counted from the cycle the first slot arrives).
  With ``M = max(last entry + 1, last grant)`` (``M`` = the slots when nothing conflicts), the
  stalls are ``last entry − (slots − 1)``.
* **A group on a PE.** Started (``group_start``) in cycle ``L``: the sequencer fills its channel
  pipeline in ``L + 1 … L + 3`` and issues the first slot in ``L + 4``, which reaches the
  crossbar in ``L + 6`` (:data:`PIPELINE_FILL`; bubbles before the first channel with weights
  are slots of the sequence); the PE is *computing* during cycles ``L + 1 … L + 6 + M``, or
  ``L + 1 … L + 3`` when it has no channel with activations.
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
from .crossbar import crossbar_times

__all__ = ["LayerCycles", "layer_cycles", "layer_group_sizes", "ppu_cycles", "weight_parts",
           "act_parts", "bank_of", "entry_of", "group_slots", "load_cycles", "group_beats",
           "PIPELINE_FILL", "EMPTY_GROUP"]

#: Cycles from ``group_start`` to a PE's first slot reaching the crossbar: the sequencer's
#: three-register channel pipeline, the issue cycle and the read and decode stages.
PIPELINE_FILL = 6

#: Cycles from ``group_start`` to the end of a group on a PE without channels.
EMPTY_GROUP = 4


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
    stall_cycles, barrier_cycles, ppu_wait_cycles, compute_cycles : int
        As the accelerator's statistics registers count them: crossbar stalls summed over PEs,
        cycles PEs wait at barriers, cycles the next group waits for the PPU, PE-cycles spent
        computing.
    slots : int
        Slots issued, all PEs (bubbles included).
    group_m : ndarray (groups, PEs)
        ``M`` of each PE in each group (its crossbar cycles, see the module docstring).
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
    group_m: np.ndarray = field(repr=False)
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


def _packed(parts, lanes):
    """Channels' entries as rows of ``lanes``, padded to the longest channel.

    ``parts`` is a list over channels of tuples of equal-length arrays, the last one the non-zero
    mask. Returns ``(arrays, live, rows)``: each array of shape (channels, most rows, lanes), a
    lane ``live`` when it holds a non-zero entry; ``rows`` the rows of each channel.
    """
    rows = np.array([-(-len(part[-1]) // lanes) for part in parts], dtype=np.int64)
    most = max(1, int(rows.max())) if len(rows) else 1
    width = len(parts[0]) - 1 if parts else 0
    arrays = [np.zeros((len(parts), most * lanes), dtype=np.int64) for _ in range(width)]
    live = np.zeros((len(parts), most * lanes), dtype=bool)
    for c, part in enumerate(parts):
        n = len(part[-1])
        for array, values in zip(arrays, part[:-1]):
            array[c, :n] = values
        live[c, :n] = part[-1]
    shape = (len(parts), most, lanes)
    return [a.reshape(shape) for a in arrays], live.reshape(shape), rows


def group_slots(cfg, weights, acts):
    """The slots one PE issues for one group, in order: an ``(n, F·I)`` array of banks (``A``
    where a lane has no product), product ``f·I + i`` in column ``f·I + i``.

    ``weights`` and ``acts`` are :func:`_packed` channels of the group's weight blocks
    (:func:`weight_parts`) and of the PE's activation blocks (:func:`act_parts`). Channels
    without activations have no slot; a run of channels without weights has the bubbles of
    the module docstring (rows of ``A``), placed after the channel before it.
    """
    (kk, w_off), w_live, w_rows = weights
    (a_off,), a_live, a_rows = acts
    A = cfg.banks
    present = a_rows != 0
    if not present.any():
        return np.zeros((0, cfg.f * cfg.i), dtype=np.int64)
    kk, w_off, w_live, w_rows = kk[present], w_off[present], w_live[present], w_rows[present]
    a_off, a_live, a_rows = a_off[present], a_live[present], a_rows[present]
    empty = w_rows == 0
    # [c, j, q, f, i]: activation row j outer, weight row q inner; lanes (f, i).
    pos = w_off[:, None, :, :, None] + a_off[:, :, None, None, :]
    banks = bank_of(cfg, kk[:, None, :, :, None], pos)
    live = w_live[:, None, :, :, None] & a_live[:, :, None, None, :]
    banks = np.where(live, banks, A)
    shape = banks.shape
    banks = banks.reshape(shape[0], shape[1], shape[2], -1)
    exists = ((np.arange(shape[1])[None, :, None] < a_rows[:, None, None]) &
              (np.arange(shape[2])[None, None, :] < w_rows[:, None, None]))
    # Channels without weights: a bubble for each one of a run past the first k − 1, k the slots
    # of the channel before the run (1 before the first channel with weights).
    index = np.arange(len(w_rows))
    last = np.maximum.accumulate(np.where(empty, -1, index))
    k_prev = np.where(last >= 0, (a_rows * w_rows)[np.maximum(last, 0)], 1)
    bubble = empty & (index - last - 1 >= k_prev - 1)
    exists[empty] = False
    exists[bubble, 0, 0] = True                # a bubble: one slot without products
    banks[bubble, 0, 0] = A
    return banks[exists]


def load_cycles(streams, *, weights=True, acts=True):
    """Cycles of loading a layer's streams after ``start`` (``weights=False``: the weights were
    loaded before; ``acts=False``: a chained layer, whose activations are on chip):
    ``max(weight beats, activation beats) + 1``, or 0 with nothing to stream."""
    w_beats = len(streams.weight_rows[0]) if weights else 0
    a_beats = sum(len(rows[0]) for rows in streams.act_rows) if acts else 0
    beats = max(w_beats, a_beats)
    return beats + 1 if beats else 0


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


def layer_cycles(cfg, streams, *, weights=True, chained=False, keep=False):
    """Model one layer given its :class:`~.streams.LayerStreams`; return :class:`LayerCycles`.

    ``weights=False``: the weights were loaded before ``start`` (only activations stream).
    ``chained``: the layer takes its activations from the previous layer's output RAM (the
    ``chain`` register): none stream, the PEs find the same blocks on chip (stored as the
    loader would store them), so only the load part changes. ``keep``: its outputs stay on chip
    (the ``keep_outputs`` register): no beat streams out, no drain, and the run ends with the
    last busy cycle.
    """
    layer = streams.layer
    r, s = layer.r, layer.s
    sizes = layer_group_sizes(cfg, layer)
    npe = cfg.pes
    acts = [_packed([act_parts(cfg, block) for block in pe_blocks], cfg.i)
            for pe_blocks in streams.act_blocks]
    sims = []
    products = 0
    for wgroup in streams.weight_blocks:
        weights_g = _packed([weight_parts(cfg, block, r, s) for block in wgroup], cfg.f)
        for p in range(npe):
            slots = group_slots(cfg, weights_g, acts[p])
            products += int((slots != cfg.banks).sum())
            sims.append(slots)
    push_last, pop_last = crossbar_times(sims, cfg.banks, cfg.queue_depth)
    counts = np.array([len(x) for x in sims], dtype=np.int64)
    group_m = np.maximum(push_last + 1, pop_last).reshape(len(sizes), npe)
    busy_span = np.where(counts > 0, PIPELINE_FILL + 1 + np.maximum(push_last + 1, pop_last),
                         EMPTY_GROUP).reshape(len(sizes), npe)
    stalls = int((push_last - (counts - 1))[counts > 0].sum())

    # Timeline, cycle 0 = the first busy cycle (the first group's start).
    start = 0
    launch_prev = ppu_prev = None
    barriers, launches, ready = [], [], []
    waits = ppu_waits = compute = 0
    for g, kg in enumerate(sizes):
        ends = start + busy_span[g]                        # first cycle not computing, per PE
        barrier = int(ends.max())
        waits += int((barrier - ends).sum())
        compute += int((ends - start - 1).sum())
        launch = barrier if launch_prev is None else max(barrier, launch_prev + ppu_prev + 1)
        ppu_waits += launch - barrier
        barriers.append(barrier)
        launches.append(launch)
        launch_prev, ppu_prev = launch, ppu_cycles(cfg, kg, r, s)
        ready.append(launch + ppu_prev + 1)
        start = launch
    busy = launch_prev + ppu_prev + 2

    load = load_cycles(streams, weights=weights, acts=not chained)
    if keep:
        return LayerCycles(cycles=load + busy, load_cycles=load, busy_cycles=busy,
                           drain_cycles=0, products=products, stall_cycles=stalls,
                           barrier_cycles=waits, ppu_wait_cycles=ppu_waits,
                           compute_cycles=compute, slots=int(counts.sum()), group_m=group_m,
                           group_barrier=barriers, group_launch=launches, group_ready=ready,
                           group_beats=[0] * len(sizes))
    beats = group_beats(cfg, streams)
    read = None
    for g, n in enumerate(beats):
        read = ready[g] + 1 if read is None else max(ready[g] + 1, read + beats[g - 1])
    last_beat = read + beats[-1]
    drain = last_beat - (busy - 1)
    return LayerCycles(cycles=load + busy + drain, load_cycles=load, busy_cycles=busy,
                       drain_cycles=drain, products=products, stall_cycles=stalls,
                       barrier_cycles=waits, ppu_wait_cycles=ppu_waits, compute_cycles=compute,
                       slots=int(counts.sum()), group_m=group_m, group_barrier=barriers,
                       group_launch=launches, group_ready=ready, group_beats=beats)


def layer_group_sizes(cfg, layer):
    """Output channels of each group: ``kc`` each, the last one possibly fewer."""
    return [min(cfg.kc, layer.k - k0) for k0 in range(0, layer.k, cfg.kc)]
