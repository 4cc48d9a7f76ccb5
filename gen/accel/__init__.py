"""The VDBB accelerator (``arch: accel``): an STA engine behind IM2COL, SRAMs and an output stage.

Liu, Whatmough, Mattina, *Sparse Systolic Tensor Array*, Section IV, Fig. 5 and Fig. 8.
"""

from ..registry import Architecture
from .config import AccelConfig, accel_to_dict, parse_accel
from .presets import ACCEL_PRESETS

__all__ = ["ARCH"]


def _test_design(im2col):
    """accel_small's array (64 MACs, 8-pixel tiles) with SRAMs just big enough for the
    regression's layers, so the simulators compile fewer SRAM words."""
    return {"arch": "accel", "array": {"kind": "vdbb", "tpe": {"a": 2, "b": 8, "c": 4},
                                       "array": {"m": 4, "n": 2}},
            "sram": {"act_kb": 16, "weight_kb": 16}, "im2col": im2col}


ARCH = Architecture(
    name="accel",
    summary="the VDBB accelerator: convolution layers through IM2COL, SRAMs and an STA engine",
    config=AccelConfig,
    parse=parse_accel,
    to_dict=accel_to_dict,
    presets=ACCEL_PRESETS,
    top="sparseforge.hdl.accel:Accelerator",
    golden="sparseforge.sim.conv",
    cycles="sparseforge.sim.accel.cycles",
    regression="sparseforge.tb.accel.regression",
    run="sparseforge.gen.accel.run:run_cli",
    network="sparseforge.gen.accel.network:accel_target",
    run_options=("conv", "layer", "network", "model_only", "rtl_layers", "nnz", "act_density",
                 "act", "weights", "prune", "shift", "relu", "model", "images"),
    # Icarus simulates these designs at about a hundred cycles a second, so the no-IM2COL
    # baseline (the same array behind a simpler reader) runs on Verilator only.
    regression_designs={
        "accel_test": (_test_design(True), ("icarus", "verilator")),
        "accel_test_noim2c": (_test_design(False), ("verilator",)),
    },
)
