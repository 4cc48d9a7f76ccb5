"""Proofs that the STA-DBB and STA-VDBB decoders select exactly the masked activations
(SymbiYosys + Z3 through :func:`sparseforge.gen.formal.check_component`).

The decoder is the feeder's :class:`~sparseforge.hdl.common.NthSetBit` per lane (value ``n`` of
a block belongs at the position of the mask's ``n``-th set bit; a value without one is forced to
zero, as :class:`~sparseforge.hdl.sta.feeder.StepFeeder` does) in front of the B:1 activation
muxes of a :class:`~sparseforge.hdl.sta.mac.SparseDotProduct`. For every mask with at most ``b``
set bits, every block of activations and every ``b`` values (B = 4, b = 2, 3-bit operands), the
unit's result is ``Σ act[p] · values[rank(p)]`` over the set bits ``p`` of the mask, ``rank(p)``
being the set bits below ``p``: each masked activation is used once, with its own value, and no
other. The check runs every cycle as a single-step tile (``valid`` and ``last``), BMC depth 3.

VDBB: the same sum from one block of ``max(1, popcount(mask))`` steps through a
:class:`~sparseforge.hdl.sta.mac.TimeUnrolledMac`, step ``t`` taking value ``t`` at the position
of the mask's ``t``-th set bit (a run-time index), for every mask, block and values (B = 4),
checked when the block's result appears: BMC depth 6.

For both, a decoder that ignores the mask (value ``n`` takes activation ``n``) is shown to fail.
"""

from amaranth import Module, Signal, Value, signed
from amaranth.hdl import Assert, Assume
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In

from sparseforge.gen.formal import assume_constant, assume_no_reset, check_component
from sparseforge.hdl.common import NthSetBit
from sparseforge.hdl.sta.mac import SparseDotProduct, TimeUnrolledMac

BLOCK, MACS, WIDTH, ACC = 4, 2, 3, 8
DEPTH = 3
VDBB_DEPTH = BLOCK + 2      # a block of up to B steps, then its result


class DecoderIgnoringMask(NthSetBit):
    """Mutant: value ``n`` goes to position ``n`` whatever the mask (a dense select)."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.comb += self.position.eq(self._const_index if self._const_index is not None
                                     else self.index)
        return m


def _golden(m, mask, act, values):
    """``Σ act[p] · values[rank(p)]`` over the set bits ``p`` of ``mask``."""
    terms = []
    for p in range(BLOCK):
        value = Signal(signed(WIDTH), name=f"value_at{p}")
        with m.If(mask[p]):
            m.d.comb += value.eq(values[sum(mask[:p])] if p else values[0])
        terms.append(act[p] * value)
    return sum(terms)


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

        expected = Signal(signed(ACC))
        m.d.sync += expected.eq(_golden(m, self.mask, self.act, self.values))
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


class VdbbDecoderSelectsTheMasked(wiring.Component):
    """VDBB: one block of ``popcount(mask)`` steps through a time-unrolled MAC, step ``t`` taking
    value ``t`` at the position of the mask's ``t``-th set bit (a run-time index)."""

    mask: In(BLOCK)
    act: In(data.ArrayLayout(signed(WIDTH), BLOCK))
    values: In(data.ArrayLayout(signed(WIDTH), BLOCK))

    def __init__(self, decoder=NthSetBit):
        self._decoder = decoder
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        assume_no_reset(m)
        for name in ("mask", "act", "values"):
            assume_constant(m, getattr(self, name))
        m.submodules.mac = mac = TimeUnrolledMac(block=BLOCK, act_width=WIDTH,
                                                 weight_width=WIDTH, acc_width=ACC)
        m.submodules.select = select = self._decoder(BLOCK)
        step = Signal(range(BLOCK + 1))
        running = Signal(init=1)
        nnz = sum(self.mask)
        last = (step + 1 >= nnz)                # an empty block still takes one step
        m.d.comb += [select.mask.eq(self.mask), select.index.eq(step),
                     mac.act.eq(self.act), mac.valid.eq(running), mac.last.eq(last),
                     mac.positions[0].eq(select.position),
                     mac.weights[0].eq(select.found.replicate(WIDTH) &
                                       Value.cast(self.values).word_select(step, WIDTH))]
        with m.If(running):
            m.d.sync += step.eq(step + 1)
            with m.If(last):
                m.d.sync += running.eq(0)
        done = Signal()
        m.d.sync += done.eq(running & last)
        with m.If(done):
            m.d.comb += Assert(mac.result == _golden(m, self.mask, self.act, self.values))
        return m


def test_the_vdbb_decoder_selects_exactly_the_masked_activations():
    result = check_component(VdbbDecoderSelectsTheMasked(), depth=VDBB_DEPTH)
    assert result.status == "proved", result.log


def test_a_vdbb_decoder_ignoring_the_mask_is_caught():
    assert check_component(VdbbDecoderSelectsTheMasked(DecoderIgnoringMask),
                           depth=VDBB_DEPTH).status == "failed"
