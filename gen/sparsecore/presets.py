"""SparseCore presets: the paper's design and a small one for tests (*SparseCore*, Sec. 3,
Table 2)."""

from .config import parse_sparsecore

__all__ = ["SPARSECORE_PRESETS", "PAPER", "SMALL", "DIGITS", "preset"]

#: The paper: 64 PEs × 16 ALUs, 2/4. A band is one output row of up to 64 pixels, so the
#: accumulation buffers hold 64 PEs × 64 pixels × 32 channels × 4 bytes = 512 KB, Table 2's size.
#: Pooling layers need an even ``band_rows`` (a 1 MB buffer at ``band_rows: 2``).
PAPER = {"arch": "sparsecore", "name": "sparsecore_paper", "pes": 64, "alus_per_pe": 16,
         "k": 2, "m": 4, "band_rows": 1, "requant_lanes": 4,
         "limits": {"h": 256, "w": 64, "c": 64, "k": 2048, "kernel": 3},
         "widths": {"act": 8, "weight": 8, "acc": 32},
         "memories": {"act_kib": 2048, "weight_kib": 512, "acc_kib": 512}}

#: Three PEs of 4 ALUs at 2/4 (two chunks of 8 channels share them unevenly), bands of two rows,
#: requantization in two steps of four lanes.
SMALL = {"arch": "sparsecore", "name": "sparsecore_small", "pes": 3, "alus_per_pe": 4, "k": 2,
         "m": 4, "band_rows": 2, "requant_lanes": 4,
         "limits": {"h": 9, "w": 9, "c": 12, "k": 16, "kernel": 3},
         "memories": {"act_kib": 4, "weight_kib": 1, "acc_kib": 1}}

#: The digits CNN of ``run --model digits_cnn`` (8×8 maps, up to 32 input channels): 4 PEs of 16
#: ALUs at 2/4 (64 ALUs, as ``accel_small``'s 64 MACs and ``scnn_digits``' 64 multipliers), chunks
#: of 32 channels, so a layer's K of up to 128 (a dense 64-channel layer spread over 2/4 groups)
#: stays weight-local; bands of two rows for the 2×2 pools.
DIGITS = {"arch": "sparsecore", "name": "sparsecore_digits", "pes": 4, "alus_per_pe": 16,
          "k": 2, "m": 4, "band_rows": 2, "requant_lanes": 8,
          "limits": {"h": 8, "w": 8, "c": 32, "k": 128, "kernel": 3},
          "memories": {"act_kib": 4, "weight_kib": 8, "acc_kib": 8}}

#: ``name -> (one-line description, config mapping)``, as the registry lists presets.
SPARSECORE_PRESETS = {
    "sparsecore_paper": ("SparseCore of Table 2: 64 PEs x 16 ALUs at 2/4, 512 KB accumulation "
                         "buffers, 64-wide bands; large", PAPER),
    "sparsecore_small": ("SparseCore 3 PEs x 4 ALUs at 2/4, 9x9x12 inputs, bands of 2 rows: "
                         "for tests", SMALL),
    "sparsecore_digits": ("SparseCore 4 PEs x 16 ALUs at 2/4, 8x8x32 inputs: the digits CNN of "
                          "'run --model digits_cnn'", DIGITS),
}


def preset(name):
    """The config of preset ``name``."""
    raw = SPARSECORE_PRESETS[name][1]
    return parse_sparsecore(raw, raw["name"])
