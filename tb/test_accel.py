"""cocotb regression of a generated VDBB accelerator against the golden convolution and models.

Run through :func:`sparseforge.tb.runner.run_module` (``sparseforge test CONFIG``), which passes the
config in ``SPARSEFORGE_CONFIG`` and the seed in ``SPARSEFORGE_SEED``. Every layer is checked
bit-exact against :func:`sparseforge.sim.conv.conv2d` (INT32) or its requantization, its cycles
against :func:`sparseforge.sim.accel_cycles.layer_cycles` and its activation SRAM reads against
:func:`sparseforge.sim.accel_plan.act_sram_reads` (runs without pauses).
"""

import json
import os

import cocotb
import numpy as np

from ..gen.config import parse_config
from ..sim import accel_cycles, accel_plan, conv
from .accel_bench import AccelBench


def _config():
    return parse_config(json.loads(os.environ["SPARSEFORGE_CONFIG"]))


def _seed(dut, salt):
    seed = int(os.environ.get("SPARSEFORGE_SEED", "1"))
    dut._log.info("seed %d (salt %d)", seed, salt)
    return seed * 1000 + salt


def random_layer(cfg, rng, plan, act_density=0.6):
    x = rng.integers(-128, 128, (plan.c, plan.h, plan.w))
    x[rng.random(x.shape) >= act_density] = 0
    w = rng.integers(-128, 128, (plan.k, plan.c, plan.r, plan.s))
    if plan.nnz < cfg.block:
        w = accel_plan.prune_conv_weights(w, plan.nnz, cfg.block)
    return x, w


async def check_layer(bench, plan, x, w, *, exact=True, label="", int8_out=False, shift=0,
                      relu=False):
    """Load, run, read back and compare one layer; return the bench's counters."""
    cfg = bench.cfg
    await bench.load_act(x, 0, 0)
    await bench.load_weights(accel_plan.weight_words(plan, w, bench.weight_packer), 0, 0)
    run = await bench.run_layer(plan, ifm=(0, 0), ofm=(1, 0), weights=(0, 0),
                                int8_out=int8_out, shift=shift, relu=relu)
    assert not run.error, f"{label}: the accelerator refused the descriptor"
    got = await bench.read_output(plan, 1, 0, int8_out)
    want = conv.conv2d(x, w, plan.stride, plan.pad, cfg.array.acc_width)
    if int8_out:
        want = conv.requantize(want, shift, relu)
    bad = np.argwhere(got != want)
    assert bad.size == 0, (f"{label}: {len(bad)} mismatches, first at {tuple(bad[0])}: "
                           f"got {got[tuple(bad[0])]}, want {want[tuple(bad[0])]}")
    if exact:
        model = accel_cycles.layer_cycles(plan)
        assert run.cycles == model, f"{label}: RTL {run.cycles} cycles, model {model}"
        reads = accel_plan.act_sram_reads(plan)
        assert run.act_reads == reads, f"{label}: RTL read {run.act_reads} words, model {reads}"
    bench.dut._log.info("%s: ok, %d cycles, %d act reads, %d beats", label, run.cycles,
                        run.act_reads, run.beats)
    return run


LAYERS = [
    # h, w, c, k, r, s, stride, pad
    (6, 7, 8, 8, 1, 1, 1, 0),
    (7, 9, 11, 13, 3, 3, 1, 1),
    (8, 8, 5, 8, 3, 3, 2, 1),
    (9, 7, 10, 6, 5, 5, 1, 2),
    (11, 10, 3, 9, 7, 7, 2, 3),
    (5, 6, 9, 16, 3, 3, 1, 0),
    (9, 9, 16, 7, 1, 1, 2, 0),
]


@cocotb.test()
async def layers_cycle_exact(dut):
    """1×1, 3×3, 5×5, 7×7 kernels, strides 1 and 2, with and without padding, odd sizes, C not a
    multiple of B, every density edge: bit-exact INT32 outputs, cycles and reads equal to the
    models."""
    cfg = _config()
    rng = np.random.default_rng(_seed(dut, 1))
    bench = AccelBench(dut, cfg)
    await bench.reset()
    nnzs = sorted({1, cfg.array.max_nnz // 2 or 1, cfg.array.max_nnz})
    for index, (h, w, c, k, r, s, stride, pad) in enumerate(LAYERS):
        nnz = nnzs[index % len(nnzs)]
        plan = accel_plan.plan_layer(cfg, h, w, c, k, r, s, stride, pad, nnz)
        x, wt = random_layer(cfg, rng, plan)
        await check_layer(bench, plan, x, wt,
                          label=f"{h}x{w}x{c} -> {k}, {r}x{s}/{stride} pad {pad} nnz {nnz}")
