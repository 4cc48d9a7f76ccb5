"""SCNN (``arch: scnn``): compressed-sparse Cartesian-product PEs tiled into an array.

Parashar et al., *SCNN: An Accelerator for Compressed-sparse Convolutional Neural Networks*,
Sections 3–4.
"""

from ..registry import Architecture, RunOption
from .config import ScnnConfig, parse_scnn
from .presets import SCNN_PRESETS

__all__ = ["ARCH"]

ARCH = Architecture(
    name="scnn",
    summary="SCNN: compressed-sparse PEs with a scatter crossbar, stride-1 'same' convolutions",
    config=ScnnConfig,
    parse=parse_scnn,
    to_dict=ScnnConfig.to_dict,
    presets=SCNN_PRESETS,
    top="sparseforge.hdl.scnn:ScnnAccelerator",
    golden="sparseforge.sim.scnn.golden",
    cycles="sparseforge.sim.scnn.cycles",
    regression="sparseforge.tb.scnn.regression",
    soak="sparseforge.tb.scnn.soak",
    run="sparseforge.gen.scnn.run:run_cli",
    network="sparseforge.gen.scnn.network:scnn_target",
    power="sparseforge.gen.scnn.energy:HOOKS",
    run_options=("conv", "layer", "network", "weight_density", "act_density", "act", "weights",
                 "model", "images", "model_only", "prune", "threshold", "thresholds",
                 "energy", "shift",
                 RunOption(("--chain",), {
                     "type": int, "metavar": "K2",
                     "help": "run a second layer of K2 output channels (same kernel, weights at "
                             "--weight-density) chained on chip after the first, which "
                             "requantizes (--shift, default: the smallest shift saturating "
                             "nothing) and keeps its outputs"})),
    regression_designs={
        # 2×2 PEs with odd 3×5 tiles, 5×5 kernels (halo 2) and 2-bit indices: halos cross PE
        # boundaries in x, y and diagonally, and zero runs longer than the index range are common.
        "scnn_2x2_small": (SCNN_PRESETS["scnn_2x2_small"][1], ("icarus", "verilator")),
        # One PE of Table 3 (4×4 multipliers, 32 banks, 16/24-bit arithmetic, 4-bit indices) on
        # 4×4 tiles, on Verilator only: Icarus evaluates its wide crossbar buses bit by bit and
        # needs over four minutes for the module (the first design covers every case on Icarus).
        "scnn_pe_t3": ({"arch": "scnn", "pes": {"x": 1, "y": 1},
                        "pe": {"f": 4, "i": 4, "banks": 32, "bank_entries": 8}, "kc": 4,
                        "tile": {"w": 4, "h": 4}, "kernel_max": 3,
                        "rams": {"iaram": 64, "oaram": 64, "weights": 36, "out_channels": 16}},
                       ("verilator",)),
    },
)
