"""cocotb module behind ``sparseforge run --gemm``: one GEMM job through the generated RTL.

The CLI writes the operands to ``$SPARSEFORGE_RUN_DIR/inputs.npz`` (``act``, ``weights``,
``nnz``); this module streams them through the engine without pauses and writes
``outputs.npz`` (``rows``, ``cycles``, ``gated_mac_cycles``) next to it. Checking against the golden
model is the CLI's job, so the same figures reach the user whether or not they match.
"""

import os
from pathlib import Path

import cocotb
import numpy as np

from ...gen.config import config_from_env
from ...sim.sta import streams as sta_streams
from .bench import StaEngineBench


@cocotb.test()
async def run_gemm(dut):
    cfg = config_from_env()
    run_dir = Path(os.environ["SPARSEFORGE_RUN_DIR"])
    with np.load(run_dir / "inputs.npz") as inputs:
        act, weights, nnz = inputs["act"], inputs["weights"], int(inputs["nnz"])
    streams = sta_streams.engine_streams(cfg, act, weights, nnz)
    bench = StaEngineBench(dut, cfg)
    await bench.reset()
    result = await bench.run_job(streams)
    np.savez(run_dir / "outputs.npz", rows=result.rows, cycles=result.cycles,
             gated_mac_cycles=result.gated_mac_cycles)
