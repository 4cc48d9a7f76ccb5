"""The STA engine's stream bit layouts, pinned by hand from the README.

Every beat here is built with integer shifts and masks from the field order and widths the README
documents ("Bit layouts" under "The hardware": fields LSB first, array element 0 lowest), never
with :mod:`sparseforge.hdl.sta.layouts`, :mod:`sparseforge.tb.packing` or
:mod:`sparseforge.sim.sta.streams`; the DBB encoding is written out here too, and the expected
result is a Python-integer matrix product wrapped to the accumulator width. A layout change that
moves, reorders or resizes a field fails here even when the packers follow it.

``test_a_swapped_field_is_caught`` packs one field pair in the wrong order and checks that the
RTL's result then differs, so this test cannot pass by accident.
"""

import random

import pytest
from amaranth.sim import Simulator
from sparseforge.gen.config import parse_config
from sparseforge.hdl.sta import StaEngine

# (config, job NNZ): a VDBB engine (NNZ steps per block, words of a mask slot and a value slot
# per column), a fixed DBB engine with narrow operands (words of a mask and two value slots) at
# its bound and denser than its bound (the dense fallback: two steps a block, blocks across
# words), and a dense STA on two TPE columns (B value slots, no mask).
_DBB = {"kind": "dbb", "tpe": {"a": 1, "b": 4, "c": 3}, "array": {"m": 1, "n": 1},
        "dbb_macs": 2, "widths": {"act": 6, "weight": 5, "acc": 18}}
DESIGNS = {
    "vdbb_2x4x2_1x1": ({"kind": "vdbb", "tpe": {"a": 2, "b": 4, "c": 2},
                        "array": {"m": 1, "n": 1}, "widths": {"acc": 20}}, 2),
    "dbb_1x4x3_1x1": (_DBB, 2),
    "dbb_1x4x3_1x1_fallback": (_DBB, 3),
    "sta_2x3x2_1x2": ({"kind": "sta", "tpe": {"a": 2, "b": 3, "c": 2}, "array": {"m": 1, "n": 2},
                       "widths": {"acc": 16}}, 3),
}


def pack(fields):
    """``[(value, width), ...]`` → one integer, the first field at bit 0 (two's complement)."""
    word, shift = 0, 0
    for value, width in fields:
        assert -(1 << width) < value < (1 << width), (value, width)
        word |= (value & ((1 << width) - 1)) << shift
        shift += width
    return word


def field(word, offset, width):
    """The signed field of ``width`` bits at ``offset``."""
    value = (word >> offset) & ((1 << width) - 1)
    return value - (1 << width) if value >> (width - 1) else value


def wrap(x, bits):
    x %= 1 << bits
    return x - (1 << bits) if x >> (bits - 1) else x


class Design:
    """The documented geometry of one engine, from its config keys (not from sparseforge)."""

    def __init__(self, raw):
        self.kind = raw["kind"]
        tpe, array, widths = raw["tpe"], raw["array"], raw["widths"]
        self.block = tpe["b"]
        self.rows = array["m"] * tpe["a"]                 # M·A rows of an output tile
        self.cols = array["n"] * tpe["c"]                 # N·C columns
        self.lanes = {"sta": self.block, "dbb": raw.get("dbb_macs"), "vdbb": 1}[self.kind]
        self.act, self.weight = widths.get("act", 8), widths.get("weight", 8)
        self.acc = widths["acc"]


def operands(d, rng, m, k, n, nnz):
    """Random operands, weights at most ``nnz`` non-zeros per block of B along K."""
    act = [[rng.randint(-(1 << (d.act - 1)), (1 << (d.act - 1)) - 1) for _ in range(k)]
           for _ in range(m)]
    weights = [[0] * n for _ in range(k)]
    for j in range(n):
        for b0 in range(0, k, d.block):
            span = range(b0, min(b0 + d.block, k))
            for x in rng.sample(list(span), min(nnz, len(span)) if d.kind != "sta" else len(span)):
                weights[x][j] = rng.randint(-(1 << (d.weight - 1)), (1 << (d.weight - 1)) - 1)
    return act, weights


def beats(d, act, weights, nnz, swap=None):
    """Hand-packed beats ``(job, act beats, weight words)`` of a GEMM of one column tile.

    Documented layouts, LSB first: job = k (20 bits), nnz (bit length of B), tiles (32 bits);
    act beat = rows × B elements, row-major. Weight word, dense kinds: per column its B values.
    Sparse kinds (Fig. 2's compressed blocks): per tile and column, block after block, the B-bit
    mask in ⌈B/weight⌉ weight-wide slots (low bits first) then the block's NNZ value slots (its
    non-zeros in ascending position, zero-padded), cut into words of lanes + ⌈B/weight⌉ slots;
    a word is slot 0 of every column, then slot 1 of every column, …; a tile's last word is
    padded with zero slots. ``swap`` packs one pair of fields in the wrong order.
    """
    m, k, n = len(act), len(weights), len(weights[0])
    assert n <= d.cols
    blocks = -(-k // d.block)
    tiles = -(-m // d.rows)
    job = [(k, 20), (nnz, d.block.bit_length()), (tiles, 32)]
    if swap == "job":
        job[0], job[2] = job[2], job[0]

    def a(i, x):
        return act[i][x] if i < m and x < k else 0

    def w(x, j):
        return weights[x][j] if x < k and j < n else 0

    mask_slots = -(-d.block // d.weight)
    word_slots = d.lanes + mask_slots
    act_beats, weight_words = [], []
    for t in range(tiles):
        sequences = [[] for _ in range(d.cols)]     # sparse kinds: each column's slots
        for b in range(blocks):
            elems = [(a(t * d.rows + r, b * d.block + e), d.act)
                     for r in range(d.rows) for e in range(d.block)]
            if swap == "act":       # element order within a row reversed
                elems = [elems[r * d.block + d.block - 1 - e]
                         for r in range(d.rows) for e in range(d.block)]
            act_beats.append(pack(elems))
            fields = []
            for j in range(d.cols):
                block = [w(b * d.block + e, j) for e in range(d.block)]
                if d.kind == "sta":
                    column = [(v, d.weight) for v in block]
                    fields += column[::-1] if swap == "weight" else column
                    continue
                mask = sum(1 << e for e, v in enumerate(block) if v)
                nonzero = [v for v in block if v]
                mask_parts = [(mask >> (d.weight * i)) & ((1 << d.weight) - 1)
                              for i in range(mask_slots)]
                values = nonzero + [0] * (nnz - len(nonzero))
                # swap: the values before the mask
                sequences[j] += values + mask_parts if swap == "weight" else mask_parts + values
            if d.kind == "sta":
                weight_words.append(pack(fields))
        if d.kind == "sta":
            continue
        length = -(-len(sequences[0]) // word_slots) * word_slots
        for col in sequences:
            col += [0] * (length - len(col))
        for w0 in range(0, length, word_slots):
            weight_words.append(pack([(sequences[j][w0 + i], d.weight)
                                      for i in range(word_slots) for j in range(d.cols)]))
    return pack(job), act_beats, weight_words


def simulate(raw, job, act_beats, weight_beats, result_rows, max_cycles=2000):
    """Drive raw integer beats into the engine; return the raw result words."""
    cfg = parse_config({"arch": "sta", "name": "pinned", **raw})
    dut = StaEngine(cfg)
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    words = []

    async def put(ctx, port, payloads):
        for word in payloads:
            ctx.set(port.payload.as_value(), word)
            ctx.set(port.valid, 1)
            for _ in range(max_cycles):         # bounded: a wrong job may never take them
                _, _, ready = await ctx.tick().sample(port.ready)
                if ready:
                    break
            else:
                return
            ctx.set(port.valid, 0)

    async def feed_job(ctx):
        await put(ctx, dut.job, [job])

    async def feed_act(ctx):
        await put(ctx, dut.act, act_beats)

    async def feed_weight(ctx):
        await put(ctx, dut.weight, weight_beats)

    async def collect(ctx):
        ctx.set(dut.result.ready, 1)
        for _ in range(max_cycles):
            _, _, valid, word = await ctx.tick().sample(dut.result.valid,
                                                        dut.result.payload.as_value())
            if valid:
                words.append(word)
                if len(words) == result_rows:
                    return

    for bench in (feed_job, feed_act, feed_weight, collect):
        sim.add_testbench(bench)
    sim.run()
    return words


def run_gemm(name, swap=None, seed=None):
    raw, nnz = DESIGNS[name]
    d = Design(raw)
    seed = random.randrange(1 << 30) if seed is None else seed
    print(f"{name}: seed {seed}")
    rng = random.Random(seed)
    # Two row tiles of one column tile; K one short of two blocks (zero padding past K).
    m, k, n = 2 * d.rows, 2 * d.block - 1, d.cols
    act, weights = operands(d, rng, m, k, n, nnz)
    job, act_beats, weight_beats = beats(d, act, weights, nnz, swap=swap)
    words = simulate(raw, job, act_beats, weight_beats, result_rows=m)
    # A result beat is one output row: column j's accumulator at bit j·acc.
    got = [[field(word, j * d.acc, d.acc) for j in range(d.cols)] for word in words]
    want = [[wrap(sum(act[i][x] * weights[x][j] for x in range(k)), d.acc) for j in range(n)]
            for i in range(m)]
    return got, want


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_hand_packed_beats_give_the_product(name):
    got, want = run_gemm(name)
    assert got == want


@pytest.mark.parametrize("name, swap", [("vdbb_2x4x2_1x1", "weight"), ("dbb_1x4x3_1x1", "act"),
                                        ("sta_2x3x2_1x2", "job")])
def test_a_swapped_field_is_caught(name, swap):
    """The same run with one field pair packed in the wrong order must not pass."""
    got, want = run_gemm(name, swap=swap, seed=7)
    assert got != want
