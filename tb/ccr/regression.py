"""cocotb regression of a generated CCR accelerator (dense or SparseK) against the golden layer
and the cycle model.

The config arrives as JSON in ``SPARSEFORGE_CONFIG``, the seed in ``SPARSEFORGE_SEED``. Every
layer is checked bit-exact (:func:`sparseforge.sim.ccr.layer.golden`) and cycle-exact: the busy
cycles the bench measures, the ``cycles`` register and
:func:`sparseforge.sim.ccr.cycles.layer_cycles` agree pass by pass, and so do the MAC and step
counters. Cases: 'full', 'same' and 'valid' windows; 1×1, 3×3 and 5×5 kernels; stride 1 and 2;
densities 0.05 to 1.0; all-zero kernels and maps; −128 × −128 products; the Fig. 3 example;
idle cycles and back-pressure on every stream.
"""

import json
import os

import cocotb
import numpy as np

from ...gen.ccr.config import parse_ccr
from ...sim.ccr import cycles, examples, layer
from .bench import CcrBench


def _config():
    raw = json.loads(os.environ["SPARSEFORGE_CONFIG"])
    return parse_ccr(raw, raw["name"])


def _rng(dut, salt):
    seed = int(os.environ.get("SPARSEFORGE_SEED", "1")) * 1000 + salt
    dut._log.info("seed %d", seed)
    return np.random.default_rng(seed)


async def check_layer(bench, x, w, win, label):
    cfg = bench.cfg
    result = await bench.run_layer(x, w, win)
    want = layer.golden(x, w, win, cfg.acc_width)
    bad = np.argwhere(result.out != want)
    assert bad.size == 0, (f"{label}: {len(bad)} mismatches, first at {tuple(bad[0])}: "
                           f"got {result.out[tuple(bad[0])]}, want {want[tuple(bad[0])]}")
    model = cycles.layer_cycles(cfg.variant, cfg.px, cfg.py, x, w, win)
    want_cycles = [p.cycles for p in model.passes]
    got_regs = [r["cycles"] for r in result.registers]
    assert result.cycles == got_regs == want_cycles, \
        f"{label}: cycles measured {result.cycles}, register {got_regs}, model {want_cycles}"
    assert [r["macs"] for r in result.registers] == [p.macs_performed for p in model.passes]
    steps = [p.ccu_coordinates if cfg.variant == "sparse_k" else p.issue for p in model.passes]
    assert [r["steps"] for r in result.registers] == steps, label
    assert all(r["status"] & 0b110 == 0b010 for r in result.registers), label
    return result


# (mode, stride, r, weight density, act density, (c, h, w, k))
CASES = [
    ("same", 1, 3, 0.5, 1.0, (2, 5, 4, 2)),
    ("full", 1, 1, 1.0, 0.6, (2, 3, 5, 2)),
    ("valid", 1, 5, 0.05, 1.0, (2, 6, 7, 3)),
    ("same", 2, 3, 0.4, 1.0, (2, 7, 6, 2)),
    ("valid", 2, 5, 1.0, 1.0, (1, 7, 8, 1)),
    ("full", 2, 3, 0.3, 0.5, (1, 5, 4, 2)),
    ("same", 1, 3, 0.0, 1.0, (2, 4, 4, 2)),
    ("same", 1, 3, 0.7, 0.0, (2, 4, 3, 1)),
]


@cocotb.test()
async def layers(dut):
    """The table of cases, with idle cycles and back-pressure on every stream."""
    cfg = _config()
    bench = CcrBench(dut, cfg, pause=0.2, backpressure=0.3, seed=1)
    await bench.reset()
    for n, (mode, stride, r, wd, ad, (c, h, w, k)) in enumerate(CASES):
        rng = _rng(dut, n)
        x = rng.integers(-128, 128, (c, h, w)) * (rng.random((c, h, w)) < ad)
        wt = rng.integers(-128, 128, (k, c, r, r)) * (rng.random((k, c, r, r)) < wd)
        win = layer.window(h, w, r, r, mode=mode, stride=stride)
        await check_layer(bench, x, wt, win, f"case {n} ({mode}, stride {stride}, {r}x{r})")


@cocotb.test()
async def extremes_and_fig3(dut):
    """−128 × −128 everywhere (sums wrap in a narrow accumulator); the Fig. 3 example with its
    MAC count on the hardware's counter."""
    cfg = _config()
    bench = CcrBench(dut, cfg)
    await bench.reset()
    x = np.full((3, 4, 3), -128)
    wt = np.full((2, 3, 3, 3), -128)
    await check_layer(bench, x, wt, layer.window(4, 3, 3, 3, mode="same"), "extremes")
    ex = examples.fig3()
    result = await check_layer(bench, ex.imap[None], ex.kernel[None, None],
                               layer.window(4, 4, 3, 3, mode="full"), "fig3")
    want = ex.macs_effective if cfg.variant == "sparse_k" else ex.macs_dense
    assert result.registers[0]["macs"] == want
