"""Shipped designs of the VDBB accelerator (STA paper, Sec. IV): the paper's best, a small one."""

__all__ = ["ACCEL_PRESETS"]

_SMALL = {"arch": "accel",
          "array": {"kind": "vdbb", "tpe": {"a": 2, "b": 8, "c": 4}, "array": {"m": 4, "n": 2}},
          "sram": {"act_kb": 128, "weight_kb": 64}, "im2col": True}

ACCEL_PRESETS = {
    "accel_paper": (
        "the paper's best design (Table IV): 4x8x8_4x8 VDBB with IM2COL, 512 KB weight SRAM, "
        "2 MB activation SRAM; two result banks per TPE, two result rows a cycle",
        {"arch": "accel",
         "array": {"kind": "vdbb", "tpe": {"a": 4, "b": 8, "c": 8}, "array": {"m": 4, "n": 8},
                   "drain": {"rows": 2, "banks": 2}},
         "sram": {"act_kb": 2048, "weight_kb": 512}, "im2col": True}),
    "accel_small": (
        "a small VDBB accelerator for tests: 2x8x4_4x2 (64 MACs, 8-pixel output tiles), IM2COL, "
        "64 KB weight and 128 KB activation SRAM",
        _SMALL),
    "accel_small_noim2c": (
        "accel_small without the IM2COL unit: every IM2COL element read from SRAM (the paper's "
        "baseline)",
        {**_SMALL, "im2col": False}),
    "accel_small_blox": (
        "accel_small with Sparse-Blox in its output stage: 8-pixel × 8-channel blocks, a "
        "1024-position sparse-block cache, Q8.8 thresholds",
        {**_SMALL, "sparseblox": {"capacity": 1024}}),
}
