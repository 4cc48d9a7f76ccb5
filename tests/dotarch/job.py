"""cocotb job module behind ``sparseforge run`` on the test-only dot-product unit."""

import os
from pathlib import Path

import cocotb
import numpy as np

from sparseforge.gen.config import config_from_env

from .bench import run_jobs


@cocotb.test()
async def run(dut):
    cfg = config_from_env()
    run_dir = Path(os.environ["SPARSEFORGE_RUN_DIR"])
    with np.load(run_dir / "inputs.npz") as inputs:
        acts, weights = inputs["acts"], inputs["weights"]
    sums, cycles = await run_jobs(dut, cfg, acts, weights)
    np.savez(run_dir / "outputs.npz", sums=np.array(sums), cycles=cycles)
