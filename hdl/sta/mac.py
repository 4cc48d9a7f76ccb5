"""MAC units of a tensor PE: DP{B}, S{B}DP{b} and the time-unrolled S{B}DP1 (STA paper, Fig. 3, 6).

Each unit owns one output element of its TPE: a dot product of the step's operands added into an
accumulator, which is handed to a result (shadow) register at the last step of an output tile so
the next tile can start accumulating at once.
"""

from amaranth import Module, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["DotProduct", "SparseDotProduct", "TimeUnrolledMac"]


class _MacUnit(wiring.Component):
    """A dot product of ``lanes`` products feeding one accumulator.

    Parameters
    ----------
    pipeline_mux : bool
        Sparse units only: register the B:1 mux outputs (with their weights and flags).
    pipeline_product : bool
        Register the dot product's sum (with the flags) before the accumulate.

    Attributes
    ----------
    act : In(ArrayLayout(signed(act_width), block))
        The block of activations of this output row.
    weights : In(ArrayLayout(signed(weight_width), lanes))
    positions : In(ArrayLayout(unsigned, lanes))
        Sparse units only: the position within the block of each weight (drives the B:1 mux).
    valid, last : In(1)
        This cycle carries a step; it is the last step of an output tile.
    capture : Out(1)
        The step at the accumulate stage is valid and the last of its tile: ``result`` takes the
        completed sum at the end of this cycle. Without pipeline registers it is
        ``valid & last``; each register delays it by one cycle.
    result : Out(signed(acc_width))
        At the end of a cycle with ``capture``, ``result`` takes the completed sum
        ``acc + Σ products`` and the accumulator restarts from zero. Latency :attr:`latency`
        (1 plus one per pipeline register) from the step's inputs.
    gated : Out(1)
        Units with ``gating``: the step at the accumulate stage has a zero activation operand,
        so the accumulator is not enabled (a clock-gating candidate); the result is unchanged by
        design. Each step raises it at most once, :attr:`latency` − 1 cycles after its inputs.

    The accumulator wraps modulo ``2**acc_width``. Every register advances every cycle: wrap the
    unit in an ``EnableInserter`` to stall it (the array does).
    """

    def __init__(self, *, block, lanes, sparse, act_width, weight_width, acc_width, gating,
                 pipeline_mux=False, pipeline_product=False):
        if gating and lanes != 1:
            raise ValueError(f"Only single-MAC units can gate on the activation operand, "
                             f"not a {lanes}-way dot product")
        if not sparse and lanes != block:
            raise ValueError(f"A dense dot product has one lane per block element, "
                             f"not {lanes} lanes for a block of {block}")
        if pipeline_mux and not sparse:
            raise ValueError("Only sparse units have a mux to register, not a dense dot product")
        self._block = block
        self._lanes = lanes
        self._sparse = sparse
        self._gating = gating
        self._acc_width = acc_width
        self._pipeline_mux = pipeline_mux
        self._pipeline_product = pipeline_product
        members = {
            "act": In(data.ArrayLayout(signed(act_width), block)),
            "weights": In(data.ArrayLayout(signed(weight_width), lanes)),
            "valid": In(1),
            "last": In(1),
            "capture": Out(1),
            "result": Out(signed(acc_width)),
            "gated": Out(1),
        }
        if sparse:
            pos = unsigned(max(1, (block - 1).bit_length()))
            members["positions"] = In(data.ArrayLayout(pos, lanes))
        super().__init__(members)

    @property
    def latency(self):
        """Cycles from a step's inputs to its sum in ``result`` (last step of a tile)."""
        return 1 + int(self._pipeline_mux) + int(self._pipeline_product)

    @property
    def lanes(self):
        return self._lanes

    def elaborate(self, platform):
        m = Module()

        def stage(name, *values):
            """One pipeline register per value: the values one cycle later."""
            regs = [Signal.like(v, name=f"{name}_{i}") for i, v in enumerate(values)]
            m.d.sync += [r.eq(v) for r, v in zip(regs, values)]
            return regs

        # Stage 1: the B:1 activation mux (sparse units), optionally registered with the step's
        # weights and flags.
        operands = []
        for lane in range(self._lanes):
            operand = Signal.like(self.act[0], name=f"operand{lane}")
            source = self.act[self.positions[lane]] if self._sparse else self.act[lane]
            m.d.comb += operand.eq(source)
            operands.append(operand)
        weights = [self.weights[lane] for lane in range(self._lanes)]
        valid, last = self.valid, self.last
        if self._pipeline_mux:
            *operands, valid, last = stage("mux", *operands, valid, last)
            weights = stage("mux_weight", *weights)

        # Stage 2: the products and their sum, optionally registered. The accumulator's enable:
        # a zero activation operand leaves it idle (its product is zero), except at the last step
        # of a tile, which restarts it.
        products = sum(o * w for o, w in zip(operands, weights))
        total = Signal(products.shape(), name="total")
        m.d.comb += total.eq(products)
        idle = Signal()
        if self._gating:
            m.d.comb += idle.eq(operands[0] == 0)
        if self._pipeline_product:
            total, valid, last, idle = stage("product", total, valid, last, idle)

        # Stage 3: the accumulate.
        acc = Signal(signed(self._acc_width))
        acc_next = Signal(signed(self._acc_width))
        m.d.comb += acc_next.eq(acc + total)          # wraps modulo 2**acc_width
        m.d.comb += [self.gated.eq(valid & idle), self.capture.eq(valid & last)]
        with m.If(valid):
            with m.If(last):
                m.d.sync += [self.result.eq(acc_next), acc.eq(0)]
            with m.Elif(~idle):
                m.d.sync += acc.eq(acc_next)
        return m


class DotProduct(_MacUnit):
    """Dense B-way dot product DP{B} with its accumulator (a single MAC when B = 1)."""

    def __init__(self, *, block, act_width=8, weight_width=8, acc_width=32, gating=False,
                 pipeline_product=False):
        super().__init__(block=block, lanes=block, sparse=False, act_width=act_width,
                         weight_width=weight_width, acc_width=acc_width, gating=gating,
                         pipeline_product=pipeline_product)


class SparseDotProduct(_MacUnit):
    """Fixed-DBB sparse dot product S{B}DP{b}: b MACs, each behind a B:1 activation mux."""

    def __init__(self, *, block, macs, act_width=8, weight_width=8, acc_width=32,
                 pipeline_mux=False, pipeline_product=False):
        if not 1 <= macs < block:
            raise ValueError(f"A sparse dot product has 1 to {block - 1} MACs, not {macs!r}")
        super().__init__(block=block, lanes=macs, sparse=True, act_width=act_width,
                         weight_width=weight_width, acc_width=acc_width, gating=False,
                         pipeline_mux=pipeline_mux, pipeline_product=pipeline_product)


class TimeUnrolledMac(_MacUnit):
    """Time-unrolled S{B}DP1 for VDBB: one MAC behind a B:1 mux, one non-zero weight per cycle."""

    def __init__(self, *, block, act_width=8, weight_width=8, acc_width=32, gating=True,
                 pipeline_mux=False, pipeline_product=False):
        super().__init__(block=block, lanes=1, sparse=True, act_width=act_width,
                         weight_width=weight_width, acc_width=acc_width, gating=gating,
                         pipeline_mux=pipeline_mux, pipeline_product=pipeline_product)
