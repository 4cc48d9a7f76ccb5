"""CCR (``arch: ccr``): the dense baseline, SparseK, SparseI and SparseKI on a P_x × P_y PU.

Li et al., *CCR: A Concise Convolution Rule for Sparse Neural Network Accelerators*, Sec. III–V,
Fig. 7 and Table I.
"""

from ..registry import Architecture, RunOption
from .config import CcrConfig, parse_ccr
from .presets import CCR_PRESETS

__all__ = ["ARCH"]


def _test_design(variant):
    return {**CCR_PRESETS[f"ccr_{variant}_small"][1],
            "buffers": {"ib_kb": 1, "kb_kb": 1, "ob_kb": 1}}

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
    soak="sparseforge.tb.ccr.soak",
    run="sparseforge.gen.ccr.run:run_cli",
    power="sparseforge.gen.ccr.energy:HOOKS",
    run_options=("conv", "layer", "network", "model_only", "weight_density", "act_density",
                 "act", "weights", "energy",
                 RunOption(("--mode",), {"choices": ("full", "same", "valid"),
                                         "help": "output window of --conv instead of its pad: "
                                                 "the paper's 'full', 'same' or 'valid'"})),
    # The 2×2 PU of the small presets with just the buffers the regression's layers need (kernels
    # up to 5×5, maps up to 31×31, 64 OB words per bank), so the simulators compile fewer SRAM
    # words. SparseKI, which has every block of SparseK and SparseI's compressed IB plus the
    # Cartesian datapath and the bank arbiter, on both simulators; SparseK on Icarus. The
    # dense baseline and SparseI are checked under Amaranth's simulator and run through the
    # generated Verilog by the CLI tests (tests/ccr).
    regression_designs={
        "ccr_sparse_ki_test": (_test_design("sparse_ki"), ("icarus", "verilator")),
        "ccr_sparse_k_test": (_test_design("sparse_k"), ("icarus",)),
    },
)
