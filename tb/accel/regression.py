"""cocotb regression of a generated VDBB accelerator against the golden convolution and models.

Run through :func:`sparseforge.tb.runner.run_module` (``sparseforge test CONFIG``), which passes the
config in ``SPARSEFORGE_CONFIG`` and the seed in ``SPARSEFORGE_SEED``. Every layer is checked
bit-exact against :func:`sparseforge.sim.conv.conv2d` (INT32) or its requantization, and its
cycles three ways: measured on the ports (the ``start`` write's handshakes to ``done``), read from
the ``cycles`` register, and predicted by :func:`sparseforge.sim.accel.cycles.layer_cycles`; all
three must be equal (the layer runs from SRAM, so idle cycles on the AXI ports do not change it).
Its activation SRAM reads are checked against :func:`sparseforge.sim.accel.plan.act_sram_reads`.
"""


import cocotb
import numpy as np

from ...gen.config import config_from_env
from ...sim import conv
from ...sim.gemm import int_range
from ...sim.accel import cycles as accel_cycles
from ...sim.accel import plan as accel_plan
from ...sim.accel import tiling as accel_tiling
from ..reset import reset_trials, verilator_test
from ..seeds import seed_for
from .bench import CLOCK_NS, AccelBench
from .tiled import run_tiles


def nnz_choices(cfg):
    """Densities the layers cycle through: every edge of what the engine kind supports (one
    density, B/B, for the dense kinds; a fixed-DBB array's bound and the denser blocks it runs
    in several steps)."""
    array = cfg.array
    if array.kind == "dbb":
        return sorted({1, array.dbb_macs, array.block})
    if not array.sparse:
        return [array.block]
    return sorted({1, array.block // 2 or 1, array.block})


def random_layer(cfg, rng, plan, act_density=0.6):
    """Seeded operands at full range (weights at the config's width), pruned to the plan's NNZ."""
    x = rng.integers(-128, 128, (plan.c, plan.h, plan.w))
    x[rng.random(x.shape) >= act_density] = 0
    lo, hi = int_range(cfg.array.weight_width)
    w = rng.integers(lo, hi + 1, (plan.k, plan.c, plan.r, plan.s))
    if plan.nnz < cfg.block:
        w = accel_plan.prune_conv_weights(w, plan.nnz, cfg.block)
    return x, w


def check_cycles(run, plan, label):
    """The cycles measured on the ports, the ``cycles`` register and the model agree."""
    model = accel_cycles.layer_cycles(plan)
    assert run.cycles == run.register_cycles == model, \
        (f"{label}: {run.cycles} cycles on the ports, {run.register_cycles} in the register, "
         f"model {model}")


async def check_layer(bench, plan, x, w, *, exact=True, label="", int8_out=False, shift=0,
                      relu=False):
    """Load, run, read back and compare one layer; return the bench's counters."""
    cfg = bench.cfg
    await bench.load_act(x, 0, 0)
    await bench.load_weights(accel_plan.weight_words(plan, w, bench.weight_packer), 0, 0)
    run = await bench.run_layer(plan, ifm=(0, 0), ofm=(1, 0), weights=(0, 0),
                                int8_out=int8_out, shift=shift, relu=relu)
    assert not run.error, f"{label}: the accelerator refused the descriptor"
    got = await bench.read_output(plan, 1, 0, int8_out)
    want = conv.conv2d(x, w, plan.stride, plan.pad, cfg.array.acc_width)
    if int8_out:
        want = conv.requantize(want, shift, relu)
    bad = np.argwhere(got != want)
    assert bad.size == 0, (f"{label}: {len(bad)} mismatches, first at {tuple(bad[0])}: "
                           f"got {got[tuple(bad[0])]}, want {want[tuple(bad[0])]}")
    if exact:
        check_cycles(run, plan, label)
        reads = accel_plan.act_sram_reads(plan)
        assert run.act_reads == reads, f"{label}: RTL read {run.act_reads} words, model {reads}"
    bench.dut._log.info("%s: ok, %d cycles, %d act reads, %d beats", label, run.cycles,
                        run.act_reads, run.beats)
    return run


LAYERS = [
    # h, w, c, k, r, s, stride, pad
    (6, 7, 8, 8, 1, 1, 1, 0),
    (7, 9, 11, 5, 3, 3, 1, 1),
    (8, 8, 5, 8, 3, 3, 2, 1),
    (9, 7, 10, 6, 5, 5, 1, 2),
    (9, 8, 3, 9, 7, 7, 2, 3),
    (5, 6, 9, 16, 3, 3, 1, 0),
    (9, 9, 16, 7, 1, 1, 2, 0),
]


#: The :data:`LAYERS` Icarus runs (it simulates these designs twenty to fifty times slower than
#: Verilator, which runs them all): the odd 3×3 and the 7×7 stride 2. Other shapes run on Icarus
#: elsewhere in this module: a 1×1 stride-1 layer with the raster mapping (the first of
#: :data:`RASTER_LAYERS`, the only one Icarus runs), a 3×3 stride 1 and a 1×1 stride 2 under
#: back-pressure, the 3×3 without padding through the direct reader.
ICARUS_LAYERS = (1, 4)

#: The :data:`RASTER_LAYERS` Icarus runs.
ICARUS_RASTER_LAYERS = (0,)


#: Layers run with the raster mapping (tiles of consecutive output pixels across rows): a 1×1
#: layer on a 3×5 map, a 3×3 layer on a 5×3 map, and stride 2 where the design's banks allow it.
RASTER_LAYERS = [
    (3, 5, 9, 6, 1, 1, 1, 0),
    (5, 3, 6, 9, 3, 3, 1, 1),
    (6, 5, 7, 6, 1, 1, 2, 0),
]


def layer_plans(cfg, log):
    """:data:`LAYERS` planned on ``cfg`` with the patch mapping, cycling through
    :func:`nnz_choices` (on Icarus only :data:`ICARUS_LAYERS` of them, with the same densities),
    then :data:`RASTER_LAYERS` with the raster mapping.

    A layer whose kernel fits no IM2COL patch of this config's tile (a small tile has a small
    window buffer) runs through the design's direct reader, as the plan chooses; one that fits
    neither reader (a row of output pixels spanning more banks than there are) is left out, with a
    log line. On IM2COL designs one more layer is sent to the direct reader on purpose, so the
    fallback is always exercised. At least five layers remain on every regression design on
    Verilator, four on Icarus.
    """
    nnzs = nnz_choices(cfg)
    plans = []
    icarus = getattr(cocotb, "SIM_NAME", "") == "Icarus Verilog"
    for index, (h, w, c, k, r, s, stride, pad) in enumerate(LAYERS):
        if icarus and index not in ICARUS_LAYERS:
            continue
        nnz = nnzs[index % len(nnzs)]
        try:
            plans.append(accel_plan.plan_layer(cfg, h, w, c, k, r, s, stride, pad, nnz,
                                               raster=False))
        except accel_plan.PlanError as e:
            log.info("layer %s left out: %s", LAYERS[index], e)
    for index, (h, w, c, k, r, s, stride, pad) in enumerate(RASTER_LAYERS):
        if icarus and index not in ICARUS_RASTER_LAYERS:
            continue
        nnz = nnzs[0]           # the fewest steps: the mapping, not the density, is under test
        if accel_plan.raster_fits(cfg, h, w, r, s, stride, pad):
            plans.append(accel_plan.plan_layer(cfg, h, w, c, k, r, s, stride, pad, nnz,
                                               raster=True))
        else:
            log.info("raster layer %s left out: its tiles span more than %d banks",
                     RASTER_LAYERS[index], cfg.act_banks)
    if cfg.im2col:
        h, w, c, k, r, s, stride, pad = LAYERS[5]          # small: 12 output pixels
        plans.append(accel_plan.plan_layer(cfg, h, w, c, k, r, s, stride, pad, nnzs[0],
                                           direct=True))
    assert len(plans) >= (4 if icarus else 5), \
        f"only {len(plans)} of the regression's layers fit this design"
    return plans


@cocotb.test()
async def layers_cycle_exact(dut):
    """1×1, 3×3, 5×5, 7×7 kernels, strides 1 and 2, with and without padding, odd sizes, C not a
    multiple of B, every density edge the engine kind has, patch and raster mappings: bit-exact
    INT32 outputs, cycles and reads equal to the models."""
    cfg = config_from_env()
    rng = np.random.default_rng(seed_for(dut, 1))
    bench = AccelBench(dut, cfg)
    await bench.reset()
    for plan in layer_plans(cfg, dut._log):
        x, wt = random_layer(cfg, rng, plan)
        await check_layer(bench, plan, x, wt,
                          label=f"{plan.h}x{plan.w}x{plan.c} -> {plan.k}, {plan.r}x{plan.s}/"
                                f"{plan.stride} pad {plan.pad} nnz {plan.nnz}, {plan.reader}, "
                                f"{plan.mapping}")


#: Longest reduction (R·S·C) the extreme-value layer may take to make an accumulator wrap.
WRAP_TERMS_LIMIT = 1024


@cocotb.test()
async def extreme_values_and_wrap(dut):
    """−128 × the most negative weight in every product, then mixed signs, with INT32 and INT8
    outputs. With a reduction of at most :data:`WRAP_TERMS_LIMIT` products the accumulators wrap
    whenever the widths allow it (16-bit weights and 32-bit accumulators: 128·32768 per product,
    so 513 products wrap), and the test asserts that they did."""
    cfg = config_from_env()
    array = cfg.array
    bench = AccelBench(dut, cfg)
    await bench.reset()
    alo, ahi = int_range(array.act_width)
    wlo, whi = int_range(array.weight_width)
    nnz = array.max_nnz
    # Products per output needed to pass the accumulator's top (each at most alo·wlo), and the
    # layer's channels: a 3×3 kernel over C channels at density nnz/B gives 9·C·nnz/B products.
    needed = (1 << (array.acc_width - 1)) // (alo * wlo) + 1
    bz = cfg.block
    wraps = needed <= WRAP_TERMS_LIMIT
    c = -(-needed * bz // (9 * nnz)) if wraps else 2 * bz + 3
    plan = accel_plan.plan_layer(cfg, 3, 4, c, array.tile_cols + 1, 3, 3, 1, 1, nnz)
    x = np.full((plan.c, plan.h, plan.w), alo)
    w = np.full((plan.k, plan.c, plan.r, plan.s), wlo)
    if nnz < bz:
        w = accel_plan.prune_conv_weights(w, nnz, bz)
    exact = conv.conv2d(x, w, plan.stride, plan.pad, 64)
    lo, hi = int_range(array.acc_width)
    wrapped = int(np.count_nonzero((exact < lo) | (exact > hi)))
    assert (wrapped > 0) == wraps, f"{wrapped} outputs pass the accumulator's range"
    await check_layer(bench, plan, x, w, label=f"min x min, {plan.c} channels, "
                                               f"{wrapped} outputs wrap")
    x[:, ::2] = ahi
    w = np.where(w != 0, whi, 0)
    w[::2] = np.where(w[::2] != 0, wlo, 0)
    await check_layer(bench, plan, x, w, int8_out=True, shift=20, label="mixed extremes, INT8")
    dut._log.info("accumulators wrapped in %d outputs (reachable: %s)", wrapped, wraps)


@cocotb.test()
async def back_pressure_everywhere(dut):
    """Idle cycles on every AXI4-Stream and AXI4-Lite channel while loading, running and reading
    back; INT8 and INT32 outputs. The layer itself runs from SRAM, so its cycles still match."""
    cfg = config_from_env()
    seed = seed_for(dut, 2)
    rng = np.random.default_rng(seed)
    bench = AccelBench(dut, cfg, pause=0.3, seed=seed)
    await bench.reset()
    top = cfg.array.max_nnz
    for (h, w, c, k, r, s, stride, pad), int8_out in (((7, 6, 9, 10, 3, 3, 1, 1), True),
                                                       ((8, 9, 12, 8, 1, 1, 2, 0), False)):
        plan = accel_plan.plan_layer(cfg, h, w, c, k, r, s, stride, pad, top)
        x, wt = random_layer(cfg, rng, plan)
        await check_layer(bench, plan, x, wt, int8_out=int8_out, shift=7, relu=int8_out,
                          label=f"paused {r}x{s}/{stride}, {'int8' if int8_out else 'int32'}")


@verilator_test()
async def three_layer_chain(dut):
    """Three layers chained in SRAM with requantization and ReLU in between; each next layer's
    weights stream into the other weight half while the current layer computes (Verilator only:
    on Icarus it cost a fifth of the module's time; requantization with ReLU runs there under
    back-pressure, weights loaded during a layer do not)."""
    cfg = config_from_env()
    rng = np.random.default_rng(seed_for(dut, 3))
    bench = AccelBench(dut, cfg)
    await bench.reset()
    nnz = max(1, cfg.array.max_nnz // 2)
    shapes = [(9, 8, 6, 12, 3, 3, 1, 1), (9, 8, 12, 9, 3, 3, 2, 1), (5, 4, 9, 10, 1, 1, 1, 0)]
    plans, weights = [], []
    c = shapes[0][2]
    for h, w, _, k, r, s, stride, pad in shapes:
        plans.append(accel_plan.plan_layer(cfg, h, w, c, k, r, s, stride, pad, nnz))
        weights.append(random_layer(cfg, rng, plans[-1])[1])
        c = k
    x = rng.integers(-128, 128, (shapes[0][2], shapes[0][0], shapes[0][1]))
    words = [accel_plan.weight_words(p, w, bench.weight_packer) for p, w in zip(plans, weights)]

    await bench.load_act(x, 0, 0)
    await bench.load_weights(words[0], 0, 0)
    # (half, first bank row) of each map in turn: an output never overwrites its input.
    rows = [plans[0].ifm_bank_rows] + [p.ofm_bank_rows(int8=True) for p in plans]
    maps = [(0, 0), (1, 0), (0, rows[0]), (1, rows[1])]
    shifts = [9, 10, None]
    for i, plan in enumerate(plans):
        if i + 1 < len(plans):                           # next weights into the other half
            await bench.load_weights(words[i + 1], (i + 1) % 2, 0, wait=False)
        run = await bench.run_layer(plan, ifm=maps[i], ofm=maps[i + 1], weights=(i % 2, 0),
                                    int8_out=shifts[i] is not None, shift=shifts[i] or 0,
                                    relu=shifts[i] is not None)
        assert not run.error
        check_cycles(run, plan, f"layer {i + 1}")
        await bench.w_src.wait()
    got = await bench.read_output(plans[-1], *maps[3], int8_out=False)

    want = x
    for plan, w, shift in zip(plans, weights, shifts):
        want = conv.conv2d(want, w, plan.stride, plan.pad, cfg.array.acc_width)
        if shift is not None:
            want = conv.requantize(want, shift, relu=True)
    assert np.array_equal(got, want), f"{np.count_nonzero(got != want)} mismatches in the chain"
    dut._log.info("three-layer chain bit-exact")


def tiled_case(cfg):
    """A 3×3 pad-1 layer one of whose SRAM images does not fit ``cfg``: B channels, two column
    tiles of output channels, 6 pixels wide and just tall enough that its INT32 output map needs
    one bank row more than an activation half has."""
    k = cfg.array.tile_cols + 1
    per_pixel = 4 * -(-k // cfg.block)
    pixels = cfg.act_bank_depth // per_pixel * cfg.act_banks + 1
    return -(-pixels // 6), 6, cfg.block, k, 3, 3, 1, 1


@verilator_test()
async def time_tiled_layer(dut):
    """A layer larger than the SRAMs (:func:`tiled_case`) run as its time tiles
    (:mod:`sparseforge.sim.accel.tiling`) by :func:`.tiled.run_tiles`, one job after another as
    the host would: each tile's input band loaded (halo rows, padding written out); the next
    group's weights stream into the other weight half while the current job runs. Twice: the
    plan's tiling of its INT32 output, whose map does not fit a half, so each tile's output is
    read back; and its INT8 output as two bands by two output-channel groups (bands outer, so
    weights reload at every tile), whose whole map fits a half, so every tile writes its rows
    and channels in place there (``ofm_pixel0``, ``ofm_k0``, ``ofm_k``) and the map is read
    once at the end. Each map is bit-exact against the golden convolution of the whole layer
    (requantized for INT8), and every job's cycles (ports, register) equal its model."""
    cfg = config_from_env()
    rng = np.random.default_rng(seed_for(dut, 7))
    bench = AccelBench(dut, cfg)
    await bench.reset()
    layer = tiled_case(cfg)
    nnz = nnz_choices(cfg)[0]
    whole = accel_plan.plan_layer(cfg, *layer, nnz, check_sram=False)
    x, w = random_layer(cfg, rng, whole)
    want = conv.conv2d(x, w, whole.stride, whole.pad, cfg.array.acc_width)
    chosen = accel_tiling.tile_layer(cfg, *layer, nnz)
    assert not chosen.fits_sram and chosen.time_tiles > 1, "the case must need tiling"
    assert not chosen.in_place, "the INT32 case must read its tiles back"
    forced = accel_tiling.tile_layer(cfg, *layer, nnz, int8_out=True, tiling=(2, 2, "bands"))
    assert forced.in_place and forced.bands == forced.groups == 2
    shift = conv.fitting_shift(want)
    for label, tiled, out in (("chosen", chosen, None), ("2x2 in place", forced, shift)):
        got, runs = await run_tiles(bench, tiled, x, w, int8_out=out is not None,
                                    shift=out or 0)
        for i, (tile, run) in enumerate(zip(tiled.tiles, runs)):
            assert not run.error, f"{label} tile {i}: the descriptor was refused"
            check_cycles(run, tile.plan, f"{label} tile {i}")
        golden = want if out is None else conv.requantize(want, out)
        assert np.array_equal(got, golden), \
            f"{label}: {np.count_nonzero(got != golden)} mismatches in the tiled layer"
        dut._log.info("%s tiling of %s: %d tiles (%d bands x %d groups), bit-exact, jobs %s",
                      label, layer, tiled.time_tiles, tiled.bands, tiled.groups,
                      [accel_cycles.layer_cycles(t.plan) for t in tiled.tiles])


def spanning_case(cfg):
    """A 3×3 pad-1 layer of one column tile of output channels whose weights need a few words
    more than a weight SRAM half (and whose input fits an activation half): the fewest input
    channel blocks that do so, on the first map of 4×5, 3×4, 2×3 that holds them."""
    half = cfg.weight_half_words
    for h, w in ((4, 5), (3, 4), (2, 3)):
        for blocks in range(1, 8191 // cfg.block + 1):
            plan = accel_plan.plan_layer(cfg, h, w, blocks * cfg.block, cfg.array.tile_cols,
                                         3, 3, 1, 1, cfg.array.max_nnz, check_sram=False)
            if plan.weight_word_count > half:
                if plan.ifm_bank_rows <= cfg.act_bank_depth:
                    return plan
                break
    raise AssertionError(f"{cfg.name}: no layer of one column tile needs both weight halves")


@verilator_test()
async def weights_in_both_halves(dut):
    """A layer whose weights need more than a weight SRAM half runs from both: loaded into half
    1 from the word that makes them end at the last word of half 0 (the loader's address runs
    on from half 1 into half 0), read the same way by the layer (``w_half`` 1); bit-exact, its
    cycles equal to the model's. The plan accepts it (``check_sram``)."""
    cfg = config_from_env()
    rng = np.random.default_rng(seed_for(dut, 8))
    bench = AccelBench(dut, cfg)
    await bench.reset()
    plan = spanning_case(cfg)
    accel_plan.plan_layer(cfg, plan.h, plan.w, plan.c, plan.k, 3, 3, 1, 1, plan.nnz)
    x, w = random_layer(cfg, rng, plan)
    words = accel_plan.weight_words(plan, w, bench.weight_packer)
    base = 2 * cfg.weight_half_words - len(words)
    assert 0 < base < cfg.weight_half_words
    await bench.load_act(x, 0, 0)
    await bench.load_weights(words, 1, base)
    run = await bench.run_layer(plan, ifm=(0, 0), ofm=(1, 0), weights=(1, base))
    assert not run.error, "the accelerator refused the descriptor"
    got = await bench.read_output(plan, 1, 0, False)
    want = conv.conv2d(x, w, 1, 1, cfg.array.acc_width)
    assert np.array_equal(got, want), \
        f"{np.count_nonzero(got != want)} mismatches with weights in both halves"
    check_cycles(run, plan, "weights in both halves")
    dut._log.info("%dx%dx%d -> %d: %d weight words from half 1 word %d, bit-exact, %d cycles",
                  plan.h, plan.w, plan.c, plan.k, len(words), base, run.cycles)


@cocotb.test()
async def bad_descriptor_is_refused(dut):
    """A patch that does not divide the output tile, or stride 3, sets the error bit at once; so
    do an output map in the input map's half on a design that writes two result rows a cycle
    (its output half's banks use both ports for the writes), a larger output map (``ofm_k``)
    without room for the layer's channels, and a first channel in it (``ofm_k0``) that is not a
    whole block."""
    cfg = config_from_env()
    bench = AccelBench(dut, cfg)
    await bench.reset()
    plan = accel_plan.plan_layer(cfg, 5, 5, 8, 8, 3, 3, 1, 1, cfg.array.max_nnz)
    bad_patch = next(p for p in range(2, 64) if cfg.array.tile_rows % p)
    cases = [("patch_h", bad_patch), ("stride", 3), ("ofm_k", plan.k - 1)]
    if cfg.array.drain_rows == 2:
        cases.append(("ofm_half", 0))              # run_layer puts the input map in half 0
    if cfg.block > 1:
        cases.append(("ofm_k0", 1))
    for field, value in cases:
        run = await bench.run_layer(plan)
        assert not run.error
        await bench.write(field, value)
        timing = cocotb.start_soon(bench.time_layer())
        await bench.write("start", 1)
        accepted, finished = await timing
        status = await bench.read("status")
        assert status == 0b110, f"{field} = {value}: status {status:#05b}, want error and done"
        # Accepted, pulse, latch, derive (refused): done rises in the fourth cycle after.
        assert finished - accepted == await bench.read("cycles") == 4, \
            "a refused layer must not run"
        await bench.write(field, {"patch_h": plan.ph, "stride": plan.stride,
                                  "ofm_half": 1, "ofm_k": 0, "ofm_k0": 0}[field])


@verilator_test()
async def reset_mid_layer(dut):
    """A reset at seeded random cycles inside a job (loading the SRAMs, computing the layer or
    reading the output back): the registers read their reset values, no output is left, and the
    next layer is bit-exact and cycle-exact (:func:`sparseforge.tb.reset.reset_trials`)."""
    cfg = config_from_env()
    rng = np.random.default_rng(seed_for(dut, 6))
    bench = AccelBench(dut, cfg)
    await bench.reset()
    nnzs = nnz_choices(cfg)

    def make_job():
        plan = accel_plan.plan_layer(cfg, 6, 5, cfg.block + 1, cfg.array.tile_cols + 1, 3, 3, 1,
                                     1, int(rng.choice(nnzs)))
        x, wt = random_layer(cfg, rng, plan)
        return lambda label: check_layer(bench, plan, x, wt, label=f"{label}: nnz {plan.nnz}")

    await reset_trials(bench, cfg, rng, make_job, clock_ns=CLOCK_NS)
