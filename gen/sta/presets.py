"""Shipped STA designs: the paper's examples (Fig. 6, 7), an iso-throughput family, 4 TOPS arrays.

Each entry is ``name -> (one-line description, config mapping)``, validated by the same parser as a
user's file.
"""

__all__ = ["STA_PRESETS"]


def _sta(kind, a, b, c, m, n, **extra):
    raw = {"arch": "sta", "kind": kind, "array": {"m": m, "n": n}}
    if kind != "sa":
        raw["tpe"] = {"a": a, "b": b, "c": c}
    raw.update(extra)
    return raw


# name -> (one-line description, config mapping)
STA_PRESETS = {
    "vdbb_2x8x4_2x2": (
        "STA-VDBB 2x8x4_2x2 of Fig. 7(b): any density 1/8..8/8 at run time (the default design)",
        _sta("vdbb", 2, 8, 4, 2, 2)),
    "dbb_2x4x2_2x2": (
        "STA-DBB 2x4x2_2x2 of Fig. 6(c)/7(a): S4DP2 sparse dot products, fixed 2/4 density bound",
        _sta("dbb", 2, 4, 2, 2, 2, dbb_macs=2)),
    "sta_2x4x2_2x2": (
        "dense STA 2x4x2_2x2 of Fig. 6(b): 4-way dot products, no sparsity",
        _sta("sta", 2, 4, 2, 2, 2)),
    "sa_8x8": (
        "classic output-stationary systolic array 1x1x1_8x8 (Fig. 6(a))",
        _sta("sa", 1, 1, 1, 8, 8)),
    "sa_1x1": (
        "a single MAC 1x1x1_1x1: the smallest design, for smoke tests",
        _sta("sa", 1, 1, 1, 1, 1)),
    # The iso-throughput family of the README comparison (Fig. 9 style): 128 dense-equivalent MACs
    # per cycle at the paper's nominal 4/8 density for the sparse kinds.
    "iso128_sa_8x16": (
        "iso-throughput baseline: SA 1x1x1_8x16, 128 MACs",
        _sta("sa", 1, 1, 1, 8, 16)),
    "iso128_sta_2x4x2_2x4": (
        "iso-throughput dense STA 2x4x2_2x4, 128 MACs",
        _sta("sta", 2, 4, 2, 2, 4)),
    "iso128_dbb_2x8x2_2x2": (
        "iso-throughput STA-DBB 2x8x2_2x2 with S8DP4 (4/8 bound), 64 MACs",
        _sta("dbb", 2, 8, 2, 2, 2, dbb_macs=4)),
    "iso128_vdbb_4x8x4_2x2": (
        "iso-throughput STA-VDBB 4x8x4_2x2 (128 at 4/8 density), 64 MACs",
        _sta("vdbb", 4, 8, 4, 2, 2)),
    # The paper's 4 TOPS designs (Fig. 9, Fig. 12, Table IV): large, for generation and area runs.
    "paper_sa_32x64": (
        "the paper's 4 TOPS baseline: SA 1x1x1_32x64, 2048 MACs",
        _sta("sa", 1, 1, 1, 32, 64)),
    "paper_dbb_4x8x4_4x8": (
        "the paper's fixed-DBB design 4x8x4_4x8 with S8DP4 (Fig. 12), 2048 MACs",
        _sta("dbb", 4, 8, 4, 4, 8, dbb_macs=4)),
    "paper_vdbb_4x8x8_4x8": (
        "the paper's best array 4x8x8_4x8 VDBB (Table IV), 1024 MACs, nominal 4 TOPS at 4/8; "
        "a drain of two rows a cycle with two result banks keeps it busy at every density",
        _sta("vdbb", 4, 8, 8, 4, 8, drain={"rows": 2, "banks": 2})),
}
