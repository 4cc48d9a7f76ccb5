"""The STA engine under Amaranth's simulator, over many random configs.

The cocotb regression proves the generated Verilog for a table of designs; this runs the same
test sequences (:mod:`sparseforge.tb.sta.cases`) on the Amaranth model of randomly drawn configs
of every kind, so shapes the table does not list are covered too: bit-exact against the golden
GEMM always, cycle-exact against the cycle model when no stream pauses.
"""

import random

import numpy as np
import pytest
from amaranth.sim import Simulator
from sparseforge.gen.config import parse_config
from sparseforge.hdl.sta import StaEngine
from sparseforge.hdl.sta.layouts import result_beat_layout, weight_word_layout
from sparseforge.sim.gemm import gemm
from sparseforge.sim.sta import cycles as sta_cycles
from sparseforge.sim.sta import streams as sta_streams
from sparseforge.tb.packing import Packer
from sparseforge.tb.sta.cases import nnz_choices, random_operands


def simulate_job(cfg, streams, *, pause=0.0, seed=0, skips=None):
    """Run one job on the Amaranth model; return (result rows, cycles). ``skips``: an engine
    that drops blocks, with one ``act_skip`` flag per activation beat."""
    dut = StaEngine(cfg, skip=skips is not None)
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    prng = random.Random(seed)
    rows = []
    first_in = []
    last_out = []
    expected_rows = streams.tiles * cfg.tile_rows
    result_packer = Packer(result_beat_layout(cfg))

    async def put(ctx, port, beats, raw=False, flags=None):
        for i, beat in enumerate(beats):
            while pause and prng.random() < pause:
                await ctx.tick()
            ctx.set(port.valid, 1)
            ctx.set(port.payload.as_value() if raw else port.payload, beat)
            if flags is not None:
                ctx.set(dut.act_skip, int(flags[i]))
            await ctx.tick().until(port.ready)
            ctx.set(port.valid, 0)

    act_beats = [[list(map(int, row)) for row in beat] for beat in streams.act_beats]
    # The weight stream as the generated Verilog receives it: packed by the port's layout.
    weight_beats = Packer(weight_word_layout(cfg)).pack_many(streams.weight_leaves())

    async def job(ctx):
        await put(ctx, dut.job, [{"k": streams.k, "nnz": streams.nnz, "tiles": streams.tiles}])

    async def act(ctx):
        await put(ctx, dut.act, act_beats, flags=skips)

    async def weight(ctx):
        await put(ctx, dut.weight, weight_beats, raw=True)

    async def result(ctx):
        while len(rows) < expected_rows:
            stalled = pause and prng.random() < pause
            ctx.set(dut.result.ready, not stalled)
            _, _, valid, payload = await ctx.tick().sample(dut.result.valid,
                                                           dut.result.payload.as_value())
            if valid and not stalled:
                rows.extend(result_packer.unpack_many([payload]).reshape(-1, cfg.tile_cols)
                            .tolist())

    async def monitor(ctx):
        cycle = 0
        async for _clk, _rst, av, ar, wv, wr, rv, rr in ctx.tick().sample(
                dut.act.valid, dut.act.ready, dut.weight.valid, dut.weight.ready,
                dut.result.valid, dut.result.ready):
            if not first_in and ((av and ar) or (wv and wr)):
                first_in.append(cycle)
            if rv and rr:
                last_out.append(cycle)
            cycle += 1

    for bench in (job, act, weight, result):
        sim.add_testbench(bench)
    sim.add_process(monitor)
    steps = streams.tiles * streams.blocks * streams.steps_per_block
    sim.run_until(1e-6 * (20 * (steps + expected_rows) + 200) * (1 + 4 * pause))
    assert len(rows) == expected_rows, f"{len(rows)} of {expected_rows} rows arrived"
    return np.array(rows), last_out[-1] - first_in[0] + 1


def random_config(rng, index):
    kind = rng.choice(["sa", "sta", "dbb", "vdbb"])
    raw = {"arch": "sta", "kind": kind, "name": f"r{index}",
           "array": {"m": rng.randint(1, 4), "n": rng.randint(1, 4)}}
    if kind != "sa":
        block = rng.randint(1, 6) if kind == "sta" else rng.choice([2, 3, 4, 5, 8])
        raw["tpe"] = {"a": rng.randint(1, 3), "b": block, "c": rng.randint(1, 3)}
        if kind == "dbb":
            raw["dbb_macs"] = rng.randint(1, block - 1)
    if rng.random() < 0.4:
        raw["widths"] = {"act": rng.choice([4, 8]), "weight": rng.choice([3, 8]),
                         "acc": rng.choice([16, 20])}
    if rng.random() < 0.5:
        a = raw.get("tpe", {}).get("a", 1)
        raw["drain"] = {"rows": rng.choice([r for r in range(1, a + 1) if a % r == 0]),
                        "banks": rng.choice([1, 2])}
    if rng.random() < 0.5:      # MAC pipeline registers (the mux only where there is one)
        raw["pipeline"] = {"mux": kind in ("dbb", "vdbb") and rng.random() < 0.5,
                           "product": rng.random() < 0.7}
    return parse_config(raw)


@pytest.mark.parametrize("seed", range(10))
def test_random_configs_bit_and_cycle_exact(seed):
    rng = random.Random(seed)
    cfg = random_config(rng, seed)
    nprng = np.random.default_rng(seed)
    for trial in range(2):
        m, k, n = rng.randint(1, 10), rng.randint(1, 20), rng.randint(1, 10)
        nnz = rng.choice(nnz_choices(cfg) if cfg.kind != "dbb" else
                         list(range(1, cfg.block + 1)))
        act, weights = random_operands(cfg, nprng, m, k, n, nnz)
        streams = sta_streams.engine_streams(cfg, act, weights, nnz)
        pause = 0.3 if trial else 0.0
        rows, cycles = simulate_job(cfg, streams, pause=pause, seed=seed)
        got = sta_streams.assemble(cfg, rows, m, n)
        np.testing.assert_array_equal(got, gemm(act, weights, cfg.acc_width),
                                      err_msg=f"{cfg} {m}x{k}x{n} nnz {nnz} pause {pause}")
        if not pause:
            assert cycles == sta_cycles.sta_job_cycles(cfg, streams.tiles, k, nnz), \
                f"{cfg} {m}x{k}x{n} nnz {nnz}"


SHORT_TILE_ARRAYS = [
    {"kind": "sa", "array": {"m": 3, "n": 1}},
    {"kind": "sa", "array": {"m": 5, "n": 2}},
    {"kind": "sta", "tpe": {"a": 2, "b": 2, "c": 1}, "array": {"m": 4, "n": 1}},
    {"kind": "vdbb", "tpe": {"a": 1, "b": 4, "c": 2}, "array": {"m": 4, "n": 3}},
    {"kind": "dbb", "tpe": {"a": 1, "b": 4, "c": 1}, "array": {"m": 2, "n": 4},
     "dbb_macs": 2},
    # Two result banks, two rows a beat (the drain of the paper presets), and banks alone.
    {"kind": "vdbb", "tpe": {"a": 4, "b": 4, "c": 1}, "array": {"m": 3, "n": 2},
     "drain": {"rows": 2, "banks": 2}},
    {"kind": "sa", "array": {"m": 4, "n": 2}, "drain": {"banks": 2}},
    # Pipelined MACs: captures come one or two cycles later, stalls included.
    {"kind": "sa", "array": {"m": 4, "n": 2}, "pipeline": {"product": True}},
    {"kind": "vdbb", "tpe": {"a": 2, "b": 4, "c": 1}, "array": {"m": 3, "n": 2},
     "drain": {"banks": 2}, "pipeline": {"mux": True, "product": True}},
    {"kind": "dbb", "tpe": {"a": 1, "b": 4, "c": 1}, "array": {"m": 3, "n": 2},
     "dbb_macs": 2, "pipeline": {"mux": True}},
]


@pytest.mark.parametrize("index", range(len(SHORT_TILE_ARRAYS)))
def test_short_tiles_stall_without_deadlock(index):
    """Tiles of one or two steps on tall arrays: the array stalls on full result registers
    every tile and the feeder's spacing rule must keep the in-order drain moving (a stall that
    froze a capture the drain waits for would hang). Cycle-exact without pauses; bit-exact under
    heavy back-pressure."""
    raw = {"arch": "sta", "name": f"short{index}", **SHORT_TILE_ARRAYS[index]}
    cfg = parse_config(raw)
    rng = np.random.default_rng(100 + index)
    for k in (1, cfg.block + 1):
        m, n = 4 * cfg.tile_rows, 3 * cfg.tile_cols
        nnz = 1
        act, weights = random_operands(cfg, rng, m, k, n, nnz)
        streams = sta_streams.engine_streams(cfg, act, weights, nnz)
        for pause in (0.0, 0.6):
            rows, cycles = simulate_job(cfg, streams, pause=pause, seed=index)
            got = sta_streams.assemble(cfg, rows, m, n)
            np.testing.assert_array_equal(got, gemm(act, weights, cfg.acc_width))
            if not pause:
                assert cycles == sta_cycles.sta_job_cycles(cfg, streams.tiles, k, nnz)


def drop_tile_steps(cfg, nnz, drops):
    """Advancing cycles of each tile when the blocks flagged in ``drops`` (tiles × blocks) are
    dropped, the tile's last block excepted: a running block takes its steps, a dropped one the
    cycles its NNZ + mask slots take at the slots held plus one word a cycle (at least one)."""
    per_block = nnz + cfg.mask_slots
    lengths = []
    for flags in drops:
        held = length = 0
        for b, drop in enumerate(flags):
            if drop and b < len(flags) - 1:
                length += max(1, -(-(per_block - held) // cfg.word_slots))
                held = (held - per_block) % cfg.word_slots
            else:
                length += cfg.steps_per_block(nnz)
                # A running block takes a word whenever its slots run out.
                held = (held - per_block) % cfg.word_slots
        lengths.append(length)
    return lengths


@pytest.mark.parametrize("seed", range(4))
def test_dropped_blocks(seed):
    """An engine that drops blocks (Sparse-Blox's skipping) on random sparse configs: beats
    flagged ``act_skip`` — their activations left nonzero, so a block that was not dropped would
    show — contribute nothing, except a tile's last block, which always runs; without pauses
    the cycles equal the engine model's with each tile's length (:func:`drop_tile_steps`);
    bit-exact under back-pressure too."""
    rng = random.Random(1000 + seed)
    while True:
        cfg = random_config(rng, seed)
        if cfg.sparse:
            break
    nprng = np.random.default_rng(seed)
    m, k, n = rng.randint(1, 3 * cfg.tile_rows), rng.randint(1, 6 * cfg.block), \
        rng.randint(1, 2 * cfg.tile_cols)
    nnz = rng.randint(1, cfg.block)
    act, weights = random_operands(cfg, nprng, m, k, n, nnz)
    streams = sta_streams.engine_streams(cfg, act, weights, nnz)
    row_tiles = -(-m // cfg.tile_rows)
    col_tiles = streams.tiles // row_tiles
    # Flags per row tile and block, the same for each of its column tiles.
    flags = nprng.random((row_tiles, streams.blocks)) < 0.5
    drops = np.repeat(flags, col_tiles, axis=0)
    kept = act.copy()
    for rt in range(row_tiles):
        for b in range(streams.blocks - 1):
            if flags[rt, b]:
                rows = slice(rt * cfg.tile_rows, (rt + 1) * cfg.tile_rows)
                kept[rows, b * cfg.block:(b + 1) * cfg.block] = 0
    want = gemm(kept, weights, cfg.acc_width)
    for pause in (0.0, 0.3):
        rows, cycles = simulate_job(cfg, streams, pause=pause, seed=seed,
                                    skips=drops.reshape(-1).tolist())
        got = sta_streams.assemble(cfg, rows, m, n)
        np.testing.assert_array_equal(got, want, err_msg=f"{cfg} {m}x{k}x{n} nnz {nnz}")
        if not pause:
            lengths = drop_tile_steps(cfg, nnz, drops)
            assert cycles == sta_cycles.sta_job_cycles(cfg, streams.tiles, k, nnz, lengths), \
                f"{cfg} {m}x{k}x{n} nnz {nnz}"
