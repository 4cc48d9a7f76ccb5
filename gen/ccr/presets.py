"""Named CCR designs: the paper's 8×8 PU with 128 KB buffers (Sec. V-A), and small ones for tests.

Each entry is ``name -> (one-line description, config mapping)`` in the format of
:data:`sparseforge.gen.presets.PRESETS`.
"""

from .config import VARIANTS

__all__ = ["CCR_PRESETS"]


def _paper(variant):
    return {"arch": "ccr", "variant": variant, "pu": {"x": 8, "y": 8},
            "buffers": {"ib_kb": 128, "kb_kb": 128, "ob_kb": 128}}


def _small(variant):
    return {"arch": "ccr", "variant": variant, "pu": {"x": 2, "y": 2},
            "buffers": {"ib_kb": 1, "kb_kb": 1, "ob_kb": 4}, "kernel_max": 5, "map_max": 31,
            "kernels_max": 64}


CCR_PRESETS = {}
for _v in VARIANTS:
    CCR_PRESETS[f"ccr_{_v}_paper"] = (
        f"CCR {_v} of Sec. V-A: 8x8 PU (64 INT8 multipliers), IB/KB/OB 128 KB each",
        _paper(_v))
    CCR_PRESETS[f"ccr_{_v}_small"] = (
        f"CCR {_v} with a 2x2 PU and 1/1/4 KB buffers, kernels up to 5x5: for tests",
        _small(_v))
