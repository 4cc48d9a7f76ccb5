"""CCR (``arch: ccr``): the dense baseline, SparseK, SparseI and SparseKI on a P_x × P_y PU.

Li et al., *CCR: A Concise Convolution Rule for Sparse Neural Network Accelerators*, Sec. III–V,
Fig. 7 and Table I.
"""

from ..registry import Architecture, RunOption
from .config import CcrConfig, parse_ccr
from .presets import CCR_PRESETS

__all__ = ["ARCH"]

ARCH = Architecture(
    name="ccr",
    summary="CCR: sparse convolutions as dense sub-convolutions on a scalar × matrix PU "
            "(dense, SparseK, SparseI, SparseKI)",
    config=CcrConfig,
    parse=parse_ccr,
    to_dict=CcrConfig.to_dict,
    presets=CCR_PRESETS,
    top="sparseforge.hdl.ccr:CcrAccelerator",
    golden="sparseforge.sim.ccr.layer",
    cycles="sparseforge.sim.ccr.cycles",
    regression="sparseforge.tb.ccr.regression",
    run="sparseforge.gen.ccr.run:run_cli",
    run_options=("conv", "layer", "network", "model_only", "weight_density", "act_density",
                 "act", "weights",
                 RunOption(("--mode",), {"choices": ("full", "same", "valid"),
                                         "help": "output window of --conv instead of its pad: "
                                                 "the paper's 'full', 'same' or 'valid'"})),
    # The 2×2 PU with 1/1/4 KB buffers: kernels up to 5×5, maps up to 31×31. SparseK on both
    # simulators; the dense baseline, which shares every block but the kernel buffer's format
    # and the coordinates' source, on Icarus.
    regression_designs={
        "ccr_sparse_k_small": (CCR_PRESETS["ccr_sparse_k_small"][1], ("icarus", "verilator")),
        "ccr_dense_small": (CCR_PRESETS["ccr_dense_small"][1], ("icarus",)),
    },
)
