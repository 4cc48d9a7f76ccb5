"""The computing part of an SCNN layer, cycle by cycle: weights streamed through per-PE FIFOs.

SCNN broadcasts each output-channel group's compressed weights to the PEs while they compute
(SCNN paper, Sec. 4.2: a 50-entry weight FIFO per PE, Table 3). When a block arrives depends on
every PE's free rows, which depend on when each PE issues its slots, which depends on its crossbar
stalls and on when its blocks arrived: the PEs are coupled, so this module simulates the whole
computing part of a layer one cycle at a time, vectorized over the PEs
(:func:`simulate_compute`), and states the rules once more as a plain per-PE Python reference
(:func:`naive_compute`) that the tests compare with it — and which, faster on arrays of a few
PEs, :func:`.cycles.layer_cycles` uses there. The accelerator
(:class:`sparseforge.hdl.scnn.ScnnAccelerator`) follows the same rules; cycle 0 is its first
busy cycle, in which group 0 starts.

**Weight FIFO.** Each PE has ``weight_rows`` rows of F entries (``rams.weights / F``) used as a
circular buffer, and a queue of the complete blocks it holds. Beat ``b`` of the weight stream is
a row of block ``(g, c)`` (groups outer, channels inner). PE ``p`` *keeps* the block iff its
count is not zero and ``p``'s activation block ``c`` is not empty; otherwise it drops it and
takes no row. A block of more rows than the FIFO is dropped by every PE (the accelerator raises
its error flag; the host refuses such a layer before).

**Broadcast.** The stream is offered from cycle 0 on. The pending beat is taken in a cycle in
which every PE keeping its block holds fewer than ``weight_rows`` rows at the start of the cycle;
a cycle in which it is not taken is a *weight stall* (``weight_stall_cycles``). A taken beat
adds a row to each keeper at the end of the cycle; the block's last beat also puts the block at
the tail of each keeper's queue, where it is visible from the next cycle.

**Sequencer** of a PE, for group ``g`` started (``group_start``) in cycle ``L``: cycle ``L + 1``
is a *step* without a slot; from ``L + 2`` every cycle in which the pipeline advances is a step
issuing one slot: the next (activation row, weight row) pair of the current channel ``cur``
(activation rows outer, ``⌈nA/I⌉ · ⌈nW/F⌉`` slots), or a bubble (a slot without products) when
``cur`` is empty. In a step in which ``cur`` is free (empty, or issuing its last slot), the queue's
head is taken into ``cur`` when it is a block of ``g``; when the queue has no block of ``g`` and
the broadcast has taken the last beat of group ``g`` (before this cycle), the group ends on the
PE. A slot of the channel's last activation row frees one row of the FIFO (its weight row is read
for the last time) at the end of its cycle.

**Pipeline and crossbar.** A slot issued in cycle ``t`` reaches the queued crossbar
(:mod:`.crossbar`'s rules) in ``t + 2`` and enters it unless a queue it must write is full; then
it and every stage behind it wait (*stall*). The PE *computes* from ``L + 1`` while its sequencer
runs, a slot is in its pipeline or its crossbar queues hold a product.

**No deadlock.** Each block fits the FIFO alone and blocks arrive in order. A PE whose FIFO is
full holds a complete block at its head (a partial block alone fits): if it is of the PE's group,
the PE issues it and frees rows; if not, the PE has finished its group — the broadcast had passed
that group — so every PE's blocks of the group are complete, the barrier comes, and the next
group consumes the head.

**Group timeline.** The barrier ``B`` of a group is the first cycle after ``L`` in which no PE
computes; its PPU is launched in ``X = max(B, X' + T' + 1)`` (``X'``, ``T'``: the previous
group's launch and PPU time) and the next group starts then, ``L_next = X``.
"""

from dataclasses import dataclass, field

import numpy as np

from .crossbar import _winners

__all__ = ["ComputeRun", "pe_blocks", "simulate_compute", "naive_compute", "block_rows",
           "oversized_blocks"]

IDLE, FILL, RUN = 0, 1, 2

#: Stages from the sequencer's issue to the crossbar's input (read, decode).
ISSUE_TO_CROSSBAR = 2


@dataclass
class ComputeRun:
    """What the computing part of a layer does (see the module docstring).

    Attributes
    ----------
    group_start, group_barrier, group_launch : list of int
        Per group: ``L``, ``B`` and ``X``.
    group_end : ndarray (groups, PEs)
        Per group and PE, the first cycle the PE no longer computes.
    stall_cycles, weight_stall_cycles, barrier_cycles, compute_cycles, products, slots : int
        Crossbar stalls (summed over PEs), cycles the broadcast waited, PE-cycles at barriers
        and computing, products accumulated, slots issued (bubbles included), all PEs.
    """

    group_start: list
    group_barrier: list
    group_launch: list
    group_end: np.ndarray = field(repr=False)
    stall_cycles: int = 0
    weight_stall_cycles: int = 0
    barrier_cycles: int = 0
    compute_cycles: int = 0
    products: int = 0
    slots: int = 0


def block_rows(cfg, count):
    """Rows (beats) of a block of ``count`` entries in rows of F: ``max(1, ⌈count / F⌉)``."""
    return max(1, -(-int(count) // cfg.f))


def oversized_blocks(cfg, streams):
    """Weight blocks ``(g, c, rows)`` of more rows than a PE's weight FIFO."""
    return [(g, c, block_rows(cfg, b.count)) for g, group in enumerate(streams.weight_blocks)
            for c, b in enumerate(group) if block_rows(cfg, b.count) > cfg.weight_rows]


def _channel_slots(cfg, wblock, ablock, r, s):
    """Banks of a channel's slots, in issue order: an ``(⌈nA/I⌉·⌈nW/F⌉, F·I)`` array (``A``
    where a lane has no product), activation rows outer."""
    from .cycles import act_parts, bank_of, weight_parts
    F, I, A = cfg.f, cfg.i, cfg.banks  # noqa: E741
    kk, woff, wlive = weight_parts(cfg, wblock, r, s)
    aoff, alive = act_parts(cfg, ablock)
    nw, na = -(-len(kk) // F), -(-len(aoff) // I)

    def pad(x, rows, lanes):
        out = np.zeros(rows * lanes, dtype=np.int64 if x.dtype != bool else bool)
        out[:len(x)] = x
        return out.reshape(rows, lanes)
    kk, woff, wlive = pad(kk, nw, F), pad(woff, nw, F), pad(wlive, nw, F)
    aoff, alive = pad(aoff, na, I), pad(alive, na, I)
    pos = woff[None, :, :, None] + aoff[:, None, None, :]
    banks = bank_of(cfg, kk[None, :, :, None], pos)
    live = wlive[None, :, :, None] & alive[:, None, None, :]
    return np.where(live, banks, A).reshape(na * nw, F * I)


@dataclass
class _Kept:
    """A block a PE keeps: its number in stream order, group, FIFO rows and slots."""

    number: int
    g: int
    rows: int
    act_rows: int
    slots: np.ndarray


def pe_blocks(cfg, streams):
    """The blocks each PE keeps, in stream order: a list (PE) of lists of :class:`_Kept`."""
    layer = streams.layer
    fits = cfg.weight_rows
    out = []
    for ablocks in streams.act_blocks:
        kept = []
        number = 0
        for g, group in enumerate(streams.weight_blocks):
            for c, wb in enumerate(group):
                rows = block_rows(cfg, wb.count)
                if wb.count and ablocks[c].count and rows <= fits:
                    slots = _channel_slots(cfg, wb, ablocks[c], layer.r, layer.s)
                    kept.append(_Kept(number, g, rows, -(-ablocks[c].count // cfg.i), slots))
                number += 1
        out.append(kept)
    return out


def _beats(cfg, streams):
    """Per beat of the weight stream: its block's number, group and whether it ends the block."""
    number, group, last = [], [], []
    n = 0
    for g, blocks in enumerate(streams.weight_blocks):
        for b in blocks:
            rows = block_rows(cfg, b.count)
            number += [n] * rows
            group += [g] * rows
            last += [False] * (rows - 1) + [True]
            n += 1
    return np.array(number, dtype=np.int64), np.array(group, dtype=np.int64), \
        np.array(last, dtype=bool)


def _ppu_times(cfg, streams):
    from .cycles import layer_group_sizes, ppu_cycles
    layer = streams.layer
    return [ppu_cycles(cfg, kg, layer.r, layer.s) for kg in layer_group_sizes(cfg, layer)]


def simulate_compute(cfg, streams, *, kept=None):
    """The computing part of a layer (the module docstring's rules), vectorized over PEs.

    ``kept``: :func:`pe_blocks` when the caller has it. Returns a :class:`ComputeRun`.
    """
    kept = pe_blocks(cfg, streams) if kept is None else kept
    P, N, A, depth = cfg.pes, cfg.f * cfg.i, cfg.banks, cfg.queue_depth
    rows_max = cfg.weight_rows
    ppu = _ppu_times(cfg, streams)
    groups = len(ppu)
    beat_number, beat_group, beat_last = _beats(cfg, streams)
    nbeats = len(beat_number)
    nblocks = sum(len(group) for group in streams.weight_blocks)

    # Per PE: its kept blocks padded to the longest list, its slots back to back.
    most = max(1, max(len(k) for k in kept))
    kg = np.full((P, most + 1), groups, dtype=np.int64)        # group; past the end: none
    kn = np.zeros((P, most + 1), dtype=np.int64)               # slots
    kbase = np.zeros((P, most + 1), dtype=np.int64)            # first slot in the flat array
    kfree = np.zeros((P, most + 1), dtype=np.int64)            # first slot that frees a row
    keep = np.zeros((nblocks + 1, P), dtype=bool)
    total = max(1, max(sum(len(b.slots) for b in k) for k in kept))
    flat = np.full((P, total + 1, N), A, dtype=np.int64)
    products = 0
    for p, blocks in enumerate(kept):
        base = 0
        for n, b in enumerate(blocks):
            kg[p, n], kn[p, n], kbase[p, n] = b.g, len(b.slots), base
            kfree[p, n] = (b.act_rows - 1) * b.rows
            keep[b.number, p] = True
            flat[p, base:base + len(b.slots)] = b.slots
            products += int((b.slots != A).sum())
            base += len(b.slots)

    pes = np.arange(P)
    seq = np.full(P, IDLE)
    gp = np.zeros(P, dtype=np.int64)
    cur_valid = np.zeros(P, dtype=bool)
    cur = np.zeros(P, dtype=np.int64)          # index of cur's block in the PE's list
    k = np.zeros(P, dtype=np.int64)            # next slot of cur
    head = np.zeros(P, dtype=np.int64)         # queue: blocks head … tail − 1 of the list
    tail = np.zeros(P, dtype=np.int64)
    held = np.zeros(P, dtype=np.int64)
    s1_live = np.zeros(P, dtype=bool)
    s1_valid = np.zeros(P, dtype=bool)
    s1_slot = np.zeros(P, dtype=np.int64)
    s2_live = np.zeros(P, dtype=bool)
    s2_valid = np.zeros(P, dtype=bool)
    s2_slot = np.zeros(P, dtype=np.int64)
    s3_live = np.zeros(P, dtype=bool)
    queue = np.full((P, N, depth + 1), A, dtype=np.int64)
    qfill = np.zeros((P, N), dtype=np.int64)
    lane_key = N - 1 - np.arange(N)
    big = N * (depth + 1)
    cols = np.arange(depth)

    run = ComputeRun([], [], [], np.zeros((groups, P), dtype=np.int64))
    b = 0
    g_now, start, computing_phase = 0, 0, False
    launch_prev = None
    end = np.zeros(P, dtype=np.int64)
    t = 0
    while True:
        group_start = t == start and not computing_phase
        computing = (seq != IDLE) | s1_live | s2_live | s3_live | (qfill.sum(axis=1) > 0)
        if computing_phase:
            newly = ~computing & (end < 0)
            end[newly] = t
            if not computing.any():
                if len(run.group_barrier) == g_now:
                    run.group_barrier.append(t)
                barrier = run.group_barrier[g_now]
                free_at = barrier if launch_prev is None else launch_prev + ppu[g_now - 1] + 1
                if t >= free_at:
                    run.group_launch.append(t)
                    run.group_end[g_now] = end
                    launch_prev = t
                    computing_phase = False
                    if g_now + 1 == groups:
                        break
                    g_now += 1
                    start = t
                    group_start = True
            else:
                run.barrier_cycles += int((~computing).sum())
        run.compute_cycles += int(computing.sum())

        # Crossbar: grants over the queues' contents, then the slot at its input.
        qhead = queue[:, :, 0]
        key = qfill * N + lane_key
        win1 = _winners(qhead, key, A, big)
        taken = np.zeros((P, A + 1), dtype=bool)
        r1, l1 = np.nonzero(win1)
        taken[r1, qhead[r1, l1]] = True
        second = queue[:, :, 1]
        ask2 = (second != A) & ~win1 & ~taken[pes[:, None], second]
        win2 = _winners(np.where(ask2, second, A), key, A, big)
        incoming = np.where(s2_valid[:, None], flat[pes, s2_slot], A)
        need = incoming != A
        blocked = (need & (qfill >= depth)).any(axis=1)
        advance = ~blocked
        run.stall_cycles += int((s2_valid & blocked).sum())
        gone = win1 | win2
        drop = np.where(win1, 0, np.where(win2, 1, depth))
        shift = cols[None, None, :] + (cols[None, None, :] >= drop[:, :, None])
        queue[:, :, :depth] = np.take_along_axis(queue, shift, axis=2)
        qfill -= gone
        put = (s2_valid & advance)[:, None] & need
        pr, pl = np.nonzero(put)
        queue[pr, pl, qfill[pr, pl]] = incoming[pr, pl]
        qfill += put

        # Sequencer step (start-of-cycle queue and broadcast position).
        bgroup = beat_group[b] if b < nbeats else groups
        head_ok = (head < tail) & (kg[pes, head] == gp)
        past = bgroup > gp
        run_step = (seq == RUN) & advance
        step = (seq == FILL) | run_step
        issue_valid = run_step & cur_valid
        slot_index = kbase[pes, cur] + k
        end_ch = issue_valid & (k == kn[pes, cur] - 1)
        free = issue_valid & (k >= kfree[pes, cur])
        cur_free = ~cur_valid | end_ch
        take = step & cur_free & head_ok
        done = step & cur_free & ~head_ok & past
        run.slots += int(run_step.sum())

        # Broadcast: the pending beat, if every keeper has a free row.
        write = np.zeros(P, dtype=bool)
        push = np.zeros(P, dtype=bool)
        if b < nbeats:
            keepers = keep[beat_number[b]]
            if (held[keepers] < rows_max).all():
                write = keepers
                push = keepers & beat_last[b]
                b += 1
            else:
                run.weight_stall_cycles += 1

        # End of the cycle: registers.
        s3_live = np.where(advance, s2_live, s3_live)
        s2_live = np.where(advance, s1_live, s2_live)
        s2_valid = np.where(advance, s1_valid, s2_valid)
        s2_slot = np.where(advance, s1_slot, s2_slot)
        s1_live = np.where(advance, seq == RUN, s1_live)
        s1_valid = np.where(advance, issue_valid, s1_valid)
        s1_slot = np.where(advance, slot_index, s1_slot)
        nxt = np.where(step, np.where(done, IDLE, RUN), seq)
        cur = np.where(take, head, cur)
        k = np.where(take, 0, np.where(issue_valid & ~end_ch, k + 1, k))
        cur_valid = np.where(take, True, np.where(end_ch, False, cur_valid))
        head = head + take
        tail = tail + push
        held = held + write - free
        if group_start:
            idle = seq == IDLE
            nxt = np.where(idle, FILL, nxt)
            gp = np.where(idle, g_now, gp)
            cur_valid = np.where(idle, False, cur_valid)
            run.group_start.append(t)
            computing_phase = True
            end = np.full(P, -1, dtype=np.int64)
        seq = nxt
        t += 1
    run.products = products
    return run


# -- the plain reference ------------------------------------------------------------------------

class _NaiveCrossbar:
    """The crossbar rules of :mod:`.crossbar` on one PE, product by product."""

    def __init__(self, lanes, depth):
        self.queues = [[] for _ in range(lanes)]
        self.depth = depth

    def busy(self):
        return any(self.queues)

    def step(self, slot):
        """One cycle with ``slot`` (a list of its products' ``(lane, bank)``, or None) at the
        input; returns whether it entered (a slot without products always does)."""
        taken, won = {}, {}
        heads = [(q, entries[0]) for q, entries in enumerate(self.queues) if entries]
        if heads and max(len(self.queues[q]) for q, _ in heads) == 1 and \
                len({bank for _, bank in heads}) == len(heads):
            # No queue holds two entries and no two heads share a bank: every head is granted
            # in round 1 and round 2 has no request (the rules below give the same).
            won = dict.fromkeys((q for q, _ in heads), 0)
        for depth_index in (0, 1) if len(won) != len(heads) else ():
            asks = {}
            for q, entries in enumerate(self.queues):
                if q in won or len(entries) <= depth_index:
                    continue
                bank = entries[depth_index]
                if depth_index == 1 and bank in taken:
                    continue
                asks.setdefault(bank, []).append(q)
            for bank, qs in asks.items():
                best = max(qs, key=lambda q: (len(self.queues[q]), -q))
                taken[bank] = best
                won[best] = depth_index
        enter = slot is None or all(len(self.queues[q]) < self.depth for q, _ in slot)
        for q, index in won.items():
            self.queues[q].pop(index)
        if slot is not None and enter:
            for q, bank in slot:
                self.queues[q].append(bank)
        return enter


def naive_compute(cfg, streams):
    """The module docstring's rules one PE and one cycle at a time, in plain Python: a reference
    for :func:`simulate_compute`. Returns a :class:`ComputeRun`."""
    kept = pe_blocks(cfg, streams)
    A = cfg.banks
    ppu = _ppu_times(cfg, streams)
    groups = len(ppu)
    beat_number, beat_group, beat_last = (list(x) for x in _beats(cfg, streams))
    keepers = {}
    for p, blocks in enumerate(kept):
        for blk in blocks:
            keepers.setdefault(blk.number, []).append(p)

    class Pe:
        pass
    pes = []
    for p in range(cfg.pes):
        pe = Pe()
        pe.blocks = kept[p]
        # Each slot as the list of its products' (lane, bank).
        pe.products = [[[(q, int(bank)) for q, bank in enumerate(row) if bank != A]
                        for row in blk.slots] for blk in kept[p]]
        pe.seq, pe.g, pe.cur, pe.k = IDLE, 0, None, 0
        pe.queue = []            # indices into pe.blocks
        pe.arrived = 0           # blocks of pe.blocks complete so far
        pe.held = 0
        pe.pipe = [None, None]   # stages s1, s2: None or (live, slot banks or None)
        pe.s3_live = False
        pe.xbar = _NaiveCrossbar(cfg.f * cfg.i, cfg.queue_depth)
        pes.append(pe)

    run = ComputeRun([], [], [], np.zeros((groups, cfg.pes), dtype=np.int64))
    beat = 0
    g_now, phase_computing, launch_prev = 0, False, None
    t = 0
    starting = True
    while True:
        computing = [pe.seq != IDLE or any(s is not None and s[0] for s in pe.pipe) or
                     pe.s3_live or pe.xbar.busy() for pe in pes]
        if phase_computing:
            for p, c in enumerate(computing):
                if not c and run.group_end[g_now, p] < 0:
                    run.group_end[g_now, p] = t
            if not any(computing):
                if len(run.group_barrier) == g_now:
                    run.group_barrier.append(t)
                barrier = run.group_barrier[g_now]
                free_at = barrier if launch_prev is None else launch_prev + ppu[g_now - 1] + 1
                if t >= free_at:
                    run.group_launch.append(t)
                    launch_prev = t
                    phase_computing = False
                    if g_now + 1 == groups:
                        break
                    g_now += 1
                    starting = True
            else:
                run.barrier_cycles += sum(not c for c in computing)
        run.compute_cycles += sum(computing)
        bgroup = beat_group[beat] if beat < len(beat_number) else groups
        # Broadcast decision on the rows held at the start of the cycle.
        take_beat = False
        if beat < len(beat_number):
            who = keepers.get(beat_number[beat], [])
            take_beat = all(pes[p].held < cfg.weight_rows for p in who)
            if not take_beat:
                run.weight_stall_cycles += 1
        for pe in pes:
            s2 = pe.pipe[1]
            advance = pe.xbar.step(None if s2 is None else s2[1])
            if not advance:
                run.stall_cycles += 1
            issued = None
            freed = False
            if pe.seq == FILL or (pe.seq == RUN and advance):
                if pe.seq == RUN:
                    run.slots += 1
                    if pe.cur is not None:
                        blk = pe.blocks[pe.cur]
                        issued = (True, pe.products[pe.cur][pe.k])
                        freed = pe.k >= (blk.act_rows - 1) * blk.rows
                        last = pe.k == len(blk.slots) - 1
                        pe.k += 1
                        if last:
                            pe.cur = None
                    else:
                        issued = (True, None)
                if pe.cur is None:
                    if pe.queue and pe.blocks[pe.queue[0]].g == pe.g:
                        pe.cur, pe.k = pe.queue.pop(0), 0
                        pe.seq = RUN
                    elif bgroup > pe.g:
                        pe.seq = IDLE
                    else:
                        pe.seq = RUN
                else:
                    pe.seq = RUN
            if advance:
                pe.s3_live = pe.pipe[1] is not None and pe.pipe[1][0]
                pe.pipe = [issued, pe.pipe[0]]
            if freed:
                pe.held -= 1
        if take_beat:
            for p in keepers.get(beat_number[beat], []):
                pes[p].held += 1
                if beat_last[beat]:
                    pes[p].queue.append(pes[p].arrived)
                    pes[p].arrived += 1
            beat += 1
        if starting:
            for pe in pes:
                if pe.seq == IDLE:
                    pe.seq, pe.g, pe.cur = FILL, g_now, None
            run.group_start.append(t)
            run.group_end[g_now] = -1
            phase_computing = True
            starting = False
        t += 1
    for blocks in kept:
        run.products += sum(int((b.slots != A).sum()) for b in blocks)
    return run
