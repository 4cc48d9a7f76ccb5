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
from sparseforge.gen.scnn.run import ram_problem
from sparseforge.tb.scnn.cases import random_layer
from sparseforge.tb.scnn.pysim import LayerJob, simulate_layer, simulate_layers

CYCLES = ("cycles", "load_cycles", "busy_cycles", "drain_cycles")
STATISTICS = ("stall_cycles", "barrier_cycles", "products", "ppu_wait_cycles", "compute_cycles",
              "weight_stall_cycles")


def check(cfg, act, weights, *, pause=0.0, seed=0):
    """Run one layer on the Amaranth model; check outputs, streamed rows and every counter."""
    streams = scnn_streams.layer_streams(cfg, act, weights)
    run = simulate_layer(cfg, streams, pause=pause, backpressure=pause, seed=seed,
                         weight_pause=0.0)
    want = scnn_streams.golden(cfg, act, weights)
    return check_run(cfg, run, streams, want, pause=pause)


def check_run(cfg, run, streams, want, *, pause=0.0, chained=False, keep=False):
    """Check a layer's run: outputs and streamed rows equal ``want``'s (unless ``keep``), the
    counters the cycle model's."""
    layer = streams.layer
    if not keep:
        blocks = [scnn_streams.decode_output_rows(cfg, rows, layer.k) for rows in run.rows]
        np.testing.assert_array_equal(scnn_streams.assemble_output(cfg, blocks, layer), want)
        want_rows, _ = scnn_streams.output_rows(cfg, want)
        for got, expected in zip(run.rows, want_rows):
            for a, b in zip(got, expected):
                np.testing.assert_array_equal(a, b)
    assert run.registers["status"] & 4 == 0, "error flag set"
    model = scnn_cycles.layer_cycles(cfg, streams, chained=chained, keep=keep)
    for name in CYCLES:
        assert run.measured[name] == run.registers[name], name
        if not pause or name == "busy_cycles":
            assert run.registers[name] == getattr(model, name), name
    for name in STATISTICS:
        assert run.registers[name] == getattr(model, name), name
    return run, model


def random_config(rng, index):
    """A small random design: every knob of the config, 1 to 4 PEs, a weight FIFO from one
    dense block to twice that."""
    f, i = rng.randint(1, 4), rng.randint(1, 3)
    kmax = rng.choice([1, 3, 5])
    halo = (kmax - 1) // 2
    tw, th = rng.randint(max(1, halo), 4), rng.randint(max(1, halo), 4)
    row = 1 << (tw + 2 * halo - 1).bit_length()
    banks = max(row, rng.choice([1 << (2 * f * i - 1).bit_length(), row]))
    kc = rng.randint(1, 3)
    plane = (tw + 2 * halo) * (th + 2 * halo)
    raw = {"arch": "scnn", "name": f"r{index}",
           "pe": {"f": f, "i": i, "banks": banks,
                  "bank_entries": kc * -(-plane // banks) + rng.randint(0, 2),
                  "queue_depth": rng.randint(2, 4)},
           "pes": {"x": rng.randint(1, 2), "y": rng.randint(1, 2)}, "kc": kc,
           "tile": {"w": tw, "h": th}, "kernel_max": kmax, "index_bits": rng.randint(1, 4),
           "widths": {"act": rng.choice([4, 8, 16]), "weight": rng.choice([3, 8, 16]),
                      "acc": rng.choice([10, 16, 24])},
           "rams": {"iaram": 32 * i, "oaram": 32 * i,
                    # its own generator: the designs and layers drawn stay those of before
                    "weights": f * -(-kc * kmax * kmax // f) * random.Random(index).choice([1, 2]),
                    "out_channels": 8}}
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


@pytest.mark.parametrize("seed", [0, 5])     # OARAM larger, then IARAM; two cheap draws
def test_random_configs_chain_layers(seed):
    """Three layers in one simulation of a random config whose IARAM and OARAM sizes differ
    (seed 0: activations wider than the accumulators, which the activation RAMs must hold):
    L1 requantizes and keeps its outputs, L2 takes them on chip and requantizes, L3 takes L2's
    and streams raw accumulators; each against the golden model of the chain and the cycle
    model (a shift maps each layer's largest positive output to twice the activation range)."""
    rng = random.Random(100 + seed)
    cfg = random_config(rng, seed)
    big, small = 48 * cfg.i, 32 * cfg.i
    widths = {"act": 12, "weight": 8, "acc": 10} if seed == 0 else cfg.to_dict()["widths"]
    cfg = parse_config({**cfg.to_dict(), "name": f"c{seed}", "widths": widths,
                        "rams": {"iaram": big if seed % 2 else small,
                                 "oaram": small if seed % 2 else big, "weights": 128 * cfg.f,
                                 "out_channels": 8}})
    nprng = np.random.default_rng(seed)
    side = max(s for s in (1, 3, 5) if s <= cfg.kernel_max)
    h, w = rng.randint(1, cfg.max_h), rng.randint(1, cfg.max_w)
    channels = [rng.randint(1, 3), rng.randint(1, 4), rng.randint(1, 4), rng.randint(1, 3)]
    act = random_layer(cfg, nprng, h, w, channels[0], 1, 1, 1, 1.0, 0.6)[0]
    jobs, wants = [], []
    for n, (c, k) in enumerate(zip(channels, channels[1:])):
        for _ in range(100):
            weights = random_layer(cfg, nprng, h, w, c, k, side, side, 0.6, 1.0)[1]
            if ram_problem(cfg, scnn_streams.layer_streams(cfg, act, weights))[1] is None:
                break
        raw = scnn_streams.golden(cfg, act, weights)
        top = int(raw.max())
        shift = None if n == 2 else max(0, top.bit_length() - cfg.act_width)
        jobs.append(LayerJob(scnn_streams.layer_streams(cfg, act, weights, shift=shift),
                             shift=shift, chain=n > 0, keep=n == 0))
        wants.append(scnn_streams.golden(cfg, act, weights, shift=shift))
        act = wants[-1]
    runs = simulate_layers(cfg, jobs, seed=seed)
    for job, run, want in zip(jobs, runs, wants):
        check_run(cfg, run, job.streams, want, chained=job.chain, keep=job.keep)


SMALL = {"arch": "scnn", "name": "one", "pes": {"x": 1, "y": 1},
         "pe": {"f": 2, "i": 2, "banks": 4, "bank_entries": 8}, "kc": 2,
         "tile": {"w": 2, "h": 2}, "kernel_max": 1, "index_bits": 4,
         "rams": {"iaram": 16, "oaram": 16, "weights": 16, "out_channels": 4}}


def test_chaining_needs_a_requantized_layer_of_matching_shape():
    """The error flag at ``start`` of a chained layer: after a raw layer; after a requantized
    one whose K is not the chained layer's C; and not after a requantized one that matches
    (a first layer that kept its outputs)."""
    cfg = parse_config(SMALL)
    act = np.array([[[1, 2], [0, 3]]])                       # 1 × 2 × 2
    w1 = np.array([[[[2]]], [[[-1]]]])                       # K = 2
    w2 = np.ones((1, 2, 1, 1), np.int64)                     # C = 2
    out1 = scnn_streams.golden(cfg, act, w1, shift=0)
    s1 = scnn_streams.layer_streams(cfg, act, w1)
    s1q = scnn_streams.layer_streams(cfg, act, w1, shift=0)
    s2 = scnn_streams.layer_streams(cfg, out1, w2)
    s3 = scnn_streams.layer_streams(cfg, out1[:1], w2[:, :1])    # C = 1
    runs = simulate_layers(cfg, [LayerJob(s1), LayerJob(s2, chain=True),
                                 LayerJob(s1q, shift=0), LayerJob(s3, chain=True),
                                 LayerJob(s1q, shift=0, keep=True), LayerJob(s2, chain=True)])
    errors = [bool(run.registers["status"] & 4) for run in runs]
    assert errors == [False, True, False, True, False, False], errors
    # The last one found its input: 1·2 + 1·0 (= ReLU of −1·x) at each pixel.
    blocks = [scnn_streams.decode_output_rows(cfg, rows, 1) for rows in runs[-1].rows]
    got = scnn_streams.assemble_output(cfg, blocks, s2.layer)
    assert got.tolist() == [[[2, 4], [0, 6]]]


def test_single_product_by_hand():
    """One PE, one channel, one weight, one activation, 1×1 kernel.

    Load: one activation row, and one cycle in which the loader's count settles: 2. Computing:
    group 0 starts in cycle 0, in which the broadcast takes the weight block's one beat; the
    sequencer's first step (1) takes the block, the one slot is issued in 2, read in 3 and
    decoded, enters the crossbar in 4; its product is accumulated in 5, so the PE computes in
    cycles 1 … 5 and the barrier is cycle 6. The PPU starts then and is busy for one output
    channel of a 2×2 tile without halo exchange: two rows of I = 2 elements and a flush cycle,
    7 … 9; computing ends in cycle 10: 11 busy cycles. Drain: the group is complete in 10, its
    one output beat (one value: one row) is read in 11 and leaves in 12: 2 cycles after
    computing. 15 in all."""
    cfg = parse_config(SMALL)
    run, model = check(cfg, np.array([[[0, 3], [0, 0]]]), np.array([[[[5]]]]))
    assert [run.registers[n] for n in CYCLES] == [15, 2, 11, 2]
    assert run.registers["products"] == 1
    assert run.registers["compute_cycles"] == 5
    assert run.registers["barrier_cycles"] == run.registers["stall_cycles"] == 0


def test_channel_fold_separates_output_channels_by_hand():
    """Two output channels (kc = 2), two activations: with a 2×2 tile and a 1×1 kernel each
    channel's plane is 4 positions, so without the fold both channels of a position would share
    bank ``pos mod 4``. With I = 2 the fold shifts the channel by 1 bit: channel 1's key is 2, so
    positions 0, 1 lie in banks 0, 1 for channel 0 and 2, 3 for channel 1. One slot of 4
    products in 4 banks: no stall, the barrier in cycle 6 as in the previous test, the PPU
    draining two channels of 2 + 1 cycles: 6 + 6 + 2 = 14 busy cycles. Load as before (2); two
    output beats (one row per channel) read from cycle 14 leave in 15, 16: drain 3. 19 in all."""
    cfg = parse_config(SMALL)
    act = np.array([[[1, 2], [0, 0]]])
    weights = np.array([[[[3]]], [[[4]]]])
    run, model = check(cfg, act, weights)
    assert run.registers["stall_cycles"] == 0
    assert run.registers["products"] == 4
    assert [run.registers[n] for n in CYCLES] == [19, 2, 14, 3]


def test_queued_crossbar_stall_by_hand():
    """Queues of depth 2. Three input channels, each with activations at tile positions 0 and 2
    (plane positions 0 and 2) and weights for both output channels: every slot sends queues 0
    and 3 to bank 0 (channel 0 at 0, channel 1 at 2 XOR 2) and queues 1 and 2 to bank 2.

    The three one-row weight blocks are taken in cycles 0, 1, 2 and taken into the sequencer in
    1, 2, 3; their slots are issued in 2, 3, 4 and reach the crossbar in 4, 5, 6. Cycle 4: slot
    0 enters. 5: banks grant queues 0 and 1 (all hold one entry: lowest first); slot 1 enters.
    6: queues 2 and 3 hold two entries and win; slot 2 would need them and they are full: a
    stall. 7: queues 0 and 1 win; slot 2 enters. 8: queues 3, 2 (two entries). 9: queues 0, 1.
    10: queues 3, 2: the last grant. The PE computes in 1 … 10, the barrier is 11 and computing
    takes 11 + 6 + 2 = 19 cycles (the PPU as in the previous test). Load: three activation rows:
    3 + 1. Outputs: channel 0 has one positive value (50 at (0, 0)), channel 1 one (32 at
    (1, 0)): two beats, read from cycle 19, leaving in 20 and 21: drain 3. 26 in all."""
    cfg = parse_config({**SMALL, "pe": {**SMALL["pe"], "queue_depth": 2}})
    act = np.zeros((3, 2, 2), dtype=np.int64)
    act[:, 0, 0] = [1, 2, 3]
    act[:, 1, 0] = [-4, 5, -6]
    weights = np.zeros((2, 3, 1, 1), dtype=np.int64)
    weights[0, :, 0, 0] = [7, 8, 9]
    weights[1, :, 0, 0] = [-1, 2, -3]
    run, model = check(cfg, act, weights)
    assert run.registers["stall_cycles"] == 1
    assert run.registers["products"] == 12
    assert run.registers["compute_cycles"] == 10
    assert [run.registers[n] for n in CYCLES] == [26, 4, 19, 3]


def test_channels_without_products_cost_no_slot_by_hand():
    """Three input channels: 0 and 2 without activations, 1 with an activation but an empty
    weight block (2 has a weight): the PE keeps no block. Its sequencer's first step (1) finds
    none; the broadcast takes the three blocks' beats in 0, 1, 2, so it has passed the group
    from cycle 3: the steps of 2 and 3 issue a bubble each, the second ends the group. The last
    bubble leaves the pipeline in 6: the PE computes in 1 … 6, the barrier is 7 and the PPU (one
    channel, 3 cycles) ends computing at 7 + 3 + 1: 12 busy cycles. Load: three rows, 3 + 1;
    one output beat (an empty block), drain 2: 18. Without any activation the PE keeps no block
    either, and the run is the same."""
    cfg = parse_config(SMALL)
    act = np.zeros((3, 2, 2), dtype=np.int64)
    act[1, 0, 0] = 4                                   # channel 1 has an activation ...
    weights = np.zeros((1, 3, 1, 1), dtype=np.int64)
    weights[0, 2] = 7                                  # ... channel 2 a weight: no product
    for a in (act, np.zeros_like(act)):
        run, model = check(cfg, a, weights)
        assert run.registers["products"] == 0
        assert run.registers["compute_cycles"] == 6
        assert [run.registers[n] for n in CYCLES] == [18, 4, 12, 2]
        assert model.slots == 2


def test_empty_weight_block_takes_no_slot_by_hand():
    """Three input channels, all with activations. Channel 0: four activations (two rows of
    I = 2) and weights for both output channels (one row): 2 slots; channel 1: an empty weight
    block, which the PE drops; channel 2: one activation, one weight: 1 slot. The beats of the
    three blocks are taken in 0, 1, 2: block (0, 0) is taken into the sequencer in 1, its slots
    issued in 2 and 3; block (0, 2), complete from 3, is taken in 3 and issued in 4, which ends
    the group: 3 slots, no bubble. Banks (pos mod 4) XOR 2·kk: slot 0 sends positions 0, 1 of
    channel 0 to banks 0, 1 and of channel 1 to 2, 3; slot 1 positions 2, 3 to 2, 3 and 0, 1;
    slot 2 position 0 of channel 0 to bank 0: no bank twice in a slot, every product granted
    the cycle after it entered: the slots enter in 4, 5, 6, the last product is accumulated in
    7, the PE computes in 1 … 7 and the barrier is cycle 8. The PPU drains two channels of
    2 × 1 rows and a flush each: 6 cycles, 9 … 14; computing ends in 15: 16 busy cycles. Load:
    2 + 1 + 1 activation beats, and 1. Outputs: all positive, both channels dense 2×2: 2 beats
    each, read in 16 … 19, the last leaving in 20: drain 20 − 15 = 5. 26 in all."""
    cfg = parse_config(SMALL)
    act = np.array([[[1, 2], [3, 4]], [[5, 0], [0, 0]], [[6, 0], [0, 0]]])
    weights = np.zeros((2, 3, 1, 1), dtype=np.int64)
    weights[0, :, 0, 0] = [7, 0, 8]
    weights[1, :, 0, 0] = [9, 0, 0]
    run, model = check(cfg, act, weights)
    assert run.registers["products"] == 8 + 1
    assert run.registers["compute_cycles"] == 7
    assert run.registers["stall_cycles"] == 0
    assert [run.registers[n] for n in CYCLES] == [26, 5, 16, 5]
    assert model.slots == 3


def test_block_larger_than_the_weight_fifo_raises_the_error_flag():
    """A one-row FIFO (F = 1) and a weight block of two rows (channel 0, both output channels):
    every PE drops it and the error flag rises; the layer still completes, without channel 0's
    products, and its cycles and counters are still the model's (which drops it too)."""
    cfg = parse_config({**SMALL, "pe": {**SMALL["pe"], "f": 1},
                        "rams": {**SMALL["rams"], "weights": 1}})
    act = np.array([[[1, 2], [0, 0]], [[3, 0], [0, 0]]])
    weights = np.zeros((2, 2, 1, 1), dtype=np.int64)
    weights[:, 0, 0, 0] = [5, 6]                       # block (0, 0): two rows
    weights[0, 1, 0, 0] = 7                            # block (0, 1): one row
    streams = scnn_streams.layer_streams(cfg, act, weights)
    run = simulate_layer(cfg, streams)
    assert run.registers["status"] & 4, "no error flag"
    kept = weights.copy()
    kept[:, 0] = 0
    blocks = [scnn_streams.decode_output_rows(cfg, rows, 2) for rows in run.rows]
    np.testing.assert_array_equal(scnn_streams.assemble_output(cfg, blocks, streams.layer),
                                  scnn_streams.golden(cfg, act, kept))
    model = scnn_cycles.layer_cycles(cfg, streams)
    for name in (*CYCLES, *STATISTICS):
        assert run.registers[name] == getattr(model, name), name
    assert run.registers["products"] == 1


def test_ppu_cycles_by_hand():
    cfg = parse_config({"arch": "scnn", "pes": {"x": 1, "y": 1}, "tile": {"w": 3, "h": 5},
                        "kernel_max": 5, "pe": {"f": 2, "i": 2, "banks": 8}, "kc": 2})
    # Per channel: 5 rows of 3 elements, I = 2 per cycle: 10 cycles. 1×1: and a flush cycle.
    assert scnn_cycles.ppu_cycles(cfg, 1, 1, 1) == 11
    assert scnn_cycles.ppu_cycles(cfg, 3, 1, 1) == 33
    # 3×3: x exchange one cycle per row of 5 + 2, y exchange 4; one flush cycle at the end.
    assert scnn_cycles.ppu_cycles(cfg, 2, 3, 3) == 2 * (10 + 7 + 4) + 1
    # 5×5: x 5 + 4 = 9, y 8; a 1×5 kernel has no y halo, a 5×1 no x exchange.
    assert scnn_cycles.ppu_cycles(cfg, 1, 5, 5) == 10 + 9 + 8 + 1
    assert scnn_cycles.ppu_cycles(cfg, 1, 1, 5) == 10 + 5 + 1
    assert scnn_cycles.ppu_cycles(cfg, 1, 5, 1) == 10 + 8 + 1


@pytest.mark.parametrize("r, kernel_max, tile", [(3, 3, 8), (1, 1, 4), (1, 3, 4), (1, 5, 2),
                                                 (5, 5, 4)])
def test_dense_layers_never_stall_on_the_table3_pe(r, kernel_max, tile):
    """The weight order (k innermost, SCNN paper Sec. 4.2) and the bank fold together: on the
    Table-3 PE (F = I = 4, A = 32 banks, K_c = 8) a dense row of F weights is F consecutive
    output channels at one kernel position and a dense row of I activations I consecutive tile
    positions, so a slot's 16 products lie in 16 different banks and no slot ever waits. Without
    the fold, 1×1 layers on 4×4 tiles (planes of 16 positions) put channels k and k + 2 on one
    bank (checked here on the same products' plain addresses ``kk·plane + pos``)."""
    cfg = parse_config({"arch": "scnn", "pes": {"x": 2, "y": 2}, "kernel_max": kernel_max,
                        "tile": {"w": tile, "h": tile}})
    assert (cfg.f, cfg.i, cfg.banks, cfg.kc) == (4, 4, 32, 8)
    h = w = 2 * tile
    c, k = 4, 16
    act = np.arange(1, c * h * w + 1).reshape(c, h, w) % 97 + 1
    weights = np.arange(1, k * c * r * r + 1).reshape(k, c, r, r) % 89 + 1
    streams = scnn_streams.layer_streams(cfg, act, weights)
    model = scnn_cycles.layer_cycles(cfg, streams)
    assert model.products == k * c * r * r * h * w
    assert model.stall_cycles == 0
    if (r, kernel_max, tile) == (1, 1, 4):
        # Plain addresses of the first slot: channels 0..3 at positions 0..3.
        plain = [(kk * cfg.acc_plane + pos) % cfg.banks for kk in range(4) for pos in range(4)]
        assert len(set(plain)) == 8                  # k and k + 2 collide
        folded = scnn_cycles.bank_of(cfg, np.repeat(np.arange(4), 4), np.tile(np.arange(4), 4))
        assert len(set(folded.tolist())) == 16


def test_one_column_tiles_with_three_lanes():
    """Tiles one column wide with I = 3 (two of a row's lanes past the tile) on three PEs side by
    side, 3×3 kernels: the PPU must feed the compressor only the tile's column. (It used to
    compute the lane's image column x0 + lane in max_w's width: on PE 2, lane 2's column 4 wrapped
    to 0 in 2 bits, inside the tile, and a zero was encoded after each value.)"""
    cfg = parse_config({"arch": "scnn", "name": "narrow", "pes": {"x": 3, "y": 1},
                        "pe": {"f": 2, "i": 3, "banks": 8, "bank_entries": 8, "queue_depth": 2},
                        "kc": 2, "tile": {"w": 1, "h": 3}, "kernel_max": 3, "index_bits": 2,
                        "widths": {"act": 8, "weight": 8, "acc": 16},
                        "rams": {"iaram": 96, "oaram": 96, "weights": 256, "out_channels": 8}})
    act, weights = random_layer(cfg, np.random.default_rng(3), 3, 3, 2, 3, 3, 3, 0.6, 0.6)
    check(cfg, act, weights)
