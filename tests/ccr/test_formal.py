"""Bounded proofs that CCR's scatter paths never drop, double or misroute a product: SparseKI's
contended bank arbiter and the block scatter (SymbiYosys + Z3 through
:func:`sparseforge.gen.formal.check_component`).

SparseKI's :class:`~sparseforge.hdl.ccr.arbiter.BankArbiter` (P_x = P_y = 2: four products a
pair, four banks, 4-bit values): the "watched" product is the one whose value equals a free
constant ``tag`` (the environment sends at most one); it is delivered only to its own bank and
word, at most once, and by the cycle the arbiter next takes a pair it has been delivered. BMC
depth 5 (a pair whose four products collide on one bank is delivered in cycles 1 to 4; depth 6
takes the solver minutes). An arbiter that takes the next pair while a collided product still
waits is shown to fail.

The block scatter (the crossbar into the output buffer's banks, with
each bank's word address) never drops, doubles or misroutes a product (SymbiYosys + Z3 through
:func:`sparseforge.gen.formal.check_component`).

:class:`~sparseforge.hdl.ccr.scatter.BlockScatter` is combinational, so one cycle (BMC depth 1)
covers every input: for every block position ``(u0, v0)``, window ``ho × wo`` that fits the output
buffer, output channel base and ``P_x × P_y`` block of distinct products (``P_x = P_y = 2``;
larger blocks cost the solver more than the suite can spend), each product whose output lies in
the window reaches exactly the bank and word of its output (the documented interleaving: bank
``(u mod P_x, v mod P_y)``, word ``kbase + ⌊u/P_x⌋·WBo + ⌊v/P_y⌋``), and no bank is enabled for
anything else. A mutant scatter whose bank 0 always takes the block's first product is shown to
fail.
"""

from amaranth import Module, Signal, signed
from amaranth.hdl import Assert, Assume
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In

from sparseforge.gen.ccr.config import parse_ccr
from sparseforge.gen.ccr.presets import CCR_PRESETS
from sparseforge.gen.formal import assume_constant, assume_no_reset, check_component
from sparseforge.hdl.ccr.arbiter import BankArbiter, product_layout
from sparseforge.hdl.ccr.layouts import coord_shape, layer_layout
from sparseforge.hdl.ccr.scatter import BlockScatter

DEPTH = 1          # combinational: one cycle is every input
ARBITER_DEPTH = 5


def small_cfg():
    raw = dict(CCR_PRESETS["ccr_sparse_k_small"][1])
    raw.update(pu={"x": 2, "y": 2}, widths={"acc": 8}, map_max=7, kernel_max=3,
               buffers={"ib_kb": 1, "kb_kb": 1, "ob_kb": 1})
    return parse_ccr(raw, "ccr_formal")


def scatter(cfg, cls=BlockScatter):
    return cls(cfg, coord_shape(cfg), layer_layout(cfg)["ho"].shape)


class ScatterIgnoringRotation(BlockScatter):
    """Mutant: bank 0 always takes product 0, whatever the block's position (one product
    doubled, another dropped)."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.comb += self.banks[0].addend.eq(self.products[0])
        return m


class ScatterExactlyOnce(wiring.Component):
    def __init__(self, dut):
        self.dut = dut
        sig = dut.signature.members
        super().__init__({name: In(sig[name].shape) for name in (
            "valid", "u0", "v0", "kbase", "products", "ho", "wo", "wbo")})

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = dut = self.dut
        cfg = dut._cfg
        px, py = cfg.px, cfg.py
        for name in ("valid", "u0", "v0", "kbase", "products", "ho", "wo", "wbo"):
            m.d.comb += getattr(dut, name).eq(getattr(self, name))
        # The window fits the output buffer: WBo = ⌈wo/P_y⌉ words a block row, ⌈ho/P_x⌉ rows.
        wide = signed(len(self.u0) + len(self.wbo) + len(self.kbase) + 2)   # no overflow
        rows = Signal(wide)
        m.d.comb += [rows.eq((self.ho + px - 1) // px),
                     Assume(self.wbo == (self.wo + py - 1) // py),
                     Assume(self.kbase + rows * self.wbo <= cfg.ob_bank_words)]
        lanes = px * py
        for a in range(lanes):                       # distinct products: each is traceable
            for b in range(a + 1, lanes):
                m.d.comb += Assume(self.products[a] != self.products[b])

        inside_count = 0
        for p in range(px):
            for q in range(py):
                u, v = Signal(wide, name=f"u{p}{q}"), Signal(wide, name=f"v{p}{q}")
                m.d.comb += [u.eq(self.u0 + p), v.eq(self.v0 + q)]
                inside = self.valid & (u >= 0) & (u < self.ho) & (v >= 0) & (v < self.wo)
                inside_count = inside_count + inside
                bank = Signal(range(lanes), name=f"bank{p}{q}")
                word = Signal(wide, name=f"word{p}{q}")
                m.d.comb += [bank.eq((u % px) * py + v % py),
                             word.eq(self.kbase + (u // px) * self.wbo + v // py)]
                port = dut.banks[bank]
                with m.If(inside):
                    m.d.comb += Assert(port.en & (port.addend == self.products[p * py + q]) &
                                       (port.addr == word))
        m.d.comb += Assert(sum(dut.banks[b].en for b in range(lanes)) == inside_count)
        return m


def test_block_scatter_routes_each_product_exactly_once():
    result = check_component(ScatterExactlyOnce(scatter(small_cfg())), depth=DEPTH)
    assert result.status == "proved", result.log


def test_a_scatter_ignoring_the_rotation_is_caught():
    result = check_component(ScatterExactlyOnce(scatter(small_cfg(), ScatterIgnoringRotation)),
                             depth=DEPTH)
    assert result.status == "failed"


# -- SparseKI's bank arbiter ----------------------------------------------------------------------

def sparse_ki_cfg():
    raw = dict(CCR_PRESETS["ccr_sparse_ki_small"][1])
    raw.update(pu={"x": 2, "y": 2}, widths={"acc": 4}, map_max=7, kernel_max=3,
               buffers={"ib_kb": 1, "kb_kb": 1, "ob_kb": 1})
    return parse_ccr(raw, "ccr_ki_formal")


class ArbiterDroppingCollided(BankArbiter):
    """Mutant: takes the next pair every cycle, so a product that lost its bank to another is
    dropped."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.comb += self.i.ready.eq(1)
        return m


class ArbiterExactlyOnce(wiring.Component):
    def __init__(self, dut):
        self.dut = dut
        layout = data.ArrayLayout(product_layout(dut._cfg), dut._cfg.multipliers)
        super().__init__({"valid": In(1), "payload": In(layout),
                          "tag": In(layout.elem_shape["value"].shape)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = dut = self.dut
        assume_no_reset(m)
        assume_constant(m, self.tag)
        m.d.comb += [dut.i.valid.eq(self.valid), dut.i.payload.eq(self.payload)]
        lanes = len(self.payload)
        taken = dut.i.valid & dut.i.ready
        watched = [taken & self.payload[p].valid & (self.payload[p].value == self.tag)
                   for p in range(lanes)]
        entered = Signal()
        bank, word = Signal.like(self.payload[0].bank), Signal.like(self.payload[0].word)
        m.d.comb += Assume(sum(watched) + entered <= 1)
        for p in range(lanes):
            with m.If(watched[p]):
                m.d.sync += [entered.eq(1), bank.eq(self.payload[p].bank),
                             word.eq(self.payload[p].word)]
        delivered = Signal(range(4))
        now = []
        for b, port in enumerate(dut.banks):
            hit = port.en & (port.addend == self.tag)
            now.append(hit)
            with m.If(hit):
                m.d.comb += Assert(entered & (bank == b) & (port.addr == word))
        m.d.comb += Assert(delivered + sum(now) <= 1)              # never twice
        with m.If(entered & dut.i.ready):
            m.d.comb += Assert(delivered + sum(now) == 1)          # never dropped
        m.d.sync += delivered.eq(delivered + sum(now))
        return m


def test_sparse_ki_arbiter_delivers_each_product_exactly_once():
    result = check_component(ArbiterExactlyOnce(BankArbiter(sparse_ki_cfg())),
                             depth=ARBITER_DEPTH)
    assert result.status == "proved", result.log


def test_an_arbiter_dropping_a_collided_product_is_caught():
    result = check_component(ArbiterExactlyOnce(ArbiterDroppingCollided(sparse_ki_cfg())),
                             depth=ARBITER_DEPTH)
    assert result.status == "failed"
