"""The optional ``sparseblox:`` section of an accelerator config (Hotfilter et al., III-B, Fig. 4).

```yaml
sparseblox:
  enable: true          # default true when the section is present
  capacity: 1024        # sparse-block cache: pruned block positions per layer (per bank)
  position_bits: 16     # width of a position (the paper: 16)
  threshold: Q8.8       # format of the per-layer threshold CSR (unsigned fixed point)
```

A block is the output tile's channel block: ``B`` channels by the layer's output patch of
``ph × pw = M·A`` pixels (partial at the map's edges and past ``K``), the block the output stage
writes in ``M·A`` consecutive result rows.
"""

from ..errors import ConfigError
from ..sparseblox_section import SparseBloxConfig, parse_section, sparseblox_to_dict

__all__ = ["SparseBloxConfig", "parse_sparseblox", "sparseblox_to_dict"]


def parse_sparseblox(raw, array):
    """The ``sparseblox`` mapping of an accelerator config, or None when absent or disabled."""
    blox = parse_section(raw)
    if blox is None:
        return None
    blocks = array.tile_cols // array.block
    if blocks > array.tile_rows:
        raise ConfigError("array.array.n", array.n,
                          f"a value giving at most M·A = {array.tile_rows} channel blocks per "
                          f"output tile with sparseblox (N·C/B = {blocks}): the cache decides a "
                          "tile's blocks one a cycle while its next tile's rows arrive")
    return blox

