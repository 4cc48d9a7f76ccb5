"""Soak of a generated SparseCore accelerator: many random layers on one build
(:mod:`sparseforge.tb.soak`).

Each job draws a layer — H, W and C from 1 to the design's limits, K a multiple of m up to two
chunks and one group, R and S from 1 to 3, stride 1 or 2, a pad below the kernel side, 2×2
pooling where the design allows it, an activation density from 0 to 1, weights pruned to the
design's k/m, random requantization — redrawing any the design cannot run
(:func:`sparseforge.gen.sparsecore.run.check_layer` says why), and random idle cycles on every
source and the register bus (:func:`~sparseforge.tb.soak.pauses_for_job`). Half the jobs also
back-pressure the output stream and the bus's responses. Every job is bit-exact (the compressed
output and its decoded plane against the golden layer); the jobs without back-pressure are also
cycle-exact (busy cycles measured, ``cycles`` register and model, and the statistics registers):
the layer loads before ``start``, but the model assumes its output stream always ready
(:func:`sparseforge.tb.sparsecore.regression.check_layer`).
"""

import cocotb

from ...gen.errors import InputError
from ...gen.sparsecore.run import check_layer as check_fits
from ...sim.sparsecore.cycles import LayerShape
from ..soak import pauses_for_job, soak
from .bench import CLOCK_NS, SparseCoreBench
from .cases import random_layer
from .regression import _config, check_layer


@cocotb.test()
async def soak_jobs(dut):
    """``$SPARSEFORGE_SOAK_JOBS`` random layers, each bit-exact, those without back-pressure
    cycle-exact."""
    cfg = _config()
    bench = SparseCoreBench(dut, cfg)

    def draw(rng):
        while True:
            r, s = (int(v) for v in rng.integers(1, min(3, cfg.kernel_max) + 1, 2))
            shape = LayerShape(
                int(rng.integers(1, cfg.max_h + 1)), int(rng.integers(1, cfg.max_w + 1)),
                int(rng.integers(1, cfg.max_c + 1)),
                cfg.m * int(rng.integers(1, (2 * cfg.chunk) // cfg.m + 2)), r, s,
                int(rng.integers(1, 3)), int(rng.integers(0, min(r, s))),
                pool=bool(rng.integers(2)) and cfg.band_rows % 2 == 0)
            try:
                check_fits(cfg, shape)
            except InputError:
                continue
            return shape

    async def job(rng, index):
        shape = draw(rng)
        layer = random_layer(cfg, shape, float(rng.random()), int(rng.integers(1 << 31)))
        pause, backpressure, seed = pauses_for_job(rng)
        if rng.random() < 0.5:
            backpressure = 0.0
        bench.set_pauses(pause, backpressure, seed)
        timing = backpressure == 0
        await check_layer(bench, shape, layer, relu=bool(rng.integers(2)),
                          label=f"job {index}: {shape}", timing=timing)
        return timing, pause > 0 or backpressure > 0

    await soak(dut, bench, job, salt=50, clock_ns=CLOCK_NS)
