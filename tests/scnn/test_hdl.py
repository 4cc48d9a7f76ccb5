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


def test_block_loader_stores_non_empty_blocks_and_their_directory():
    """Random blocks (a third empty) as rows: the rows of the non-empty ones land back to back
    from row 0, and the directory has an entry per block, as worked out here from the blocks'
    counts."""
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
                      count_max=cfg.tile_elems, entries=cfg.iaram_rows,
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
                    directory[ctx.get(dut.directory.addr)] = (d.start, d.count)
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
        want_dir[n] = (row, block.count)
        row += -(-block.count // cfg.i)
    assert ends == want_ends
    assert directory == want_dir
    assert sorted(ram) == list(range(row))


def _naive_sequencer(cfg, script, advances):
    """The documented walk of :class:`ChannelSequencer`, cycle by cycle, for one group started
    in cycle 0: ``script`` maps a cycle to the blocks ``(a_start, n_a, w_start, n_w, g)`` that
    enter the queue at its end, and ``"past"`` to the cycle from which the broadcast has passed
    the group; ``advances`` the ``advance`` input per cycle. Cycle 1 is a step without a slot;
    from cycle 2 every advancing cycle is a step issuing the next slot of ``cur`` (activation
    rows outer) or a bubble; a free ``cur`` takes the queue's head when it is of the group; with
    no such head and the broadcast past the group, the group ends. Returns per cycle ``(busy,
    pop, free, slot)``, ``slot`` = ``(valid, a_row, w_row, amask, wmask)`` when one is issued."""
    rows = cfg.weight_rows
    queue, cur, trace, state = [], [], [], "fill"
    for t, advance in enumerate(advances):
        busy = t >= 1 and state != "idle"
        pop = free = False
        slot = None
        if busy and (state == "fill" or advance):
            if state == "run":
                if cur:
                    valid, a, w, am, wm, last_a = cur.pop(0)
                    slot, free = (1, a, w, am, wm), last_a
                else:
                    slot = (0, None, None, None, None)
            if not cur:
                if queue and queue[0][4] == 0:
                    a_start, n_a, w_start, n_w, _ = queue.pop(0)
                    pop = True
                    na, nw = -(-n_a // cfg.i), -(-n_w // cfg.f)
                    for j in range(na):
                        for q in range(nw):
                            am = sum(1 << x for x in range(cfg.i) if j * cfg.i + x < n_a)
                            wm = sum(1 << x for x in range(cfg.f) if q * cfg.f + x < n_w)
                            cur.append((1, a_start + j, (w_start + q) % rows, am, wm,
                                        j == na - 1))
                elif t >= script["past"]:
                    state = "idle"
                    trace.append((busy, pop, free, slot))
                    continue
            state = "run"
        trace.append((busy, pop, free, slot))
        queue += script.get(t, [])
    return trace


@pytest.mark.parametrize("seed", [8, 9, 10])
def test_channel_sequencer_walks_queued_blocks(seed):
    """One group of blocks arriving in the queue at random cycles (some of the next group
    behind them), blocks wrapping around the FIFO's rows, ``advance`` low at random cycles: the
    slots, bubbles, pops, row frees and the group's end cycle by cycle against a naive walk of
    the documented rules (:func:`_naive_sequencer`); every block's rows are freed exactly once,
    on the slots of its last activation row."""
    from sparseforge.hdl.scnn.sequencer import ChannelSequencer
    cfg = small_cfg()                                     # F = 2, I = 3, 20 FIFO rows
    rng = random.Random(seed)
    script, t, row = {}, 0, rng.randrange(cfg.weight_rows)
    blocks = []
    for n in range(5):
        n_w, n_a = rng.randint(1, 12), rng.randint(1, cfg.tile_elems)
        blocks.append((rng.randrange(cfg.iaram_rows - 5), n_a, row, n_w, 0))
        row = (row + -(-n_w // cfg.f)) % cfg.weight_rows
        t += rng.choice([0, 1, 3, 12])
        script.setdefault(t, []).append(blocks[-1])
    script.setdefault(t + rng.randint(0, 6), []).append((0, 3, row, 2, 1))   # the next group
    script["past"] = t + rng.randint(1, 8)
    horizon = 400
    advances = [int(rng.random() > 0.3) for _ in range(horizon)]
    want = _naive_sequencer(cfg, script, advances)

    dut = ChannelSequencer(cfg)
    got = []

    async def tb(ctx):
        queue = []
        ctx.set(dut.bgroup, 0)
        for t, advance in enumerate(advances):
            ctx.set(dut.group_start, t == 0)
            ctx.set(dut.layer_start, t == 0)
            ctx.set(dut.advance, advance)
            ctx.set(dut.bgroup, int(t >= script["past"]))
            ctx.set(dut.head_valid, bool(queue))
            if queue:
                a_start, n_a, w_start, n_w, g = queue[0]
                ctx.set(dut.head, {"a_start": a_start, "n_a": n_a, "w_start": w_start,
                                   "n_w": n_w, "g": g})
            slot = ctx.get(dut.issue)
            issued = None
            if slot.live and advance:
                issued = ((1, ctx.get(dut.a_addr), ctx.get(dut.w_addr), slot.amask, slot.wmask)
                          if slot.valid else (0, None, None, None, None))
            pop = ctx.get(dut.pop)
            got.append((bool(ctx.get(dut.busy)), bool(pop), bool(ctx.get(dut.free)), issued))
            await ctx.tick()
            if pop:
                queue.pop(0)
            queue += script.get(t, [])

    _run(dut, tb)
    assert got == want
    end = max(t for t, (busy, *_rest) in enumerate(want) if busy) + 1
    assert end < horizon - 1, "the group did not end"
    assert sum(x[2] for x in got) == sum(-(-b[3] // cfg.f) for b in blocks)
    assert sum(x[1] for x in got) == len(blocks)
