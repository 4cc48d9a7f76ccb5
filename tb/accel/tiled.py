"""A layer larger than the SRAMs run on the RTL as its time tiles, as the host would.

Shared by the regression (``time_tiled_layer`` in :mod:`.regression`) and ``sparseforge run``'s
cocotb module (:mod:`.run`): the tiles of a :class:`~sparseforge.sim.accel.tiling.TiledLayer`
run one job after another on one bench. Before a tile whose band changes, its input band (or,
for the first tile, the whole input) is loaded into activation half 0; each tile writes its
output into half 1: with ``in_place``, into the whole layer's map (read back once, after the
last tile, to check it), else into a map of its own, read back after its job. The first
tile's weights are loaded into weight half 0 before the first job; each later group's weights
stream into the other weight half while the current job runs (the weight SRAM's double
buffer), so a tile's job reads the half its group was loaded into.
"""

from dataclasses import dataclass

from ...sim.accel import plan as accel_plan
from ...sim.accel import tiling as accel_tiling

__all__ = ["TileRun", "run_tiles"]


@dataclass(frozen=True)
class TileRun:
    """One tile's job as the bench measured it (see :meth:`.bench.AccelBench.run_layer`)."""

    cycles: int
    register_cycles: int
    act_reads: int
    beats: int
    error: bool


async def run_tiles(bench, tiled, x, w, *, int8_out=False, shift=0, relu=False, log=None):
    """Run ``tiled``'s tiles on ``bench`` with the layer's operands ``x`` (C×H×W) and ``w``
    (K×C×R×S, pruned to the layer's NNZ); return ``(y, runs)``: the layer's K×Ho×Wo output map
    assembled from the tiles' read-back maps and a :class:`TileRun` per tile, in tile order.

    ``log(i, tile, run)`` is called after each tile's job (progress lines). A refused
    descriptor is reported in its run's ``error`` and its output still read back; the caller
    checks."""
    operands = accel_tiling.tile_operands(tiled, x, w)
    words = [accel_plan.weight_words(t.plan, wt, bench.weight_packer)
             for t, (_, wt) in zip(tiled.tiles, operands)]
    halves = [0]
    for tile in tiled.tiles[1:]:
        halves.append(1 - halves[-1] if tile.weight_words else halves[-1])
    # A job whose weights need more than a half uses both: nothing loads during it, and its own
    # weights load after the job before it.
    spans = [t.plan.weight_word_count > bench.cfg.weight_half_words for t in tiled.tiles]
    await bench.load_weights(words[0], 0, 0)
    parts, runs = [], []
    for i, (tile, (xt, _)) in enumerate(zip(tiled.tiles, operands)):
        if i and tile.weight_words and (spans[i] or spans[i - 1]):
            await bench.load_weights(words[i], halves[i], 0)
        if i == 0 or tile.act_words:
            await bench.load_act(xt, 0, 0)
        following = i + 1 < len(tiled.tiles) and tiled.tiles[i + 1].weight_words and \
            not (spans[i] or spans[i + 1])
        if following:                   # the next group's weights, during this job
            await bench.load_weights(words[i + 1], halves[i + 1], 0, wait=False)
        ofm_map = (tiled.plan.k, tile.k0, tile.oy * tiled.plan.wo) if tiled.in_place \
            else (0, 0, 0)
        run = await bench.run_layer(tile.plan, ifm=(0, 0), ofm=(1, 0), weights=(halves[i], 0),
                                    int8_out=int8_out, shift=shift, relu=relu, ofm_map=ofm_map)
        await bench.w_src.wait()
        if not tiled.in_place:
            parts.append(await bench.read_output(tile.plan, 1, 0, int8_out))
        done = TileRun(run.cycles, run.register_cycles, run.act_reads, run.beats,
                       bool(run.error))
        runs.append(done)
        if log is not None:
            log(i, tile, done)
    if tiled.in_place:
        return await bench.read_output(tiled.plan, 1, 0, int8_out), runs
    return accel_tiling.assemble_output(tiled, parts), runs
