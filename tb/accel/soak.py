"""Soak of a generated VDBB accelerator: many random layers on one build
(:mod:`sparseforge.tb.soak`).

Each job draws a convolution layer — H, W from 1 to 8, C up to two blocks and one, K up to two
tiles and one, R and S from 1 to 5 each, stride 1 or 2, a pad up to half the kernel, a new NNZ
from 1 to the array's bound (so the density changes between jobs), an activation density from
0 to 1, INT32 or requantized INT8 outputs with a random shift and ReLU — redrawing any layer the
design cannot hold (:func:`sparseforge.sim.accel.plan.plan_layer` says why). Every AXI4-Stream
and AXI4-Lite channel idles and back-pressures at random
(:func:`~sparseforge.tb.soak.pauses_for_job`) while the SRAMs load and the output is read back.
Every job is bit-exact against :func:`sparseforge.sim.conv.conv2d` and, since a layer runs from
SRAM where the pauses cannot reach it, cycle-exact (ports, ``cycles`` register and model agree)
with its SRAM reads equal to the model's.
"""

import cocotb

from ...gen.config import config_from_env
from ...sim.accel import plan as accel_plan
from ..soak import pauses_for_job, soak
from .bench import CLOCK_NS, AccelBench
from .regression import check_layer, random_layer


def draw_plan(cfg, rng, int8_out):
    """A random layer the design can run (redrawn until one fits)."""
    array = cfg.array
    while True:
        r, s = (int(v) for v in rng.integers(1, 6, 2))
        try:
            return accel_plan.plan_layer(
                cfg, int(rng.integers(1, 9)), int(rng.integers(1, 9)),
                int(rng.integers(1, 2 * cfg.block + 2)),
                int(rng.integers(1, 2 * array.tile_cols + 2)), r, s, int(rng.integers(1, 3)),
                int(rng.integers(0, min(r, s) // 2 + 1)), int(rng.integers(1, array.max_nnz + 1)),
                int8_out=int8_out)
        except accel_plan.PlanError:
            continue


@cocotb.test()
async def soak_jobs(dut):
    """``$SPARSEFORGE_SOAK_JOBS`` random layers, each bit-exact and cycle-exact."""
    cfg = config_from_env()
    bench = AccelBench(dut, cfg)

    async def job(rng, index):
        int8_out = bool(rng.integers(2))
        plan = draw_plan(cfg, rng, int8_out)
        x, w = random_layer(cfg, rng, plan, act_density=float(rng.random()))
        pause, _, seed = pauses_for_job(rng)
        bench.set_pauses(pause, seed)
        await check_layer(bench, plan, x, w, int8_out=int8_out, shift=int(rng.integers(0, 16)),
                          relu=bool(rng.integers(2)), label=f"job {index}")
        return True, pause > 0

    await soak(dut, bench, job, salt=50, clock_ns=CLOCK_NS)
