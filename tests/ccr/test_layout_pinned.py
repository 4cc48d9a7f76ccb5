"""SparseK's AXI4-Stream beats, register addresses and buffer formats, pinned by hand.

Every beat is built here with integer shifts and masks from the README ("CCR", "Bit layouts"):
fields packed LSB first in the listed order, array element 0 lowest, two's complement values,
``tdata`` padded with zeros to whole bytes. The dense IB blocks (channel, block row, block column;
lane ``p·P_y + q``), the compressed KB (the non-zero weights of kernels ``k, c`` row-major, each
``value, i, j``, and a count per kernel) and the OB word order of the output stream are written
out here too, never taken from :mod:`sparseforge.hdl.ccr.layouts`, :mod:`sparseforge.tb.packing`
or :mod:`sparseforge.sim.ccr`. The output is unpacked by hand and compared with a 'same'
correlation written with Python integers.

``test_a_swapped_field_is_caught`` packs the KB entries with ``j`` before ``i`` and checks that
the layer then comes out different.
"""

import random

import pytest
from amaranth.sim import Simulator
from sparseforge.gen.config import parse_config
from sparseforge.hdl.ccr import CcrAccelerator
from sparseforge.tb.axi_lite_pysim import axil_read, axil_write

# A 2×4 PU (lanes p·P_y + q tell rows from columns), 3×3 kernels, maps up to 8×8, widths that are
# not whole bytes.
RAW = {"arch": "ccr", "name": "pinned", "variant": "sparse_k", "pu": {"x": 2, "y": 4},
       "buffers": {"ib_kb": 1, "kb_kb": 1, "ob_kb": 1}, "kernel_max": 3, "map_max": 8,
       "kernels_max": 16, "widths": {"act": 6, "weight": 5, "acc": 20}}
PX, PY, ACT, WEIGHT, ACC = 2, 4, 6, 5, 20
IJ_BITS = (3 - 1).bit_length()             # a kernel coordinate 0 … kernel_max − 1 → 2 bits
COUNT_BITS = (3 * 3).bit_length()          # a kernel's word count 0 … kernel_max² → 4 bits
REGS = {"start": 0x00, "clear": 0x04, "status": 0x08, "cycles": 0x0C, "layer_c": 0x10,
        "layer_h": 0x14, "layer_w": 0x18, "layer_k": 0x1C, "layer_r": 0x20, "layer_s": 0x24,
        "layer_x0": 0x28, "layer_y0": 0x2C, "layer_ho": 0x30, "layer_wo": 0x34,
        "accumulate": 0x38, "read": 0x3C, "macs": 0x40}


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


def ib_beats(x):
    """One word per P_x × P_y block: channel, block row, block column; lane p·P_y + q."""
    c, h, w = len(x), len(x[0]), len(x[0][0])
    beats = []
    for ch in range(c):
        for bm in range(-(-h // PX)):
            for bn in range(-(-w // PY)):
                lanes = []
                for p in range(PX):
                    for q in range(PY):
                        m, n = bm * PX + p, bn * PY + q
                        lanes.append((x[ch][m][n] if m < h and n < w else 0, ACT))
                beats.append(pack(lanes))
    return beats


def kb_beats(w, swap=False):
    """The non-zero weights ``(value, i, j)`` of kernels k, c in order, row-major, and each
    kernel's count."""
    entries, counts = [], []
    for kernel in w:
        for ch in kernel:
            n = 0
            for i, row in enumerate(ch):
                for j, value in enumerate(row):
                    if value:
                        coords = [(j, IJ_BITS), (i, IJ_BITS)] if swap else \
                            [(i, IJ_BITS), (j, IJ_BITS)]
                        entries.append(pack([(value, WEIGHT)] + coords))
                        n += 1
            counts.append(pack([(n, COUNT_BITS)]))
    return entries, counts


def reference(x, w):
    """'same' 3×3 (window origin (−1, −1)): ``y[k, u, v] = Σ x[c, u − 1 + i, v − 1 + j] ·
    w[k, c, i, j]``, wrapped to ACC bits."""
    c, h, wd = len(x), len(x[0]), len(x[0][0])
    out = [[[0] * wd for _ in range(h)] for _ in range(len(w))]
    for k, kernel in enumerate(w):
        for u in range(h):
            for v in range(wd):
                acc = sum(x[ch][u - 1 + i][v - 1 + j] * kernel[ch][i][j]
                          for ch in range(c) for i in range(3) for j in range(3)
                          if 0 <= u - 1 + i < h and 0 <= v - 1 + j < wd)
                acc %= 1 << ACC
                out[k][u][v] = acc - (1 << ACC) if acc >> (ACC - 1) else acc
    return out


def simulate(x, w, swap=False):
    """Load the hand-packed beats, run one pass, stream OB out; return the words, status, MACs."""
    c, h, wd = len(x), len(x[0]), len(x[0][0])
    k = len(w)
    nwords = k * -(-h // PX) * -(-wd // PY)
    dut = CcrAccelerator(parse_config(RAW))
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    words, result = [], {}
    entries, counts = kb_beats(w, swap)

    async def send(ctx, port, beats, dest):
        for data in beats:
            ctx.set(port.tdata, data)
            ctx.set(port.tdest, dest)
            ctx.set(port.tlast, 1)
            ctx.set(port.tvalid, 1)
            await ctx.tick().until(port.tready)
            ctx.set(port.tvalid, 0)

    async def control(ctx):
        bus = dut.s_axil
        await axil_write(ctx, bus, REGS["clear"], 1)
        await send(ctx, dut.s_axis_i, ib_beats(x), 0)
        await send(ctx, dut.s_axis_k, entries, 0)
        await send(ctx, dut.s_axis_k, counts, 1)
        for name, value in (("c", c), ("h", h), ("w", wd), ("k", k), ("r", 3), ("s", 3),
                            ("x0", -1 & 0xFFFFFFFF), ("y0", -1 & 0xFFFFFFFF), ("ho", h),
                            ("wo", wd), ("accumulate", 0)):
            await axil_write(ctx, bus, REGS[name if name == "accumulate" else f"layer_{name}"],
                             value)
        await axil_write(ctx, bus, REGS["start"], 1)
        await ctx.tick().until(dut.irq)
        result["status"], _ = await axil_read(ctx, bus, REGS["status"])
        result["macs"], _ = await axil_read(ctx, bus, REGS["macs"])
        await axil_write(ctx, bus, REGS["read"], 1)
        while len(words) < nwords:
            await ctx.tick()

    async def collect(ctx):
        o = dut.m_axis_o
        ctx.set(o.tready, 1)
        async for _clk, _rst, valid, data in ctx.tick().sample(o.tvalid, o.tdata):
            if valid:
                words.append(data)

    sim.add_testbench(control)
    sim.add_testbench(collect, background=True)
    sim.run()
    return words, result


def unpack(words, k, h, w):
    """Word ``k·⌈h/P_x⌉·⌈w/P_y⌉ + ⌊u/P_x⌋·⌈w/P_y⌉ + ⌊v/P_y⌋``, lane ``(u mod P_x)·P_y +
    v mod P_y``, holds output ``(k, u, v)``."""
    hb, wb = -(-h // PX), -(-w // PY)
    assert len(words) == k * hb * wb
    return [[[field(words[kk * hb * wb + (u // PX) * wb + v // PY],
                    ((u % PX) * PY + v % PY) * ACC, ACC) for v in range(w)]
             for u in range(h)] for kk in range(k)]


def run_layer(swap=False, seed=None):
    seed = random.randrange(1 << 30) if seed is None else seed
    print(f"seed {seed}")
    rng = random.Random(seed)
    c, h, wd, k = 2, 5, 7, 3                  # partial blocks in both directions

    def value(bits, density):
        return rng.randint(-(1 << (bits - 1)), (1 << (bits - 1)) - 1) \
            if rng.random() < density else 0
    x = [[[value(ACT, 0.7) for _ in range(wd)] for _ in range(h)] for _ in range(c)]
    w = [[[[value(WEIGHT, 0.4) for _ in range(3)] for _ in range(3)] for _ in range(c)]
         for _ in range(k)]
    w[0][0] = [[0, 0, 0], [0, 0, 0], [0, 0, -(1 << (WEIGHT - 1))]]     # one entry at (2, 2)
    w[1][1] = [[0, 0, 0], [0, 0, 0], [0, 0, 0]]                       # an empty kernel
    w[2][0][1][2] = 7                                                   # i ≠ j
    words, result = simulate(x, w, swap)
    # Each non-zero weight multiplies every input of the map (the products landing outside the
    # window are computed and dropped): nnz(w) · H · W real products.
    macs = sum(1 for kernel in w for ch in kernel for row in ch for v in row if v) * h * wd
    return unpack(words, k, h, wd), reference(x, w), result, macs


def test_hand_packed_beats_give_the_layer():
    got, want, result, macs = run_layer()
    assert result["status"] & 0b100 == 0, "error flag set"
    assert got == want
    # The MAC register counts products of a real input (in the map) and a non-zero weight.
    assert result["macs"] == macs


@pytest.mark.parametrize("seed", [3])
def test_a_swapped_field_is_caught(seed):
    """KB entries packed with ``j`` before ``i``: the layer must come out different."""
    got, want, _, _ = run_layer(swap=True, seed=seed)
    assert got != want
