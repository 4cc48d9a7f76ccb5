"""The VDBB accelerator's AXI4-Stream words, pinned by hand from the README.

Every word is built here with integer shifts and masks from the README ("The VDBB accelerator",
"Bit layouts"): an activation word holds one pixel's channel block, channel ``cb·B + e`` in byte
``e``, pixel-major with the channel block inner; weight words carry the compressed blocks of
Fig. 2 (per output channel of the column tile, each block's B-bit mask once and then its NNZ
values, two 8-bit slots per channel a word), column tiles in order, each walking its reduction
``(cb, r, s)``; output words hold
INT32 accumulators (word ``4·cb + t`` of a pixel: channels ``cb·B + t·B/4 …``) or B INT8 values.
Nothing comes from :mod:`sparseforge.sim.accel.plan`, :mod:`sparseforge.tb.packing` or the
engine's layouts; the expected maps are a convolution written with Python integers.

``test_a_swapped_field_is_caught`` puts each block's values before its mask in the weight words
and checks that the layer's result then differs.
"""

import random

import pytest
from amaranth.sim import Simulator
from sparseforge.gen.config import parse_config
from sparseforge.hdl.accel import REGISTERS, Accelerator
from sparseforge.tb.axi_lite_pysim import axil_read, axil_write

# A 1×8×8_2×1 VDBB array: output tiles of 2 pixels (a 1×2 patch) by 8 channels, B = 8 (64-bit
# activation words, 128-bit weight words: 8 channels × two 8-bit slots), 4 banks.
RAW = {"arch": "accel", "name": "pinned",
       "array": {"kind": "vdbb", "tpe": {"a": 1, "b": 8, "c": 8}, "array": {"m": 2, "n": 1}},
       "sram": {"act_kb": 1, "weight_kb": 2}, "im2col": True}
B, COLS = 8, 8
REG = {reg.name: reg.offset for reg in REGISTERS}
# The layer: 3×4 input of 12 channels (two channel blocks, the second half empty), 8 output
# channels, 3×3 kernel, stride 1, padding 1: a 3×4 output map.
H, W, C, K, R, S, PAD, NNZ = 3, 4, 12, 8, 3, 3, 1, 2


def pack(fields):
    """``[(value, width), ...]`` → one integer, the first field at bit 0 (two's complement)."""
    word, shift = 0, 0
    for value, width in fields:
        assert -(1 << width) < value < (1 << width), (value, width)
        word |= (value & ((1 << width) - 1)) << shift
        shift += width
    return word


def field(word, offset, width):
    value = (word >> offset) & ((1 << width) - 1)
    return value - (1 << width) if value >> (width - 1) else value


def act_words(x):
    """Load order: pixel p = y·W + x, then channel block cb; channel cb·B + e in byte e."""
    cb_in = -(-C // B)
    return [pack([(x[cb * B + e][y][xx] if cb * B + e < C else 0, 8) for e in range(B)])
            for y in range(H) for xx in range(W) for cb in range(cb_in)]


def weight_words(w, swap=False):
    """The compressed blocks of Fig. 2: per column tile, per output channel of it, the blocks of
    its reduction ``(cb, r, s)`` in order, each its B-bit mask (one 8-bit slot) then its NNZ
    values (zero-padded); words of two slots per channel, slot 0 of every channel then slot 1,
    each column tile from a new word. ``swap`` puts the values before the mask."""
    cb_in = -(-C // B)
    words = []
    for q in range(-(-K // COLS)):
        sequences = [[] for _ in range(COLS)]
        for cb in range(cb_in):
            for r in range(R):
                for s in range(S):
                    for j in range(COLS):
                        k = q * COLS + j
                        block = [w[k][cb * B + e][r][s] if k < K and cb * B + e < C else 0
                                 for e in range(B)]
                        mask = sum(1 << e for e, v in enumerate(block) if v)
                        values = [v for v in block if v]
                        values += [0] * (NNZ - len(values))
                        sequences[j] += values + [mask] if swap else [mask] + values
        length = -(-len(sequences[0]) // 2) * 2
        for seq in sequences:
            seq += [0] * (length - len(seq))
        for w0 in range(0, length, 2):
            words.append(pack([(sequences[j][w0 + i], 8) for i in range(2)
                               for j in range(COLS)]))
    return words


def conv(x, w):
    """K × Ho × Wo accumulators: Σ x[c, oy + r − pad, ox + s − pad] · w[k, c, r, s]."""
    ho, wo = H + 2 * PAD - R + 1, W + 2 * PAD - S + 1
    out = [[[0] * wo for _ in range(ho)] for _ in range(K)]
    for k in range(K):
        for oy in range(ho):
            for ox in range(wo):
                total = 0
                for c in range(C):
                    for r in range(R):
                        for s in range(S):
                            y, xx = oy + r - PAD, ox + s - PAD
                            if 0 <= y < H and 0 <= xx < W:
                                total += x[c][y][xx] * w[k][c][r][s]
                out[k][oy][ox] = total
    return out


def requantize(acc, shift, relu):
    """The output stage: clamp((max(acc, 0) if relu) + 2**(shift−1)) >> shift to INT8."""
    acc = max(acc, 0) if relu else acc
    return min(127, max(-128, (acc + (1 << (shift - 1))) >> shift))


def simulate(x, w, runs, swap=False, max_polls=5000):
    """Load the hand-packed words, run one layer per ``(int8_out, shift, relu)`` of ``runs`` and
    read each output map back; return the words read and each run's status."""
    dut = Accelerator(parse_config(RAW))
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    ho, wo = H + 2 * PAD - R + 1, W + 2 * PAD - S + 1
    cb_out = -(-K // B)
    results = []
    reads = []          # the act_reads register after each run

    async def send(ctx, port, words):
        for n, word in enumerate(words):
            ctx.set(port.tdata, word)
            ctx.set(port.tlast, n == len(words) - 1)
            ctx.set(port.tvalid, 1)
            await ctx.tick().until(port.tready)
            ctx.set(port.tvalid, 0)

    async def control(ctx):
        bus = dut.s_axil

        async def write(**values):
            for name, value in values.items():
                assert await axil_write(ctx, bus, REG[name], value) == 0, name

        await write(act_load_half=0, act_load_base=0, act_load_blocks=-(-C // B))
        await send(ctx, dut.s_axis_act, act_words(x))
        await write(w_load_half=0, w_load_base=0)
        await send(ctx, dut.s_axis_w, weight_words(w, swap=swap))
        for int8_out, shift, relu, *direct in runs:
            await write(in_h=H, in_w=W, in_c=C, out_k=K, kernel_r=R, kernel_s=S, stride=1,
                        pad=PAD, nnz=NNZ, shift=shift, relu=int(relu), int8_out=int(int8_out),
                        patch_h=1, direct=int(bool(direct) and direct[0]), ifm_half=0,
                        ifm_base=0, ofm_half=1, ofm_base=0, w_half=0, w_base=0, start=1)
            for _ in range(max_polls):
                status, _ = await axil_read(ctx, bus, REG["status"])
                if status & 0b10 and not status & 0b1:
                    break
            reads.append((await axil_read(ctx, bus, REG["act_reads"]))[0])
            blocks = cb_out * (1 if int8_out else 4)
            await write(read_half=1, read_base=0, read_blocks=blocks,
                        read_count=ho * wo * blocks, read_start=1)
            o = dut.m_axis_out
            ctx.set(o.tready, 1)
            words = []
            for _ in range(20 * ho * wo * blocks):
                _, _, valid, data, last = await ctx.tick().sample(o.tvalid, o.tdata, o.tlast)
                if valid:
                    words.append(data)
                    if last:
                        break
            ctx.set(o.tready, 0)
            results.append((words, status, reads[-1]))

    sim.add_testbench(control)
    sim.run()
    return results


def random_operands(rng):
    x = [[[rng.randint(-128, 127) for _ in range(W)] for _ in range(H)] for _ in range(C)]
    w = [[[[0] * S for _ in range(R)] for _ in range(C)] for _ in range(K)]
    for k in range(K):
        for cb in range(-(-C // B)):
            for r in range(R):
                for s in range(S):
                    # At most NNZ non-zeros in each block of B channels at (k, r, s).
                    span = [c for c in range(cb * B, (cb + 1) * B) if c < C]
                    for c in rng.sample(span, min(NNZ, len(span))):
                        w[k][c][r][s] = rng.randint(-128, 127)
    return x, w


def int32_map(words):
    """K × Ho × Wo from INT32 words: per pixel 4 words per channel block; word 4·cb + t, 32-bit
    lane i holds channel cb·B + t·B/4 + i (None where words are missing)."""
    ho, wo = H + 2 * PAD - R + 1, W + 2 * PAD - S + 1
    lanes, cb_out = B // 4, -(-K // B)
    got = [[[None] * wo for _ in range(ho)] for _ in range(K)]
    if len(words) == ho * wo * 4 * cb_out:
        for p in range(ho * wo):
            for k in range(K):
                cb, t, i = k // B, (k % B) // lanes, k % lanes
                got[k][p // wo][p % wo] = field(words[(p * cb_out + cb) * 4 + t], 32 * i, 32)
    return got


def run(swap=False, seed=None, int8=True, direct=False):
    """The layer as INT32, then as INT8 (shift 7, ReLU) unless not ``int8``, then with
    ``direct`` once more as INT32 through the design's direct reader instead of IM2COL."""
    seed = random.randrange(1 << 30) if seed is None else seed
    print(f"seed {seed}")
    rng = random.Random(seed)
    x, w = random_operands(rng)
    ho, wo = H + 2 * PAD - R + 1, W + 2 * PAD - S + 1
    want32 = conv(x, w)
    runs = [(False, 0, False), (True, 7, True)] if int8 else [(False, 0, False)]
    if direct:
        runs.append((False, 0, False, True))
    results = simulate(x, w, runs, swap=swap) + [([], 0, 0)] * 3
    (words32, status32, reads32), (words8, status8, _) = results[0], results[1]
    cb_out = -(-K // B)
    got32 = int32_map(words32)
    got8 = [[[None] * wo for _ in range(ho)] for _ in range(K)]
    for p in range(ho * wo):
        for k in range(K):
            if len(words8) == ho * wo * cb_out:
                got8[k][p // wo][p % wo] = field(words8[p * cb_out + k // B], 8 * (k % B), 8)
    want8 = [[[requantize(v, 7, True) for v in row] for row in plane] for plane in want32]
    out = [(got32, want32, status32, reads32), (got8, want8, status8)]
    if direct:
        words, status, reads = results[2]
        out.append((int32_map(words), want32, status, reads))
    return out


def test_hand_packed_words_give_the_layer():
    """Through IM2COL as INT32 and INT8, then through the direct reader (``direct`` = 1), the
    fallback for layers whose IM2COL window does not fit."""
    (got32, want32, status32, reads32), (got8, want8, status8), \
        (got_d, want_d, status_d, reads_d) = run(direct=True)
    assert status32 & 0b100 == 0 and status8 & 0b100 == 0, "error flag set"
    assert got32 == want32
    assert got8 == want8
    assert status_d & 0b100 == 0 and got_d == want_d
    # The direct reader reads every in-image element of every output pixel's taps, once per
    # channel block (one column tile); IM2COL reads each window word once, far fewer.
    ho, wo = H + 2 * PAD - R + 1, W + 2 * PAD - S + 1
    taps = sum(1 for oy in range(ho) for ox in range(wo) for r in range(R) for s in range(S)
               if 0 <= oy + r - PAD < H and 0 <= ox + s - PAD < W)
    assert reads_d == taps * -(-C // B)
    assert reads32 < reads_d


@pytest.mark.parametrize("seed", [5])
def test_a_swapped_field_is_caught(seed):
    """Weight words with each block's values before its mask: the map must come out different."""
    (got32, want32, *_), *_ = run(swap=True, seed=seed, int8=False)
    assert got32 != want32
