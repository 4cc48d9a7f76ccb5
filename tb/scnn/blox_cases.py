"""cocotb tests of Sparse-Blox in SCNN's PPU (Hotfilter et al., III-B; the 4×4 blocks of the
paper's SCNN extension).

Every layer is checked against the golden model of the pruned layer
(:func:`sparseforge.sim.scnn.streams.golden` at the raw threshold, which zeroes the blocks
:func:`sparseforge.sim.scnn.blox.prune_tiles` caches): each PE's streamed rows equal the golden
encoding of its pruned tiles (so a pruned block's values are never written or streamed), the
decoded output equals the pruned map, the cycles measured on the ports, read from the registers
and predicted by :func:`sparseforge.sim.scnn.cycles.layer_cycles` (which includes the PPU's
block pass) agree, and the block counters (``blocks_cached``, ``blocks_pruned``,
``blocks_refused``, ``blocks_zero_before``) equal the model's. Run by
``tests/scnn/test_blox_rtl.py`` on a small design (2×1 PEs of 5×5 tiles: 2×2 blocks per tile,
partial at the tile's right and bottom edges; a 6-position cache per PE).
"""

import cocotb
import numpy as np

from ...gen.config import config_from_env
from ...hdl.scnn.accelerator import BLOX_COUNTERS
from ...sim.scnn import cycles as scnn_cycles
from ...sim.scnn import streams as scnn_streams
from ...sim.scnn.blox import BLOCK, prune_tiles
from ...sim.scnn.golden import layer_output
from ...sim.sparseblox import block_stats
from ..seeds import seed_for
from .bench import (
    CYCLES,
    STATISTICS,
    STATUS_DONE,
    STATUS_ERROR,
    ScnnBench,
    assert_outputs,
)
from .cases import random_layer

__all__ = ["check_pruned", "threshold_between"]


def threshold_between(cfg, out, share):
    """A raw threshold with about ``share`` of ``out``'s 4×4 blocks (per tile, the whole map's
    grid as an approximation) below it: halfway between two distinct block |means| (scaled to
    the format), so no block sits on it."""
    frac = cfg.sparseblox.frac_bits
    sums, n_valid, _ = block_stats(out, (1, BLOCK, BLOCK))
    scaled = np.unique((np.abs(sums[n_valid > 0]) << frac) // n_valid[n_valid > 0])
    i = min(len(scaled) - 1, max(1, int(share * len(scaled))))
    return min(cfg.sparseblox.fmt.max_raw, int((scaled[i - 1] + scaled[i]) // 2) + 1)


async def check_pruned(bench, act, weights, raw, *, label):
    """Run one layer at raw threshold ``raw`` and check it (see the module docstring); return
    the model's counts."""
    cfg = bench.cfg
    streams = scnn_streams.layer_streams(cfg, act, weights, raw)
    result = await bench.run_layer(streams, threshold=raw)
    layer = streams.layer
    pruned = prune_tiles(cfg, layer_output(act, weights, cfg.acc_width), raw)
    want = pruned.data
    assert_outputs(cfg, result, layer, want, label)
    regs = result.registers
    assert regs["status"] & STATUS_ERROR == 0, f"{label}: status {regs['status']:#x}"
    assert regs["status"] & STATUS_DONE, f"{label}: status {regs['status']:#x}"
    model = scnn_cycles.layer_cycles(cfg, streams)
    for name in CYCLES:
        assert result.measured[name] == regs[name] == getattr(model, name), \
            (f"{label}: {name} {result.measured[name]} measured, register {regs[name]}, model "
             f"{getattr(model, name)}")
    for name in STATISTICS:
        assert regs[name] == getattr(model, name), \
            f"{label}: {name} register {regs[name]}, model {getattr(model, name)}"
    counts = pruned.counts
    for reg in BLOX_COUNTERS:
        assert regs[reg] == getattr(counts, reg), \
            f"{label}: {reg} register {regs[reg]}, model {getattr(counts, reg)}"
    bench.dut._log.info("%s: ok, %d of %d blocks cached (%d created, %d refused, %d zero "
                        "before), %d cycles", label, counts.blocks_cached, counts.blocks_total,
                        counts.blocks_pruned, counts.blocks_refused, counts.blocks_zero_before,
                        result.cycles)
    return counts


@cocotb.test()
async def pruning_layers(dut):
    """t = 0, a threshold between the blocks' means, every block pruned, a full cache; layers
    whose image ends inside a PE's tile (edge blocks of fewer real elements)."""
    cfg = config_from_env()
    rng = np.random.default_rng(seed_for(dut, 1))
    bench = ScnnBench(dut, cfg)
    await bench.reset()
    top = cfg.sparseblox.fmt.max_raw
    h, w = cfg.max_h, cfg.max_w - 2               # the right PE's tile is 3 columns wide
    act, weights = random_layer(cfg, rng, h, w, 2, 3, 3, 3, 0.6, 0.7)
    out = layer_output(act, weights, cfg.acc_width)

    counts = await check_pruned(bench, act, weights, 0, label="t = 0")
    assert counts.blocks_cached == counts.blocks_refused == 0, "t = 0 pruned a block"

    raw = threshold_between(cfg, out, 0.4)
    counts = await check_pruned(bench, act, weights, raw, label=f"threshold {raw}")
    assert 0 < counts.blocks_cached + counts.blocks_refused < counts.blocks_total, \
        "the threshold between the means pruned all blocks or none"

    counts = await check_pruned(bench, act, weights[:1], top, label="every block")
    assert counts.blocks_cached == counts.blocks_total and counts.blocks_refused == 0

    counts = await check_pruned(bench, act, weights, top, label="full cache")
    assert counts.blocks_cached == cfg.pes * cfg.sparseblox.capacity
    assert counts.blocks_refused == counts.blocks_total - counts.blocks_cached > 0

    # A 1×1 layer (no halo exchange: the block pass closes the previous channel) on an image
    # that ends one row into the bottom band, with all-zero channels (zero before).
    act, weights = random_layer(cfg, rng, BLOCK + 1, w, 2, 3, 1, 1, 0.8, 0.8)
    weights[1] = 0
    out = layer_output(act, weights, cfg.acc_width)
    counts = await check_pruned(bench, act, weights, threshold_between(cfg, out, 0.5),
                                label="1x1")
    assert counts.blocks_zero_before > 0
