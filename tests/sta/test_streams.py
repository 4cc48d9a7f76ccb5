"""Engine streams of a GEMM (sim/sta/streams.py): tiling, padding, DBB encoding, the compressed
weight words, gated MAC-cycles.

The operands are rebuilt from the beats by plain Python loops that follow the documented order
(tiles row-tiles outer and column-tiles inner, blocks inner, weight steps per block; DBB slots
decoded by walking the mask bits) and compared to the zero-padded inputs; the compressed weight
words are decoded the same way, walking each tile's slots (mask, then NNZ values, per block).
"""

import numpy as np
import pytest
from sparseforge.gen.config import parse_config
from sparseforge.gen.presets import load_preset
from sparseforge.sim.sta import streams as ss


def _raw(kind, a, b, c, m, n, **extra):
    raw = {"arch": "sta", "kind": kind, "array": {"m": m, "n": n}}
    if kind != "sa":
        raw["tpe"] = {"a": a, "b": b, "c": c}
    raw.update(extra)
    return raw


# (id, config, job nnz values to try)
CONFIGS = [
    ("sa_8x8", load_preset("sa_8x8"), [1]),
    ("sta_2x4x2_2x2", load_preset("sta_2x4x2_2x2"), [4]),
    ("dbb_2x4x2_2x2", load_preset("dbb_2x4x2_2x2"), [1, 2, 3, 4]),
    ("vdbb_2x8x4_2x2", load_preset("vdbb_2x8x4_2x2"), [1, 3, 8]),
    ("sa_3x2", parse_config(_raw("sa", 1, 1, 1, 3, 2)), [1]),
    ("sta_1x3x2_3x1", parse_config(_raw("sta", 1, 3, 2, 3, 1)), [3]),
    ("dbb_3x5x1_1x2_b3", parse_config(_raw("dbb", 3, 5, 1, 1, 2, dbb_macs=3)), [2, 3, 5]),
    ("dbb_1x2x3_2x1_b1", parse_config(_raw("dbb", 1, 2, 3, 2, 1, dbb_macs=1)), [1, 2]),
    ("vdbb_3x5x1_1x3", parse_config(_raw("vdbb", 3, 5, 1, 1, 3)), [2, 5]),
    ("vdbb_1x3x2_2x1", parse_config(_raw("vdbb", 1, 3, 2, 2, 1)), [1, 3]),
    # Weights narrower than the block: the mask spans two slots.
    ("vdbb_1x8x2_2x1_w5", parse_config(_raw("vdbb", 1, 8, 2, 2, 1, widths={"weight": 5})),
     [1, 4, 8]),
]

SHAPES = [(7, 24, 9), (1, 1, 1), (5, 13, 3), (9, 7, 11), (4, 16, 8)]


def _ceil(a, b):
    return -(-a // b)


def _value(rng, bits=8):
    """A non-zero ``bits``-wide value, often an extreme."""
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if rng.random() < 0.3:
        return int(rng.choice([lo, hi, -1, 1]))
    v = 0
    while v == 0:
        v = int(rng.integers(lo, hi + 1))
    return v


def _operands(cfg, m, k, n, nnz, seed):
    """Random M×K activations (with zeros) and K×N weights meeting the job's DBB bound."""
    rng = np.random.default_rng(seed)
    act = [[_value(rng) if rng.random() < 0.7 else 0 for _ in range(k)] for _ in range(m)]
    if not cfg.sparse:
        weights = [[_value(rng) if rng.random() < 0.8 else 0 for _ in range(n)] for _ in range(k)]
        return act, weights
    bound = nnz
    weights = [[0] * n for _ in range(k)]
    bz = cfg.block
    for j in range(n):
        for start in range(0, k, bz):
            size = min(bz, k - start)
            count = int(rng.integers(0, min(bound, size) + 1))
            if rng.random() < 0.3:
                count = min(bound, size)                 # blocks at the bound are common
            for pos in rng.choice(size, size=count, replace=False):
                weights[start + int(pos)][j] = _value(rng, cfg.weight_width)
    return act, weights


def _padded(matrix, rows, cols):
    out = [[0] * cols for _ in range(rows)]
    for i, row in enumerate(matrix):
        for j, v in enumerate(row):
            out[i][j] = v
    return out


def _set_bits(mask, width):
    return [i for i in range(width) if (mask >> i) & 1]


def rebuild(cfg, s, m, k, n, nnz):
    """Rebuild (A, W), both padded, from the beats; check the layout along the way."""
    rows, cols, bz = cfg.tile_rows, cfg.tile_cols, cfg.block
    rt, ct, nb = _ceil(m, rows), _ceil(n, cols), _ceil(k, bz)
    lanes = {"sa": 1, "sta": bz, "dbb": cfg.dbb_macs, "vdbb": 1}[cfg.kind]
    spb = {"vdbb": nnz, "dbb": _ceil(nnz, lanes)}.get(cfg.kind, 1)
    assert (s.tiles, s.k, s.nnz, s.blocks, s.steps_per_block) == (rt * ct, k, nnz, nb, spb)

    beats = s.act_beats
    assert beats.shape == (rt * ct * nb, rows, bz)
    assert s.act.shape == (rt * ct, nb, rows, bz)
    assert s.weight_values.shape == (rt * ct * nb * spb, cols, lanes)
    if cfg.sparse:
        assert s.weight_masks.shape == (rt * ct * nb * spb, cols)
    else:
        assert s.weight_masks is None

    # Activations: one per column tile q (all must agree)
    a_by_q = {q: [[None] * (nb * bz) for _ in range(rt * rows)] for q in range(ct)}
    # Weights: one per row tile p (all must agree)
    w_by_p = {p: [[0] * (ct * cols) for _ in range(nb * bz)] for p in range(rt)}
    for p in range(rt):
        for q in range(ct):
            t = p * ct + q
            for b in range(nb):
                beat = beats[t * nb + b]
                assert np.array_equal(beat, s.act[t, b])
                for r in range(rows):
                    for e in range(bz):
                        a_by_q[q][p * rows + r][b * bz + e] = int(beat[r, e])
                masks_seen = None
                for step in range(spb):
                    i = (t * nb + b) * spb + step
                    for col in range(cols):
                        slots = [int(v) for v in s.weight_values[i, col]]
                        w_col = q * cols + col
                        if not cfg.sparse:
                            for e in range(bz):
                                w_by_p[p][b * bz + e][w_col] = slots[e]
                            continue
                        mask = int(s.weight_masks[i, col])
                        assert 0 <= mask < (1 << bz)
                        bits = _set_bits(mask, bz)
                        assert len(bits) <= nnz
                        # Step t of a block carries its values t·lanes …, same mask each step.
                        if masks_seen is not None:
                            assert mask == masks_seen[col]
                        for lane, v in enumerate(slots):
                            index = step * lanes + lane
                            if index < len(bits):
                                assert v != 0                 # a set bit marks a non-zero
                                w_by_p[p][b * bz + bits[index]][w_col] = v
                            else:
                                assert v == 0                 # zero-padded slots
                    if cfg.sparse:
                        masks_seen = [int(x) for x in s.weight_masks[i]]
    a_rebuilt = a_by_q[0]
    for q in range(1, ct):
        assert a_by_q[q] == a_rebuilt
    w_rebuilt = w_by_p[0]
    for p in range(1, rt):
        assert w_by_p[p] == w_rebuilt
    return a_rebuilt, w_rebuilt


CASES = [pytest.param(cfg, nnz, shape, seed,
                      id=f"{name}-nnz{nnz}-{'x'.join(map(str, shape))}-seed{seed}")
         for name, cfg, nnzs in CONFIGS for nnz in nnzs for shape in SHAPES
         for seed in [shape[0] * 1000 + shape[1] * 10 + shape[2]]]


@pytest.mark.parametrize("cfg, nnz, shape, seed", CASES)
def test_streams_carry_padded_operands(cfg, nnz, shape, seed):
    m, k, n = shape
    act, weights = _operands(cfg, m, k, n, nnz, seed)
    s = ss.engine_streams(cfg, np.array(act), np.array(weights), nnz)
    a_rebuilt, w_rebuilt = rebuild(cfg, s, m, k, n, nnz)
    rt, ct, nb = _ceil(m, cfg.tile_rows), _ceil(n, cfg.tile_cols), _ceil(k, cfg.block)
    assert a_rebuilt == _padded(act, rt * cfg.tile_rows, nb * cfg.block)
    assert w_rebuilt == _padded(weights, nb * cfg.block, ct * cfg.tile_cols)


def decode_words(cfg, s, m, k, n, nnz):
    """Rebuild the padded K×N weights from the compressed words by walking each tile's slots:
    per block the mask (in ⌈B/w⌉ w-bit slots, low bits first), then NNZ values for its set bits
    in ascending position."""
    rows, cols, bz = cfg.tile_rows, cfg.tile_cols, cfg.block
    rt, ct, nb = _ceil(m, rows), _ceil(n, cols), _ceil(k, bz)
    width = cfg.weight_width
    mask_slots = _ceil(bz, width)
    slots_per_word = cfg.lanes + mask_slots
    per_block = nnz + mask_slots
    per_tile = _ceil(nb * per_block, slots_per_word)
    assert s.weight_words.shape == (rt * ct * per_tile, slots_per_word, cols)
    by_p = {}
    for p in range(rt):
        w = [[0] * (ct * cols) for _ in range(nb * bz)]
        for q in range(ct):
            t = p * ct + q
            words = s.weight_words[t * per_tile:(t + 1) * per_tile]
            for col in range(cols):
                seq = [int(words[i, j, col]) for i in range(per_tile)
                       for j in range(slots_per_word)]
                assert all(0 <= x < (1 << width) for x in seq)
                assert not any(seq[nb * per_block:]), "a tile's padding slots are zero"
                for b in range(nb):
                    block = seq[b * per_block:(b + 1) * per_block]
                    mask = sum(part << (width * i) for i, part in enumerate(block[:mask_slots]))
                    values = block[mask_slots:]
                    bits = _set_bits(mask, bz)
                    assert mask < (1 << bz) and len(bits) <= nnz
                    for slot, raw in enumerate(values):
                        v = raw - (1 << width) if raw >> (width - 1) else raw
                        if slot < len(bits):
                            assert v != 0
                            w[b * bz + bits[slot]][q * cols + col] = v
                        else:
                            assert v == 0
        by_p[p] = w
    assert all(by_p[p] == by_p[0] for p in by_p)
    return by_p[0]


@pytest.mark.parametrize("cfg, nnz, shape, seed",
                         [case for case in CASES if case.values[0].sparse][::2])
def test_compressed_words_carry_the_weights(cfg, nnz, shape, seed):
    m, k, n = shape
    act, weights = _operands(cfg, m, k, n, nnz, seed)
    s = ss.engine_streams(cfg, np.array(act), np.array(weights), nnz)
    ct, nb = _ceil(n, cfg.tile_cols), _ceil(k, cfg.block)
    assert decode_words(cfg, s, m, k, n, nnz) == _padded(weights, nb * cfg.block,
                                                         ct * cfg.tile_cols)
    mask_slots = _ceil(cfg.block, cfg.weight_width)
    assert ss.words_per_tile(cfg, k, nnz) == _ceil(nb * (nnz + mask_slots),
                                                   cfg.lanes + mask_slots)


def test_compressed_block_of_fig2_by_hand():
    """Fig. 2: an 8-element block with NNZ = 3 keeps its non-zeros in ascending position and one
    8-bit mask: 8·3 + 8 = 32 bits, where a mask with every value took 3·16 = 48 (1.5×); a dense
    block takes 8·8 + 8 = 72 bits instead of 128 (1.78×)."""
    cfg = load_preset("vdbb_2x8x4_2x2")                      # 8 columns, 2 slots a word
    weights = np.zeros((8, 8), dtype=np.int64)
    weights[[1, 4, 6], 0] = [5, -3, 127]                      # column 0: positions 1, 4, 6
    weights[7, 1] = -128                                      # column 1: position 7 only
    s = ss.engine_streams(cfg, np.zeros((1, 8), dtype=np.int64), weights, 3)
    assert s.weight_words.shape == (2, 2, 8)                  # 4 slots: 2 words
    assert s.weight_words[:, :, 0].tolist() == [[0b01010010, 5], [256 - 3, 127]]
    assert s.weight_words[:, :, 1].tolist() == [[0b10000000, 128], [0, 0]]
    assert s.weight_words[:, :, 2].tolist() == [[0, 0], [0, 0]]
    assert (cfg.block_bits(3), cfg.block_bits(8)) == (32, 72)
    dense = load_preset("sta_2x4x2_2x2")
    assert dense.block_bits(4) == 4 * 8
    # 5-bit weights in blocks of 8: the mask takes two 5-bit slots (5·NNZ + 10 bits).
    narrow = parse_config(_raw("dbb", 1, 8, 3, 3, 1, dbb_macs=3, widths={"weight": 5}))
    assert (narrow.mask_slots, narrow.word_slots, narrow.block_bits(3)) == (2, 5, 25)


def _engine_model(cfg, s):
    """Output rows (tiles·tile_rows, tile_cols) computed from the beats as the array would."""
    rows, cols, bz = cfg.tile_rows, cfg.tile_cols, cfg.block
    nb, spb = s.blocks, s.steps_per_block
    out = []
    for t in range(s.tiles):
        acc = [[0] * cols for _ in range(rows)]
        for b in range(nb):
            act = s.act[t, b]
            for step in range(spb):
                i = (t * nb + b) * spb + step
                for col in range(cols):
                    slots = [int(v) for v in s.weight_values[i, col]]
                    if not cfg.sparse:
                        pairs = list(enumerate(slots))
                    else:
                        bits = _set_bits(int(s.weight_masks[i, col]), bz)
                        first = step * len(slots)
                        pairs = [(bits[first + j], v) for j, v in enumerate(slots)
                                 if first + j < len(bits)]
                    for r in range(rows):
                        acc[r][col] += sum(int(act[r, pos]) * v for pos, v in pairs)
        out += acc
    return out


@pytest.mark.parametrize("cfg, nnz, shape, seed", CASES[::3])
def test_streams_then_assemble_give_the_product(cfg, nnz, shape, seed):
    m, k, n = shape
    act, weights = _operands(cfg, m, k, n, nnz, seed)
    s = ss.engine_streams(cfg, np.array(act), np.array(weights), nnz)
    got = ss.assemble(cfg, np.array(_engine_model(cfg, s)), m, n)
    want = [[sum(act[i][p] * weights[p][j] for p in range(k)) for j in range(n)]
            for i in range(m)]
    assert got.shape == (m, n)
    assert got.tolist() == want


@pytest.mark.parametrize("name, cfg", [(c[0], c[1]) for c in CONFIGS])
@pytest.mark.parametrize("m, n", [(1, 1), (7, 9), (8, 8), (16, 3), (3, 17)])
def test_tile_grid(name, cfg, m, n):
    assert ss.tile_grid(cfg, m, n) == (_ceil(m, cfg.tile_rows), _ceil(n, cfg.tile_cols))


def test_assemble_known_matrix():
    cfg = parse_config(_raw("sta", 1, 2, 1, 2, 3))        # tiles of 2 rows × 3 columns
    assert (cfg.tile_rows, cfg.tile_cols) == (2, 3)
    m, n = 3, 4                                             # 2 row-tiles × 2 column-tiles
    full = [[100 * i + j for j in range(6)] for i in range(4)]
    rows = []
    for p in range(2):                                      # row-tiles outer
        for q in range(2):                                  # column-tiles inner
            for r in range(2):
                rows.append(full[p * 2 + r][q * 3:q * 3 + 3])
    got = ss.assemble(cfg, np.array(rows), m, n)
    assert got.tolist() == [[0, 1, 2, 3],
                            [100, 101, 102, 103],
                            [200, 201, 202, 203]]


def test_assemble_single_tile_exact_fit():
    cfg = load_preset("sa_1x1")
    got = ss.assemble(cfg, np.array([[5], [6], [7]]), 3, 1)     # three 1×1 tiles, one per row
    assert got.tolist() == [[5], [6], [7]]
    got = ss.assemble(cfg, np.array([[5], [6], [7]]), 1, 3)
    assert got.tolist() == [[5, 6, 7]]


# -- gated MAC-cycles -----------------------------------------------------------------------------

def test_gated_mac_cycles_sa_hand():
    cfg = parse_config(_raw("sa", 1, 1, 1, 2, 2))           # tile 2×2, gating on by default
    assert cfg.act_zero_gating
    act = [[1, 0],
           [0, 0],
           [2, 3]]                                          # M=3: padded to 4 rows of zeros
    weights = [[1, 2, 3],
               [4, 5, 6]]                                   # N=3: two column-tiles
    s = ss.engine_streams(cfg, np.array(act), np.array(weights), 1)
    # Zero activations in the padded 4×2 matrix: 1 + 2 + 0 + 2 = 5. Each is the operand of every
    # MAC of its row (tile_cols = 2) in each of the 2 column-tiles: 5 · 2 · 2 = 20.
    assert ss.gated_mac_cycles(cfg, s) == 20
    off = parse_config(_raw("sa", 1, 1, 1, 2, 2, act_zero_gating=False))
    assert ss.gated_mac_cycles(off, ss.engine_streams(off, np.array(act), np.array(weights), 1)) \
        == 0


def test_gated_mac_cycles_vdbb_hand():
    cfg = parse_config(_raw("vdbb", 1, 4, 2, 2, 1))         # tile 2 rows × 2 columns, B = 4
    assert (cfg.tile_rows, cfg.tile_cols, cfg.act_zero_gating) == (2, 2, True)
    act = [[5, 0, 7, 0, 0, 3],
           [0, 0, 0, 9, 4, 0]]
    weights = [[1, 0],
               [2, 0],
               [0, 3],
               [0, 0],
               [0, 0],
               [6, 0]]
    s = ss.engine_streams(cfg, np.array(act), np.array(weights), 2)
    # nnz = 2: two steps per block. Block 0 (K 0..3):
    #   column 0, mask 0b0011: step 0 -> pos 0, step 1 -> pos 1
    #     row 0: act 5, 0 -> 1 gated; row 1: act 0, 0 -> 2 gated
    #   column 1, mask 0b0100: step 0 -> pos 2, step 1 (no 2nd bit) -> pos 0
    #     row 0: act 7, 5 -> 0 gated; row 1: act 0, 0 -> 2 gated             block 0: 5
    # Block 1 (K 4..5, padded with two zero columns):
    #   column 0, mask 0b0010: step 0 -> pos 1, step 1 -> pos 0
    #     row 0: act 3, 0 -> 1 gated; row 1: act 0, 4 -> 1 gated
    #   column 1, mask 0: both steps -> pos 0
    #     row 0: act 0, 0 -> 2 gated; row 1: act 4, 4 -> 0 gated              block 1: 4
    assert ss.gated_mac_cycles(cfg, s) == 9
    off = parse_config(_raw("vdbb", 1, 4, 2, 2, 1, act_zero_gating=False))
    assert ss.gated_mac_cycles(off, ss.engine_streams(off, np.array(act), np.array(weights), 2)) \
        == 0


@pytest.mark.parametrize("name", ["sta_2x4x2_2x2", "dbb_2x4x2_2x2"])
def test_gated_mac_cycles_zero_for_dot_products(name):
    cfg = load_preset(name)
    act = np.zeros((5, 8), dtype=np.int64)                  # every activation is zero
    weights = np.zeros((8, 5), dtype=np.int64)
    assert ss.gated_mac_cycles(cfg, ss.engine_streams(cfg, act, weights, 2)) == 0


def ref_gated(cfg, act, weights, m, k, n, nnz):
    """Per tile, block, step, MAC: is the activation operand zero? (padded operands)"""
    rows, cols, bz = cfg.tile_rows, cfg.tile_cols, cfg.block
    rt, ct, nb = _ceil(m, rows), _ceil(n, cols), _ceil(k, bz)
    a = _padded(act, rt * rows, nb * bz)
    w = _padded(weights, nb * bz, ct * cols)
    spb = nnz if cfg.kind == "vdbb" else 1
    count = 0
    for p in range(rt):
        for q in range(ct):
            for b in range(nb):
                for step in range(spb):
                    for col in range(cols):
                        nz = [e for e in range(bz) if w[b * bz + e][q * cols + col] != 0]
                        pos = (nz[step] if step < len(nz) else 0) if cfg.kind == "vdbb" else 0
                        for r in range(rows):
                            count += a[p * rows + r][b * bz + pos] == 0
    return count


@pytest.mark.parametrize("cfg, nnz, shape, seed",
                         [c for c in CASES if c.values[0].kind in ("sa", "vdbb")])
def test_gated_mac_cycles_reference(cfg, nnz, shape, seed):
    m, k, n = shape
    act, weights = _operands(cfg, m, k, n, nnz, seed)
    s = ss.engine_streams(cfg, np.array(act), np.array(weights), nnz)
    assert ss.gated_mac_cycles(cfg, s) == ref_gated(cfg, act, weights, m, k, n, nnz)
