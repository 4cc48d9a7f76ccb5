"""SparseCore (``arch: sparsecore``): k/m structured sparsity on a weight-local output-stationary
array of PEs with a dynamic global scheduler.

*SparseCore* (paper 000), Sections 2–4, Table 2, Fig. 2–3.
"""

from ..registry import Architecture, RunOption
from .config import SparseCoreConfig, parse_sparsecore
from .presets import SPARSECORE_PRESETS

__all__ = ["ARCH"]

ARCH = Architecture(
    name="sparsecore",
    summary="SparseCore: k/m sparsity along output depth, weight-local output-stationary PEs",
    config=SparseCoreConfig,
    parse=parse_sparsecore,
    to_dict=SparseCoreConfig.to_dict,
    presets=SPARSECORE_PRESETS,
    top="sparseforge.hdl.sparsecore.accelerator:SparseCoreAccelerator",
    golden="sparseforge.sim.sparsecore.golden",
    cycles="sparseforge.sim.sparsecore.cycles",
    regression="sparseforge.tb.sparsecore.regression",
    soak="sparseforge.tb.sparsecore.soak",
    run="sparseforge.gen.sparsecore.run:run_cli",
    network="sparseforge.gen.sparsecore.network:sparsecore_target",
    power="sparseforge.gen.sparsecore.energy:HOOKS",
    run_options=("conv", "layer", "network", "model_only", "act_density", "act", "weights",
                 "prune", "shift", "relu", "model", "images", "energy",
                 RunOption(("--km",), {"metavar": "K/M",
                                       "help": "prune the random weights to K/M along the "
                                               "output depth (default: the design's k/m)"}),
                 RunOption(("--pool",), {"action": "store_true",
                                         "help": "2x2 max-pool the layer's output"})),
    # Three PEs of four ALUs at 2/4: two chunks of 8 channels share them unevenly.
    regression_designs={
        "sparsecore_small": (SPARSECORE_PRESETS["sparsecore_small"][1],
                             ("icarus", "verilator")),
    },
)
