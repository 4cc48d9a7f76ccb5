"""cocotb regression of a generated CCR accelerator against the golden layer and the cycle model.

Run through :func:`sparseforge.tb.runner.run_module` (``sparseforge test CONFIG``), which passes the
config as JSON in ``SPARSEFORGE_CONFIG`` and the seed in ``SPARSEFORGE_SEED``. Every layer is
checked bit-exact (:func:`sparseforge.sim.ccr.layer.golden`) and cycle-exact: the busy cycles the
bench measures on ``busy``, the ``cycles`` register and
:func:`sparseforge.sim.ccr.cycles.layer_cycles` agree pass by pass, and so do the statistics
registers. Cases: 'full', 'same' and 'valid' windows; 1×1, 3×3 and 5×5 kernels; stride 1 and 2;
densities 0.05 to 1.0; all-zero kernels and maps; minimum × minimum products that wrap the
accumulators; the paper's worked example on the design's variant; idle cycles and back-pressure
on every stream and on the register bus.
"""

import cocotb
import numpy as np
from cocotbext.axi import AxiStreamFrame
from cocotbext.axi.constants import AxiResp

from ...gen.config import config_from_env
from ...sim.ccr import cycles, examples, layer
from ...sim.gemm import int_range
from ..reset import reset_trials, verilator_test
from ..seeds import seed_for
from .bench import CLOCK_NS, STATISTICS, STATUS_DONE, STATUS_ERROR, CcrBench
from .cases import CASES, random_layer


async def check_layer(bench, x, w, win, label):
    """Run one layer; check outputs, cycles and every statistics register against the models."""
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
    for name, attr in STATISTICS.items():
        got = [r[name] for r in result.registers]
        want_counts = [getattr(p, attr) for p in model.passes]
        assert got == want_counts, f"{label}: {name} registers {got}, model {want_counts}"
    for r in result.registers:
        assert r["status"] & (STATUS_DONE | STATUS_ERROR) == STATUS_DONE, \
            f"{label}: status {r['status']:#x}"
    bench.dut._log.info("%s: %s, %d cycles in %d pass(es)", label, x.shape, sum(result.cycles),
                        len(result.cycles))
    return result


async def _cases(dut, salt, cases, **pauses):
    cfg = config_from_env()
    seed = seed_for(dut, salt)
    rng = np.random.default_rng(seed)
    bench = CcrBench(dut, cfg, seed=seed, **pauses)
    await bench.reset()
    for mode, stride, r, wd, ad, (c, h, w, k) in cases:
        x, wt = random_layer(cfg, rng, c, h, w, k, r, r, wd, ad)
        win = layer.window(h, w, r, r, mode=mode, stride=stride)
        await check_layer(bench, x, wt, win, f"{mode} {r}x{r}/{stride} at {wd}/{ad}")


@cocotb.test()
async def windows_and_kernels(dut):
    """Stride 1: 'full', 'same' and 'valid' windows, 1×1 to 5×5 kernels, densities 1.0 to 0.05."""
    await _cases(dut, 1, [case for case in CASES if case[1] == 1])


@cocotb.test()
async def stride_two_passes(dut):
    """Stride 2: four polyphase passes per layer, the later ones accumulating in OB."""
    await _cases(dut, 2, [case for case in CASES if case[1] == 2])


@cocotb.test()
async def pauses_on_every_stream(dut):
    """Idle cycles on every source, back-pressure on every sink and on the register bus: still
    bit-exact, and cycle-exact (loading happens before ``start``)."""
    await _cases(dut, 3, CASES[::3], pause=0.3, backpressure=0.4)


@cocotb.test()
async def degenerate_layers(dut):
    """All-zero kernels and maps, an all-zero channel and kernel, a one-pixel map, and minimum ×
    minimum products everywhere (their sums wrap a narrow accumulator)."""
    cfg = config_from_env()
    rng = np.random.default_rng(seed_for(dut, 4))
    bench = CcrBench(dut, cfg)
    await bench.reset()
    win = layer.window(4, 5, 3, 3, mode="same")
    x, wt = random_layer(cfg, rng, 2, 4, 5, 2, 3, 3, 0.6, 0.7)
    await check_layer(bench, x, np.zeros_like(wt), win, "zero kernels")
    await check_layer(bench, np.zeros_like(x), wt, win, "zero map")
    holes_x, holes_w = x.copy(), wt.copy()
    holes_x[1] = 0
    holes_w[0, 0] = 0
    await check_layer(bench, holes_x, holes_w, win, "a zero channel and a zero kernel")
    await check_layer(bench, np.array([[[7]]]), np.array([[[[-9]]]]),
                      layer.window(1, 1, 1, 1, mode="same"), "one pixel")
    lo_x, lo_w = int_range(cfg.act_width)[0], int_range(cfg.weight_width)[0]
    await check_layer(bench, np.full((3, 4, 3), lo_x), np.full((2, 3, 3, 3), lo_w),
                      layer.window(4, 3, 3, 3, mode="same"), "minimum x minimum")


#: The worked example of each design's rule: Fig. 3 (CCR-1), Fig. 4 (CCR-2), Fig. 5 (CCR-3).
EXAMPLE = {"dense": "fig3", "sparse_k": "fig3", "sparse_i": "fig4", "sparse_ki": "fig5"}


@cocotb.test()
async def paper_example(dut):
    """The worked example of the design's rule with the MAC count the paper gives on the
    hardware's counter: Fig. 3 on the dense design (144) and SparseK (80), Fig. 4 on SparseI
    (90), Fig. 5 on SparseKI (40)."""
    cfg = config_from_env()
    bench = CcrBench(dut, cfg)
    await bench.reset()
    ex = examples.EXAMPLES[EXAMPLE[cfg.variant]]()
    (h, w), (r, s) = ex.imap.shape, ex.kernel.shape
    result = await check_layer(bench, ex.imap[None], ex.kernel[None, None],
                               layer.window(h, w, r, s, mode="full"), ex.name)
    want = ex.macs_dense if cfg.variant == "dense" else ex.macs_effective
    assert result.registers[0]["macs"] == want, \
        f"{ex.name}: {result.registers[0]['macs']} MACs on the counter, the paper says {want}"


@cocotb.test()
async def register_bus_and_errors(dut):
    """Register map answers, and the error flag for an overflowing load and a stray count."""
    cfg = config_from_env()
    bench = CcrBench(dut, cfg)
    await bench.reset()
    resp = await bench.axil.write(bench.regs["cycles"], (1).to_bytes(4, "little"))
    assert resp.resp == AxiResp.SLVERR, "a write to a read-only register must answer SLVERR"
    resp = await bench.axil.read(0xFC, 4)
    assert resp.resp == AxiResp.SLVERR, "a read of an unmapped address must answer SLVERR"
    await bench.write("layer_c", 3)
    assert await bench.read("layer_c") == 3
    assert await bench.read("status") == 0
    await bench.write("clear", 1)
    bench.ib.send_nowait(AxiStreamFrame([0] * (cfg.ib_words + 1)))
    await bench.ib.wait()
    assert await bench.read("status") & STATUS_ERROR, "an IB overflow must set the error flag"
    await bench.write("clear", 1)
    assert await bench.read("status") == 0
    if not cfg.sparse_inputs:           # counts for a buffer without a count table
        bench.ib.send_nowait(AxiStreamFrame([1], tdest=1))
        await bench.ib.wait()
        assert await bench.read("status") & STATUS_ERROR, "a count the IB has no table for"
        await bench.write("clear", 1)


@verilator_test()
async def reset_mid_layer(dut):
    """A reset at seeded random cycles inside a layer (loading a pass, computing it or reading
    the outputs back): the registers read their reset values, no output is left, and the next
    layer is bit-exact and cycle-exact (:func:`sparseforge.tb.reset.reset_trials`)."""
    cfg = config_from_env()
    rng = np.random.default_rng(seed_for(dut, 7))
    bench = CcrBench(dut, cfg)
    await bench.reset()

    def make_job():
        stride = int(rng.choice([1, 2]))
        wd, ad = (float(d) for d in rng.choice([0.2, 0.5, 1.0], 2))
        x, wt = random_layer(cfg, rng, 2, 5, 6, 2, 3, 3, wd, ad)
        win = layer.window(5, 6, 3, 3, mode="same", stride=stride)
        return lambda label: check_layer(bench, x, wt, win, f"{label}: stride {stride}, "
                                                             f"{wd}/{ad}")

    await reset_trials(bench, cfg, rng, make_job, clock_ns=CLOCK_NS)
