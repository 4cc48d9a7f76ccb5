"""cocotb regression of a generated SCNN accelerator against the golden layer and the cycle model.

Run through :func:`sparseforge.tb.runner.run_module` (``sparseforge test CONFIG``), which passes the
config as JSON in ``SPARSEFORGE_CONFIG`` and the seed in ``SPARSEFORGE_SEED``. Every layer is
checked

* bit-exact: each PE's decoded output blocks equal the golden ReLU output
  (:func:`sparseforge.sim.scnn.golden.layer_output`), and the compressed rows it streamed equal the
  golden encoding of its tiles, count and padding lanes included;
* chained: consecutive layers run on chip, each taking the previous one's requantized output
  from its output RAM (the activation RAMs swap roles), checked against the golden model of the
  whole chain (:func:`sparseforge.sim.scnn.golden.requantized` between the layers);
* cycle-exact: the cycles measured from the handshakes and ``busy``, the cycle registers and
  :func:`sparseforge.sim.scnn.cycles.layer_cycles` agree — the whole run from the first input
  beat to the last output beat and its load, compute and drain parts — and so do the statistics
  registers (crossbar stalls, weight-broadcast stalls, barrier waits, products, PPU waits,
  compute cycles). With idle cycles on the activation stream and the register bus and
  back-pressure on the output, loading and draining take longer than the model's full-rate
  streams; the computing part and the statistics still match it. The weight stream is broadcast
  while the layer computes, so idle cycles on it change the computing part too: then only the
  outputs and the registers against the bench's measurements are checked.
"""


import cocotb
import numpy as np
from cocotb.triggers import RisingEdge
from cocotbext.axi import AxiStreamFrame
from cocotbext.axi.constants import AxiResp

from ...gen.config import config_from_env
from ...gen.scnn.run import ram_problem
from ...sim.gemm import int_range
from ...sim.scnn import cycles as scnn_cycles
from ...sim.scnn import streams as scnn_streams
from ..reset import reset_trials, verilator_test
from ..seeds import seed_for
from .bench import (
    CLOCK_NS,
    CYCLES,
    STATISTICS,
    STATUS_DONE,
    STATUS_ERROR,
    STATUS_LOADING,
    ScnnBench,
    assert_outputs,
)
from .cases import DENSITIES, fitting_layer, kernel_sides, random_layer


async def check_layer(bench, act, weights, *, label, paused=False, shift=None, chain=False,
                      keep=False, error=False):
    """Run one layer and check it against the golden model and the cycle model (``paused``:
    the streams pause, so only the computing part of the cycles is compared; ``"weights"``: the
    weight stream pauses too, so no cycle or statistic is compared with the model). ``shift``,
    ``chain``, ``keep``: as :meth:`.bench.ScnnBench.run_layer` (with ``chain``, ``act`` is the
    previous layer's golden output, which the accelerator should find on chip); ``keep``: no
    output to compare. ``error``: the layer must end with the error flag set, and its outputs
    are not compared."""
    cfg = bench.cfg
    streams = scnn_streams.layer_streams(cfg, act, weights, shift=shift)
    problem = ram_problem(cfg, streams)[1]
    assert problem is None, f"{label}: the test layer does not fit the design: {problem}"
    result = await bench.run_layer(streams, shift=shift, chain=chain, keep=keep)
    layer = streams.layer
    want = scnn_streams.golden(cfg, act, weights, shift=shift)
    regs = result.registers
    if error:
        assert regs["status"] & STATUS_ERROR, f"{label}: status {regs['status']:#x}"
        return result
    if not keep:
        assert_outputs(cfg, result, layer, want, label)
    model = scnn_cycles.layer_cycles(cfg, streams, chained=chain, keep=keep)
    assert regs["status"] & STATUS_ERROR == 0, f"{label}: status {regs['status']:#x}"
    assert regs["status"] & STATUS_DONE, f"{label}: status {regs['status']:#x}"
    for name in CYCLES:
        measured = result.measured[name]
        assert measured == regs[name], f"{label}: {name} {measured} measured, register " \
                                       f"{regs[name]}"
        if not paused or (name == "busy_cycles" and paused != "weights"):
            assert measured == getattr(model, name), \
                f"{label}: {name} {measured} measured, model {getattr(model, name)}"
    for name in STATISTICS:
        if paused != "weights" or name == "products":
            assert regs[name] == getattr(model, name), \
                f"{label}: {name} register {regs[name]}, model {getattr(model, name)}"
    bench.dut._log.info("%s: %dx%dx%d -> %d, %dx%d: ok, %d cycles, %d stalls, %d barrier waits",
                        label, layer.c, layer.h, layer.w, layer.k, layer.r, layer.s,
                        result.cycles, regs["stall_cycles"], regs["barrier_cycles"])
    return result


def icarus_pairs(sides):
    """The (kernel side, densities) pairs Icarus runs, which simulates these designs twenty to
    fifty times slower than Verilator (which runs every pair): each side at two of
    :data:`DENSITIES` in turn, so every density runs with some side, and the densest and the
    sparsest with the largest side."""
    pairs = [(side, DENSITIES[(2 * n + step) % len(DENSITIES)])
             for n, side in enumerate(sides) for step in (0, 1)]
    return pairs + [(sides[-1], d) for d in (DENSITIES[0], DENSITIES[-1])
                    if (sides[-1], d) not in pairs]


@cocotb.test()
async def kernels_and_densities(dut):
    """Every supported kernel side at densities from 1.0/1.0 down to 0.1/0.1, on a layer with
    partial tiles and a partial last group: bit-exact, stream-exact, cycle-exact. On Icarus the
    pairs of :func:`icarus_pairs`."""
    cfg = config_from_env()
    rng = np.random.default_rng(seed_for(dut, 1))
    bench = ScnnBench(dut, cfg)
    await bench.reset()
    h, w = max(1, cfg.max_h - 1), cfg.max_w
    sides = kernel_sides(cfg)
    chosen = (icarus_pairs(sides) if getattr(cocotb, "SIM_NAME", "") == "Icarus Verilog"
              else None)
    for side in sides:
        for dw, da in DENSITIES:
            if chosen is not None and (side, (dw, da)) not in chosen:
                continue
            act, weights = random_layer(cfg, rng, h, w, 2, cfg.kc + 1, side, side, dw, da)
            await check_layer(bench, act, weights, label=f"{side}x{side} at {dw}/{da}")


@verilator_test()
async def pauses_on_every_stream(dut):
    """Idle cycles on every source and back-pressure on every sink, the register bus included:
    still bit-exact, computing cycle-exact while the weight stream runs at full rate, and the
    registers count what the bench measures (also with idle cycles on the weight stream).
    Verilator only (18 s on Icarus), where ``chained_layers`` runs two layers under idle cycles
    and back-pressure."""
    cfg = config_from_env()
    seed = seed_for(dut, 2)
    rng = np.random.default_rng(seed)
    bench = ScnnBench(dut, cfg, pause=0.3, backpressure=0.5, seed=seed, weight_pause=0.0)
    await bench.reset()
    side = kernel_sides(cfg)[-1]
    for trial in range(3):
        h, w = int(rng.integers(1, cfg.max_h + 1)), int(rng.integers(1, cfg.max_w + 1))
        act, weights = fitting_layer(cfg, rng, h, w, 2, cfg.kc, side, side, 0.5, 0.5)
        await check_layer(bench, act, weights, label=f"paused {trial}", paused=True)
    bench.set_pauses(0.7, 0.9, seed + 1, weight_pause=0.0)
    # Two groups, so the outputs of the first stream out while the second computes.
    act, weights = fitting_layer(cfg, rng, cfg.max_h, cfg.max_w, 2, 2 * cfg.kc, 1, 1, 0.7, 0.7)
    await check_layer(bench, act, weights, label="heavy pauses", paused=True)
    bench.set_pauses(0.5, 0.5, seed + 2)
    act, weights = fitting_layer(cfg, rng, cfg.max_h, cfg.max_w, 3, 2 * cfg.kc, side, side,
                                 0.6, 0.6)
    await check_layer(bench, act, weights, label="weight stream paused", paused="weights")


@cocotb.test()
async def degenerate_layers(dut):
    """All-zero weights, activations and channels; runs of empty weight blocks (skipped by the
    sequencer); runs far longer than the index range; a single pixel; minimum × minimum products
    that wrap the accumulators."""
    cfg = config_from_env()
    rng = np.random.default_rng(seed_for(dut, 3))
    bench = ScnnBench(dut, cfg)
    await bench.reset()
    side = kernel_sides(cfg)[-1]
    h, w, c, k = cfg.max_h, cfg.max_w, 3, cfg.kc + 1
    act, weights = fitting_layer(cfg, rng, h, w, c, k, side, side, 0.8, 0.8)
    await check_layer(bench, act, np.zeros_like(weights), label="zero weights")
    await check_layer(bench, np.zeros_like(act), weights, label="zero activations")
    holes_a, holes_w = act.copy(), weights.copy()
    holes_a[1] = 0                                  # an all-zero input channel
    holes_w[:, 0] = 0                               # and one with no weights
    holes_w[0] = 0                                  # an output channel with no weights at all
    await check_layer(bench, holes_a, holes_w, label="zero channels")

    # Empty weight blocks in runs: group 0's first two channels (before any channel with
    # weights), every block of group 1 (a group in which no PE has a channel with weights), the
    # last three channels of group 2 (after a channel of several activation rows, then of one).
    for da in (0.8, 0.2):
        for _ in range(200):
            runs_a, runs_w = random_layer(cfg, rng, h, w, 4, 2 * cfg.kc + 1, 1, 1, 0.8, da)
            runs_w[:cfg.kc, :2] = 0
            runs_w[cfg.kc:2 * cfg.kc] = 0
            runs_w[2 * cfg.kc:, 1:] = 0
            if ram_problem(cfg, scnn_streams.layer_streams(cfg, runs_a, runs_w))[1] is None:
                break
        await check_layer(bench, runs_a, runs_w, label=f"empty weight blocks at {da}")

    # One non-zero at each end of every block: a zero run of the whole block between them.
    far_a = np.zeros_like(act)
    far_a[:, 0, 0] = int_range(cfg.act_width)[1]
    far_a[:, -1, -1] = int_range(cfg.act_width)[0]
    # Weight blocks are (r, s, k), k innermost: k = 0 at (0, 0) and k = kc − 1 at (R−1, S−1) are
    # the ends of group 0's blocks; the last group (one channel, padded to kc) gets only its
    # last weight, a zero run of all but its padding.
    far_w = np.zeros_like(weights)
    far_w[0, :, 0, 0] = 3
    far_w[cfg.kc - 1, :, -1, -1] = -5
    far_w[-1, :, -1, -1] = -5
    await check_layer(bench, far_a, far_w, label="long zero runs")

    lo_a, lo_w = int_range(cfg.act_width)[0], int_range(cfg.weight_width)[0]
    await check_layer(bench, np.full((2, h, w), lo_a), np.full((2, 2, side, side), lo_w),
                      label="minimum x minimum")
    await check_layer(bench, np.array([[[7]]]), np.array([[[[-9]]]]), label="one pixel")
    a1, w1 = random_layer(cfg, rng, 1, 1, 2, 3, side, side, 1.0, 1.0)
    await check_layer(bench, a1, w1, label="1x1 image, most PEs outside it")


@verilator_test()
async def weight_fifo_keeps_and_drops(dut):
    """The weight FIFO under pressure: blocks as large as it is (the densest layer whose blocks
    fit), channels some PEs have no activations in (they drop those blocks and take no row) and
    many small groups streaming ahead of the computation; two layers back to back, the second
    streaming into the FIFO the first left empty. Verilator only (39 s on Icarus): every layer
    of the other cases streams its weights through the FIFO on Icarus too."""
    cfg = config_from_env()
    rng = np.random.default_rng(seed_for(dut, 4))
    bench = ScnnBench(dut, cfg)
    await bench.reset()
    side = kernel_sides(cfg)[-1]
    h, w = cfg.max_h, cfg.max_w
    big = cfg.weight_rows * cfg.f >= cfg.kc * side * side
    act, weights = fitting_layer(cfg, rng, h, w, 3, cfg.kc + 1, side, side,
                                 1.0 if big else 0.7, 0.9)
    await check_layer(bench, act, weights, label="blocks filling the FIFO")
    holes = act.copy()
    holes[1, :, :w // 2] = 0                      # channel 1 only in the right-hand PEs
    holes[2, :h // 2] = 0                         # channel 2 only in the lower PEs
    await check_layer(bench, holes, weights, label="channels some PEs lack")
    act, weights = fitting_layer(cfg, rng, h, w, 2, 4 * cfg.kc, 1, 1, 0.3, 0.3)
    await check_layer(bench, act, weights, label="small blocks, many groups")


def requant_shift(cfg, act, weights):
    """A shift that maps the layer's median positive output into the top half of the
    activation range: about half the outputs round, the larger half saturate."""
    raw = scnn_streams.golden(cfg, act, weights)
    positive = raw[raw > 0]
    median = int(np.median(positive)) if positive.size else 0
    return max(0, median.bit_length() - (cfg.act_width - 1))


@cocotb.test()
async def chained_layers(dut):
    """Four layers on chip: L1 requantizes and keeps its outputs (none stream out); L2 takes them
    as its input (chained: nothing loads, the weights stream while it computes) and streams raw
    accumulators; L3 streams its input in again (into the RAM that was L1's output: the roles
    stay swapped) and requantizes; L4 chains from L3 (the roles swap back) and requantizes.
    Every layer bit-exact against the golden model of the chain so far and cycle-exact (load,
    compute, drain) against the cycle model; L3 with idle cycles on every source but the weight
    stream and back-pressure on every sink (its compute part and counters still exact), L4 with
    idle cycles on the weight stream too (its weight FIFOs wait on the broadcast's gaps: outputs
    exact, the registers equal to what the bench measures); a fifth layer chained with C != L4's
    K sets the error flag. On Icarus, which simulates these designs twenty to fifty times
    slower, with 1×1 kernels (the other tests cover the halos on Icarus; a 3×3 chain took 15 s
    there)."""
    cfg = config_from_env()
    seed = seed_for(dut, 7)
    rng = np.random.default_rng(seed)
    bench = ScnnBench(dut, cfg)
    await bench.reset()
    icarus = getattr(cocotb, "SIM_NAME", "") == "Icarus Verilog"
    side = 1 if icarus else kernel_sides(cfg)[-1]
    h, w, k = max(1, cfg.max_h - 1), cfg.max_w, 3

    def next_weights(act, density):
        """Weights of a layer taking ``act`` whose output fits the design."""
        for _ in range(200):
            _, weights = random_layer(cfg, rng, h, w, len(act), k, side, side, density, 1.0)
            if ram_problem(cfg, scnn_streams.layer_streams(cfg, act, weights))[1] is None:
                return weights
        raise ValueError(f"no {k}-channel layer fits {cfg.name}")

    act, weights = fitting_layer(cfg, rng, h, w, 2, k, side, side, 0.5, 0.6)
    shift = requant_shift(cfg, act, weights)
    await check_layer(bench, act, weights, shift=shift, keep=True, label=f"L1 (shift {shift})")
    act = scnn_streams.golden(cfg, act, weights, shift=shift)
    weights = next_weights(act, 0.5)
    await check_layer(bench, act, weights, chain=True, label="L2 chained, raw")
    raw = act, weights
    act, weights = fitting_layer(cfg, rng, h, w, 2, k, side, side, 0.6, 0.5)
    shift = requant_shift(cfg, act, weights)
    bench.set_pauses(0.3, 0.5, seed, weight_pause=0.0)
    await check_layer(bench, act, weights, shift=shift, paused=True,
                      label=f"L3 swapped, paused (shift {shift})")
    act = scnn_streams.golden(cfg, act, weights, shift=shift)
    weights = next_weights(act, 0.6)
    shift = requant_shift(cfg, act, weights)
    bench.set_pauses(0.3, 0.5, seed + 1)
    await check_layer(bench, act, weights, chain=True, shift=shift, paused="weights",
                      label=f"L4 chained back, every stream paused (shift {shift})")
    # L4 requantized and finished: a layer of other C cannot take its output.
    act, weights = raw
    await check_layer(bench, act[:2], weights[:, :2], chain=True, keep=True, error=True,
                      label="chained to a layer of K != C")


@cocotb.test()
async def register_bus_and_errors(dut):
    """Register map answers, and the error flag for overflowing loads, a bad tdest and
    outputs overflowing the OARAM."""
    cfg = config_from_env()
    bench = ScnnBench(dut, cfg)
    await bench.reset()
    regs = bench.regs
    resp = await bench.axil.write(regs["cycles"], (1).to_bytes(4, "little"))
    assert resp.resp == AxiResp.SLVERR, "a write to a read-only register must answer SLVERR"
    resp = await bench.axil.read(0xFC, 4)
    assert resp.resp == AxiResp.SLVERR, "a read of an unmapped address must answer SLVERR"
    await bench.write("layer_c", 5)
    assert await bench.read("layer_c") == 5
    assert await bench.read("status") == 0

    async def open_load():
        """Start a layer of C = iaram_rows, K = out_channels: its loading stays open (status
        bit 4) until it is abandoned with ``clear``."""
        await bench.write("clear", 1)
        await bench.write("layer_c", cfg.iaram_rows)
        await bench.write("layer_k", cfg.out_channels)
        await bench.write("start", 1)
        for _ in range(cfg.bank_entries + 10):    # a start waits for the accumulators' clear
            status = await bench.read("status")
            if status:
                break
        assert status == STATUS_LOADING, f"status {status:#x} after start"

    # The weight stream is not taken while a layer loads.
    await open_load()
    for _ in range(8):
        await RisingEdge(dut.clk)
        assert dut.s_axis_w__tready.value == 0, "s_axis_w ready while loading"
    await bench.write("clear", 1)
    assert await bench.read("status") == 0

    if (1 << len(dut.s_axis_act__tdest)) > cfg.pes:      # a tdest naming no PE
        await open_load()
        bench.acts.send_nowait(AxiStreamFrame([0], tdest=cfg.pes))
        await bench.acts.wait()
        assert await bench.read("status") & STATUS_ERROR
        await bench.write("clear", 1)

    # A layer whose outputs need more OARAM rows than it has (every output positive, every block
    # dense): it still runs to the end, with the error flag set.
    k = cfg.oaram_rows // -(-cfg.tile_elems // cfg.i) + 1
    if k <= cfg.out_channels:
        streams = scnn_streams.layer_streams(cfg, np.ones((1, cfg.max_h, cfg.max_w), int),
                                             np.ones((k, 1, 1, 1), int))
        assert "OARAM" in ram_problem(cfg, streams)[1]
        result = await bench.run_layer(streams)
        assert result.registers["status"] & STATUS_ERROR, "an OARAM overflow sets the error flag"


@verilator_test()
async def reset_mid_layer(dut):
    """A reset at seeded random cycles inside a layer (loading, computing, draining or reading
    the registers): the registers read their reset values, no output is left, and the next layer
    is bit-exact and cycle-exact (:func:`sparseforge.tb.reset.reset_trials`)."""
    cfg = config_from_env()
    rng = np.random.default_rng(seed_for(dut, 6))
    bench = ScnnBench(dut, cfg)
    await bench.reset()
    side = kernel_sides(cfg)[-1]

    def make_job():
        act, weights = fitting_layer(cfg, rng, cfg.max_h, cfg.max_w, 2, cfg.kc + 1, side, side,
                                     0.6, 0.6)
        return lambda label: check_layer(bench, act, weights, label=label)

    await reset_trials(bench, cfg, rng, make_job, clock_ns=CLOCK_NS)
