"""Bounded proofs that SCNN's scatter crossbar and accumulator banks never drop or double-count
a product (SymbiYosys + Z3 through :func:`sparseforge.gen.formal.check_component`).

Each property is checked on the real block, elaborated small, and on a deliberately broken
variant of it (a mutant, defined here) that the check must catch.

* Crossbar (F·I = 2 products a pair, 2 banks, queues of 2): the "watched" product is the one
  whose value equals a free constant ``tag`` (the environment sends at most one such product); it
  reaches its own bank, with its entry, at most once, and exactly once by the time every queue
  is empty. BMC depth 5 (cycles from reset; the mutant fails in cycle 2).
* Accumulator banks (2 banks of 4 entries, both sets): a shadow of one watched accumulator of
  each set — cleared by the sweep after reset, added to by every delivery to it, overwritten by
  the post-processor — equals what the post-processor reads of it. BMC depth 6 (the clearing
  sweep takes the first 4 cycles; the mutant fails in cycle 5).

Values are 4 bits wide (acc_width 4) to keep the solver fast; nothing in either block depends on
the width but the adder.
"""

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In
from amaranth.hdl import Assert, Assume

from sparseforge.gen.config import parse_config
from sparseforge.gen.formal import assume_constant, assume_no_reset, check_component
from sparseforge.hdl.scnn.accumulators import AccumulatorBanks
from sparseforge.hdl.scnn.crossbar import QueuedCrossbar, products_layout

CROSSBAR_DEPTH = 5
ACCUMULATOR_DEPTH = 6


def small_cfg():
    return parse_config({"arch": "scnn", "pes": {"x": 1, "y": 1},
                         "pe": {"f": 1, "i": 2, "banks": 2, "bank_entries": 4, "queue_depth": 2},
                         "kc": 2, "tile": {"w": 2, "h": 2}, "kernel_max": 1,
                         "widths": {"act": 2, "weight": 2, "acc": 4},
                         "rams": {"iaram": 8, "oaram": 8, "weights": 4, "out_channels": 4}})


# -- mutants --------------------------------------------------------------------------------------

class CrossbarDroppingOnCollision(QueuedCrossbar):
    """Mutant: when two queues' heads collide on a bank, the loser's head is removed from its
    queue as if it had been delivered (a product lost)."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        n = self._cfg.f * self._cfg.i
        round1, round2 = m.submodules.round1, m.submodules.round2
        for q in range(n):
            queue = m.submodules[f"queue{q}"]
            contested = Cat(round1.grant[b].any() for b in range(self._cfg.banks))
            lost = round1.want[q] & ~round1.won[q] & contested.bit_select(queue.head.bank, 1)
            m.d.comb += queue.drop.eq(Mux(round1.won[q] | lost, 1, Mux(round2.won[q], 2, 0)))
        return m


class BanksUpdatingBothSets(AccumulatorBanks):
    """Mutant: a delivery to bank 0 is also added into the post-processor's set (counted
    twice)."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        ppu_set = m.submodules.set1
        with m.If(~self.acc_set & self.acc[0].en & self.ready):
            m.d.comb += [ppu_set.w[0].en.eq(1), ppu_set.w[0].addr.eq(self.acc[0].entry),
                         ppu_set.w[0].data.eq(ppu_set.r[0].data + self.acc[0].addend)]
        return m


# -- the crossbar ---------------------------------------------------------------------------------

class CrossbarConservation(wiring.Component):
    """The watched product (value ``tag``) is delivered once, to its bank and entry."""

    def __init__(self, dut):
        self.dut = dut
        cfg = dut._cfg
        super().__init__({"valid": In(1), "payload": In(products_layout(cfg)),
                          "tag": In(products_layout(cfg).elem_shape["product"].shape)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = dut = self.dut
        assume_no_reset(m)
        assume_constant(m, self.tag)
        m.d.comb += [dut.i.valid.eq(self.valid), dut.i.payload.eq(self.payload)]

        lanes = len(dut.i.payload)
        taken = dut.i.valid & dut.i.ready
        watched = [taken & self.payload[q].valid & (self.payload[q].product == self.tag)
                   for q in range(lanes)]
        entered = Signal()                   # the watched product has entered the crossbar
        bank, entry = Signal.like(self.payload[0].bank), Signal.like(self.payload[0].entry)
        # The environment sends the watched value at most once.
        m.d.comb += Assume(sum(watched) + entered <= 1)
        for q in range(lanes):
            with m.If(watched[q]):
                m.d.sync += [entered.eq(1), bank.eq(self.payload[q].bank),
                             entry.eq(self.payload[q].entry)]

        delivered = Signal(range(4))         # deliveries of the watched product so far
        now = []
        for b, port in enumerate(dut.banks):
            hit = port.en & (port.addend == self.tag)
            now.append(hit)
            # Delivered only after it entered, to its own bank and entry.
            with m.If(hit):
                m.d.comb += Assert(entered & (bank == b) & (port.entry == entry))
        m.d.comb += Assert(delivered + sum(now) <= 1)         # never twice
        with m.If(entered & ~dut.busy):
            m.d.comb += Assert(delivered == 1)                 # never dropped
        m.d.sync += delivered.eq(delivered + sum(now))
        return m


def test_crossbar_delivers_each_product_exactly_once():
    result = check_component(CrossbarConservation(QueuedCrossbar(small_cfg())),
                             depth=CROSSBAR_DEPTH)
    assert result.status == "proved", result.log


def test_a_crossbar_dropping_a_collided_product_is_caught():
    result = check_component(CrossbarConservation(CrossbarDroppingOnCollision(small_cfg())),
                             depth=CROSSBAR_DEPTH)
    assert result.status == "failed"


# -- the accumulator banks ------------------------------------------------------------------------

class AccumulatorShadow(wiring.Component):
    """One watched accumulator per set (bank ``bank``, entry ``entry``) against a shadow sum."""

    def __init__(self, dut):
        self.dut = dut
        sig = dut.signature.members
        super().__init__({
            "acc_set": In(1), "acc": In(sig["acc"].shape), "ppu_entry": In(sig["ppu_entry"].shape),
            "ppu_we": In(sig["ppu_we"].shape), "ppu_wdata": In(sig["ppu_wdata"].shape),
            "bank": In(range(len(dut.acc))), "entry": In(sig["ppu_entry"].shape.elem_shape)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = dut = self.dut
        cfg = dut._cfg
        assume_no_reset(m)
        assume_constant(m, self.bank)
        assume_constant(m, self.entry)
        m.d.comb += [dut.acc_set.eq(self.acc_set), dut.acc.eq(self.acc),
                     dut.ppu_entry.eq(self.ppu_entry), dut.ppu_we.eq(self.ppu_we),
                     dut.ppu_wdata.eq(self.ppu_wdata)]
        # Entries exist below bank_entries; the sets' users hold off until the clearing is over.
        m.d.comb += Assume(self.entry < cfg.bank_entries)
        for b in range(len(dut.acc)):
            m.d.comb += Assume((dut.acc[b].entry < cfg.bank_entries) &
                               (dut.ppu_entry[b] < cfg.bank_entries))
            with m.If(~dut.ready):
                m.d.comb += Assume(~dut.acc[b].en & ~dut.ppu_we[b])

        port = dut.acc[self.bank]
        ppu_writes = (dut.ppu_we.bit_select(self.bank, 1) &
                      (dut.ppu_entry[self.bank] == self.entry))
        shadow = [Signal.like(dut.ppu_rdata[0], name=f"shadow{s}") for s in range(2)]
        for s in range(2):
            mine = dut.acc_set == s
            with m.If(~dut.ready):
                m.d.sync += shadow[s].eq(0)                # the sweep clears every entry
            with m.Elif(mine & port.en & (port.entry == self.entry)):
                m.d.sync += shadow[s].eq(shadow[s] + port.addend)
            with m.Elif(~mine & ppu_writes):
                m.d.sync += shadow[s].eq(dut.ppu_wdata[self.bank])
            with m.If(dut.ready & ~mine & (dut.ppu_entry[self.bank] == self.entry)):
                m.d.comb += Assert(dut.ppu_rdata[self.bank] == shadow[s])
        return m


def test_accumulator_banks_add_each_delivery_once():
    result = check_component(AccumulatorShadow(AccumulatorBanks(small_cfg())),
                             depth=ACCUMULATOR_DEPTH)
    assert result.status == "proved", result.log


def test_banks_adding_a_delivery_into_both_sets_are_caught():
    result = check_component(AccumulatorShadow(BanksUpdatingBothSets(small_cfg())),
                             depth=ACCUMULATOR_DEPTH)
    assert result.status == "failed"
