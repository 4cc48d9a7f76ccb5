"""The SCNN accelerator under Amaranth's simulator, against the golden layer and the cycle model.

The cocotb regression proves the generated Verilog for a few designs; this runs the same layer
sequence (:mod:`sparseforge.tb.scnn.pysim`) on the Amaranth model of randomly drawn configs — F,
I, A, bank entries, K_c, tiles, kernels, index widths, operand widths and PE arrays the regression
does not build — and on hand-worked cases whose cycle counts are derived here from the documented
rules, not from the model.
"""

import random

import numpy as np
import pytest
from sparseforge.gen.config import parse_config
from sparseforge.sim.scnn import cycles as scnn_cycles
from sparseforge.sim.scnn import streams as scnn_streams
from sparseforge.tb.scnn.cases import random_layer
from sparseforge.tb.scnn.pysim import simulate_layer

STATISTICS = ("cycles", "stall_cycles", "barrier_cycles", "products", "ppu_wait_cycles",
              "compute_cycles")


def check(cfg, act, weights, *, pause=0.0, seed=0):
    """Run one layer on the Amaranth model; check outputs, streamed rows and every counter."""
    streams = scnn_streams.layer_streams(cfg, act, weights)
    run = simulate_layer(cfg, streams, pause=pause, backpressure=pause, seed=seed)
    layer = streams.layer
    want = scnn_streams.golden(cfg, act, weights)
    blocks = [scnn_streams.decode_output_rows(cfg, rows, layer.k) for rows in run.rows]
    np.testing.assert_array_equal(scnn_streams.assemble_output(cfg, blocks, layer), want)
    want_rows, _ = scnn_streams.output_rows(cfg, want)
    for got, expected in zip(run.rows, want_rows):
        for a, b in zip(got, expected):
            np.testing.assert_array_equal(a, b)
    assert run.registers["status"] & 4 == 0, "error flag set"
    assert run.cycles == run.registers["cycles"]
    model = scnn_cycles.layer_cycles(cfg, streams)
    for name in STATISTICS:
        assert run.registers[name] == getattr(model, name), name
    return run, model


def random_config(rng, index):
    """A small random design: every knob of the config, 1 to 4 PEs."""
    f, i = rng.randint(1, 4), rng.randint(1, 3)
    kmax = rng.choice([1, 3, 5])
    halo = (kmax - 1) // 2
    tw, th = rng.randint(max(1, halo), 4), rng.randint(max(1, halo), 4)
    row = 1 << (tw + 2 * halo - 1).bit_length()
    banks = max(row, rng.choice([1 << (2 * f * i - 1).bit_length(), row]))
    kc = rng.randint(1, 3)
    space = kc * (tw + 2 * halo) * (th + 2 * halo)
    raw = {"arch": "scnn", "name": f"r{index}",
           "pe": {"f": f, "i": i, "banks": banks,
                  "bank_entries": -(-space // banks) + rng.randint(0, 2)},
           "pes": {"x": rng.randint(1, 2), "y": rng.randint(1, 2)}, "kc": kc,
           "tile": {"w": tw, "h": th}, "kernel_max": kmax, "index_bits": rng.randint(1, 4),
           "widths": {"act": rng.choice([4, 8, 16]), "weight": rng.choice([3, 8, 16]),
                      "acc": rng.choice([10, 16, 24])},
           "rams": {"iaram": 32 * i, "oaram": 32 * i, "weights": 128 * f, "out_channels": 8}}
    return parse_config(raw)


@pytest.mark.parametrize("seed", range(8))
def test_random_configs_bit_and_cycle_exact(seed):
    rng = random.Random(seed)
    cfg = random_config(rng, seed)
    sides = [s for s in (1, 3, 5) if s <= cfg.kernel_max]
    nprng = np.random.default_rng(seed)
    h, w = rng.randint(1, cfg.max_h), rng.randint(1, cfg.max_w)
    act, weights = random_layer(cfg, nprng, h, w, rng.randint(1, 3), rng.randint(1, 4),
                                rng.choice(sides), rng.choice(sides),
                                rng.choice([0.1, 0.3, 0.6, 1.0]), rng.choice([0.1, 0.3, 0.6, 1.0]))
    check(cfg, act, weights, pause=0.3 if seed % 2 else 0.0, seed=seed)


SMALL = {"arch": "scnn", "name": "one", "pes": {"x": 1, "y": 1},
         "pe": {"f": 2, "i": 2, "banks": 4, "bank_entries": 8}, "kc": 2,
         "tile": {"w": 2, "h": 2}, "kernel_max": 1, "index_bits": 4,
         "rams": {"iaram": 16, "oaram": 16, "weights": 16, "out_channels": 4}}


def test_single_product_by_hand():
    """One PE, one channel, one weight, one activation, 1×1 kernel.

    Group 0 starts in cycle 0 (the first counted cycle): header fetch in 1, the one slot issued
    in 2, read, decode and multiply in 3, 4, 5 before the crossbar takes it in 5 … so the PE
    computes in cycles 1 … 5 (``L + 4 + M`` with M = 1) and the barrier is cycle 6. The PPU
    starts then and is busy for one output channel of a 2×2 tile without halo exchange: 4 + 1
    cycles, 7 … 11; the layer is done in cycle 12: 13 cycles."""
    cfg = parse_config(SMALL)
    run, model = check(cfg, np.array([[[0, 3], [0, 0]]]), np.array([[[[5]]]]))
    assert run.cycles == 13
    assert run.registers["products"] == 1
    assert run.registers["compute_cycles"] == 5
    assert run.registers["barrier_cycles"] == run.registers["stall_cycles"] == 0


def test_bank_conflict_stall_by_hand():
    """Two output channels (kc = 2), two activations: with a 2×2 tile and 1×1 kernel the
    accumulator plane is 4 entries, so output channel kk of position q is address 4·kk + q and
    with A = 4 banks both channels of one position share bank q. Activations at positions 0 and
    1, weights for both channels: one slot of 4 products, two per bank → m = 2, one stall."""
    cfg = parse_config(SMALL)
    act = np.array([[[1, 2], [0, 0]]])
    weights = np.array([[[[3]]], [[[4]]]])
    run, model = check(cfg, act, weights)
    assert run.registers["stall_cycles"] == 1
    assert run.registers["products"] == 4
    # As above with M = 2 and the PPU draining two channels: 5 + 2 + 1 + 2·(4 + 1) + 1 = 19.
    assert run.cycles == 19


def test_empty_channels_take_a_cycle_each_by_hand():
    """Three input channels whose activation or weight block is empty: three skip slots, so the
    barrier is cycle 5 + 3 = 8, the PPU is busy in 9 … 13 and the layer done in 14."""
    cfg = parse_config(SMALL)
    act = np.zeros((3, 2, 2), dtype=np.int64)
    act[1, 0, 0] = 4                                   # channel 1 has an activation ...
    weights = np.zeros((1, 3, 1, 1), dtype=np.int64)
    weights[0, 2] = 7                                  # ... channel 2 a weight: no product
    run, model = check(cfg, act, weights)
    assert run.registers["products"] == 0
    assert run.registers["compute_cycles"] == 3 + 4
    assert run.cycles == 15


def test_ppu_cycles_by_hand():
    cfg = parse_config({"arch": "scnn", "pes": {"x": 1, "y": 1}, "tile": {"w": 3, "h": 5},
                        "kernel_max": 5, "pe": {"f": 2, "i": 2, "banks": 8}, "kc": 2})
    # Per channel: 15 elements + 1 flush; 3×3: x exchange 2·(5 + 2) = 14, y exchange 4.
    assert scnn_cycles.ppu_cycles(cfg, 1, 1, 1) == 16
    assert scnn_cycles.ppu_cycles(cfg, 2, 3, 3) == 2 * (16 + 14 + 4)
    # 5×5: x 2·(5 + 4) = 18, y 8; a 1×5 kernel has no y halo, a 5×1 no x exchange.
    assert scnn_cycles.ppu_cycles(cfg, 1, 5, 5) == 16 + 18 + 8
    assert scnn_cycles.ppu_cycles(cfg, 1, 1, 5) == 16 + 2 * 5
    assert scnn_cycles.ppu_cycles(cfg, 1, 5, 1) == 16 + 8


def test_slot_cycles_by_hand():
    cfg = parse_config(SMALL)                           # F = I = 2, A = 4
    # Weight parts 0 and 1, activation parts 0 and 4: addresses 0, 1, 4, 5 → banks 0, 1, 0, 1.
    m, products = scnn_cycles.slot_cycles(cfg, np.array([0, 1]), np.array([1, 1]),
                                          np.array([0, 4]), np.array([1, 1]))
    assert m.tolist() == [[2]] and products.tolist() == [[4]]
    # A zero operand (a placeholder) takes no bank; three weights make two weight rows.
    m, products = scnn_cycles.slot_cycles(cfg, np.array([0, 1, 2]), np.array([1, 0, 1]),
                                          np.array([0, 4]), np.array([1, 1]))
    assert m.tolist() == [[2, 2]] and products.tolist() == [[2, 2]]


def test_dense_layer_rarely_conflicts_on_the_table3_pe():
    """The weight order's purpose (k innermost, SCNN paper Sec. 4.2): on the Table-3 PE (F = I = 4,
    A = 32 banks, K_c = 8) a dense row of F weights is F output channels at one kernel position,
    so a slot's 16 products go to 16 different accumulator planes and rarely share a bank. (With
    s innermost, the F weights were neighbouring columns of one channel and their products with
    neighbouring activations met on the same accumulators: more stall cycles than slots.)"""
    cfg = parse_config({"arch": "scnn", "pes": {"x": 2, "y": 2}})
    assert (cfg.f, cfg.i, cfg.banks, cfg.kc) == (4, 4, 32, 8)
    h = w = 16
    c, k, r, s = 4, 16, 3, 3
    act = np.arange(1, c * h * w + 1).reshape(c, h, w) % 97 + 1
    weights = np.arange(1, k * c * r * s + 1).reshape(k, c, r, s) % 89 + 1
    model = scnn_cycles.layer_cycles(cfg, scnn_streams.layer_streams(cfg, act, weights))
    # Every tile is full and every operand non-zero: each PE's 64 activations of a channel are
    # 16 full rows, each group's 72 weights of a channel 18 full rows.
    assert model.products == k * c * r * s * h * w
    assert model.slots == model.products // (cfg.f * cfg.i)
    assert model.stall_cycles < 0.1 * model.slots
    assert model.multiplier_utilization(cfg) > 0.9
