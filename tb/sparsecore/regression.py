"""cocotb regression of a generated SparseCore accelerator against the golden layer and the cycle
model (run through :func:`sparseforge.tb.runner.run_module`, the config as JSON in
``SPARSEFORGE_CONFIG``, the seed in ``SPARSEFORGE_SEED``).

Every layer is checked bit-exact (the compressed output rebuilt from the beats equals the golden
encoding, and so its decoded plane equals the golden convolution, requantization, ReLU and
pooling) and cycle-exact (busy cycles measured by the bench = the ``cycles`` register = the
cycle model; the statistics registers equal the model's) — the latter with the output stream never
back-pressured, the model's assumption; with idle cycles and back-pressure only the data is
checked.
"""

import json
import os

import cocotb
import numpy as np

from ...gen.config import parse_config
from ...sim.sparsecore import cycles, golden, streams
from ...sim.sparsecore import format as kmf
from ..reset import reset_trials, verilator_test
from .bench import CLOCK_NS, STATUS_DONE, STATUS_ERROR, SparseCoreBench
from .cases import random_layer


def _config():
    return parse_config(json.loads(os.environ["SPARSEFORGE_CONFIG"]))


def _seed(dut, salt):
    seed = int(os.environ.get("SPARSEFORGE_SEED", "1"))
    dut._log.info("seed %d (salt %d)", seed, salt)
    return seed * 1000 + salt


async def check_layer(bench, shape, layer, *, relu, label, timing=True):
    cfg = bench.cfg
    act, w, bias, mult, shift = layer
    res = await bench.run_layer(shape, act, w, bias, mult, shift, relu=relu)
    want = golden.layer_output(act, w, bias, mult, shift, stride=shape.stride, pad=shape.pad,
                               relu=relu, pool=shape.pool, acc_bits=cfg.acc_width)
    got = streams.collect_output(cfg, res.beats, shape.k, want.shape[1], want.shape[2])
    plane = kmf.decompress_acts(got)
    bad = np.argwhere(plane != want)
    assert bad.size == 0, f"{label}: {len(bad)} mismatches, first at {tuple(bad[0])}"
    assert got == kmf.compress_acts(want, cfg.chunk), f"{label}: compressed lists differ"
    regs = res.registers
    assert regs["status"] & STATUS_DONE and not regs["status"] & STATUS_ERROR, \
        f"{label}: status {regs['status']:#x}"
    if timing:
        model = cycles.layer_cycles(cfg, shape, act, w, dense=False)
        assert res.cycles == regs["cycles"] == model.cycles, \
            f"{label}: cycles measured {res.cycles}, register {regs['cycles']}, model " \
            f"{model.cycles}"
        assert regs["work_units"] == model.work_units, label
        assert regs["pe_idle_cycles"] == model.pe_idle_cycles, label
        assert regs["alu_jobs"] * cfg.alus_per_pe == model.alu_cycles, label
    return res


def _shapes(cfg):
    h, w, c = cfg.max_h, cfg.max_w, cfg.max_c
    return {
        "3x3 pad 1": cycles.LayerShape(h - 2, w - 3, c - 2, 2 * cfg.chunk, 3, 3, 1, 1),
        "pooled": cycles.LayerShape(h - 1, w, c // 2 + 1, cfg.chunk, 3, 3, 1, 1,
                                    pool=cfg.band_rows % 2 == 0),
        "stride 2, 3x1, short chunk": cycles.LayerShape(h, w - 2, c, cfg.chunk + cfg.m, 3, 1, 2,
                                                        0),
        "1x1": cycles.LayerShape(3, w, c, cfg.chunk, 1, 1, 1, 0),
    }


@cocotb.test()
async def densities(dut):
    """3×3 'same' layers at activation densities 0.1, 0.5 and 1.0 (or those listed in
    ``$SPARSEFORGE_DENSITIES``), two chunks."""
    cfg = _config()
    bench = SparseCoreBench(dut, cfg)
    await bench.reset()
    shape = _shapes(cfg)["3x3 pad 1"]
    listed = os.environ.get("SPARSEFORGE_DENSITIES", "0.1,0.5,1.0")
    for n, d in enumerate(float(v) for v in listed.split(",")):
        layer = random_layer(cfg, shape, d, _seed(dut, n))
        await check_layer(bench, shape, layer, relu=True, label=f"density {d}")


@cocotb.test()
async def shapes(dut):
    """Pooling, stride 2 with a 3×1 kernel and a short last chunk, and a 1×1 layer."""
    cfg = _config()
    bench = SparseCoreBench(dut, cfg)
    await bench.reset()
    for n, (label, shape) in enumerate(list(_shapes(cfg).items())[1:]):
        layer = random_layer(cfg, shape, 0.6, _seed(dut, 10 + n))
        await check_layer(bench, shape, layer, relu=shape.pool, label=label)


@cocotb.test()
async def degenerate_and_extreme(dut):
    """All-zero activations; every product −128 × −128."""
    cfg = _config()
    bench = SparseCoreBench(dut, cfg)
    await bench.reset()
    shape = _shapes(cfg)["3x3 pad 1"]
    await check_layer(bench, shape, random_layer(cfg, shape, 0.0, _seed(dut, 20)), relu=False,
                      label="all zero")
    await check_layer(bench, shape, random_layer(cfg, shape, 1.0, _seed(dut, 21), extreme=True),
                      relu=False, label="-128 x -128")


@cocotb.test()
async def idle_cycles_and_back_pressure(dut):
    """Idle cycles on every source and back-pressure on every sink; data checked."""
    cfg = _config()
    bench = SparseCoreBench(dut, cfg, pause=0.3, backpressure=0.4, seed=_seed(dut, 30))
    await bench.reset()
    shape = _shapes(cfg)["3x3 pad 1"]
    await check_layer(bench, shape, random_layer(cfg, shape, 0.5, _seed(dut, 31)), relu=True,
                      label="pauses", timing=False)


@cocotb.test()
async def bad_layer_sets_error(dut):
    """A layer whose K is not a multiple of m raises the error flag and does not run."""
    cfg = _config()
    bench = SparseCoreBench(dut, cfg)
    await bench.reset()
    await bench.write("layer_k", cfg.m + 1)
    await bench.write("start", 1)
    for _ in range(4):
        await cocotb.triggers.RisingEdge(dut.clk)
    status = await bench.read("status")
    assert status & STATUS_ERROR and not status & STATUS_DONE, f"status {status:#x}"
    assert int(dut.busy.value) == 0


@verilator_test()
async def reset_mid_layer(dut):
    """A reset at seeded random cycles inside a layer (loading it, computing it or reading the
    registers): the registers read their reset values, no output is left, and the next layer is
    bit-exact and cycle-exact (:func:`sparseforge.tb.reset.reset_trials`)."""
    cfg = _config()
    seed = _seed(dut, 40)
    rng = np.random.default_rng(seed)
    bench = SparseCoreBench(dut, cfg)
    await bench.reset()
    shape = _shapes(cfg)["3x3 pad 1"]

    def make_job():
        density = float(rng.choice([0.2, 0.6, 1.0]))
        layer = random_layer(cfg, shape, density, int(rng.integers(1 << 31)))
        return lambda label: check_layer(bench, shape, layer, relu=True,
                                         label=f"{label}: density {density}")

    await reset_trials(bench, cfg, rng, make_job, clock_ns=CLOCK_NS)
