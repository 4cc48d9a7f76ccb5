"""cocotb module behind ``sparseforge run`` on an accelerator config: one layer through the RTL.

The CLI writes ``$SPARSEFORGE_RUN_DIR/inputs.npz`` (``x`` C×H×W, ``w`` K×C×R×S, ``layer`` =
[h, w, c, k, r, s, stride, pad, nnz, ph, pw], ``out`` = [int8, shift, relu], and optionally
``blox`` = [raw Sparse-Blox threshold], ``direct`` = [1] for a layer through the direct reader
of an IM2COL design, ``raster`` = [1] for the raster mapping, ``tiling`` = [bands, groups,
order (0 bands, 1 groups), dma_bytes] for a layer larger than the SRAMs run as those time tiles
by :func:`.tiled.run_tiles`); this module loads
the SRAMs over AXI4-Stream, runs the layer, reads the output map back and writes
``outputs.npz`` (``y`` K×Ho×Wo, ``cycles`` measured on the ports, ``register_cycles`` read from the
accelerator, ``act_reads``, ``beats``, with Sparse-Blox ``cached`` and ``refused``; for time
tiles each of these but ``y`` is an array with one entry per tile, in tile order). Comparing
with the golden model is the CLI's job.
"""

import os
from pathlib import Path

import cocotb
import numpy as np

from ...gen.config import config_from_env
from ...sim.accel import plan as accel_plan
from ...sim.accel import tiling as accel_tiling
from .bench import AccelBench
from .tiled import run_tiles


@cocotb.test()
async def run_conv(dut):
    cfg = config_from_env()
    run_dir = Path(os.environ["SPARSEFORGE_RUN_DIR"])
    with np.load(run_dir / "inputs.npz") as inputs:
        x, w = inputs["x"], inputs["w"]
        h, wd, c, k, r, s, stride, pad, nnz, ph, pw = (int(v) for v in inputs["layer"])
        int8_out, shift, relu = (int(v) for v in inputs["out"])
        blox = int(inputs["blox"][0]) if "blox" in inputs else None
        direct = bool(inputs["direct"][0]) if "direct" in inputs else False
        raster = bool(inputs["raster"][0]) if "raster" in inputs else False
        tiling = [int(v) for v in inputs["tiling"]] if "tiling" in inputs else None
    if tiling is not None:
        await _run_tiled(dut, cfg, run_dir, x, w, (h, wd, c, k, r, s, stride, pad, nnz), tiling,
                         bool(int8_out), shift, bool(relu))
        return
    plan = accel_plan.LayerPlan(cfg, h, wd, c, k, r, s, stride, pad, nnz, ph, pw,
                                direct=direct and cfg.im2col, raster=raster)
    bench = AccelBench(dut, cfg)
    await bench.reset()
    await bench.load_act(x, 0, 0)
    await bench.load_weights(accel_plan.weight_words(plan, w, bench.weight_packer), 0, 0)
    run = await bench.run_layer(plan, ifm=(0, 0), ofm=(1, 0), weights=(0, 0),
                                int8_out=bool(int8_out), shift=shift, relu=bool(relu), blox=blox)
    assert not run.error, "the accelerator refused the layer descriptor"
    y = await bench.read_output(plan, 1, 0, bool(int8_out), blox=blox is not None)
    np.savez(run_dir / "outputs.npz", y=y, cycles=run.cycles, register_cycles=run.register_cycles,
             act_reads=run.act_reads, beats=run.beats, cached=run.cached, refused=run.refused)


async def _run_tiled(dut, cfg, run_dir, x, w, layer, tiling, int8_out, shift, relu):
    """The layer as the time tiles the CLI chose (the same ``tile_layer`` call, so the same
    tiles), one job after another on this one simulation."""
    bands, groups, order, dma = tiling
    tiled = accel_tiling.tile_layer(cfg, *layer, int8_out=int8_out, dma_bytes=dma,
                                    tiling=(bands, groups, accel_tiling.ORDERS[order]))
    bench = AccelBench(dut, cfg)
    await bench.reset()

    def log(i, tile, run):
        dut._log.info("tile %d of %d: output rows %d-%d, channels %d-%d: %d cycles", i + 1,
                      tiled.time_tiles, tile.oy, tile.oy + tile.rows - 1, tile.k0,
                      tile.k0 + tile.plan.k - 1, run.cycles)

    y, runs = await run_tiles(bench, tiled, x, w, int8_out=int8_out, shift=shift, relu=relu,
                              log=log)
    assert not any(run.error for run in runs), "the accelerator refused a tile's descriptor"
    np.savez(run_dir / "outputs.npz", y=y, **{
        name: np.array([getattr(run, name) for run in runs])
        for name in ("cycles", "register_cycles", "act_reads", "beats")})
