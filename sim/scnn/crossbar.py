"""Timing of SCNN's queued scatter crossbar (SCNN paper, Sec. 4.2, "Accumulation"), exact.

The crossbar (:class:`sparseforge.hdl.scnn.crossbar.QueuedCrossbar`) has a queue of ``depth``
entries behind each of the ``N = F·I`` multipliers and one arbiter per accumulator bank. Its
timing depends only on which bank each product goes to, and follows these rules, cycle by cycle:

* **Vector pairs.** The pairs (*slots*) of a group reach the crossbar one per cycle, in issue
  order, the first in cycle 0. A slot holds up to N products, product ``p = f·I + i`` for queue
  ``p``. It enters in the cycle it arrives if no queue it must write is full (holds ``depth``
  entries at the start of the cycle); otherwise it waits — the multiplier array stalls — and
  the next slot arrives the cycle after it entered. A slot without products enters at once.
* **Arbitration**, in two rounds per cycle over the queues' contents at the start of the cycle.
  Round 1: every non-empty queue requests its head's bank. Round 2: every queue with at least
  two entries that was not granted in round 1 requests its second entry's bank, if no round-1
  grant took that bank. In each round each requested bank grants one request: the one of the
  queue holding most entries, ties to the lowest-numbered queue. A granted entry leaves its
  queue (products of one queue may so be accumulated out of order; their sums are the same).
* **Entering and leaving** happen at the end of the cycle; an entry is not granted in the cycle
  it enters.

Every product is granted exactly once; a bank takes at most one per cycle.
"""

import numpy as np

__all__ = ["slot_conflicts", "crossbar_times", "naive_crossbar"]


def slot_conflicts(slots, banks):
    """Whether each slot (rows of an ``(n, N)`` array, ``banks`` for "no product") sends two
    products to one bank."""
    s = np.sort(slots, axis=-1)
    return ((s[..., 1:] == s[..., :-1]) & (s[..., 1:] != banks)).any(axis=-1)


def crossbar_times(sims, banks, depth, *, chunk_slots=1 << 21):
    """Crossbar timing of independent slot sequences (the rules of the module docstring).

    Parameters
    ----------
    sims : list of arrays of shape (n_slots, N)
        The bank of each slot's product ``p`` (``banks`` where there is none); one array per
        group and PE. Each starts from empty queues in cycle 0.
    banks : int
        Accumulator banks A.
    depth : int
        Entries of each queue (≥ 2).

    Returns
    -------
    push_last, pop_last : arrays of int
        Per sequence, the cycle in which its last slot entered (−1 when it has none) and the last
        cycle in which a product left a queue (−1 when it has no product).
    """
    if depth < 2:
        raise ValueError(f"Queue depth must be at least 2, not {depth!r}")
    count = len(sims)
    push_last = np.full(count, -1, dtype=np.int64)
    pop_last = np.full(count, -1, dtype=np.int64)
    hard = []
    for n, slots in enumerate(sims):
        if not len(slots):
            continue
        push_last[n] = len(slots) - 1
        has = (slots != banks).any(axis=1)
        if not has.any():
            continue
        if slot_conflicts(slots, banks).any():
            hard.append(n)
        else:
            # No slot sends two products to a bank: every queue holds at most the previous slot's
            # product, all heads are in distinct banks and are granted the cycle after entering.
            pop_last[n] = int(np.flatnonzero(has)[-1]) + 1
    # Simulate the others in batches of bounded size.
    start = 0
    while start < len(hard):
        stop, total = start, 0
        while stop < len(hard) and (stop == start or total + len(sims[hard[stop]]) <= chunk_slots):
            total += len(sims[hard[stop]])
            stop += 1
        batch = hard[start:stop]
        p_last, q_last = _simulate([sims[n] for n in batch], banks, depth)
        push_last[batch] = p_last
        pop_last[batch] = q_last
        start = stop
    return push_last, pop_last


def _winners(requests, key, banks, big):
    """Grants of one arbitration round: ``requests`` (b, N) banks (``banks`` = none), ``key``
    (b, N) priorities (unique per row, higher wins). Returns a (b, N) bool array."""
    value = requests.astype(np.int64) * big + key
    order = np.sort(value, axis=1)
    bank = order // big
    last = np.ones_like(bank, dtype=bool)
    last[:, :-1] = bank[:, :-1] != bank[:, 1:]
    won = last & (bank < banks)
    rows, cols = np.nonzero(won)
    lanes = requests.shape[1] - 1 - (order[rows, cols] % big) % requests.shape[1]
    grant = np.zeros(requests.shape, dtype=bool)
    grant[rows, lanes] = True
    return grant


def _simulate(sims, banks, depth):
    """Cycle-by-cycle simulation of a batch of slot sequences, vectorized over the batch."""
    count = len(sims)
    lanes = sims[0].shape[1]
    lengths = np.array([len(s) for s in sims], dtype=np.int64)
    dtype = np.uint8 if banks < 255 else np.uint16
    slots = np.full((count, int(lengths.max()) + 1, lanes), banks, dtype=dtype)
    for n, s in enumerate(sims):
        slots[n, :len(s)] = s
    push_last = np.full(count, -1, dtype=np.int64)
    pop_last = np.full(count, -1, dtype=np.int64)

    ids = np.arange(count)                                  # live sequences
    queue = np.full((count, lanes, depth + 1), banks, dtype=dtype)   # column `depth` stays empty
    fill = np.zeros((count, lanes), dtype=np.int64)
    nxt = np.zeros(count, dtype=np.int64)
    lane_key = lanes - 1 - np.arange(lanes)                 # ties: lowest-numbered queue wins
    big = lanes * (depth + 1)
    cols = np.arange(depth)
    t = 0
    while ids.size:
        b = ids.size
        rows = np.arange(b)
        key = fill * lanes + lane_key
        head = queue[:, :, 0]
        win1 = _winners(head, key, banks, big)
        taken = np.zeros((b, banks + 1), dtype=bool)
        r1, l1 = np.nonzero(win1)
        taken[r1, head[r1, l1]] = True
        second = queue[:, :, 1]
        ask2 = (second != banks) & ~win1 & ~taken[rows[:, None], second]
        win2 = _winners(np.where(ask2, second, banks), key, banks, big)
        # A slot enters when none of the queues it must write is full.
        cur = slots[ids, np.minimum(nxt, lengths[ids])]
        need = cur != banks
        enter = (nxt < lengths[ids]) & ~(need & (fill >= depth)).any(axis=1)
        # Granted entries leave (shifting those behind them), then the slot's products enter.
        gone = win1 | win2
        drop = np.where(win1, 0, np.where(win2, 1, depth))
        shift = cols[None, None, :] + (cols[None, None, :] >= drop[:, :, None])
        queue[:, :, :depth] = np.take_along_axis(queue, shift, axis=2)
        fill -= gone
        put = enter[:, None] & need
        pr, pl = np.nonzero(put)
        queue[pr, pl, fill[pr, pl]] = cur[pr, pl]
        fill += put
        push_last[ids[enter]] = t
        pop_last[ids[gone.any(axis=1)]] = t
        nxt += enter
        done = (nxt >= lengths[ids]) & (fill.sum(axis=1) == 0)
        if done.any():
            keep = ~done
            ids, queue, fill, nxt = ids[keep], queue[keep], fill[keep], nxt[keep]
        t += 1
    return push_last, pop_last


def naive_crossbar(slots, banks, depth):
    """The module docstring's rules applied one product at a time, in plain Python: a reference
    for :func:`crossbar_times` and the RTL. ``slots`` is a list of slots, each a list of
    ``(queue, bank)`` products. Returns ``(push_last, pop_last, grants)`` with ``grants`` a list
    per cycle of ``(bank, queue, index of the slot the product came from)``."""
    lanes = 1 + max((q for slot in slots for q, _ in slot), default=0)
    queues = {}
    t, k = 0, 0
    push_last = pop_last = -1
    log = []
    while k < len(slots) or any(queues.values()):
        taken, won = {}, {}
        for depth_index in (0, 1):
            asks = {}
            for q in range(lanes):
                entries = queues.get(q, [])
                if q in won or len(entries) <= depth_index:
                    continue
                bank = entries[depth_index][0]
                if depth_index == 1 and bank in taken:
                    continue
                asks.setdefault(bank, []).append(q)
            for bank, qs in asks.items():
                best = max(qs, key=lambda q: (len(queues[q]), -q))
                taken[bank] = best
                won[best] = depth_index
        if k < len(slots):
            if all(len(queues.get(q, [])) < depth for q, _ in slots[k]):
                for q, bank in slots[k]:
                    queues.setdefault(q, []).append((bank, k))
                push_last = t
                k += 1
        cycle = []
        for q, index in sorted(won.items()):
            bank, origin = queues[q].pop(index)
            cycle.append((bank, q, origin))
            pop_last = t
        log.append(sorted(cycle))
        t += 1
    return push_last, pop_last, log
