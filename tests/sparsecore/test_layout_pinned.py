"""SparseCore's AXI4-Stream beats, register addresses and compressed formats, pinned by hand.

Every beat is built here with integer shifts and masks from the README ("SparseCore", "Bit
layouts"): fields packed LSB first in the listed order, array element 0 lowest, two's complement
values, ``tdata`` padded with zeros to whole bytes. The k/m weight slots (ascending positions, a
group with fewer non-zeros padded at its lowest free positions), the activation lists (per input
row and channel segment, x then channel) and their pointer table are written out here too, never
taken from :mod:`sparseforge.hdl.sparsecore.layouts`, :mod:`sparseforge.tb.packing` or
:mod:`sparseforge.sim.sparsecore`. The output beats are unpacked by hand and compared with a
convolution, requantization and ReLU written with Python integers.

``test_a_swapped_field_is_caught`` packs the weight slots with ``pos`` below ``value`` and checks
that the layer then comes out different.
"""

import random

import pytest
from amaranth.sim import Simulator
from sparseforge.gen.config import parse_config
from sparseforge.hdl.sparsecore.accelerator import SparseCoreAccelerator
from sparseforge.tb.axi_lite_pysim import axil_read, axil_write

# Two PEs of 4 ALUs at 2/4 (chunks of 8 channels), two requantization lanes per step, inputs up
# to 9 channels (two segments), operand and accumulator widths that are not whole bytes.
RAW = {"arch": "sparsecore", "name": "pinned", "pes": 2, "alus_per_pe": 4, "k": 2, "m": 4,
       "band_rows": 2, "requant_lanes": 4,
       "limits": {"h": 5, "w": 5, "c": 9, "k": 16, "kernel": 3},
       "widths": {"act": 6, "weight": 5, "acc": 20}}
K_NZ, M, GROUPS, CHUNK, LANES, KMAX, MAX_W, MAX_C = 2, 4, 2, 8, 4, 3, 5, 9
ACT, WEIGHT, ACC = 6, 5, 20
SEGMENTS = 2                                    # ⌈max_c / chunk⌉
# Field widths (the bit length of the largest value a field holds):
X_BITS = (MAX_W - 1).bit_length()               # x ≤ max_w − 1 = 4 → 3
C_BITS = (CHUNK - 1).bit_length()               # c ≤ chunk − 1 = 7 → 3
START_BITS = (MAX_C * 5 * MAX_W).bit_length()   # start ≤ max_c·max_h·max_w = 225 → 8
COUNT_BITS = (MAX_W * CHUNK).bit_length()       # count ≤ max_w·chunk = 40 → 6
ADDR_BITS = (MAX_C * KMAX * KMAX - 1).bit_length()   # row ≤ 80 → 7
POS_BITS = 2                                    # log2(m)
Y_BITS, OX_BITS, OCOUNT_BITS = 3, 3, 4          # y ≤ max_h = 5, x ≤ max_w = 5, count ≤ 8
PE_BITS = 1                                     # chunk ≤ pes − 1 = 1
REGS = {"start": 0x00, "clear": 0x04, "status": 0x08, "cycles": 0x0C}
REGS.update({f"layer_{name}": 0x20 + 4 * n for n, name in enumerate(
    ("h", "w", "c", "k", "r", "s", "pad", "stride_log2", "relu", "pool"))})


def pack(fields):
    """``[(value, width), ...]`` → one integer, the first field at bit 0 (two's complement)."""
    word, shift = 0, 0
    for value, width in fields:
        assert -(1 << width) < value < (1 << width), (value, width)
        word |= (value & ((1 << width) - 1)) << shift
        shift += width
    return word


def field(word, offset, width, signed=True):
    value = (word >> offset) & ((1 << width) - 1)
    return value - (1 << width) if signed and value >> (width - 1) else value


def slots(group):
    """A group of m weights as its k slots ``(value, pos)``: the non-zero positions and then
    the lowest free ones, in ascending position."""
    nonzero = [p for p in range(M) if group[p]]
    free = [p for p in range(M) if not group[p]]
    return [(group[p], p) for p in sorted(nonzero + free[:K_NZ - len(nonzero)])]


def weight_beats(weights, swap=False):
    """``(tdata, tdest)``: per chunk, per (c, r, s), the row ``c·9 + r·3 + s`` and the chunk's
    two groups of two slots."""
    k, c, r, s = len(weights), len(weights[0]), len(weights[0][0]), len(weights[0][0][0])
    beats = []
    for j in range(-(-k // CHUNK)):
        for ci in range(c):
            for ri in range(r):
                for si in range(s):
                    fields = [(ci * KMAX * KMAX + ri * KMAX + si, ADDR_BITS)]
                    for g in range(GROUPS):
                        first = j * CHUNK + g * M
                        group = [weights[first + p][ci][ri][si] if first + p < k else 0
                                 for p in range(M)]
                        for value, pos in slots(group):
                            fields += [(pos, POS_BITS), (value, WEIGHT)] if swap else \
                                [(value, WEIGHT), (pos, POS_BITS)]
                    beats.append((pack(fields), j))
    return beats


def requant_beats(k, bias, mult, shift):
    """Per chunk, rows 0 and 1: channels ``row·4 …``, each bias (32), mult (16), shift (5)."""
    beats = []
    for j in range(-(-k // CHUNK)):
        for row in range(CHUNK // LANES):
            fields = [(row, 1)]
            for lane in range(LANES):
                ch = j * CHUNK + row * LANES + lane
                params = (bias[ch], mult[ch], shift[ch]) if ch < k else (0, 0, 0)
                fields += [(params[0], 32), (params[1], 16), (params[2], 5)]
            beats.append((pack(fields), j))
    return beats


def act_beats(act):
    """The entries ``(x, c, value)`` (tdest 0) of every (row, segment) list, x then channel,
    then the pointer rows ``(start, count)`` (tdest 1) for every row and segment."""
    c, h, w = len(act), len(act[0]), len(act[0][0])
    entries, pointers = [], []
    for y in range(h):
        for q in range(SEGMENTS):
            start = len(entries)
            for x in range(w):
                for ci in range(CHUNK):
                    ch = q * CHUNK + ci
                    if ch < c and act[ch][y][x]:
                        entries.append((pack([(x, X_BITS), (ci, C_BITS),
                                              (act[ch][y][x], ACT)]), 0))
            pointers.append((pack([(start, START_BITS), (len(entries) - start, COUNT_BITS)]), 1))
    return entries + pointers


def reference(act, weights, bias, mult, shift):
    """ReLU(requantize(conv 'same' 3×3, accumulators wrapped to ACC bits)) with Python ints:
    ``clamp(((acc + bias)·mult + 2^(shift−1)) >> shift, −128, 127)``, then ``max(0, ·)``."""
    c, h, w = len(act), len(act[0]), len(act[0][0])
    k = len(weights)
    out = [[[0] * w for _ in range(h)] for _ in range(k)]
    for kk in range(k):
        for y in range(h):
            for x in range(w):
                acc = 0
                for ch in range(c):
                    for dr in range(3):
                        for ds in range(3):
                            yy, xx = y + dr - 1, x + ds - 1
                            if 0 <= yy < h and 0 <= xx < w:
                                acc += act[ch][yy][xx] * weights[kk][ch][dr][ds]
                acc %= 1 << ACC
                acc -= (1 << ACC) if acc >> (ACC - 1) else 0
                scaled = (acc + bias[kk]) * mult[kk]
                if shift[kk]:
                    scaled += 1 << (shift[kk] - 1)
                out[kk][y][x] = max(0, min(127, max(-128, scaled >> shift[kk])))
    return out


def simulate(act, weights, bias, mult, shift, swap=False, max_cycles=20_000):
    """Load the hand-packed beats, run the layer; return the output words and the status."""
    c, h, w = len(act), len(act[0]), len(act[0][0])
    k = len(weights)
    dut = SparseCoreAccelerator(parse_config(RAW))
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    out, status = [], []

    async def send(ctx, port, beats):
        for data, dest in beats:
            ctx.set(port.tdata, data)
            ctx.set(port.tdest, dest)
            ctx.set(port.tlast, 1)
            ctx.set(port.tvalid, 1)
            await ctx.tick().until(port.tready)
            ctx.set(port.tvalid, 0)

    async def control(ctx):
        bus = dut.s_axil
        for name, value in (("k", k), ("h", h), ("w", w), ("c", c), ("r", 3), ("s", 3),
                            ("pad", 1), ("stride_log2", 0), ("relu", 1), ("pool", 0)):
            await axil_write(ctx, bus, REGS[f"layer_{name}"], value)
        await axil_write(ctx, bus, REGS["clear"], 1)
        await send(ctx, dut.s_axis_w, weight_beats(weights, swap))
        await send(ctx, dut.s_axis_q, requant_beats(k, bias, mult, shift))
        await send(ctx, dut.s_axis_act, act_beats(act))
        await axil_write(ctx, bus, REGS["start"], 1)
        for _ in range(max_cycles):
            data, _ = await axil_read(ctx, bus, REGS["status"])
            if data & 0b10:
                break
        status.append(data)
        for _ in range(20):                 # the last beats may still be in flight
            await ctx.tick()

    async def collect(ctx):
        o = dut.m_axis_out
        ctx.set(o.tready, 1)
        async for _clk, _rst, valid, data in ctx.tick().sample(o.tvalid, o.tdata):
            if valid:
                out.append(data)

    sim.add_testbench(control)
    sim.add_testbench(collect, background=True)
    sim.run()
    return out, status[0]


def decode(words, k, h, w):
    """Each word: per PE lane (100 bits: valid, chunk, y, x, count, 8 × (c, value))."""
    lane_bits = 2 + Y_BITS + OX_BITS + OCOUNT_BITS + CHUNK * (C_BITS + 8)
    assert lane_bits == 100
    out = [[[0] * w for _ in range(h)] for _ in range(k)]
    seen = set()
    for word in words:
        for pe in range(2):
            base = pe * lane_bits
            if not field(word, base, 1, signed=False):
                continue
            chunk = field(word, base + 1, PE_BITS, signed=False)
            off = base + 1 + PE_BITS
            y = field(word, off, Y_BITS, signed=False)
            x = field(word, off + Y_BITS, OX_BITS, signed=False)
            count = field(word, off + Y_BITS + OX_BITS, OCOUNT_BITS, signed=False)
            assert (chunk, y, x) not in seen, f"pixel {(chunk, y, x)} twice"
            seen.add((chunk, y, x))
            lanes = off + Y_BITS + OX_BITS + OCOUNT_BITS
            for n in range(CHUNK):
                c = field(word, lanes + n * (C_BITS + 8), C_BITS, signed=False)
                value = field(word, lanes + n * (C_BITS + 8) + C_BITS, 8)
                if n < count:
                    assert value != 0, "a listed output is zero"
                    out[chunk * CHUNK + c][y][x] = value
                else:
                    assert value == 0 and c == 0, "lanes past the count are not zero"
    assert len(seen) == -(-k // CHUNK) * h * w, "not one beat per output pixel and chunk"
    return out


def random_layer(rng, h, w, c, k):
    def value(bits, density):
        return rng.randint(-(1 << (bits - 1)), (1 << (bits - 1)) - 1) \
            if rng.random() < density else 0
    act = [[[value(ACT, 0.5) for _ in range(w)] for _ in range(h)] for _ in range(c)]
    weights = [[[[value(WEIGHT, 0.9) for _ in range(3)] for _ in range(3)] for _ in range(c)]
               for _ in range(k)]
    # Prune to 2/4 along K: keep the two largest |w| of each group (ties to the lower position).
    for g in range(0, k, M):
        for ch in range(c):
            for dr in range(3):
                for ds in range(3):
                    group = [weights[g + p][ch][dr][ds] for p in range(M)]
                    keep = sorted(range(M), key=lambda p: (-abs(group[p]), p))[:K_NZ]
                    for p in range(M):
                        if p not in keep:
                            weights[g + p][ch][dr][ds] = 0
    bias = [rng.randint(-300, 300) for _ in range(k)]
    mult = [rng.randint(1, (1 << 16) - 1) for _ in range(k)]
    shift = [rng.randint(16, 22) for _ in range(k)]
    return act, weights, bias, mult, shift


def run_layer(swap=False, seed=None):
    seed = random.randrange(1 << 30) if seed is None else seed
    print(f"seed {seed}")
    rng = random.Random(seed)
    h, w, c, k = 3, 4, 9, 12             # two segments, a chunk and a half
    act, weights, bias, mult, shift = random_layer(rng, h, w, c, k)
    # Group 0 at (c 0, r 0, s 0) holds one non-zero at position 3: slots (0, pos 0), (w, pos 3).
    for p in range(M):
        weights[p][0][0][0] = 0
    weights[3][0][0][0] = -(1 << (WEIGHT - 1))
    act[8][0][0] = (1 << (ACT - 1)) - 1          # segment 1's first entry
    words, status = simulate(act, weights, bias, mult, shift, swap=swap)
    return decode(words, k, h, w), reference(act, weights, bias, mult, shift), status


def test_hand_packed_beats_give_the_layer():
    got, want, status = run_layer()
    assert status & 0b100 == 0, "error flag set"
    assert got == want


@pytest.mark.parametrize("seed", [3])
def test_a_swapped_field_is_caught(seed):
    """Weight slots packed with ``pos`` below ``value``: the layer must come out different."""
    got, want, _ = run_layer(swap=True, seed=seed)
    assert got != want
