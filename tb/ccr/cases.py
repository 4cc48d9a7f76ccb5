"""Test layers for the CCR accelerator, shared by the cocotb regression and the Amaranth-simulator
tests: the same windows, kernels, strides and densities run on the generated Verilog and in Python.
"""

from ...sim.ccr.network import sparse
from ...sim.gemm import int_range

__all__ = ["CASES", "random_layer"]

#: ``(mode, stride, kernel side, weight density, act density, (C, H, W, K))``: 'full', 'same' and
#: 'valid' windows, 1×1, 3×3 and 5×5 kernels, stride 1 and 2 (four accumulating passes), odd map
#: sides, densities from 1.0 down to 0.05.
CASES = [
    ("same", 1, 3, 0.5, 1.0, (2, 5, 4, 2)),
    ("full", 1, 1, 1.0, 0.6, (2, 3, 5, 2)),
    ("valid", 1, 5, 0.05, 0.9, (2, 6, 7, 3)),
    ("full", 1, 3, 0.3, 0.4, (1, 3, 5, 2)),
    ("same", 2, 3, 0.4, 1.0, (2, 7, 6, 2)),
    ("valid", 2, 5, 1.0, 0.7, (1, 7, 8, 1)),
    ("full", 2, 3, 0.3, 0.5, (1, 5, 4, 2)),
]


def random_layer(cfg, rng, c, h, w, k, r, s, weight_density=0.5, act_density=1.0):
    """Seeded full-range operands ``(x C×H×W, w K×C×R×S)`` at the given densities."""
    x = sparse(rng, (c, h, w), *int_range(cfg.act_width), act_density)
    wt = sparse(rng, (k, c, r, s), *int_range(cfg.weight_width), weight_density)
    return x, wt
