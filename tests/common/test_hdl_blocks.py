# amaranth: UnusedElaboratable=no
"""Amaranth-simulator tests of the shared blocks and the STA MAC units against Python models.

hdl/common: NthSetBit, Skew. hdl/sta/mac.py: DotProduct, SparseDotProduct, TimeUnrolledMac.
"""

import numpy as np
import pytest
from amaranth import signed as signed_shape
from amaranth import unsigned
from amaranth.sim import Simulator
from sparseforge.hdl.common import NthSetBit, Ram, Skew
from sparseforge.hdl.sta.mac import DotProduct, SparseDotProduct, TimeUnrolledMac, _MacUnit


def _run(dut, testbench, clocked=True):
    sim = Simulator(dut)
    if clocked:
        sim.add_clock(1e-6)
    sim.add_testbench(testbench)
    sim.run()


def ref_wrap(x, bits):
    half = 1 << (bits - 1)
    return (x + half) % (1 << bits) - half


# -- Ram ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("comb", [False, True])
def test_ram_against_a_dict(comb):
    """Seeded writes and reads on two read ports against a Python dict: a synchronous port
    returns the row addressed with ``en`` one cycle later and holds it while ``en`` is low; a
    combinational one returns the row in the same cycle, the old value while it is written."""
    rng = np.random.default_rng(11)
    ram = Ram(unsigned(8), 5, reads=2, comb=comb)
    assert ram.bits == 40 and ram.depth == 5

    async def tb(ctx):
        rows = {}
        held = [None, None]
        for _ in range(200):
            waddr, wdata, wen = int(rng.integers(5)), int(rng.integers(256)), rng.random() < 0.5
            reads = [(int(rng.integers(5)), rng.random() < 0.6) for _ in range(2)]
            ctx.set(ram.w.addr, waddr)
            ctx.set(ram.w.data, wdata)
            ctx.set(ram.w.en, wen)
            for port, (addr, en) in zip(ram.r, reads):
                ctx.set(port.addr, addr)
                if not comb:
                    ctx.set(port.en, en)
            if comb:
                for port, (addr, _) in zip(ram.r, reads):
                    if addr in rows:
                        assert ctx.get(port.data) == rows[addr]
            for n, (addr, en) in enumerate(reads):
                if not comb and en and addr in rows:
                    held[n] = rows[addr]
                elif not comb and en:
                    held[n] = None                 # a row never written: unspecified
            await ctx.tick()
            if wen:
                rows[waddr] = wdata
            if not comb:
                for port, value in zip(ram.r, held):
                    if value is not None:
                        assert ctx.get(port.data) == value

    _run(ram, tb)


@pytest.mark.parametrize("kwargs", [{"depth": 0}, {"depth": 4, "reads": 0}])
def test_ram_bad_arguments(kwargs):
    with pytest.raises(TypeError):
        Ram(8, **kwargs)


# -- NthSetBit ------------------------------------------------------------------------------------

def ref_nth_set_bit(mask, index, width):
    """(position, found): position of set bit number ``index``, 0 when there is none."""
    seen = 0
    for p in range(width):
        if (mask >> p) & 1:
            if seen == index:
                return p, 1
            seen += 1
    return 0, 0


def test_nth_set_bit_exhaustive_width8_runtime_index():
    dut = NthSetBit(8)
    failures = []

    async def tb(ctx):
        for mask in range(256):
            ctx.set(dut.mask, mask)
            for index in range(8):
                ctx.set(dut.index, index)
                got = (ctx.get(dut.position), ctx.get(dut.found))
                if got != ref_nth_set_bit(mask, index, 8):
                    failures.append((mask, index, got))

    _run(dut, tb, clocked=False)
    assert failures == []


@pytest.mark.parametrize("index", range(8))
def test_nth_set_bit_exhaustive_width8_const_index(index):
    dut = NthSetBit(8, index=index)
    assert not hasattr(dut, "index")
    failures = []

    async def tb(ctx):
        for mask in range(256):
            ctx.set(dut.mask, mask)
            got = (ctx.get(dut.position), ctx.get(dut.found))
            if got != ref_nth_set_bit(mask, index, 8):
                failures.append((mask, got))

    _run(dut, tb, clocked=False)
    assert failures == []


@pytest.mark.parametrize("width, index", [(1, None), (1, 0), (3, None), (5, None), (5, 4),
                                          (2, 1), (16, None)])
def test_nth_set_bit_other_widths(width, index):
    dut = NthSetBit(width, index=index)
    assert dut.width == width
    masks = range(1 << width) if width <= 5 else \
        [0, 1, 0xFFFF, 0x8000, 0xAAAA, 0x5555, 0x8001, 0x0F0F, 0x1234, 0xF000]
    failures = []

    async def tb(ctx):
        for mask in masks:
            ctx.set(dut.mask, mask)
            for i in (range(width) if index is None else [index]):
                if index is None:
                    ctx.set(dut.index, i)
                got = (ctx.get(dut.position), ctx.get(dut.found))
                if got != ref_nth_set_bit(mask, i, width):
                    failures.append((mask, i, got))

    _run(dut, tb, clocked=False)
    assert failures == []


@pytest.mark.parametrize("width", [0, -1, 2.0, None])
def test_nth_set_bit_bad_width(width):
    with pytest.raises(TypeError):
        NthSetBit(width)


@pytest.mark.parametrize("index", [-1, 8, 9, 1.0])
def test_nth_set_bit_bad_index(index):
    with pytest.raises(ValueError):
        NthSetBit(8, index=index)


# -- Skew -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("lanes, seed", [(1, 0), (2, 1), (3, 2), (5, 3), (8, 4)])
def test_skew_matches_delay_line(lanes, seed):
    rng = np.random.default_rng(seed)
    cycles = 40
    seq = [[int(v) for v in rng.choice([-128, 127, 0, -1, *rng.integers(-128, 128, 4)], lanes)]
           for _ in range(cycles)]
    signed = lanes % 2 == 0                           # odd lane counts unsigned, even signed
    dut = Skew(signed_shape(8) if signed else unsigned(8), lanes)
    assert dut.lanes == lanes
    failures = []

    def expect(t, k):
        # lane k at cycle t shows lane k's input of cycle t - k; registers start at 0
        if t - k < 0:
            return 0
        v = seq[t - k][k]
        return v if signed else v & 0xFF

    async def tb(ctx):
        for t in range(cycles):
            for k in range(lanes):
                ctx.set(dut.i[k], seq[t][k] if signed else seq[t][k] & 0xFF)
            got = [ctx.get(dut.o[k]) for k in range(lanes)]
            want = [expect(t, k) for k in range(lanes)]
            if got != want:
                failures.append((t, got, want))
            if lanes > 1:
                await ctx.tick()
            else:
                await ctx.delay(1e-6)            # one lane: a wire, no clock domain at all

    _run(dut, tb, clocked=lanes > 1)
    assert failures == []


@pytest.mark.parametrize("lanes", [0, -2, 1.5])
def test_skew_bad_lanes(lanes):
    with pytest.raises(TypeError):
        Skew(8, lanes)


# -- MAC units ------------------------------------------------------------------------------------

class MacModel:
    """Accumulator from 0; on valid add the step's sum; on valid & last hand acc + sum to result."""

    def __init__(self, acc_width):
        self.acc_width = acc_width
        self.acc = 0
        self.result = 0

    def step(self, valid, last, total):
        if valid:
            if last:
                self.result = ref_wrap(self.acc + total, self.acc_width)
                self.acc = 0
            else:
                self.acc = ref_wrap(self.acc + total, self.acc_width)


def _int(rng, width):
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    r = rng.random()
    if r < 0.25:
        return 0
    if r < 0.45:
        return int(rng.choice([lo, hi, lo, -1, 1]))
    return int(rng.integers(lo, hi + 1))


def _sequence(rng, cycles, block, lanes, sparse, act_width, weight_width, extreme=False):
    """Random steps: (valid, last, act[block], weights[lanes], positions[lanes] or None)."""
    steps = []
    for _ in range(cycles):
        valid = int(rng.random() < 0.75)
        last = int(rng.random() < 0.25)
        if extreme:
            lo_a, lo_w = -(1 << (act_width - 1)), -(1 << (weight_width - 1))
            act = [lo_a] * block
            weights = [lo_w] * lanes
        else:
            act = [_int(rng, act_width) for _ in range(block)]
            weights = [_int(rng, weight_width) for _ in range(lanes)]
        positions = [int(p) for p in rng.integers(0, block, lanes)] if sparse else None
        steps.append((valid, last, act, weights, positions))
    return steps


def _simulate_mac(dut, steps, *, sparse, acc_width, gating, stages=0):
    """Drive ``steps`` and compare result/gated/capture with the Python model every cycle; with
    ``stages`` pipeline registers the model sees each step that many cycles later."""
    model = MacModel(acc_width)
    failures = []
    idle = (0, 0, 0, 0)
    at_stage = [idle] * stages          # (valid, last, total, gated) of steps in the registers

    async def tb(ctx):
        for t, step in enumerate(steps + [None] * stages):
            if step is not None:
                valid, last, act, weights, positions = step
                ctx.set(dut.valid, valid)
                ctx.set(dut.last, last)
                for e, v in enumerate(act):
                    ctx.set(dut.act[e], v)
                for lane, v in enumerate(weights):
                    ctx.set(dut.weights[lane], v)
                if sparse:
                    for lane, p in enumerate(positions):
                        ctx.set(dut.positions[lane], p)
                    operands = [act[p] for p in positions]
                else:
                    operands = act
                total = sum(a * w for a, w in zip(operands, weights))
                at_stage.append((valid, last, total, int(gating and valid and operands[0] == 0)))
            else:
                ctx.set(dut.valid, 0)
                at_stage.append(idle)
            s_valid, s_last, s_total, want_gated = at_stage.pop(0)
            got_gated = ctx.get(dut.gated)
            if got_gated != want_gated:
                failures.append(("gated", t, got_gated, want_gated))
            if ctx.get(dut.capture) != int(s_valid and s_last):
                failures.append(("capture", t, ctx.get(dut.capture), s_valid and s_last))
            await ctx.tick()
            model.step(s_valid, s_last, s_total)
            got = ctx.get(dut.result)
            if got != model.result:
                failures.append(("result", t, got, model.result))

    _run(dut, tb)
    return failures


def _assert_exercised(steps):
    # the sequence must actually complete some tiles, for the test to mean anything
    assert sum(1 for valid, last, *_ in steps if valid and last) >= 2


# gating only for the single MAC (block 1); a wider dot product refuses it (see below)
@pytest.mark.parametrize("block, acc_width, seed, gating", [
    (1, 32, 0, False), (1, 32, 0, True), (1, 16, 1, False), (1, 16, 1, True),
    (4, 32, 2, False), (4, 16, 3, False), (8, 16, 4, False), (3, 18, 5, False), (8, 32, 6, False),
])
def test_dot_product(block, acc_width, seed, gating):
    rng = np.random.default_rng(seed)
    steps = _sequence(rng, 120, block, block, False, 8, 8)
    _assert_exercised(steps)
    dut = DotProduct(block=block, acc_width=acc_width, gating=gating)
    assert dut.lanes == block
    assert dut.latency == 1
    assert _simulate_mac(dut, steps, sparse=False, acc_width=acc_width, gating=gating) == []


@pytest.mark.parametrize("block, macs, acc_width, seed", [
    (4, 2, 32, 10), (4, 2, 16, 11), (8, 4, 16, 12), (5, 3, 18, 13), (2, 1, 16, 14),
    (8, 7, 32, 15),
])
def test_sparse_dot_product(block, macs, acc_width, seed):
    rng = np.random.default_rng(seed)
    steps = _sequence(rng, 120, block, macs, True, 8, 8)
    _assert_exercised(steps)
    dut = SparseDotProduct(block=block, macs=macs, acc_width=acc_width)
    assert dut.lanes == macs
    assert _simulate_mac(dut, steps, sparse=True, acc_width=acc_width, gating=False) == []


@pytest.mark.parametrize("block, acc_width, seed", [
    (8, 32, 20), (8, 16, 21), (4, 16, 22), (5, 18, 23), (2, 32, 24), (16, 16, 25),
])
@pytest.mark.parametrize("gating", [True, False])
def test_time_unrolled_mac(block, acc_width, seed, gating):
    rng = np.random.default_rng(seed)
    steps = _sequence(rng, 120, block, 1, True, 8, 8)
    _assert_exercised(steps)
    dut = TimeUnrolledMac(block=block, acc_width=acc_width, gating=gating)
    assert dut.lanes == 1
    assert _simulate_mac(dut, steps, sparse=True, acc_width=acc_width, gating=gating) == []


@pytest.mark.parametrize("make, sparse, lanes, gating", [
    (lambda: DotProduct(block=8, acc_width=16), False, 8, False),
    (lambda: DotProduct(block=1, acc_width=16, gating=True), False, 1, True),
    (lambda: SparseDotProduct(block=8, macs=4, acc_width=16), True, 4, False),
    (lambda: TimeUnrolledMac(block=8, acc_width=16), True, 1, True),
], ids=["dp8", "mac", "s8dp4", "s8dp1"])
def test_mac_wraps_on_extremes(make, sparse, lanes, gating):
    # every operand -128: each product is 16384, which wraps a 16-bit accumulator within 2 terms
    rng = np.random.default_rng(30)
    block = 8 if lanes != 1 or sparse else 1
    steps = _sequence(rng, 80, block, lanes, sparse, 8, 8, extreme=True)
    _assert_exercised(steps)
    assert _simulate_mac(make(), steps, sparse=sparse, acc_width=16, gating=gating) == []


def test_mac_hand_sequence():
    # DP2 with a 16-bit accumulator, worked by hand
    dut = DotProduct(block=2, acc_width=16)
    steps = [
        # valid, last, act, weights -> result after the edge
        (1, 0, [-128, -128], [-128, -128], 0),       # acc = 32768 -> -32768
        (1, 1, [1, 2], [3, 4], -32768 + 11),         # result = acc + 11; acc restarts
        (0, 1, [5, 5], [5, 5], -32768 + 11),         # not valid: nothing happens
        (1, 0, [127, 0], [127, 9], -32768 + 11),     # acc = 16129
        (1, 0, [0, 0], [0, 0], -32768 + 11),
        (1, 1, [-1, 0], [1, 0], 16128),              # result = 16129 - 1
        (1, 1, [0, 0], [0, 0], 0),                   # a one-step tile of zeros
    ]
    failures = []

    async def tb(ctx):
        for t, (valid, last, act, weights, want) in enumerate(steps):
            ctx.set(dut.valid, valid)
            ctx.set(dut.last, last)
            for e in range(2):
                ctx.set(dut.act[e], act[e])
                ctx.set(dut.weights[e], weights[e])
            await ctx.tick()
            if ctx.get(dut.result) != want:
                failures.append((t, ctx.get(dut.result), want))

    _run(dut, tb)
    assert failures == []


def test_narrow_operand_widths():
    # 4-bit activations, 5-bit weights, 10-bit accumulator
    rng = np.random.default_rng(40)
    steps = _sequence(rng, 100, 4, 1, True, 4, 5)
    _assert_exercised(steps)
    dut = TimeUnrolledMac(block=4, act_width=4, weight_width=5, acc_width=10)
    assert _simulate_mac(dut, steps, sparse=True, acc_width=10, gating=True) == []
    steps = _sequence(rng, 100, 3, 3, False, 4, 5)
    dut = DotProduct(block=3, act_width=4, weight_width=5, acc_width=10)
    assert _simulate_mac(dut, steps, sparse=False, acc_width=10, gating=False) == []


def test_mac_constructor_errors():
    with pytest.raises(ValueError):
        DotProduct(block=4, gating=True)           # a dot product cannot gate on one activation
    with pytest.raises(ValueError):
        SparseDotProduct(block=4, macs=4)          # b must be below B
    with pytest.raises(ValueError):
        SparseDotProduct(block=4, macs=0)
    with pytest.raises(ValueError):
        SparseDotProduct(block=4, macs=5)


@pytest.mark.parametrize("unit, mux, product, seed", [
    ("dot", False, True, 30), ("sparse", True, False, 31), ("sparse", True, True, 32),
    ("sparse", False, True, 33), ("vdbb", True, True, 34), ("vdbb", True, False, 35),
    ("vdbb", False, True, 36),
])
def test_pipelined_mac(unit, mux, product, seed):
    """Registers after the mux and/or the product delay result, capture and gated by one cycle
    each, and change nothing else (the model is the unpipelined one, delayed)."""
    rng = np.random.default_rng(seed)
    block, lanes = {"dot": (4, 4), "sparse": (8, 3), "vdbb": (8, 1)}[unit]
    steps = _sequence(rng, 120, block, lanes, unit != "dot", 8, 8)
    _assert_exercised(steps)
    if unit == "dot":
        dut = DotProduct(block=block, acc_width=20, pipeline_product=product)
    elif unit == "sparse":
        dut = SparseDotProduct(block=block, macs=lanes, acc_width=20, pipeline_mux=mux,
                               pipeline_product=product)
    else:
        dut = TimeUnrolledMac(block=block, acc_width=20, gating=True, pipeline_mux=mux,
                              pipeline_product=product)
    stages = int(mux) + int(product)
    assert dut.latency == 1 + stages
    assert _simulate_mac(dut, steps, sparse=unit != "dot", acc_width=20,
                         gating=unit == "vdbb", stages=stages) == []


def test_dense_dot_product_has_no_mux_to_register():
    with pytest.raises(ValueError, match="Only sparse units have a mux"):
        _MacUnit(block=4, lanes=4, sparse=False, act_width=8, weight_width=8, acc_width=32,
                 gating=False, pipeline_mux=True)
