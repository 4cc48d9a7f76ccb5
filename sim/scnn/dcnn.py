"""The paper's dense baseline, DCNN, as a cycle model (SCNN paper, Sec. 5 and Table 5).

DCNN has SCNN's 64 PEs and 1,024 multipliers and "operates solely on dense weights and
activations and employs a *dot-product* dataflow called PT-IS-DP-dense"; "DCNN-opt performance is
identical to DCNN". The paper gives no more of it, so this model takes the reading most
favourable to DCNN that those words allow, which makes every SCNN speed-up over it a lower bound:

* **PT-IS**: the input map is planar-tiled over the ``P_x × P_y`` PEs exactly as SCNN's is
  (``tile_w × tile_h`` output positions a PE, input stationary), and the PEs meet at one barrier
  per layer, so a layer takes its busiest PE's cycles; a PE whose tile lies outside the map is
  idle.
* **DP**: a PE's ``F·I`` multipliers compute one dot product of ``F·I`` terms a cycle, of one
  output's reduction (its ``R·S·C`` products in any order, halo inputs included, fetched from the
  neighbours at no cost), so an output takes ``⌈R·S·C / (F·I)⌉`` cycles and the only loss inside
  a PE is the last, partial dot product of each output.
* Dense: every product is computed, zeros included; no load, drain, PPU or DRAM cycles (the
  paper's DCNN holds a whole network's activations in its 2 MB SRAM).

So ``layer_cycles = max over PEs (outputs in its tile × K) × ⌈R·S·C / (F·I)⌉``, and the planar
tiling's loss on small maps (7×7 maps on 8×8 PEs: 49 busy) is DCNN's as well as SCNN's.
"""

from dataclasses import dataclass

__all__ = ["DcnnCycles", "layer_cycles"]


@dataclass(frozen=True)
class DcnnCycles:
    """DCNN's figures for one layer: ``cycles``, ``busy_pes`` (PEs with outputs), ``macs`` (the
    dense layer's) and ``utilization`` (MACs over multipliers × cycles)."""

    cycles: int
    busy_pes: int
    macs: int
    utilization: float


def _split(total, parts, tile):
    """The sizes of the ``parts`` pieces of ``total`` positions in pieces of ``tile``."""
    return [max(0, min(tile, total - p * tile)) for p in range(parts)]


def layer_cycles(h, w, c, k, r, s, *, pes_x, pes_y, tile_w, tile_h, multipliers_per_pe):
    """DCNN's cycles for a stride-1 'same' convolution of an ``h × w × c`` map to ``k`` channels
    with an ``r × s`` kernel on ``pes_x × pes_y`` PEs of ``multipliers_per_pe`` multipliers, each
    PE holding a ``tile_w × tile_h`` tile (see the module docstring). The tiles must cover the
    map."""
    if tile_w * pes_x < w or tile_h * pes_y < h:
        raise ValueError(f"{pes_x}x{pes_y} tiles of {tile_w}x{tile_h} do not cover a {w}x{h} "
                         "map")
    per_output = -(-(r * s * c) // multipliers_per_pe)
    outputs = [a * b for a in _split(w, pes_x, tile_w) for b in _split(h, pes_y, tile_h)]
    cycles = max(outputs) * k * per_output
    macs = h * w * c * k * r * s
    return DcnnCycles(cycles=cycles, busy_pes=sum(1 for n in outputs if n),
                      macs=macs, utilization=macs / (pes_x * pes_y * multipliers_per_pe * cycles))
