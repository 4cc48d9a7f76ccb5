"""A proof that the STA-DBB decoder selects exactly the masked activations (SymbiYosys + Z3
through :func:`sparseforge.gen.formal.check_component`).

The decoder is the feeder's :class:`~sparseforge.hdl.common.NthSetBit` per lane (value ``n`` of
a block belongs at the position of the mask's ``n``-th set bit; a value without one is forced to
zero, as :class:`~sparseforge.hdl.sta.feeder.StepFeeder` does) in front of the B:1 activation
muxes of a :class:`~sparseforge.hdl.sta.mac.SparseDotProduct`. For every mask with at most ``b``
set bits, every block of activations and every ``b`` values (B = 4, b = 2, 3-bit operands), the
unit's result is ``Σ act[p] · values[rank(p)]`` over the set bits ``p`` of the mask, ``rank(p)``
being the set bits below ``p``: each masked activation is used once, with its own value, and no
other. The check runs every cycle as a single-step tile (``valid`` and ``last``), BMC depth 3. A
decoder that ignores the mask (lane ``n`` takes activation ``n``) is shown to fail.
"""

from amaranth import Module, Signal, signed
from amaranth.hdl import Assert, Assume
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In

from sparseforge.gen.formal import assume_no_reset, check_component
from sparseforge.hdl.common import NthSetBit
from sparseforge.hdl.sta.mac import SparseDotProduct

DEPTH = 3
BLOCK, MACS, WIDTH, ACC = 4, 2, 3, 8


class DecoderIgnoringMask(NthSetBit):
    """Mutant: value ``n`` goes to position ``n`` whatever the mask (a dense select)."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.comb += self.position.eq(self._const_index)
        return m


class DecoderSelectsTheMasked(wiring.Component):
    mask: In(BLOCK)
    act: In(data.ArrayLayout(signed(WIDTH), BLOCK))
    values: In(data.ArrayLayout(signed(WIDTH), MACS))

    def __init__(self, decoder=NthSetBit):
        self._decoder = decoder
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        assume_no_reset(m)
        m.submodules.mac = mac = SparseDotProduct(block=BLOCK, macs=MACS, act_width=WIDTH,
                                                  weight_width=WIDTH, acc_width=ACC)
        m.d.comb += [Assume(sum(self.mask) <= MACS), mac.act.eq(self.act),
                     mac.valid.eq(1), mac.last.eq(1)]
        for lane in range(MACS):
            select = m.submodules[f"select{lane}"] = self._decoder(BLOCK, lane)
            m.d.comb += [select.mask.eq(self.mask),
                         mac.positions[lane].eq(select.position),
                         mac.weights[lane].eq(select.found.replicate(WIDTH) &
                                              self.values[lane])]

        # The golden sum, from the mask's set bits and their ranks.
        terms = []
        for p in range(BLOCK):
            rank = sum(self.mask[:p]) if p else 0
            value = Signal(signed(WIDTH), name=f"value_at{p}")
            with m.If(self.mask[p]):
                m.d.comb += value.eq(self.values[rank] if p else self.values[0])
            terms.append(self.act[p] * value)
        expected = Signal(signed(ACC))
        m.d.sync += expected.eq(sum(terms))
        started = Signal()
        m.d.sync += started.eq(1)
        with m.If(started):
            m.d.comb += Assert(mac.result == expected)
        return m


def test_the_dbb_decoder_selects_exactly_the_masked_activations():
    result = check_component(DecoderSelectsTheMasked(), depth=DEPTH)
    assert result.status == "proved", result.log


def test_a_decoder_ignoring_the_mask_is_caught():
    assert check_component(DecoderSelectsTheMasked(DecoderIgnoringMask),
                           depth=DEPTH).status == "failed"
