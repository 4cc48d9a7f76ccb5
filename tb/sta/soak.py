"""Soak of a generated STA engine: many random GEMM jobs on one build (:mod:`sparseforge.tb.soak`).

Each job draws M, K, N from one element to three tiles / four blocks, an activation density from
0 to 1, full-range values and — on VDBB and DBB engines — a new NNZ from 1 to B, so the density
changes between jobs. Its streams idle and its result stream back-pressures at random
(:func:`~sparseforge.tb.soak.pauses_for_job`; half the jobs run without pauses). Every job is
bit-exact against the golden GEMM (and the probed gated MAC-cycles against the model on gating
designs); the jobs without pauses are also cycle-exact against
:func:`sparseforge.sim.sta.cycles.sta_job_cycles` (an idle cycle on an input delays an engine
that computes while it streams, so a paused job's count is not the model's).
"""

import cocotb

from ...gen.config import config_from_env
from ..soak import pauses_for_job, soak
from .bench import CLOCK_NS, StaEngineBench
from .cases import random_operands
from .regression import check_job


@cocotb.test()
async def soak_jobs(dut):
    """``$SPARSEFORGE_SOAK_JOBS`` random jobs, each bit-exact, the unpaused ones cycle-exact."""
    cfg = config_from_env()
    bench = StaEngineBench(dut, cfg)

    async def job(rng, index):
        m = int(rng.integers(1, 3 * cfg.tile_rows + 1))
        k = int(rng.integers(1, 4 * cfg.block + 1))
        n = int(rng.integers(1, 3 * cfg.tile_cols + 1))
        nnz = int(rng.integers(1, cfg.block + 1)) if cfg.kind in ("vdbb", "dbb") else cfg.block
        act, weights = random_operands(cfg, rng, m, k, n, nnz, act_density=float(rng.random()))
        pause, backpressure, seed = pauses_for_job(rng, unpaused=0.5)
        bench.set_pauses(pause, backpressure, seed)
        paused = pause > 0 or backpressure > 0
        await check_job(bench, cfg, act, weights, nnz, exact_cycles=not paused,
                        label=f"job {index}")
        return not paused, paused

    await soak(dut, bench, job, salt=50, clock_ns=CLOCK_NS)
