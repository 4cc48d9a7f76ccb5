"""The optional ``sparseblox:`` section of an SCNN config (Hotfilter et al., III-B; the paper's
SCNN extension prunes 4×4 blocks of each output channel in the PPU).

```yaml
arch: scnn
sparseblox: {capacity: 1024, position_bits: 16, threshold: Q24.8}   # enable: false turns it off
```

The keys and their meaning are those of the accelerator's section
(:mod:`sparseforge.gen.sparseblox_section`); the threshold format defaults to ``Q24.8`` and may
have up to 24 integer bits: SCNN's blocks hold 24-bit accumulators (Table 3), whose ``|mean|``
reaches ``2**23`` (a 32-bit CSR). Every PE
has its own cache; a block's position is ``k · blocks_per_tile + b`` (output channel ``k``,
block ``b`` of the PE's tile, row-major), so ``2**position_bits`` must cover ``out_channels ·
blocks_per_tile`` positions.
"""

from ..errors import ConfigError
from ..sparseblox_section import parse_section

__all__ = ["BLOCK", "parse_scnn_blox", "blocks_per_tile"]

#: Side of the square block the PPU sums (the paper's SCNN extension: 4×4).
BLOCK = 4


def blocks_per_tile(tile_w, tile_h):
    """``(across, down)``: 4×4 blocks of a ``W_t × H_t`` tile, partial at its right and bottom."""
    return -(-tile_w // BLOCK), -(-tile_h // BLOCK)


def parse_scnn_blox(raw, tile_w, tile_h, out_channels):
    """The ``sparseblox`` mapping of an SCNN config, or None when absent or disabled."""
    blox = parse_section(raw, default_format="Q24.8", max_int_bits=24)
    if blox is None:
        return None
    across, down = blocks_per_tile(tile_w, tile_h)
    positions = out_channels * across * down
    if positions > 1 << blox.position_bits:
        raise ConfigError("sparseblox.position_bits", blox.position_bits,
                          f"at least {(positions - 1).bit_length()}: a PE's layer has up to "
                          f"rams.out_channels × {across * down} blocks = {positions} positions")
    return blox
