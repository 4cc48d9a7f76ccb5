"""The SCNN accelerator's AXI4-Stream row layout and compressed format, pinned by hand.

Every beat is built here with integer shifts and masks from the README ("SCNN", "Bit layouts"):
a row is the block's entry ``count`` from bit 0, then ``L`` entries, each ``value`` then
``zeros``, ``tdata`` padded with zeros to whole bytes. The compressed encoding (zero runs,
placeholders), the weight linearization (group outer, channel inner; ``r``, ``s``, output channel
innermost in a block) and the activation tiles are written out here too, never taken from
:mod:`sparseforge.hdl.scnn.layouts`, :mod:`sparseforge.tb.packing` or
:mod:`sparseforge.sim.scnn`. The output rows are unpacked and decoded by hand and compared with a
'same' convolution written with Python integers.

``test_a_swapped_field_is_caught`` packs one row with ``zeros`` below ``value`` and checks that
the layer's result then differs.
"""

import random

import pytest
from amaranth.sim import Simulator
from sparseforge.gen.config import parse_config
from sparseforge.hdl.scnn import ScnnAccelerator
from sparseforge.tb.axi_lite_pysim import axil_read, axil_write

# Two PEs side by side, 2×2 tiles, 3×3 kernels (halo 1), two output channels per group, 2-bit
# zero runs (placeholders are common) and operand widths that are not whole bytes.
RAW = {"arch": "scnn", "name": "pinned", "pes": {"x": 2, "y": 1},
       "pe": {"f": 2, "i": 3, "banks": 16, "bank_entries": 8}, "kc": 2,
       "tile": {"w": 2, "h": 2}, "kernel_max": 3, "index_bits": 2,
       "widths": {"act": 7, "weight": 6, "acc": 14},
       "rams": {"iaram": 48, "oaram": 48, "weights": 64, "out_channels": 4}}
LANES_F, LANES_I, KC, TW, TH, KMAX, IB = 2, 3, 2, 2, 2, 3, 2    # F, I, kc, W_t, H_t, …
ACT, WEIGHT, ACC = 7, 6, 14
PES = [(0, 0), (1, 0)]                       # PE index py·P_x + px
# Count fields: enough bits for 0 … the most entries a block can have.
W_COUNT_BITS = (KC * KMAX * KMAX).bit_length()       # kc·kernel_max² = 18 → 5 bits
A_COUNT_BITS = (TW * TH).bit_length()                # W_t·H_t = 4 → 3 bits


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


def encode(dense):
    """Entries ``(value, zeros)`` of a dense run: a run of z zeros before a value becomes
    z // 2**IB placeholders (0, 2**IB − 1), then the value with z % 2**IB; trailing zeros
    are not encoded."""
    entries, run = [], 0
    for x in dense:
        if x == 0:
            run += 1
            continue
        entries += [(0, (1 << IB) - 1)] * (run // (1 << IB))
        entries.append((x, run % (1 << IB)))
        run = 0
    return entries


def decode(entries, length):
    dense, pos = [0] * length, -1
    for value, zeros in entries:
        pos += zeros + 1
        dense[pos] = value
    return dense


def rows(entries, lanes, count_bits, value_bits, swap=False):
    """One block as beats ``(tdata, tlast)``: max(1, ⌈count/L⌉) rows, each with the count."""
    n = len(entries)
    padded = entries + [(0, 0)] * (-n % lanes) if n else [(0, 0)] * lanes
    beats = []
    for r in range(0, len(padded), lanes):
        fields = [(n, count_bits)]
        for value, zeros in padded[r:r + lanes]:
            fields += [(zeros, IB), (value, value_bits)] if swap else \
                [(value, value_bits), (zeros, IB)]
        beats.append([pack(fields), 0])
    beats[-1][1] = 1
    return [tuple(b) for b in beats]


def conv_same_relu(act, weights):
    """ReLU of the stride-1 'same' convolution, accumulators wrapped to ACC bits."""
    c, h, w = len(act), len(act[0]), len(act[0][0])
    k, r, s = len(weights), len(weights[0][0]), len(weights[0][0][0])
    out = [[[0] * w for _ in range(h)] for _ in range(k)]
    for kk in range(k):
        for y in range(h):
            for x in range(w):
                total = 0
                for ch in range(c):
                    for dr in range(r):
                        for ds in range(s):
                            yy, xx = y + dr - (r - 1) // 2, x + ds - (s - 1) // 2
                            if 0 <= yy < h and 0 <= xx < w:
                                total += act[ch][yy][xx] * weights[kk][ch][dr][ds]
                total %= 1 << ACC
                total -= (1 << ACC) if total >> (ACC - 1) else 0
                out[kk][y][x] = max(total, 0)
    return out


def layer_beats(act, weights, swap=False):
    c, h, w = len(act), len(act[0]), len(act[0][0])
    k, r, s = len(weights), len(weights[0][0]), len(weights[0][0][0])
    w_beats = []
    for g in range(-(-k // KC)):
        for ch in range(c):
            # Block (g, c): r outer, s, then the group's kc output channels (zero past K).
            dense = [weights[g * KC + kk][ch][dr][ds] if g * KC + kk < k else 0
                     for dr in range(r) for ds in range(s) for kk in range(KC)]
            w_beats += rows(encode(dense), LANES_F, W_COUNT_BITS, WEIGHT, swap=swap)
    a_beats = []
    for n, (px, py) in enumerate(PES):
        for ch in range(c):
            tile = [act[ch][py * TH + y][px * TW + x]
                    if py * TH + y < h and px * TW + x < w else 0
                    for y in range(TH) for x in range(TW)]
            a_beats += [(data, last, n)
                        for data, last in rows(encode(tile), LANES_I, A_COUNT_BITS, ACT)]
    return w_beats, a_beats


def simulate(act, weights, swap=False, max_cycles=20_000):
    """Load hand-packed beats, run the layer; return ``{pe: [output words]}`` and status."""
    c, h, w = len(act), len(act[0]), len(act[0][0])
    k, r, s = len(weights), len(weights[0][0]), len(weights[0][0][0])
    dut = ScnnAccelerator(parse_config(RAW))
    regs = {reg.name: reg.offset for reg in dut.registers}
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    w_beats, a_beats = layer_beats(act, weights, swap=swap)
    out = {n: [] for n in range(len(PES))}
    status = []
    finished = []

    async def send(ctx, port, beats):
        for data, last, *dest in beats:
            ctx.set(port.tdata, data)
            ctx.set(port.tlast, last)
            if dest:
                ctx.set(port.tdest, dest[0])
            ctx.set(port.tvalid, 1)
            await ctx.tick().until(port.tready)
            ctx.set(port.tvalid, 0)

    async def control(ctx):
        bus = dut.s_axil
        await axil_write(ctx, bus, regs["clear"], 1)
        for name, value in zip("hwckrs", (h, w, c, k, r, s)):
            await axil_write(ctx, bus, regs[f"layer_{name}"], value)
        # The activations are taken after start, until every PE has its blocks; the weights
        # while the layer computes (the weight FIFOs).
        await axil_write(ctx, bus, regs["start"], 1)
        await send(ctx, dut.s_axis_act, a_beats)
        await send(ctx, dut.s_axis_w, w_beats)
        for _ in range(max_cycles):
            data, _ = await axil_read(ctx, bus, regs["status"])
            if data & 0b10:             # done
                break
        status.append(data)
        # done rises after the last output beat; wait until the stream is idle too.
        for _ in range(max_cycles):
            data, _ = await axil_read(ctx, bus, regs["status"])
            if not data & 0b1000:
                break
        finished.append(1)

    async def collect(ctx):
        o = dut.m_axis_out
        ctx.set(o.tready, 1)
        async for _clk, _rst, valid, data, dest in ctx.tick().sample(o.tvalid, o.tdata,
                                                                        o.tdest):
            if valid:
                out[dest].append(data)

    sim.add_testbench(control)
    sim.add_testbench(collect, background=True)
    # In steps, so that a stream never taken fails the test instead of hanging it.
    elapsed = 0
    while not finished and elapsed < 10 * max_cycles:
        elapsed += 2000
        sim.run_until(elapsed * 1e-6)
    assert finished, f"the layer did not finish in {elapsed} cycles"
    return out, status[0]


def unpack_outputs(words, k):
    """Each PE's output rows → its K blocks → the K × H × W output (hand-unpacked)."""
    c_bits = A_COUNT_BITS
    planes = {}
    for n, pe_words in words.items():
        blocks, row = [], 0
        while len(blocks) < k:
            count = field(pe_words[row], 0, c_bits, signed=False)
            entries = []
            for r in range(max(1, -(-count // LANES_I))):
                word = pe_words[row + r]
                for lane in range(LANES_I):
                    base = c_bits + lane * (ACC + IB)
                    entries.append((field(word, base, ACC),
                                    field(word, base + ACC, IB, signed=False)))
            blocks.append(decode(entries[:count], TW * TH))
            row += max(1, -(-count // LANES_I))
        assert row == len(pe_words), f"PE {n}: {len(pe_words) - row} rows past the last block"
        planes[n] = blocks
    return planes


def random_layer(rng, h, w, c, k, r, s):
    def value(bits, density):
        return rng.randint(-(1 << (bits - 1)), (1 << (bits - 1)) - 1) \
            if rng.random() < density else 0
    act = [[[value(ACT, 0.6) for _ in range(w)] for _ in range(h)] for _ in range(c)]
    weights = [[[[value(WEIGHT, 0.35) for _ in range(s)] for _ in range(r)] for _ in range(c)]
               for _ in range(k)]
    return act, weights


def run_layer(swap=False, seed=None):
    seed = random.randrange(1 << 30) if seed is None else seed
    print(f"seed {seed}")
    rng = random.Random(seed)
    h, w, c, k, r, s = 2, 4, 2, 3, 3, 3          # K = 3: a second, partial group
    act, weights = random_layer(rng, h, w, c, k, r, s)
    # Block (0, 0) starts with a run of six zeros and a value: one placeholder, pinned.
    for kk in range(KC):
        weights[kk][0][0] = [0] * s
    weights[0][0][1][0] = -(1 << (WEIGHT - 1))
    words, status = simulate(act, weights, swap=swap)
    try:
        planes = unpack_outputs(words, k)
    except IndexError:          # fewer rows than K blocks
        return None, conv_same_relu(act, weights), status
    got = [[[planes[x // TW][kk][y * TW + x % TW] for x in range(w)] for y in range(h)]
           for kk in range(k)]
    return got, conv_same_relu(act, weights), status


def test_hand_packed_rows_give_the_layer():
    got, want, status = run_layer()
    assert status & 0b100 == 0, "error flag set"
    assert got == want


@pytest.mark.parametrize("seed", [3])
def test_a_swapped_field_is_caught(seed):
    """Weight rows packed with ``zeros`` below ``value``: the layer must come out different."""
    got, want, _ = run_layer(swap=True, seed=seed)
    assert got != want
