"""Named SCNN designs: the paper's PE and array (Table 3), and small arrays for tests and demos.

Each entry is ``name -> (one-line description, config mapping)`` in the format of
:data:`sparseforge.gen.presets.PRESETS`, which includes them.
"""

__all__ = ["SCNN_PRESETS"]


def _scnn(px, py, **extra):
    raw = {"arch": "scnn", "pes": {"x": px, "y": py}}
    raw.update(extra)
    return raw


# Table 3: 16-bit multipliers, 24-bit accumulators, a 4×4 multiplier array, 32 accumulator banks
# of 32 entries, 10 KB IARAM and OARAM (4096 entries of 16 + 4 bits), 8×8 PEs. Table 3's weight
# FIFO has 50 entries (52 in whole rows of F = 4); a PE here replays each weight block once per
# activation row, so its FIFO must hold a whole block, and a dense 3×3 block of kc = 8 channels
# has 72 entries: 72 (18 rows) is the smallest FIFO running every 3×3 layer.
_TABLE3 = {"pe": {"f": 4, "i": 4, "banks": 32, "bank_entries": 32}, "kc": 8,
           "tile": {"w": 8, "h": 8}, "kernel_max": 3,
           "widths": {"act": 16, "weight": 16, "acc": 24}, "index_bits": 4,
           "rams": {"iaram": 4096, "oaram": 4096, "weights": 72, "out_channels": 512}}

SCNN_PRESETS = {
    "scnn_paper_pe": (
        "SCNN PE of Table 3: 4x4 multipliers, 32x32 accumulator banks, 10 KB IARAM/OARAM, a "
        "72-entry weight FIFO (one PE, 8x8 tiles, 3x3 kernels)",
        _scnn(1, 1, **_TABLE3)),
    "scnn_paper_8x8": (
        "SCNN of Table 3: 8x8 PEs of 4x4 multipliers (1,024), 64x64 images in 8x8 tiles; large",
        _scnn(8, 8, **_TABLE3)),
    "scnn_2x2_small": (
        "SCNN 2x2 PEs of 2x2 multipliers, odd 3x5 tiles, 5x5 kernels, 2-bit indices: for tests",
        _scnn(2, 2, pe={"f": 2, "i": 2, "banks": 8, "bank_entries": 16}, kc=2,
              tile={"w": 3, "h": 5}, kernel_max=5, index_bits=2,
              rams={"iaram": 128, "oaram": 128, "weights": 50, "out_channels": 16})),
    "scnn_2x2_small_blox": (
        "scnn_2x2_small with Sparse-Blox: the PPU prunes 4x4 output blocks below a per-layer "
        "threshold (a 32-position cache per PE: every block of a 16-channel layer; Q24.8)",
        _scnn(2, 2, pe={"f": 2, "i": 2, "banks": 8, "bank_entries": 16}, kc=2,
              tile={"w": 3, "h": 5}, kernel_max=5, index_bits=2,
              rams={"iaram": 128, "oaram": 128, "weights": 50, "out_channels": 16},
              sparseblox={"capacity": 32, "position_bits": 5})),
    "scnn_digits": (
        "SCNN 2x2 PEs of the Table 3 PE on 4x4 tiles (64 multipliers, 8x8 images): the digits "
        "CNN of 'run --model digits_cnn'",
        _scnn(2, 2, **{**_TABLE3, "tile": {"w": 4, "h": 4},
                       "rams": {"iaram": 1024, "oaram": 1024, "weights": 72,
                                "out_channels": 64}})),
    "scnn_digits_blox": (
        "scnn_digits with Sparse-Blox: the PPU prunes 4x4 output blocks (one per PE tile and "
        "channel) below a per-layer threshold; a 64-position cache per PE (every block of the "
        "digits CNN's widest layer; Q24.8): 'run --model digits_cnn --thresholds FILE'",
        _scnn(2, 2, **{**_TABLE3, "tile": {"w": 4, "h": 4},
                       "rams": {"iaram": 1024, "oaram": 1024, "weights": 72,
                                "out_channels": 64},
                       "sparseblox": {"capacity": 64, "position_bits": 6}})),
    "scnn_4x4_demo": (
        "SCNN 4x4 PEs of the Table 3 PE with 8x8 tiles: 32x32 images, 256 multipliers",
        _scnn(4, 4, **{**_TABLE3, "rams": {"iaram": 1024, "oaram": 1024, "weights": 72,
                                            "out_channels": 128}})),
}
