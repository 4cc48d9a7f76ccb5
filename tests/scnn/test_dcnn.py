"""The dense DCNN baseline's cycle model (sim/scnn/dcnn.py) against counts worked by hand."""

import pytest
from sparseforge.sim.scnn.dcnn import layer_cycles

PAPER = {"pes_x": 8, "pes_y": 8, "multipliers_per_pe": 16}


def test_a_map_that_fills_every_pe():
    # 56×56 on 8×8 PEs of 7×7 tiles: every PE 49 outputs; 3×3×64 = 576 products an output,
    # 36 dot products of 16; K = 192.
    d = layer_cycles(56, 56, 64, 192, 3, 3, tile_w=7, tile_h=7, **PAPER)
    assert d.cycles == 49 * 192 * 36 and d.busy_pes == 64
    assert d.utilization == pytest.approx(1.0)


def test_small_maps_leave_pes_idle():
    # 7×7 on 8×8 PEs of 1×1 tiles: 49 busy PEs; 1×1×832 = 52 dot products an output.
    d = layer_cycles(7, 7, 832, 256, 1, 1, tile_w=1, tile_h=1, **PAPER)
    assert d.busy_pes == 49 and d.cycles == 256 * 52
    assert d.utilization == pytest.approx(49 / 64)
    # 28×28 on 4×4 tiles: 7×7 PEs busy, each with 16 outputs.
    d = layer_cycles(28, 28, 16, 32, 5, 5, tile_w=4, tile_h=4, **PAPER)
    assert d.busy_pes == 49 and d.cycles == 16 * 32 * 25      # 400 products: 25 dot products


def test_partial_tiles_and_partial_dot_products():
    # A 10-wide, 6-tall map on 2×2 PEs of 6×4 tiles: widths 6 and 4, heights 4 and 2, so the
    # busiest PE has 24 outputs. 3×3×3 = 27 products an output: 2 dot products of 16.
    d = layer_cycles(6, 10, 3, 5, 3, 3, pes_x=2, pes_y=2, tile_w=6, tile_h=4,
                     multipliers_per_pe=16)
    assert d.cycles == 24 * 5 * 2 and d.busy_pes == 4
    assert d.utilization == pytest.approx(6 * 10 * 3 * 5 * 9 / (4 * 16 * 240))


def test_tiles_must_cover_the_map():
    with pytest.raises(ValueError, match="do not cover"):
        layer_cycles(9, 9, 1, 1, 1, 1, tile_w=1, tile_h=1, **PAPER)
