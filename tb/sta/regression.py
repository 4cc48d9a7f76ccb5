"""cocotb regression of a generated STA engine against the golden GEMM and the cycle model.

Run through :func:`sparseforge.tb.runner.run_regression` (``sparseforge test CONFIG``), which
passes the config as JSON in ``SPARSEFORGE_CONFIG`` and the seed in ``SPARSEFORGE_SEED``.
Every job is checked bit-exact against :func:`sparseforge.sim.gemm.gemm`; jobs run without pauses
are also checked cycle-exact against :func:`sparseforge.sim.sta.cycles.sta_job_cycles`, and the
gated MAC-cycles probed in the array against :func:`sparseforge.sim.sta.streams.gated_mac_cycles`.
"""


import cocotb
import numpy as np

from ...gen.config import config_from_env
from ...sim.gemm import gemm, int_range
from ...sim.sta import cycles as sta_cycles
from ...sim.sta import dbb
from ...sim.sta import streams as sta_streams
from ..reset import reset_trials, verilator_test
from ..seeds import seed_for
from .bench import CLOCK_NS, StaEngineBench
from .cases import WRAP_STEPS, nnz_choices, random_operands, shapes, wrap_k


async def check_job(bench, cfg, act, weights, nnz, *, exact_cycles=True, label=""):
    streams = sta_streams.engine_streams(cfg, act, weights, nnz)
    result = await bench.run_job(streams)
    m, n = act.shape[0], weights.shape[1]
    got = sta_streams.assemble(cfg, result.rows, m, n)
    want = gemm(act, weights, cfg.acc_width)
    bad = np.argwhere(got != want)
    assert bad.size == 0, (f"{label}: {len(bad)} mismatches, first at {tuple(bad[0])}: "
                           f"got {got[tuple(bad[0])]}, want {want[tuple(bad[0])]}")
    if exact_cycles:
        model = sta_cycles.sta_job_cycles(cfg, streams.tiles, streams.k, nnz)
        assert result.cycles == model, f"{label}: RTL {result.cycles} cycles, model {model}"
    if cfg.act_zero_gating:
        want_gated = sta_streams.gated_mac_cycles(cfg, streams)
        assert result.gated_mac_cycles == want_gated, \
            f"{label}: {result.gated_mac_cycles} gated MAC-cycles probed, model {want_gated}"
    bench.dut._log.info("%s: %dx%dx%d nnz %d ok, %d cycles", label, m, act.shape[1], n, nnz,
                        result.cycles)
    return result


@cocotb.test()
async def odd_shapes_cycle_exact(dut):
    """Odd GEMM shapes at every supported density, no pauses: bit- and cycle-exact."""
    cfg = config_from_env()
    rng = np.random.default_rng(seed_for(dut, 1))
    bench = StaEngineBench(dut, cfg)
    await bench.reset()
    for m, k, n in shapes(cfg):
        for nnz in nnz_choices(cfg):
            act, weights = random_operands(cfg, rng, m, k, n, nnz)
            await check_job(bench, cfg, act, weights, nnz, label=f"shape {m}x{k}x{n}")


@cocotb.test()
async def back_pressure_on_every_stream(dut):
    """Idle cycles on every input stream and back-pressure on the output: still bit-exact."""
    cfg = config_from_env()
    seed = seed_for(dut, 2)
    rng = np.random.default_rng(seed)
    bench = StaEngineBench(dut, cfg, pause=0.35, backpressure=0.5, seed=seed)
    await bench.reset()
    for m, k, n in shapes(cfg)[::2] + [(2 * cfg.tile_rows, 2, 3 * cfg.tile_cols)]:
        nnz = int(rng.choice(nnz_choices(cfg)))
        act, weights = random_operands(cfg, rng, m, k, n, nnz)
        await check_job(bench, cfg, act, weights, nnz, exact_cycles=False,
                        label=f"paused {m}x{k}x{n}")
    # Heavy back-pressure with short K makes the array stall on full result registers.
    bench.set_pauses(0.1, 0.9, seed + 1)
    act, weights = random_operands(cfg, rng, 3 * cfg.tile_rows, 1, 2 * cfg.tile_cols, 1)
    await check_job(bench, cfg, act, weights, 1, exact_cycles=False, label="stalled")


@cocotb.test()
async def degenerate_operands(dut):
    """All-zero weights, all-zero activations, all-zero and fully dense blocks."""
    cfg = config_from_env()
    rng = np.random.default_rng(seed_for(dut, 3))
    bench = StaEngineBench(dut, cfg)
    await bench.reset()
    m, k, n = cfg.tile_rows + 1, 2 * cfg.block + 1, cfg.tile_cols + 2
    top = cfg.max_nnz
    act, weights = random_operands(cfg, rng, m, k, n, top, act_density=1.0)
    await check_job(bench, cfg, act, np.zeros_like(weights), top, label="zero weights")
    await check_job(bench, cfg, np.zeros_like(act), weights, top, label="zero activations")
    # Alternate all-zero blocks with blocks holding exactly NNZ non-zeros.
    wlo, whi = int_range(cfg.weight_width)
    dense = rng.integers(1, whi + 1, (k, n)) * rng.choice([-1, 1], (k, n))
    dense = dbb.prune(dense, top, cfg.block) if top < cfg.block else dense
    blocks = np.arange(k) // cfg.block
    dense[blocks % 2 == 1] = 0
    await check_job(bench, cfg, act, dense, top, label="zero and full blocks")


@cocotb.test()
async def extreme_values(dut):
    """-128 × -128 everywhere, mixed extremes, and accumulators that wrap.

    When the design's accumulator can wrap within the regression's budget
    (:func:`~sparseforge.tb.sta.cases.wrap_k`), the long jobs must really wrap: some exact sum
    lies outside the accumulator's range (and the RTL still matches the wrapped golden model).
    """
    cfg = config_from_env()
    bench = StaEngineBench(dut, cfg)
    await bench.reset()
    alo, ahi = int_range(cfg.act_width)
    wlo, whi = int_range(cfg.weight_width)
    top = cfg.max_nnz
    long_k = wrap_k(cfg)
    if long_k is None:
        dut._log.info("a %d-bit accumulator does not wrap within %d steps of %d x %d products; "
                      "extremes checked without wrap-around", cfg.acc_width, WRAP_STEPS, alo, wlo)
    for k in sorted({cfg.block} | ({long_k} if long_k else set())):
        m, n = cfg.tile_rows, cfg.tile_cols + 1
        act = np.full((m, k), alo)
        weights = dbb.prune(np.full((k, n), wlo), top, cfg.block) if top < cfg.block \
            else np.full((k, n), wlo)
        await check_job(bench, cfg, act, weights, top, label=f"min x min, K={k}")
        wrapped = [exact_outside(cfg, act, weights)]
        act[1::2] = ahi
        weights = np.where(weights != 0, whi, 0)
        weights[:, ::2] = np.where(weights[:, ::2] != 0, wlo, 0)
        await check_job(bench, cfg, act, weights, top, label=f"mixed extremes, K={k}")
        wrapped.append(exact_outside(cfg, act, weights))
        if k == long_k:
            assert all(wrapped), f"K={k}: no sum left the {cfg.acc_width}-bit range: {wrapped}"
            dut._log.info("K=%d: %d and %d sums wrapped the %d-bit accumulators", k, *wrapped,
                          cfg.acc_width)


def exact_outside(cfg, act, weights):
    """How many exact sums of ``act @ weights`` (Python integers) lie outside the accumulator's
    range, i.e. wrap."""
    exact = np.asarray(act, dtype=object) @ np.asarray(weights, dtype=object)
    lo, hi = int_range(cfg.acc_width)
    return int(sum(1 for x in exact.flat if not lo <= x <= hi))


@cocotb.test()
async def consecutive_jobs_change_density(dut):
    """Jobs back to back without reset; a VDBB engine changes NNZ between them."""
    cfg = config_from_env()
    rng = np.random.default_rng(seed_for(dut, 5))
    bench = StaEngineBench(dut, cfg)
    await bench.reset()
    for nnz in nnz_choices(cfg)[::-1] + nnz_choices(cfg):
        act, weights = random_operands(cfg, rng, cfg.tile_rows + 2, 3 * cfg.block, 5, nnz)
        await check_job(bench, cfg, act, weights, nnz, label=f"job nnz {nnz}")


@verilator_test()
async def reset_mid_job(dut):
    """A reset at seeded random cycles inside a job (streaming in, computing or draining): no
    result beat is left, and the next job (at another NNZ where the engine has a choice) is
    bit-exact and cycle-exact (:func:`sparseforge.tb.reset.reset_trials`)."""
    cfg = config_from_env()
    rng = np.random.default_rng(seed_for(dut, 6))
    bench = StaEngineBench(dut, cfg)
    await bench.reset()

    def make_job():
        nnz = int(rng.choice(nnz_choices(cfg)))
        act, weights = random_operands(cfg, rng, 2 * cfg.tile_rows + 1, 3 * cfg.block + 1,
                                       cfg.tile_cols + 1, nnz)
        return lambda label: check_job(bench, cfg, act, weights, nnz, label=label)

    await reset_trials(bench, cfg, rng, make_job, clock_ns=CLOCK_NS, registers=False)
