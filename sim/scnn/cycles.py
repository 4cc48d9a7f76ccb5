"""Cycle model of the SCNN accelerator: predicts the RTL's cycle count exactly, and its statistics.

Counting convention. A layer is started by a register write; its ``cycles`` run from the cycle
after the ``start`` write takes effect to the cycle in which the layer is done, both included
(the cycles in which the accelerator's ``busy`` is high; the ``cycles`` register counts the same).
Loading the streams before ``start`` and reading the outputs after ``done`` are not counted:
they depend on the host, and the activations and outputs stay on chip between layers.

The accelerator (:class:`sparseforge.hdl.scnn.ScnnAccelerator`) behaves as follows; the model
walks the same vector pairs with the same address arithmetic, without simulating any hardware:

* **Slots.** For each output-channel group, each PE walks the input channels. A channel whose
  activation block or weight block ``(g, c)`` is empty takes one slot. Otherwise the channel
  takes ``⌈nA / I⌉ · ⌈nW / F⌉`` slots, one per (activation row, weight row) pair, activation rows
  outer: a partial last row (intra-PE fragmentation) costs a full slot.
* **Bank conflicts.** A slot's products with both operands non-zero go to bank
  ``address mod A`` of the accumulators (address as in :mod:`sparseforge.hdl.scnn.coords`, from
  weight positions ``p = (r·S + s)·K_c + kk``: blocks are linearized ``R × S × K_c`` with ``k``
  innermost and a last partial group padded to ``K_c`` channels, :mod:`.scnn_format`). The
  crossbar delivers one product per bank per cycle, so a slot occupies it
  ``m = max(1, most products to one bank)`` cycles; the ``m − 1`` extra cycles stall the PE.
* **A group on a PE.** Started (``group_start``) in cycle ``L``, the PE's last slot leaves the
  crossbar at the end of cycle ``L + 4 + M`` with ``M`` the sum of ``m`` over its slots: one
  cycle to fetch the first block headers, one to issue the first slot, three pipeline stages.
  It is *computing* during cycles ``L + 1 … L + 4 + M``.
* **Barrier.** The group's barrier is cycle ``B = L + 5 + max M`` over the PEs. PE ``p`` waits
  ``B − (L + 5 + M_p)`` cycles at it.
* **PPU.** The group's post-processing is launched in cycle ``X = max(B, X' + T' + 1)`` where
  ``X'``, ``T'`` are the previous group's launch and PPU time (the PPU, and the accumulator set
  the next group needs, are busy until then); the next group starts in the same cycle,
  ``L_next = X``. The PPU is busy ``T = ppu_cycles(kg, R, S)`` cycles from ``X + 1``. The
  next group waits ``X − B`` cycles for it.
* **Layer.** The first group starts in the first counted cycle; the layer is done in cycle
  ``X_last + T_last + 1``.
"""

from dataclasses import dataclass, field

import numpy as np

__all__ = ["LayerCycles", "layer_cycles", "layer_group_sizes", "ppu_cycles", "slot_cycles",
           "weight_offsets", "act_offsets", "PIPELINE_FILL"]

#: Cycles from ``group_start`` to a PE's first slot entering the crossbar, minus one: the header
#: fetch, the issue cycle and the read, decode and multiply stages.
PIPELINE_FILL = 4


def ppu_cycles(cfg, kg, r, s):
    """Cycles the PPU is busy for a group of ``kg`` output channels with an ``r × s`` kernel:
    per channel the x exchange (a send and a receive cycle per row of the kernel's extended
    height, when S > 1), the y exchange (four cycles per halo row, when R > 1), one cycle per
    tile element and one flush cycle."""
    pr, ps = (r - 1) // 2, (s - 1) // 2
    x_rows = cfg.tile_h + 2 * pr if ps else 0
    return kg * (2 * x_rows + 4 * pr + cfg.tile_elems + 1)


def _positions(block):
    """Dense positions of a block's entries, and which of them are non-zero values."""
    positions = np.cumsum(np.asarray(block.zeros, dtype=np.int64) + 1) - 1
    return positions, np.asarray(block.values) != 0


def weight_offsets(cfg, block, r, s):
    """Weight parts of the accumulator addresses of a weight block's entries (and non-zero mask).

    Blocks are linearized ``r``, ``s``, ``k`` with ``k`` innermost and every group padded to
    ``kc`` channels (:mod:`.scnn_format`), so the stride of ``s`` is the constant ``kc``. Entry at
    position ``p = (ri·S + si)·kc + kk`` of its block:
    ``kk·acc_plane + (h + pr − ri)·acc_w + (h + ps − si)``.
    """
    p, nonzero = _positions(block)
    rs, kk = np.divmod(p, cfg.kc)
    ri, si = np.divmod(rs, s)
    h = cfg.halo
    off = kk * cfg.acc_plane + (h + (r - 1) // 2 - ri) * cfg.acc_w + (h + (s - 1) // 2 - si)
    return off, nonzero


def act_offsets(cfg, block):
    """Activation parts of the accumulator addresses of an activation block's entries.

    Entry at tile position ``q = yi·W_t + xi``: ``yi·acc_w + xi``.
    """
    q, nonzero = _positions(block)
    yi, xi = np.divmod(q, cfg.tile_w)
    return yi * cfg.acc_w + xi, nonzero


def _rows(values, lanes, fill):
    """Entries in rows of ``lanes`` (the last one padded with ``fill``)."""
    n = len(values)
    rows = -(-n // lanes)
    out = np.full(rows * lanes, fill, dtype=np.int64)
    out[:n] = values
    return out.reshape(rows, lanes)


def slot_cycles(cfg, w_off, w_nz, a_off, a_nz):
    """Crossbar cycles ``m`` of each slot of a non-empty channel, and its products.

    Returns ``(m, products)``, arrays of shape ``(activation rows, weight rows)`` (activation
    rows outer, the order the PE issues them).
    """
    A = cfg.banks
    wo = _rows(w_off, cfg.f, 0)
    wn = _rows(w_nz, cfg.f, 0).astype(bool)
    ao = _rows(a_off, cfg.i, 0)
    an = _rows(a_nz, cfg.i, 0).astype(bool)
    # banks[j, q, i, f]; A marks "no product".
    banks = (ao[:, None, :, None] + wo[None, :, None, :]) % A
    live = an[:, None, :, None] & wn[None, :, None, :]
    banks = np.where(live, banks, A).reshape(len(ao) * len(wo), -1)
    slots = banks.shape[0]
    index = (np.arange(slots)[:, None] * (A + 1) + banks).reshape(-1)
    hist = np.bincount(index, minlength=slots * (A + 1)).reshape(slots, A + 1)[:, :A]
    m = np.maximum(1, hist.max(axis=1)).reshape(len(ao), len(wo))
    products = hist.sum(axis=1).reshape(len(ao), len(wo))
    return m, products


@dataclass
class LayerCycles:
    """The model's figures for one layer (see the module docstring for the rules).

    Attributes
    ----------
    cycles : int
        Predicted ``busy`` cycles.
    products : int
        Non-zero products accumulated, all PEs (the Cartesian products of non-zero weights and
        activations of each input channel).
    stall_cycles, barrier_cycles, ppu_wait_cycles, compute_cycles : int
        As the accelerator's statistics registers count them: bank-conflict stalls summed over
        PEs, cycles PEs wait at barriers, cycles the next group waits for the PPU, PE-cycles
        spent computing.
    slots : int
        Slots issued, all PEs (empty channels included).
    group_m : ndarray (groups, PEs)
        Crossbar cycles ``M`` of each PE in each group.
    group_barrier, group_launch : list of int
        Per group, the barrier cycle and the PPU launch cycle, counted from the layer's first
        cycle (cycle 0).
    """

    cycles: int
    products: int
    stall_cycles: int
    barrier_cycles: int
    ppu_wait_cycles: int
    compute_cycles: int
    slots: int
    group_m: np.ndarray = field(repr=False)
    group_barrier: list = field(repr=False)
    group_launch: list = field(repr=False)

    def ideal_cycles(self, cfg):
        """Cycles with every multiplier of every PE busy: products / (F·I·PEs)."""
        return self.products / (cfg.multipliers_per_pe * cfg.pes)

    def utilization(self, cfg):
        """Ideal over measured: the share of the array's multiplier-cycles doing a product."""
        return self.ideal_cycles(cfg) / self.cycles if self.cycles else 0.0

    def multiplier_utilization(self, cfg):
        """Products per multiplier-cycle while PEs compute (barrier waits and the PPU's drain of
        the last group excluded): intra-PE fragmentation and bank stalls only."""
        slots = self.compute_cycles * cfg.multipliers_per_pe
        return self.products / slots if slots else 0.0


def _packed(offsets, lanes):
    """Channels' (offsets, non-zero) entries as rows of ``lanes``, padded to the longest channel.

    Returns ``(off, live, rows)``: ``off`` and ``live`` of shape (channels, most rows, lanes), a
    lane ``live`` when it holds a non-zero entry; ``rows`` the rows of each channel.
    """
    rows = np.array([-(-len(off) // lanes) for off, _nz in offsets], dtype=np.int64)
    most = max(1, int(rows.max())) if len(rows) else 1
    off = np.zeros((len(offsets), most * lanes), dtype=np.int64)
    live = np.zeros((len(offsets), most * lanes), dtype=bool)
    for c, (o, nz) in enumerate(offsets):
        off[c, :len(o)] = o
        live[c, :len(o)] = nz
    return off.reshape(len(offsets), most, lanes), live.reshape(len(offsets), most, lanes), rows


def _group_on_pe(cfg, weights, acts):
    """Crossbar cycles M, stalls, products and slots of one PE computing one group.

    ``weights`` and ``acts`` are :func:`_packed` channels of the group's weight blocks and of the
    PE's activation blocks. The same computation as :func:`slot_cycles`, for every channel at
    once: a channel with an empty block takes one slot; otherwise every (activation row, weight
    row) pair is a slot of ``max(1, most products to one bank)`` cycles.
    """
    w_off, w_live, w_rows = weights
    a_off, a_live, a_rows = acts
    A = cfg.banks
    channels = len(w_rows)
    empty = (w_rows == 0) | (a_rows == 0)
    # banks[c, j, q, i, f]; A marks "no product".
    banks = (a_off[:, :, None, :, None] + w_off[:, None, :, None, :]) % A
    live = a_live[:, :, None, :, None] & w_live[:, None, :, None, :]
    banks = np.where(live, banks, A).reshape(-1, a_off.shape[2] * w_off.shape[2])
    n_slots = banks.shape[0]
    index = (np.arange(n_slots)[:, None] * (A + 1) + banks).reshape(-1)
    hist = np.bincount(index, minlength=n_slots * (A + 1)).reshape(n_slots, A + 1)[:, :A]
    shape = (channels, a_off.shape[1], w_off.shape[1])
    m = np.maximum(1, hist.max(axis=1)).reshape(shape)
    products = hist.sum(axis=1).reshape(shape)
    exists = ((np.arange(shape[1])[None, :, None] < a_rows[:, None, None]) &
              (np.arange(shape[2])[None, None, :] < w_rows[:, None, None]) &
              ~empty[:, None, None])
    total = int(m[exists].sum()) + int(empty.sum())
    return (total, int((m - 1)[exists].sum()), int(products[exists].sum()),
            int(exists.sum()) + int(empty.sum()))


def layer_cycles(cfg, streams):
    """Model one layer given its :class:`~.scnn_streams.LayerStreams`; return
    :class:`LayerCycles`."""
    layer = streams.layer
    r, s = layer.r, layer.s
    sizes = layer_group_sizes(cfg, layer)
    npe = cfg.pes
    acts = [_packed([act_offsets(cfg, block) for block in pe_blocks], cfg.i)
            for pe_blocks in streams.act_blocks]
    group_m = np.zeros((len(sizes), npe), dtype=np.int64)
    products = stalls = slots = 0
    for g, wgroup in enumerate(streams.weight_blocks):
        weights = _packed([weight_offsets(cfg, block, r, s) for block in wgroup], cfg.f)
        for p in range(npe):
            total, stall, prods, count = _group_on_pe(cfg, weights, acts[p])
            group_m[g, p] = total
            stalls += stall
            products += prods
            slots += count

    # Timeline, cycle 0 = the first busy cycle (the first group's start).
    start = 0
    launch_prev = ppu_prev = None
    barriers, launches = [], []
    waits = ppu_waits = compute = 0
    for g, kg in enumerate(sizes):
        ends = start + PIPELINE_FILL + 1 + group_m[g]      # first cycle not computing, per PE
        barrier = int(ends.max())
        waits += int((barrier - ends).sum())
        compute += int((ends - start - 1).sum())
        launch = barrier if launch_prev is None else max(barrier, launch_prev + ppu_prev + 1)
        ppu_waits += launch - barrier
        barriers.append(barrier)
        launches.append(launch)
        launch_prev, ppu_prev = launch, ppu_cycles(cfg, kg, r, s)
        start = launch
    cycles = launch_prev + ppu_prev + 2
    return LayerCycles(cycles=cycles, products=products, stall_cycles=stalls,
                       barrier_cycles=waits, ppu_wait_cycles=ppu_waits, compute_cycles=compute,
                       slots=slots, group_m=group_m, group_barrier=barriers,
                       group_launch=launches)


def layer_group_sizes(cfg, layer):
    """Output channels of each group: ``kc`` each, the last one possibly fewer."""
    return [min(cfg.kc, layer.k - k0) for k0 in range(0, layer.k, cfg.kc)]

