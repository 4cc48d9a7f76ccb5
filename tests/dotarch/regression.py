"""cocotb regression of the test-only dot-product unit against its golden and cycle models."""

import os

import cocotb
import numpy as np

from sparseforge.gen.config import config_from_env
from sparseforge.sim.gemm import int_range

from .bench import run_jobs
from .model import dot_jobs, job_cycles


def _operands(cfg, rng, jobs, beats, extreme=False):
    shape = (jobs, beats, cfg.lanes)
    if extreme:
        return (np.full(shape, int_range(cfg.act_width)[0]),
                np.full(shape, int_range(cfg.weight_width)[0]))
    return (rng.integers(*int_range(cfg.act_width), shape, endpoint=True),
            rng.integers(*int_range(cfg.weight_width), shape, endpoint=True))


@cocotb.test()
async def exact_without_pauses(dut):
    cfg = config_from_env()
    seed = int(os.environ.get("SPARSEFORGE_SEED", "1"))
    dut._log.info("seed %d", seed)
    acts, weights = _operands(cfg, np.random.default_rng(seed), 5, 7)
    sums, cycles = await run_jobs(dut, cfg, acts, weights)
    assert sums == list(dot_jobs(acts, weights, cfg.acc_width))
    assert cycles == job_cycles(5, 7), f"RTL {cycles} cycles, model {job_cycles(5, 7)}"


@cocotb.test()
async def extreme_values_wrap(dut):
    cfg = config_from_env()
    acts, weights = _operands(cfg, None, 2, 64, extreme=True)
    sums, _ = await run_jobs(dut, cfg, acts, weights)
    assert sums == list(dot_jobs(acts, weights, cfg.acc_width))


@cocotb.test()
async def pauses_and_back_pressure(dut):
    cfg = config_from_env()
    seed = int(os.environ.get("SPARSEFORGE_SEED", "1"))
    acts, weights = _operands(cfg, np.random.default_rng(seed + 1), 6, 3)
    sums, _ = await run_jobs(dut, cfg, acts, weights, pause=0.4, backpressure=0.5, seed=seed)
    assert sums == list(dot_jobs(acts, weights, cfg.acc_width))


@cocotb.test()
async def one_beat_jobs(dut):
    cfg = config_from_env()
    acts, weights = _operands(cfg, np.random.default_rng(3), 4, 1)
    sums, cycles = await run_jobs(dut, cfg, acts, weights)
    assert sums == list(dot_jobs(acts, weights, cfg.acc_width))
    assert cycles == job_cycles(4, 1)
