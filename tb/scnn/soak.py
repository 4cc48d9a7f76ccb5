"""Soak of a generated SCNN accelerator: many random layers on one build
(:mod:`sparseforge.tb.soak`).

Each job draws a layer — H and W from one pixel to the array's full tiles, C from 1 to 4, K up to
two output-channel groups and one, a kernel side the design supports, weight and activation
densities from 0.05 to 1, full-range values — that fits the PE RAMs
(:func:`~sparseforge.tb.scnn.cases.fitting_layer`), and random idle cycles on every source and
back-pressure on every sink, the register bus included
(:func:`~sparseforge.tb.soak.pauses_for_job`).
Every job is bit-exact (outputs and streamed compressed rows against the golden model) and its
statistics registers equal the cycle model's; the computing part (``busy_cycles``) equals the
model in every job and the whole run, loading and draining too in the jobs without pauses
(:func:`sparseforge.tb.scnn.regression.check_layer`).
"""

import cocotb

from ...gen.config import config_from_env
from ..soak import pauses_for_job, soak
from .bench import CLOCK_NS, ScnnBench
from .cases import fitting_layer, kernel_sides
from .regression import check_layer


@cocotb.test()
async def soak_jobs(dut):
    """``$SPARSEFORGE_SOAK_JOBS`` random layers, each bit-exact and cycle-checked."""
    cfg = config_from_env()
    bench = ScnnBench(dut, cfg)
    sides = kernel_sides(cfg)

    def draw(rng):
        while True:
            side = int(rng.choice(sides))
            shape = (int(rng.integers(1, cfg.max_h + 1)), int(rng.integers(1, cfg.max_w + 1)),
                     int(rng.integers(1, 5)), int(rng.integers(1, 2 * cfg.kc + 2)), side, side)
            densities = (float(rng.uniform(0.05, 1)), float(rng.uniform(0.05, 1)))
            try:
                return fitting_layer(cfg, rng, *shape, *densities, tries=20)
            except ValueError:
                continue

    async def job(rng, index):
        act, weights = draw(rng)
        pause, backpressure, seed = pauses_for_job(rng)
        bench.set_pauses(pause, backpressure, seed)
        paused = pause > 0 or backpressure > 0
        await check_layer(bench, act, weights, label=f"job {index}", paused=paused)
        return True, paused

    await soak(dut, bench, job, salt=50, clock_ns=CLOCK_NS)
