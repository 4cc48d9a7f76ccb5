# amaranth: UnusedElaboratable=no
"""Amaranth-simulator tests of the SCNN PE's blocks against hand-worked values and naive models.

hdl/scnn/coords.py (constant dividers, running positions, address parts, the folded bank
mapping), multiplier.py, compressor.py (the output encoder against sim/scnn_format.py) and rams.py.
The crossbar has its own file (test_crossbar.py).
"""

import random

import numpy as np
import pytest
from amaranth.sim import Simulator
from sparseforge.gen.config import parse_config
from sparseforge.hdl.scnn import (
    Compressor,
    ConstDivider,
    MultiplierArray,
    Ram,
    ProductAddresses,
    RowPositions,
)
from sparseforge.hdl.scnn.coords import ActOffset, WeightOffset
from sparseforge.hdl.scnn.rams import RamBanks
from sparseforge.sim.scnn import cycles as scnn_cycles
from sparseforge.sim.scnn import format as scnn_format


def _run(dut, testbench, clocked=True):
    sim = Simulator(dut)
    if clocked:
        sim.add_clock(1e-6)
    sim.add_testbench(testbench)
    sim.run()


def small_cfg(**extra):
    raw = {"arch": "scnn", "pes": {"x": 1, "y": 1}, "pe": {"f": 2, "i": 3, "banks": 8},
           "kc": 2, "tile": {"w": 3, "h": 5}, "kernel_max": 5, "index_bits": 2,
           "rams": {"iaram": 30, "oaram": 90, "weights": 40, "out_channels": 8}}
    raw.update(extra)
    return parse_config(raw)


# -- coordinates ----------------------------------------------------------------------------------

@pytest.mark.parametrize("divisor, top", [(1, 40), (2, 70), (3, 300), (5, 255), (7, 600),
                                          (9, 100), (12, 200), (25, 511)])
def test_const_divider_is_exact(divisor, top):
    dut = ConstDivider(divisor, top)
    failures = []

    async def tb(ctx):
        for n in range(top + 1):
            ctx.set(dut.dividend, n)
            got = (ctx.get(dut.quotient), ctx.get(dut.remainder))
            if got != divmod(n, divisor):
                failures.append((n, got))

    _run(dut, tb, clocked=False)
    assert failures == []


@pytest.mark.parametrize("args", [(0, 10), (2.5, 10), (3, -1)])
def test_const_divider_rejects_bad_parameters(args):
    with pytest.raises(TypeError):
        ConstDivider(*args)


def test_row_positions_are_running_sums():
    dut = RowPositions(4, 3, 10)
    rng = random.Random(1)

    async def tb(ctx):
        for _ in range(50):
            base = rng.randrange(200)
            zeros = [rng.randrange(8) for _ in range(4)]
            ctx.set(dut.base, base)
            for lane, z in enumerate(zeros):
                ctx.set(dut.zeros[lane], z)
            pos, expect = base, []
            for z in zeros:
                pos += z
                expect.append(pos)
                pos += 1
            assert [ctx.get(dut.positions[lane]) for lane in range(4)] == expect
            assert ctx.get(dut.next_base) == pos

    _run(dut, tb, clocked=False)


def test_address_parts_by_hand():
    cfg = small_cfg()                                  # tile 3 wide, halo 2: rows of 7, planes 63
    act = ActOffset(cfg, 8)
    weight = WeightOffset(cfg, 9)

    async def tb_act(ctx):
        ctx.set(act.position, 4)                       # yi = 1, xi = 1
        assert ctx.get(act.offset) == 1 * 7 + 1

    async def tb_weight(ctx):
        # Positions (r·S + s)·kc + kk with kc = 2 (k innermost).
        # 3×3 kernel, position 9 = (1·3 + 1)·2 + 1: kk 1, r 1, s 1: (2 + 1 − 1)·7 + (2 + 1 − 1).
        ctx.set(weight.position, 9)
        ctx.set(weight.r, 3)
        ctx.set(weight.s, 3)
        assert (ctx.get(weight.kk), ctx.get(weight.offset)) == (1, 14 + 2)
        # 1×5 kernel, position 3 = (0·5 + 1)·2 + 1: kk 1, s 1: (2 + 0 − 0)·7 + (2 + 2 − 1).
        ctx.set(weight.position, 3)
        ctx.set(weight.r, 1)
        ctx.set(weight.s, 5)
        assert (ctx.get(weight.kk), ctx.get(weight.offset)) == (1, 14 + 3)
        # 5×3 kernel, position 28 = (4·3 + 2)·2 + 0: kk 0, r 4, s 2: (2 + 2 − 4)·7 + (2 + 1 − 2).
        ctx.set(weight.position, 28)
        ctx.set(weight.r, 5)
        ctx.set(weight.s, 3)
        assert (ctx.get(weight.kk), ctx.get(weight.offset)) == (0, 0 + 1)
        # Its neighbour 29: the same (r, s), the next output channel.
        ctx.set(weight.position, 29)
        assert (ctx.get(weight.kk), ctx.get(weight.offset)) == (1, 0 + 1)

    _run(act, tb_act, clocked=False)
    _run(weight, tb_weight, clocked=False)


@pytest.mark.parametrize("kc", [2, 3, 5])
@pytest.mark.parametrize("r, s", [(1, 1), (3, 3), (5, 5), (1, 5), (5, 3)])
def test_weight_offsets_agree_with_the_cycle_model(r, s, kc):
    """Every position of a group's block: the RTL and the model's independent NumPy formula
    (``kc`` a power of two, a shift, or not, a reciprocal)."""
    cfg = small_cfg(kc=kc)
    dut = WeightOffset(cfg, 9)
    positions = np.arange(cfg.kc * r * s)
    block = scnn_format.Block(values=np.ones(len(positions), dtype=np.int64),
                              zeros=np.zeros(len(positions), dtype=np.int64),
                              length=len(positions))
    want_kk, want, _ = scnn_cycles.weight_parts(cfg, block, r, s)

    async def tb(ctx):
        ctx.set(dut.r, r)
        ctx.set(dut.s, s)
        for p, expect_kk, expect in zip(positions, want_kk, want):
            ctx.set(dut.position, int(p))
            assert (ctx.get(dut.kk), ctx.get(dut.offset)) == (expect_kk, expect), p

    _run(dut, tb, clocked=False)


def test_multiplier_array_wraps_exact_products():
    dut = MultiplierArray(2, 3, weight_width=8, act_width=6, product_width=10)
    rng = random.Random(2)

    async def tb(ctx):
        for _ in range(30):
            w = [rng.randint(-128, 127) for _ in range(2)]
            a = [rng.randint(-32, 31) for _ in range(3)]
            for n, v in enumerate(w):
                ctx.set(dut.weights[n], v)
            for n, v in enumerate(a):
                ctx.set(dut.acts[n], v)
            for f in range(2):
                for i in range(3):
                    exact = w[f] * a[i]
                    assert ctx.get(dut.products[f * 3 + i]) == (exact + 512) % 1024 - 512

    _run(dut, tb, clocked=False)


@pytest.mark.parametrize("raw", [
    {},                                                           # F = 2, I = 3, A = 8
    {"pe": {"f": 4, "i": 4, "banks": 32}, "tile": {"w": 4, "h": 4}, "kernel_max": 3, "kc": 8,
     "rams": {"iaram": 32, "oaram": 32, "weights": 32, "out_channels": 8}},
    {"pe": {"f": 3, "i": 1, "banks": 8}, "tile": {"w": 3, "h": 2}, "kernel_max": 3, "kc": 3,
     "rams": {"iaram": 32, "oaram": 32, "weights": 30, "out_channels": 8}},
])
def test_product_addresses_are_the_folded_mapping(raw):
    """Every (channel, weight part, activation part) against the documented formula: bank
    ``(pos mod A) XOR ((kk << ⌈log2 I⌉) mod A)``, entry ``kk·⌈plane / A⌉ + pos div A``, worked
    here with plain integers; and the mapping is one-to-one over a group's accumulators."""
    cfg = small_cfg(**raw)
    dut = ProductAddresses(cfg)
    rng = random.Random(5)
    shift = (cfg.i - 1).bit_length()
    per_plane = -(-cfg.acc_plane // cfg.banks)

    async def tb(ctx):
        for _ in range(40):
            kk = [rng.randrange(cfg.kc) for _ in range(cfg.f)]
            woff = [rng.randrange(cfg.acc_plane) for _ in range(cfg.f)]
            aoff = [rng.randrange(cfg.acc_plane - max(woff)) for _ in range(cfg.i)]
            for f in range(cfg.f):
                ctx.set(dut.kk[f], kk[f])
                ctx.set(dut.woff[f], woff[f])
            for i in range(cfg.i):
                ctx.set(dut.aoff[i], aoff[i])
            for f in range(cfg.f):
                for i in range(cfg.i):
                    pos = woff[f] + aoff[i]
                    bank = (pos % cfg.banks) ^ ((kk[f] << shift) % cfg.banks)
                    entry = kk[f] * per_plane + pos // cfg.banks
                    p = f * cfg.i + i
                    assert (ctx.get(dut.bank[p]), ctx.get(dut.entry[p])) == (bank, entry)

    _run(dut, tb, clocked=False)
    cells = {(int(b), int(e)) for kk in range(cfg.kc) for pos in range(cfg.acc_plane)
             for b, e in [(scnn_cycles.bank_of(cfg, kk, pos), scnn_cycles.entry_of(cfg, kk, pos))]}
    assert len(cells) == cfg.kc * cfg.acc_plane
    assert max(e for _, e in cells) < cfg.bank_entries


# -- compressor -----------------------------------------------------------------------------------

async def send_elements(ctx, dut, lanes, values):
    """Present ``values`` (up to ``lanes`` of them, valid lanes first) for one cycle."""
    for j in range(lanes):
        ctx.set(dut.elements[j].valid, j < len(values))
        ctx.set(dut.elements[j].value, int(values[j]) if j < len(values) else 0)
    await ctx.tick()
    for j in range(lanes):
        ctx.set(dut.elements[j].valid, 0)


async def flush(ctx, dut):
    ctx.set(dut.flush, 1)
    await ctx.tick()
    ctx.set(dut.flush, 0)


@pytest.mark.parametrize("raw", [{}, {"pe": {"f": 2, "i": 1, "banks": 8}},
                                  {"pe": {"f": 1, "i": 4, "banks": 8}, "index_bits": 1,
                                   "rams": {"iaram": 32, "oaram": 96, "weights": 40,
                                            "out_channels": 8}}])
def test_compressor_writes_the_golden_encoding(raw):
    """Blocks from empty to dense, fed in chunks of 0 to I elements per cycle (0: an idle
    cycle), against the format's encoder: counts and stored rows."""
    cfg = small_cfg(**raw)                                 # I = 3 lanes by default, 2-bit indices
    dut = Compressor(cfg)
    rng = np.random.default_rng(4 + cfg.i)
    blocks = []
    for density in (0.0, 1.0, 0.05, 0.3, 0.6, 0.1):
        dense = np.where(rng.random(cfg.tile_elems) < density,
                         rng.integers(1, 1 << 20, cfg.tile_elems), 0)
        blocks.append(dense)
    blocks.append(np.array([7] + [0] * (cfg.tile_elems - 1)))     # trailing placeholders
    rows, counts = {}, []

    async def tb(ctx):
        ctx.set(dut.layer_start, 1)
        await ctx.tick()
        ctx.set(dut.layer_start, 0)
        for dense in blocks:
            at = 0
            while at < len(dense):
                n = int(rng.integers(0, cfg.i + 1))
                await send_elements(ctx, dut, cfg.i, dense[at:at + n])
                at += n
            await flush(ctx, dut)

    async def monitor(ctx):
        async for _clk, _rst, en, addr, row, cen, count, overflow in ctx.tick().sample(
                dut.row_w.en, dut.row_w.addr, dut.row_w.data, dut.count_en, dut.count,
                dut.overflow):
            assert not overflow
            if en:
                rows[addr] = [(row[lane].value, row[lane].zeros) for lane in range(cfg.i)]
            if cen:
                counts.append(count)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.add_process(monitor)
    sim.run_until(1e-6 * 2000)

    start = 0
    assert len(counts) == len(blocks)
    for dense, count in zip(blocks, counts):
        block = scnn_format.encode(dense, cfg.index_bits)
        assert count == block.count
        n_rows = -(-count // cfg.i)
        stored = [entry for r in range(start, start + n_rows) for entry in rows[r]][:count]
        assert stored == list(zip(block.values.tolist(), block.zeros.tolist()))
        start += n_rows


# -- RAMs -----------------------------------------------------------------------------------------

def test_ram_sync_read_holds_and_register_file_reads_old_value():
    ram = Ram(8, 4, reads=2)
    banks = RamBanks(8, 4, 2)

    async def tb_ram(ctx):
        ctx.set(ram.w.addr, 2)
        ctx.set(ram.w.data, 0x5A)
        ctx.set(ram.w.en, 1)
        await ctx.tick()
        ctx.set(ram.w.en, 0)
        ctx.set(ram.r[0].addr, 2)
        ctx.set(ram.r[0].en, 1)
        await ctx.tick()
        assert ctx.get(ram.r[0].data) == 0x5A
        ctx.set(ram.r[0].en, 0)
        ctx.set(ram.r[0].addr, 1)
        await ctx.tick()
        assert ctx.get(ram.r[0].data) == 0x5A              # held while en is low

    async def tb_banks(ctx):
        ctx.set(banks.w[1].addr, 3)
        ctx.set(banks.w[1].data, 9)
        ctx.set(banks.w[1].en, 1)
        ctx.set(banks.r[1].addr, 3)
        assert ctx.get(banks.r[1].data) == 0                # the old value in the write cycle
        await ctx.tick()
        ctx.set(banks.w[1].en, 0)
        assert ctx.get(banks.r[1].data) == 9
        ctx.set(banks.r[0].addr, 3)
        assert ctx.get(banks.r[0].data) == 0                # banks are independent

    _run(ram, tb_ram)
    _run(banks, tb_banks)
    with pytest.raises(TypeError):
        Ram(8, 0)
    with pytest.raises(TypeError):
        RamBanks(8, 4, 0)


def test_compressor_overflow_only_when_a_block_does_not_fit():
    """With 2 OARAM rows of 3 lanes: six values fill them exactly and the zero run after them
    makes placeholders in a third row past the end (dropped silently: no overflow); the next
    block has no room left: overflow."""
    cfg = small_cfg(rams={"iaram": 30, "oaram": 6, "weights": 40, "out_channels": 8})
    dut = Compressor(cfg)
    flags = []

    async def block(ctx, dense):
        for v in dense:
            await send_elements(ctx, dut, cfg.i, [v])
        ctx.set(dut.flush, 1)
        flags.append(ctx.get(dut.overflow))
        await ctx.tick()
        ctx.set(dut.flush, 0)

    async def tb(ctx):
        ctx.set(dut.layer_start, 1)
        await ctx.tick()
        ctx.set(dut.layer_start, 0)
        await block(ctx, [1] * 6 + [0] * 9)               # 6 entries, then 2 placeholders
        await block(ctx, [0] * 14 + [3])                  # 4 entries from row 2

    _run(dut, tb)
    assert flags == [0, 1]


# -- loader and sequencer -------------------------------------------------------------------------

def _row_values(block, lanes):
    counts, values, zeros = scnn_format.rows_of(block, lanes)
    return [(int(c), [(int(v), int(z)) for v, z in zip(vr, zr)])
            for c, vr, zr in zip(counts, values, zeros)]


@pytest.mark.parametrize("nonempty", [False, True])
def test_block_loader_stores_non_empty_blocks_and_their_directory(nonempty):
    """Random blocks (a third empty) as rows: the rows of the non-empty ones land back to back
    from row 0, and the directory has an entry per block (or per non-empty block, with its
    number), as worked out here from the blocks' counts."""
    from sparseforge.hdl.scnn.layouts import act_row_layout
    from sparseforge.hdl.scnn.loader import BlockLoader
    cfg = small_cfg(rams={"iaram": 120, "oaram": 90, "weights": 40, "out_channels": 8})
    rng = np.random.default_rng(6)
    blocks = []
    for n in range(9):
        density = 0.0 if n % 3 == 1 else rng.choice([0.2, 0.6, 1.0])
        dense = np.where(rng.random(cfg.tile_elems) < density, rng.integers(1, 99,
                                                                           cfg.tile_elems), 0)
        blocks.append(scnn_format.encode(dense, cfg.index_bits))
    dut = BlockLoader(act_row_layout(cfg), lanes=cfg.i, rows=cfg.iaram_rows,
                      count_max=cfg.tile_elems, entries=cfg.iaram_rows, nonempty=nonempty,
                      max_blocks=cfg.iaram_rows)
    ram, directory, ends = {}, {}, []

    async def tb(ctx):
        for block in blocks:
            for count, entries in _row_values(block, cfg.i):
                ctx.set(dut.row.count, count)
                for lane, (value, zeros) in enumerate(entries):
                    ctx.set(dut.row.entries[lane].value, value)
                    ctx.set(dut.row.entries[lane].zeros, zeros)
                ctx.set(dut.en, 1)
                ends.append(ctx.get(dut.block_end))
                if ctx.get(dut.ram.en):
                    ram[ctx.get(dut.ram.addr)] = count
                if ctx.get(dut.directory.en):
                    d = ctx.get(dut.directory.data)
                    directory[ctx.get(dut.directory.addr)] = (
                        d.start, d.count, d.c if nonempty else None)
                await ctx.tick()
                ctx.set(dut.en, 0)
                if rng.random() < 0.3:
                    await ctx.tick()
        assert ctx.get(dut.blocks) == len(blocks)
        assert ctx.get(dut.overflow) == 0

    _run(dut, tb)
    row, want_dir, want_ends = 0, {}, []
    for n, block in enumerate(blocks):
        rows = scnn_format.block_rows(block.count, cfg.i)
        want_ends += [0] * (rows - 1) + [1]
        if nonempty and block.count:
            want_dir[len(want_dir)] = (row, block.count, n)
        elif not nonempty:
            want_dir[n] = (row, block.count, None)
        row += -(-block.count // cfg.i)
    assert ends == want_ends
    assert directory == want_dir
    assert sorted(ram) == list(range(row))


def _naive_sequence(cfg, channels):
    """The documented walk of :class:`ChannelSequencer`, step by step: ``channels`` the listed
    channels' ``(a_start, n_a, w_start, n_w)``. In each step the channel being issued (``cur``)
    gives its next slot (a bubble when there is none; the first step issues nothing); then the
    next listed channel is taken when it has weights and ``cur`` is free (it just gave its last
    slot, or has none), skipped when it has no weights; with none left and ``cur`` free the
    group ends. Returns the issued slots: ``(1, (a_row, w_row), (amask, wmask))`` or
    ``(0, None, None)`` for a bubble."""
    issued, cur, front, first = [], [], 0, True
    while True:
        if not first:
            issued.append(cur.pop(0) if cur else (0, None, None))
        first = False
        free = not cur
        if front == len(channels):
            if free:
                return issued
            continue
        a_start, n_a, w_start, n_w = channels[front]
        if n_w == 0:
            front += 1
        elif free:
            front += 1
            for j in range(-(-n_a // cfg.i)):
                for q in range(-(-n_w // cfg.f)):
                    amask = sum(1 << lane for lane in range(cfg.i) if j * cfg.i + lane < n_a)
                    wmask = sum(1 << lane for lane in range(cfg.f) if q * cfg.f + lane < n_w)
                    cur.append((1, (a_start + j, w_start + q), (amask, wmask)))


def test_channel_sequencer_walks_listed_channels():
    """The slots issued for three groups against a naive walk (:func:`_naive_sequence`): listed
    channels in order, ⌈nA/I⌉·⌈nW/F⌉ slots for a channel with weights (activation rows outer),
    none for one without: such channels are skipped one per step while the channel before them
    issues, a bubble for each one the skipping has not caught up with (runs of empty weight
    blocks at the start, in the middle and at the end of a group, and a group whose every
    listed channel has none); the first slot four cycles after group_start, one slot per
    advancing cycle, and the group's end right after its last slot; the row addresses from
    the directory entries. The pipeline is held (``advance`` low) at random cycles."""
    from sparseforge.hdl.scnn.pe import act_directory, weight_directory
    from amaranth import Module
    from amaranth.lib import wiring
    from sparseforge.hdl.scnn.sequencer import SEQUENCER_FILL, ChannelSequencer
    cfg = small_cfg()                                     # F = 2, I = 3
    alist_shape = act_directory(cfg)
    wdir_shape = weight_directory(cfg)
    channels = 6
    # (c, start, count): channel 1 has no activations; ⌈count / 3⌉ activation rows.
    alist = [(0, 2, 1), (2, 7, 4), (3, 9, 5), (4, 11, 2), (5, 12, 7)]
    counts = [{0: 0, 2: 0, 3: 3, 4: 0, 5: 0},             # leading and trailing runs
              {0: 3, 2: 0, 3: 0, 4: 2, 5: 0},             # runs after 2 slots, after 1
              {0: 0, 2: 0, 3: 0, 4: 0, 5: 0}]             # no channel with weights
    wdir = {g * channels + c: ((g * 5 + c) % 20, counts[g].get(c, 4))
            for g in range(len(counts)) for c in range(channels)}

    m = Module()
    m.submodules.seq = seq = ChannelSequencer(cfg, alist_shape, wdir_shape)
    m.submodules.al = al = Ram(alist_shape, cfg.iaram_rows)
    m.submodules.wd = wd = Ram(wdir_shape, cfg.weight_rows)
    wiring.connect(m, seq.alist, al.r[0])
    wiring.connect(m, seq.wdir, wd.r[0])
    issued = []
    ends = []

    async def tb(ctx):
        for n, (c, start, count) in enumerate(alist):
            ctx.set(al.w.addr, n)
            ctx.set(al.w.data, {"c": c, "start": start, "count": count})
            ctx.set(al.w.en, 1)
            await ctx.tick()
        ctx.set(al.w.en, 0)
        for n, (start, count) in wdir.items():
            ctx.set(wd.w.addr, n)
            ctx.set(wd.w.data, {"start": start, "count": count})
            ctx.set(wd.w.en, 1)
            await ctx.tick()
        ctx.set(wd.w.en, 0)
        ctx.set(seq.channels, channels)
        ctx.set(seq.listed, len(alist))
        ctx.set(seq.advance, 1)
        for g in range(len(counts)):
            ctx.set(seq.group_start, 1)
            ctx.set(seq.layer_start, g == 0)
            await ctx.tick()
            ctx.set(seq.group_start, 0)
            ctx.set(seq.layer_start, 0)
            cycle = 1
            group = []
            stalls = 0
            while ctx.get(seq.busy):
                slot = ctx.get(seq.issue)
                if slot.live and rng.random() < 0.3:        # the slot waits a cycle
                    ctx.set(seq.advance, 0)
                    await ctx.tick()
                    ctx.set(seq.advance, 1)
                    cycle += 1
                    stalls += 1
                    continue
                if slot.live:
                    group.append((cycle - stalls, slot.valid, ctx.get(seq.a_addr),
                                  ctx.get(seq.w_addr), slot.amask, slot.wmask))
                await ctx.tick()
                cycle += 1
            issued.append(group)
            ends.append(cycle - stalls)

    rng = random.Random(8)
    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.run()
    for g, group in enumerate(issued):
        listed = [(start, count) + wdir[g * channels + c] for c, start, count in alist]
        want = _naive_sequence(cfg, listed)
        got = [(valid, (a, w) if valid else None, (am, wm) if valid else None)
               for _cycle, valid, a, w, am, wm in group]
        assert got == want, g
        assert [cycle for cycle, *_ in group] == list(range(SEQUENCER_FILL,
                                                            SEQUENCER_FILL + len(group)))
        assert ends[g] == SEQUENCER_FILL + len(group)
    # The runs' costs as the docstring states them. Group 0: 2 bubbles before channel 3 (2 × 2
    # slots), whose 4 slots hide the run of 2 after it; group 1: channel 0 (1 × 2 slots) hides
    # one of the run of 2 after it, channel 4 (1 slot) none of its run of 1; group 2: one
    # bubble per listed channel.
    assert [sum(1 for slot in group if not slot[1]) for group in issued] == [2, 2, 5]
