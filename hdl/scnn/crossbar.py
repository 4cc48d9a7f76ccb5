"""Queued scatter crossbar: F·I products to A accumulator banks (SCNN paper, Sec. 4.2).

"The F×I products are delivered to an array of A accumulator banks, indexed by the output
coordinates. To reduce contention among products that hash to the same accumulator bank, A is set
to be larger than F×I." Here each multiplier output feeds a short queue, and each bank has an
arbiter taking one product per cycle, so one vector pair's bank conflicts overlap the next pairs'
products; the multiplier array stalls only when a queue it must write is full. The timing rules
are those of :mod:`sparseforge.sim.scnn.crossbar`, which models them exactly.
"""

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .layouts import request_layout

__all__ = ["ProductQueue", "BankArbiter", "QueuedCrossbar", "bank_port_layout",
           "products_layout"]


def products_layout(cfg):
    """The products of one vector pair: ``[f·I + i]`` requests, each with its ``valid`` bit."""
    fields = {name: field.shape for name, field in request_layout(cfg)}
    return data.ArrayLayout(data.StructLayout({"valid": 1, **fields}),
                            cfg.f * cfg.i)


def bank_port_layout(cfg):
    """What a bank receives in a cycle: ``en``, the ``entry`` to update and the ``addend``."""
    req = request_layout(cfg)
    return data.StructLayout({"en": 1, "entry": req["entry"].shape,
                              "addend": req["product"].shape})


class ProductQueue(wiring.Component):
    """A queue of ``depth`` requests whose first two entries can leave: a shift register.

    In a cycle, ``drop`` (0: none, 1: the head, 2: the second entry) removes an entry and the ones
    behind it move up; ``push`` appends ``data`` after the remaining ones. The caller never pushes
    into a full queue (``fill == depth`` at the start of the cycle) nor drops an absent entry.

    Attributes
    ----------
    push : In(1)
    data : In(request_layout(cfg))
    drop : In(range(3))
    head, second : Out(request_layout(cfg))
        Entries 0 and 1 (meaningful when ``fill`` exceeds 0 and 1).
    fill : Out(range(depth + 1))
        Entries held.
    """

    def __init__(self, cfg, depth):
        if not isinstance(depth, int) or depth < 2:
            raise ValueError(f"Queue depth must be an integer of at least 2, not {depth!r}")
        self._layout = request_layout(cfg)
        self._depth = depth
        super().__init__({
            "push": In(1),
            "data": In(self._layout),
            "drop": In(range(3)),
            "head": Out(self._layout),
            "second": Out(self._layout),
            "fill": Out(range(depth + 1)),
        })

    def elaborate(self, platform):
        m = Module()
        depth = self._depth
        entries = [Signal(self._layout, name=f"entry{n}") for n in range(depth)]
        m.d.comb += [self.head.eq(entries[0]), self.second.eq(entries[1])]
        gone = Signal()
        m.d.comb += gone.eq(self.drop != 0)
        after = Signal.like(self.fill)                  # entries left once one is dropped
        m.d.comb += after.eq(self.fill - gone)
        for n in range(depth):
            # Entry n moves up when an entry at or before it leaves (drop = 1 for n ≥ 0,
            # drop = 2 for n ≥ 1); the pushed request lands at position `after`.
            moves = (self.drop == 1) | ((self.drop == 2) & (n >= 1))
            behind = entries[n + 1] if n + 1 < depth else entries[n]
            shifted = Mux(moves, behind, entries[n])
            m.d.sync += entries[n].eq(Mux(self.push & (after == n), self.data, shifted))
        m.d.sync += self.fill.eq(after + self.push)
        return m


class BankArbiter(wiring.Component):
    """One arbitration round of every bank: combinational.

    Each of the ``n`` queues may request one bank (``want``, ``bank``). Every requested bank
    grants the request of the queue with the largest ``fill``, ties to the lowest-numbered queue.

    Attributes
    ----------
    want : In(n)
    bank : In(ArrayLayout(range(banks), n))
    fill : In(ArrayLayout(range(depth + 1), n))
    grant : Out(ArrayLayout(n, banks))
        Per bank, the granted queue, one-hot (zero when no queue asks for it).
    won : Out(n)
        Queues granted (the union of ``grant``).
    """

    def __init__(self, n, banks, depth):
        self._n, self._banks, self._depth = n, banks, depth
        super().__init__({
            "want": In(n),
            "bank": In(data.ArrayLayout(range(max(2, banks)), n)),
            "fill": In(data.ArrayLayout(range(depth + 1), n)),
            "grant": Out(data.ArrayLayout(n, banks)),
            "won": Out(n),
        })

    def elaborate(self, platform):
        m = Module()
        n, depth = self._n, self._depth
        # Queues by fill level, fullest first: bit (depth − level)·n + q of the priority vector.
        levels = [Signal(n, name=f"level{lvl}") for lvl in range(depth, 0, -1)]
        for lvl, mask in zip(range(depth, 0, -1), levels):
            m.d.comb += mask.eq(Cat(self.fill[q] == lvl for q in range(n)))
        won = 0
        for b in range(self._banks):
            asks = Signal(n, name=f"asks{b}")
            m.d.comb += asks.eq(Cat(self.want[q] & (self.bank[q] == b) for q in range(n)))
            order = Signal(n * depth, name=f"order{b}")
            m.d.comb += order.eq(Cat(asks & mask for mask in levels))
            first = Signal(n * depth, name=f"first{b}")
            m.d.comb += first.eq(order & (~order + 1))         # the lowest set bit
            grant = 0
            for lvl in range(depth):
                grant = grant | first[lvl * n:(lvl + 1) * n]
            m.d.comb += self.grant[b].eq(grant)
            won = won | self.grant[b]
        m.d.comb += self.won.eq(won)
        return m


class QueuedCrossbar(wiring.Component):
    """Route the products of vector pairs to their banks through a queue per multiplier.

    Behind each of the ``N = F·I`` products of a vector pair sits a :class:`ProductQueue` of
    ``queue_depth`` entries. A pair enters in the cycle it is offered unless a queue one of its
    valid products must enter is full; then ``i.ready`` is low (the multiplier array stalls).
    Every cycle, two :class:`BankArbiter` rounds match queued products to banks: round 1 over the
    queues' heads, round 2 over the second entries of queues not granted in round 1, for banks
    round 1 left free; each bank takes one product per cycle. Products of one queue may be
    accumulated out of order (sums modulo ``2**acc_width`` do not depend on it). Every product is
    delivered exactly once.

    Latency: a product entering in cycle t is delivered in cycle t + 1 at the earliest.

    Attributes
    ----------
    i : In(stream.Signature(products_layout(cfg)))
        Vector pairs; a product with ``valid`` low (a zero operand, or a lane past the block) is
        not delivered. ``i.ready`` depends on the queues' fill and the pair's ``valid`` bits.
    banks : Out(ArrayLayout(bank_port_layout(cfg), A))
        Per bank: ``en`` when a product is delivered this cycle, its ``entry`` and ``addend``.
    stall : Out(1)
        A pair is offered and cannot enter this cycle.
    granted : Out(range(F·I + 1))
        Products delivered this cycle.
    busy : Out(1)
        Some queue holds a product not yet delivered.
    """

    def __init__(self, cfg):
        self._cfg = cfg
        super().__init__({
            "i": In(stream.Signature(products_layout(cfg))),
            "banks": Out(data.ArrayLayout(bank_port_layout(cfg), cfg.banks)),
            "stall": Out(1),
            "granted": Out(range(cfg.f * cfg.i + 1)),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        n, depth, banks = cfg.f * cfg.i, cfg.queue_depth, cfg.banks
        queues = [ProductQueue(cfg, depth) for _ in range(n)]
        for q, queue in enumerate(queues):
            m.submodules[f"queue{q}"] = queue
        m.submodules.round1 = round1 = BankArbiter(n, banks, depth)
        m.submodules.round2 = round2 = BankArbiter(n, banks, depth)

        taken = Signal(banks)                              # banks granted in round 1
        m.d.comb += taken.eq(Cat(round1.grant[b].any() for b in range(banks)))
        for q, queue in enumerate(queues):
            second_bank = queue.second.bank
            m.d.comb += [
                round1.want[q].eq(queue.fill != 0),
                round1.bank[q].eq(queue.head.bank),
                round1.fill[q].eq(queue.fill),
                round2.want[q].eq((queue.fill >= 2) & ~round1.won[q] &
                                  ~taken.bit_select(second_bank, 1)),
                round2.bank[q].eq(second_bank),
                round2.fill[q].eq(queue.fill),
                queue.drop.eq(Mux(round1.won[q], 1, Mux(round2.won[q], 2, 0))),
            ]

        # Each bank: the granted entry, by AND-OR over the one-hot grants.
        for b in range(banks):
            port = self.banks[b]
            entry, addend = 0, 0
            for q, queue in enumerate(queues):
                g1, g2 = round1.grant[b][q], round2.grant[b][q]
                entry = entry | Mux(g1, queue.head.entry, 0) | Mux(g2, queue.second.entry, 0)
                addend = addend | (Mux(g1, queue.head.product, 0) |
                                   Mux(g2, queue.second.product, 0))
            m.d.comb += [
                port.en.eq(round1.grant[b].any() | round2.grant[b].any()),
                port.entry.eq(entry),
                port.addend.eq(addend),
            ]

        blocked = Signal()
        m.d.comb += blocked.eq(Cat(self.i.payload[q].valid & (queue.fill == depth)
                                   for q, queue in enumerate(queues)).any())
        won = Signal(n)
        m.d.comb += [
            won.eq(round1.won | round2.won),
            self.i.ready.eq(~blocked),
            self.stall.eq(self.i.valid & blocked),
            self.granted.eq(sum(won[q] for q in range(n))),
            self.busy.eq(Cat(queue.fill != 0 for queue in queues).any()),
        ]
        for q, queue in enumerate(queues):
            req = self.i.payload[q]
            m.d.comb += [
                queue.push.eq(self.i.valid & ~blocked & req.valid),
                queue.data.bank.eq(req.bank),
                queue.data.entry.eq(req.entry),
                queue.data.product.eq(req.product),
            ]
        return m
