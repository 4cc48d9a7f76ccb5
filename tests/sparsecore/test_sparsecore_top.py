# amaranth: UnusedElaboratable=no
"""The whole SparseCore accelerator under Amaranth's simulator: layers through the AXI ports,
compressed output equal to the golden encoding, measured busy cycles equal to the cycle model."""

import numpy as np
import pytest

from sparseforge.gen.sparsecore.config import parse_sparsecore
from sparseforge.sim.sparsecore import cycles, golden, streams
from sparseforge.sim.sparsecore import format as kmf
from sparseforge.tb.sparsecore.pysim import simulate_layer

SEED = 31


def small_cfg(**extra):
    raw = {"arch": "sparsecore", "pes": 3, "alus_per_pe": 4, "k": 2, "m": 4, "band_rows": 2,
           "limits": {"h": 9, "w": 9, "c": 12, "k": 16, "kernel": 3}}
    raw.update(extra)
    return parse_sparsecore(raw, "t")


def _layer(cfg, shape, density, seed):
    print(f"seed {seed}")
    r = np.random.default_rng(seed)
    act = r.integers(-128, 128, (shape.c, shape.h, shape.w))
    act *= r.random(act.shape) < density
    w = kmf.prune(r.integers(-128, 128, (shape.k, shape.c, shape.r, shape.s)), cfg.k, cfg.m)
    bias = r.integers(-3000, 3000, shape.k)
    mult = r.integers(1, 1 << 12, shape.k)
    shift = r.integers(19, 25, shape.k)             # outputs mostly inside INT8, some clamped
    return act, w, bias, mult, shift


# The cocotb regression runs more layers (every shape, density, extreme and degenerate cases) on
# the generated Verilog; these two keep a quick check of the whole top in the Amaranth simulator.
@pytest.mark.parametrize("shape, density, relu", [
    (cycles.LayerShape(7, 6, 10, 16, 3, 3, 1, 1), 0.5, True),        # 2 chunks on 3 PEs
])
def test_layer_bit_and_cycle_exact(shape, density, relu):
    cfg = small_cfg()
    act, w, bias, mult, shift = _layer(cfg, shape, density, SEED + shape.h)
    run = simulate_layer(cfg, shape, act, w, bias, mult, shift, relu=relu)
    want = golden.layer_output(act, w, bias, mult, shift, stride=shape.stride, pad=shape.pad,
                               relu=relu, pool=shape.pool)
    got = streams.collect_output(cfg, run.beats, shape.k, want.shape[1], want.shape[2])
    assert got == kmf.compress_acts(want, cfg.chunk)
    assert np.array_equal(kmf.decompress_acts(got), want)
    model = cycles.layer_cycles(cfg, shape, act, w, dense=False)
    assert run.cycles == model.cycles
    assert run.registers["cycles"] == model.cycles
    assert run.registers["status"] == 0b010
    assert run.registers["work_units"] == model.work_units
    assert run.registers["pe_idle_cycles"] == model.pe_idle_cycles
    assert run.registers["alu_jobs"] * cfg.alus_per_pe == model.alu_cycles


# (layer seed, simulation seed, input pauses). On the second, the output merge as it was before
# its handshake proof (tests/sparsecore/test_formal_outmerge.py) changed tdata under a waiting
# tvalid: the simulation's monitor checks that rule on every beat.
@pytest.mark.parametrize("layer_seed, seed, pause", [(SEED, 5, 0.3), (0, 0, 0.0)])
def test_layer_under_idle_cycles_and_back_pressure(layer_seed, seed, pause):
    cfg = small_cfg()
    shape = cycles.LayerShape(6, 5, 7, 8, 3, 3, 1, 1)
    act, w, bias, mult, shift = _layer(cfg, shape, 0.6, layer_seed)
    run = simulate_layer(cfg, shape, act, w, bias, mult, shift, relu=True, seed=seed,
                         pause=pause, backpressure=0.5)
    want = golden.layer_output(act, w, bias, mult, shift, pad=1, relu=True)
    got = streams.collect_output(cfg, run.beats, shape.k, want.shape[1], want.shape[2])
    assert got == kmf.compress_acts(want, cfg.chunk)
