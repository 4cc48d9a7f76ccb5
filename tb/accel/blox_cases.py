"""cocotb tests of Sparse-Blox in the VDBB accelerator's output stage (Hotfilter et al., III-B).

Each pruning layer is checked against :func:`sparseforge.sim.accel.blox.prune_output` applied to
the golden requantized convolution: the map read back through the sparse-block cache (pruned
blocks as zeros) bit-exact, the cache's ``blox_cached``/``blox_refused`` counters equal to the
model's, and the cycles measured on the ports, read from the ``cycles`` register and predicted by
:func:`sparseforge.sim.accel.blox.blox_layer_cycles` all equal. Run by
``tests/accel/test_blox_rtl.py`` on a small design whose cache holds 12 positions, so a layer
of more blocks fills it.
"""

import cocotb
import numpy as np

from ...gen.config import config_from_env
from ...sim import conv
from ...sim.accel import blox as accel_blox
from ...sim.accel import cycles as accel_cycles
from ...sim.accel import plan as accel_plan
from ...sim.sparseblox import block_stats
from ..reset import reset_trials, verilator_test
from ..seeds import seed_for
from .bench import CLOCK_NS, AccelBench
from .regression import random_layer


def golden_map(cfg, plan, x, w, shift, relu):
    return conv.requantize(conv.conv2d(x, w, plan.stride, plan.pad, cfg.array.acc_width),
                           shift, relu)


def threshold_for(cfg, plan, y, count):
    """A raw threshold below which some of ``y``'s blocks fall: the ``count``-th smallest
    |mean| (at most ``count`` blocks below it), or, where more than ``count`` blocks tie at
    the smallest |mean| (all-zero blocks after ReLU), the next larger |mean|, so that at least
    one block falls below unless every block ties."""
    sums, n_valid, _ = block_stats(y, (cfg.block, plan.ph, plan.pw))
    means = np.sort((np.abs(sums) << cfg.sparseblox.fmt.frac_bits) // n_valid, axis=None)
    raw = int(means[min(len(means) - 1, count)])
    if raw == means[0] and (means > raw).any():
        raw = int(means[means > raw][0])
    return raw


def zero_corner_patch(plan, x):
    """``x`` (C×H×W, changed in place and returned) with zeros in every channel at the input
    pixels ``plan``'s top-right output patch reads: that patch's blocks are all zero whatever
    the weights, so every threshold above 0 finds them below it, and those of the first column
    tile are offered to the cache among its first ``tiles_x · N·C/B`` positions (10 of the 12
    it holds on the 7×9 layers here). A beat of a next layer that reads their words at the
    right edge, whose other rows lie outside the map, reads only pruned words and zeros."""
    ph = min(plan.ph, plan.ho)
    x0 = (plan.tiles_x - 1) * plan.pw * plan.stride - plan.pad
    rows = slice(0, max(0, (ph - 1) * plan.stride - plan.pad + plan.r))
    cols = slice(max(0, x0), max(0, (plan.wo - 1) * plan.stride - plan.pad + plan.s))
    x[:, rows, cols] = 0
    return x


async def check_pruned(bench, plan, x, w, raw, *, shift=6, relu=True, label=""):
    """Run one pruning layer (input in half 0, output in half 1) and compare it with the model;
    return the model's :class:`~sparseforge.sim.sparseblox.PruneResult`."""
    await bench.load_act(x, 0, 0)
    await bench.load_weights(accel_plan.weight_words(plan, w, bench.weight_packer), 0, 0)
    run = await bench.run_layer(plan, ifm=(0, 0), ofm=(1, 0), weights=(0, 0), int8_out=True,
                                shift=shift, relu=relu, blox=raw)
    assert not run.error, f"{label}: the accelerator refused the descriptor"
    got = await bench.read_output(plan, 1, 0, True, blox=True)
    y = golden_map(bench.cfg, plan, x, w, shift, relu)
    want = accel_blox.prune_output(plan, y, raw)
    bad = np.argwhere(got != want.data)
    assert bad.size == 0, (f"{label}: {len(bad)} mismatches, first at {tuple(bad[0])}: "
                           f"got {got[tuple(bad[0])]}, want {want.data[tuple(bad[0])]}")
    counts = want.counts
    assert (run.cached, run.refused) == (counts.blocks_cached, counts.blocks_refused), \
        (f"{label}: RTL cached {run.cached}, refused {run.refused}; model "
         f"{counts.blocks_cached}, {counts.blocks_refused}")
    model = accel_blox.blox_layer_cycles(plan)
    assert run.cycles == run.register_cycles == model, \
        (f"{label}: {run.cycles} cycles on the ports, {run.register_cycles} in the register, "
         f"model {model}")
    bench.dut._log.info("%s: ok, %d of %d blocks cached (%d refused), %d cycles", label,
                        run.cached, counts.blocks_total, run.refused, run.cycles)
    return want


async def check_next_layer(bench, prev, pruned, plan, w, *, shift=7, relu=True, label="",
                           skip=False):
    """Run ``plan`` on the pruned map ``prev`` left in half 1 (read on chip, not reloaded) and
    compare it with the golden convolution of the pruned map (``pruned.data``): the output
    bit-exact, the words it got as zeros from their pruned-word flags (``blox_zero_reads``) and
    the SRAM words it read (``act_reads``) equal to the model's, the cycles to the plain layer's
    model — with ``skip`` (``blox_skip``), the steps it dropped (``blox_skips``) and its cycles
    to :func:`~sparseforge.sim.accel.blox.skip_schedule`'s. Return the model's zero reads (with
    ``skip``: and the dropped steps)."""
    cfg = bench.cfg
    await bench.load_weights(accel_plan.weight_words(plan, w, bench.weight_packer), 0, 0)
    run = await bench.run_layer(plan, ifm=(1, 0), ofm=(0, 0), weights=(0, 0), int8_out=True,
                                shift=shift, relu=relu, skip=skip)
    assert not run.error, f"{label}: the accelerator refused the descriptor"
    got = await bench.read_output(plan, 0, 0, True)
    want = golden_map(cfg, plan, pruned.data, w, shift, relu)
    bad = np.argwhere(got != want)
    assert bad.size == 0, (f"{label}: {len(bad)} mismatches, first at {tuple(bad[0])}: "
                           f"got {got[tuple(bad[0])]}, want {want[tuple(bad[0])]}")
    zeros = accel_blox.zero_reads(plan, accel_blox.pruned_words(prev, pruned.cached))
    reads = accel_plan.act_sram_reads(plan) - zeros
    assert (run.zero_reads, run.act_reads) == (zeros, reads), \
        (f"{label}: RTL {run.zero_reads} zero reads, {run.act_reads} SRAM reads; model "
         f"{zeros}, {reads}")
    model = accel_cycles.layer_cycles(plan)
    dropped = 0
    if skip:
        words = accel_blox.pruned_words(prev, pruned.cached)
        dropped = accel_blox.skip_schedule(plan, words)[1]
        model = accel_blox.skip_layer_cycles(plan, words)
    assert run.skips == dropped, f"{label}: RTL dropped {run.skips} steps, model {dropped}"
    assert run.cycles == run.register_cycles == model, \
        (f"{label}: {run.cycles} cycles on the ports, {run.register_cycles} in the register, "
         f"model {model}")
    bench.dut._log.info("%s: ok, %d words as zeros, %d read from SRAM, %d steps dropped, %d "
                        "cycles (%d without skipping)", label, zeros, reads, dropped,
                        run.cycles, accel_cycles.layer_cycles(plan))
    return (zeros, dropped) if skip else zeros


def _layer(cfg, rng, h, w, c, k, r, s, stride, pad):
    plan = accel_plan.plan_layer(cfg, h, w, c, k, r, s, stride, pad, cfg.array.max_nnz)
    return (plan, *random_layer(cfg, rng, plan))


@cocotb.test()
async def one_pruning_layer(dut):
    """A short case for the slow simulator: one layer at a threshold between its blocks' means,
    with partial blocks at the edges and past K."""
    cfg = config_from_env()
    rng = np.random.default_rng(seed_for(dut, 10))
    bench = AccelBench(dut, cfg)
    await bench.reset()
    plan, x, w = _layer(cfg, rng, 5, 6, 9, 5, 3, 3, 1, 0)
    raw = threshold_for(cfg, plan, golden_map(cfg, plan, x, w, 8, True), 3)
    counts = (await check_pruned(bench, plan, x, w, raw, shift=8, label=f"t = {raw}/256")).counts
    assert 0 < counts.blocks_cached < counts.blocks_total


@cocotb.test()
async def thresholds_zero_some_all(dut):
    """t = 0 prunes nothing (the map is the golden one); a threshold between the blocks' |means|
    prunes some of them (odd sizes: partial blocks at the right and bottom edges and
    past K; two column tiles); the largest threshold prunes every block, and the map reads back
    all zeros."""
    cfg = config_from_env()
    rng = np.random.default_rng(seed_for(dut, 11))
    bench = AccelBench(dut, cfg)
    await bench.reset()
    plan, x, w = _layer(cfg, rng, 7, 9, 11, 13, 3, 3, 1, 1)
    counts = (await check_pruned(bench, plan, x, w, 0, label="t = 0")).counts
    assert counts.blocks_cached == 0
    raw = threshold_for(cfg, plan, golden_map(cfg, plan, x, w, 6, True),
                        cfg.sparseblox.capacity // 2)
    counts = (await check_pruned(bench, plan, x, w, raw, label=f"t = {raw}/256")).counts
    assert 0 < counts.blocks_cached < counts.blocks_total and counts.blocks_refused == 0
    plan, x, w = _layer(cfg, rng, 5, 6, 9, 5, 3, 3, 1, 0)
    counts = (await check_pruned(bench, plan, x, w, cfg.sparseblox.fmt.max_raw, shift=8,
                                 label="every block pruned")).counts
    assert counts.blocks_cached == counts.blocks_total
    assert not (await bench.read_output(plan, 1, 0, True, blox=True)).any()


@cocotb.test()
async def full_cache_stores_the_rest(dut):
    """More blocks below threshold than the cache holds: the first ``capacity`` in production
    order are pruned, the rest stored normally and counted as refused."""
    cfg = config_from_env()
    rng = np.random.default_rng(seed_for(dut, 12))
    bench = AccelBench(dut, cfg)
    await bench.reset()
    plan, x, w = _layer(cfg, rng, 8, 8, 8, 2 * cfg.array.tile_cols, 3, 3, 1, 1)
    counts = (await check_pruned(bench, plan, x, w, cfg.sparseblox.fmt.max_raw,
                                 label="full cache")).counts
    assert counts.blocks_refused > 0 and counts.blocks_cached == cfg.sparseblox.capacity


@cocotb.test()
async def back_pressure_and_plain_layers(dut):
    """Idle cycles on every stream and AXI4-Lite channel, a pruning layer then a plain INT32
    layer on the same design (cycles of the plain model, nothing looked up), and an INT32 layer
    asked to prune, which the sequencer refuses."""
    cfg = config_from_env()
    seed = seed_for(dut, 13)
    rng = np.random.default_rng(seed)
    bench = AccelBench(dut, cfg, pause=0.3, seed=seed)
    await bench.reset()
    plan, x, w = _layer(cfg, rng, 9, 11, 10, 9, 3, 3, 2, 1)
    raw = threshold_for(cfg, plan, golden_map(cfg, plan, x, w, 7, True),
                        cfg.sparseblox.capacity // 2)
    counts = (await check_pruned(bench, plan, x, w, raw, shift=7,
                                 label=f"paused, t = {raw}/256")).counts
    assert counts.blocks_cached > 0
    plan, x, w = _layer(cfg, rng, 5, 6, 8, 8, 1, 1, 1, 0)
    await bench.load_act(x, 0, 0)
    await bench.load_weights(accel_plan.weight_words(plan, w, bench.weight_packer), 0, 0)
    run = await bench.run_layer(plan, int8_out=False)
    assert not run.error and run.cycles == run.register_cycles == accel_cycles.layer_cycles(plan)
    got = await bench.read_output(plan, 1, 0, False)
    assert np.array_equal(got, conv.conv2d(x, w, 1, 0, cfg.array.acc_width)), "plain layer"
    run = await bench.run_layer(plan, int8_out=False, blox=1)
    assert run.error, "an INT32 layer asked to prune must be refused"


@cocotb.test()
async def pruned_map_read_on_chip(dut):
    """A pruning layer's map is the next layer's input where it lies (half 1), not read back and
    reloaded: the words of pruned blocks were never written — the half holds other nonzero words
    there, loaded before — and the next layer must read them as zeros. Through IM2COL (3×3,
    partial blocks at the edges and past K, two column tiles) and the direct reader, after a
    threshold between the blocks' means and after one that prunes every block."""
    cfg = config_from_env()
    rng = np.random.default_rng(seed_for(dut, 15))
    bench = AccelBench(dut, cfg)
    await bench.reset()
    cases = [((7, 9, 11, 13, 3, 3, 1, 1), cfg.sparseblox.capacity // 2),
             ((5, 6, 9, 5, 3, 3, 1, 0), None)]
    for (h, w, c, k, r, s, stride, pad), count in cases:
        prev, x, w1 = _layer(cfg, rng, h, w, c, k, r, s, stride, pad)
        stale = rng.integers(1, 128, (prev.k, prev.ho, prev.wo))
        await bench.load_act(stale, 1, 0)            # what a pruned word would read as
        y = golden_map(cfg, prev, x, w1, 7, True)
        raw = cfg.sparseblox.fmt.max_raw if count is None else threshold_for(cfg, prev, y, count)
        pruned = await check_pruned(bench, prev, x, w1, raw, shift=7, label=f"t = {raw}/256")
        assert pruned.counts.blocks_cached > 0
        for direct in (False, True):
            plan = accel_plan.plan_layer(cfg, prev.ho, prev.wo, prev.k, 2 * cfg.array.tile_cols,
                                         3, 3, 1, 1, cfg.array.max_nnz, direct=direct)
            _, w2 = random_layer(cfg, rng, plan)
            zeros = await check_next_layer(bench, prev, pruned, plan, w2,
                                           label=f"next layer ({plan.reader}) of t = {raw}/256")
            assert zeros > 0


@cocotb.test()
async def next_layer_skips_pruned_steps(dut):
    """With ``blox_skip`` the next layer drops every engine step whose beat reads only zero
    words, at least one pruned (a tile's last block excepted), with its weight slots: its output
    bit-exact with the golden convolution of the pruned map, the steps dropped and the cycles
    equal to the model's. After t = 0 (nothing pruned: nothing dropped, the plain cycles), a
    threshold between the blocks' means and one pruning every block (every block but each tile's
    last dropped); through IM2COL and the direct reader; idle cycles and back-pressure on every
    stream and AXI4-Lite channel. Where the threshold lies between the means, the pruning
    layer's top-right patch reads only zeros (:func:`zero_corner_patch`; the threshold's count
    takes its blocks on top), so that it prunes blocks some beat of either reader reads alone:
    the blocks it prunes elsewhere may each share every beat with unpruned words (a
    direct-reader beat is four pixels of a row, a block two), and nothing would be dropped (4 of
    2,000 seeds)."""
    cfg = config_from_env()
    seed = seed_for(dut, 16)
    rng = np.random.default_rng(seed)
    bench = AccelBench(dut, cfg, pause=0.3, seed=seed)
    await bench.reset()
    for shape, count in (((7, 9, 11, 13, 3, 3, 1, 1), 0),
                         ((7, 9, 11, 13, 3, 3, 1, 1), cfg.sparseblox.capacity // 2),
                         ((5, 6, 9, 5, 3, 3, 1, 0), None)):
        prev, x, w1 = _layer(cfg, rng, *shape)
        if count:
            x = zero_corner_patch(prev, x)
            count += prev.cb_out          # its blocks (all zero) on top of those to prune
        y = golden_map(cfg, prev, x, w1, 7, True)
        raw = (cfg.sparseblox.fmt.max_raw if count is None else
               threshold_for(cfg, prev, y, count) if count else 0)
        stale = rng.integers(1, 128, (prev.k, prev.ho, prev.wo))
        await bench.load_act(stale, 1, 0)            # what a pruned word would read as
        pruned = await check_pruned(bench, prev, x, w1, raw, shift=7, label=f"t = {raw}/256")
        for direct in (False, True):
            plan = accel_plan.plan_layer(cfg, prev.ho, prev.wo, prev.k, 2 * cfg.array.tile_cols,
                                         3, 3, 1, 1, cfg.array.max_nnz, direct=direct)
            assert accel_blox.skip_allowed(plan)
            _, w2 = random_layer(cfg, rng, plan)
            _, dropped = await check_next_layer(
                bench, prev, pruned, plan, w2, skip=True,
                label=f"next layer ({plan.reader}, skipping) of t = {raw}/256")
            assert (dropped > 0) == (pruned.counts.blocks_cached > 0)
        if count is None:
            assert pruned.counts.blocks_cached == pruned.counts.blocks_total


@verilator_test()
async def reset_mid_pruning_layer(dut):

    """A reset at seeded random cycles inside a pruning layer (loading, computing while the cache
    records blocks, or reading back through the cache): the registers read their reset values
    (``blox_cached`` and ``blox_refused`` zero), no output is left, and the next pruning layer —
    at another threshold, so it prunes other blocks and maybe fewer — reads back exactly its own
    pruned map: no position recorded before the reset survives it."""
    cfg = config_from_env()
    rng = np.random.default_rng(seed_for(dut, 14))
    bench = AccelBench(dut, cfg)
    await bench.reset()

    def make_job():
        plan, x, w = _layer(cfg, rng, 5, 6, 9, 5, 3, 3, 1, 0)
        count = int(rng.integers(0, cfg.sparseblox.capacity + 1))
        raw = threshold_for(cfg, plan, golden_map(cfg, plan, x, w, 8, True), count)
        return lambda label: check_pruned(bench, plan, x, w, raw, shift=8,
                                          label=f"{label}: t = {raw}/256")

    await reset_trials(bench, cfg, rng, make_job, clock_ns=CLOCK_NS)
