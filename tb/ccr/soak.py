"""Soak of a generated CCR accelerator: many random layers on one build
(:mod:`sparseforge.tb.soak`).

Each job draws a layer — C from 1 to 3, H and W from 1 to 9, K from 1 to 3, R and S from 1 to 5
each, a 'full', 'same' or 'valid' window at stride 1 or 2 (four accumulating polyphase passes),
weight and activation densities from 0.05 to 1, full-range values — redrawing any the design's
buffers cannot hold (:func:`sparseforge.gen.ccr.run.check_fit` says why), and random idle cycles
on every source and back-pressure on every sink, the register bus included
(:func:`~sparseforge.tb.soak.pauses_for_job`). Every job is bit-exact against the golden layer,
and pass by pass its busy cycles (measured, ``cycles`` register, model) and statistics registers
equal the cycle model's: a pass loads before ``start``, so the pauses cannot reach its count
(:func:`sparseforge.tb.ccr.regression.check_layer`).
"""

import cocotb

from ...gen.ccr.run import check_fit
from ...gen.config import config_from_env
from ...gen.errors import InputError
from ...sim.ccr import layer
from ..soak import pauses_for_job, soak
from .bench import CLOCK_NS, CcrBench
from .cases import random_layer
from .regression import check_layer

MODES = ("full", "same", "valid")


@cocotb.test()
async def soak_jobs(dut):
    """``$SPARSEFORGE_SOAK_JOBS`` random layers, each bit-exact and cycle-exact."""
    cfg = config_from_env()
    bench = CcrBench(dut, cfg)

    def draw(rng):
        while True:
            c, h, w, k = (int(v) for v in rng.integers(1, (4, 10, 10, 4)))
            r, s = (int(v) for v in rng.integers(1, min(5, cfg.kernel_max) + 1, 2))
            mode, stride = str(rng.choice(MODES)), int(rng.integers(1, 3))
            x, wt = random_layer(cfg, rng, c, h, w, k, r, s, float(rng.uniform(0.05, 1)),
                                 float(rng.uniform(0.05, 1)))
            try:
                win = layer.window(h, w, r, s, mode=mode, stride=stride)
                check_fit(cfg, x, wt, win)
            except (ValueError, InputError):
                continue
            return x, wt, win, f"{mode} {r}x{s}/{stride}"

    async def job(rng, index):
        x, wt, win, what = draw(rng)
        pause, backpressure, seed = pauses_for_job(rng)
        bench.set_pauses(pause, backpressure, seed)
        await check_layer(bench, x, wt, win, f"job {index}: {what}")
        return True, pause > 0 or backpressure > 0

    await soak(dut, bench, job, salt=50, clock_ns=CLOCK_NS)
