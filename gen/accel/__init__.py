"""The VDBB accelerator (``arch: accel``): an STA engine behind IM2COL, SRAMs and an output stage.

Liu, Whatmough, Mattina, *Sparse Systolic Tensor Array*, Section IV, Fig. 5 and Fig. 8.
"""

from ..registry import Architecture, RunOption
from .config import AccelConfig, accel_to_dict, parse_accel
from .presets import ACCEL_PRESETS

__all__ = ["ARCH"]


def _test_design(im2col):
    """accel_small's array (64 MACs, 8-pixel tiles) with SRAMs just big enough for the
    regression's layers, so the simulators compile fewer SRAM words."""
    return {"arch": "accel", "array": {"kind": "vdbb", "tpe": {"a": 2, "b": 8, "c": 4},
                                       "array": {"m": 4, "n": 2}},
            "sram": {"act_kb": 16, "weight_kb": 16}, "im2col": im2col}


def _blox_test_design(base=None):
    """The Sparse-Blox RTL tests' design: a 2×4×2_2×4 VDBB array (4-pixel tiles of 8 channels,
    so the pruner decides two 4-channel blocks a tile) with small SRAMs (16 KB of weights: the
    digits CNN at 2/8) and a 12-position cache, so a layer of 96 blocks fills it; or Sparse-Blox
    on ``base``, another accelerator design."""
    small = {"arch": "accel", "im2col": True,
             "array": {"kind": "vdbb", "tpe": {"a": 2, "b": 4, "c": 2},
                       "array": {"m": 2, "n": 4}},
             "sram": {"act_kb": 8, "weight_kb": 16, "act_banks": 8}}
    return {**(base or small), "sparseblox": {"capacity": 12}, "name": "accel_blox_test"}


def _engine_design(array, act_kb, weight_kb):
    """A small accelerator around another engine kind: 16 banks so every regression kernel has
    an IM2COL window, SRAMs just big enough for the regression's layers."""
    return {"arch": "accel", "array": array,
            "sram": {"act_kb": act_kb, "weight_kb": weight_kb, "act_banks": 16}}


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
    soak="sparseforge.tb.accel.soak",
    run="sparseforge.gen.accel.run:run_cli",
    network="sparseforge.gen.accel.network:accel_target",
    power="sparseforge.gen.accel.energy:HOOKS",
    run_options=("conv", "layer", "network", "model_only", "rtl_layers", "nnz", "act_density",
                 "act", "weights", "prune", "shift", "relu", "model", "images",
                 RunOption(("--densities",),
                           {"metavar": "FILE",
                            "help": "--network: a YAML/JSON map of layer to NNZ (the others at "
                                    "--nnz, the first layer at B/B unless the file names it)"}),
                 "thresholds", "threshold", "energy",
                 RunOption(("--dma-bytes",),
                           {"type": int, "metavar": "N",
                            "help": "--model-only/--network: the DMA rate in bytes a cycle for "
                                    "layers larger than the SRAMs, run as time tiles (default "
                                    "8: a 64-bit AXI master)"})),
    # Icarus simulates the VDBB test design at about eighty cycles a second (its regression took
    # over two minutes there), so the accelerator runs on Icarus with the smallest engine, the
    # SA 4×2 (the same tests in under half the time); the VDBB accelerator runs on Icarus in
    # the Sparse-Blox RTL tests, and every engine kind in the STA regression.
    regression_designs={
        "accel_test": (_test_design(True), ("verilator",)),
        # A classic SA (B = 1: one channel per SRAM word) behind IM2COL.
        "accel_sa_test": (_engine_design({"kind": "sa", "array": {"m": 4, "n": 2}}, 8, 4),
                          ("verilator", "icarus")),
        # A dense STA with 16-bit weights: 128·32768 per product, so 32-bit accumulators wrap
        # after 513 products (the regression's extreme-value layer asserts that they do).
        "accel_sta_w16_test": (_engine_design(
            {"kind": "sta", "tpe": {"a": 1, "b": 4, "c": 2}, "array": {"m": 2, "n": 2},
             "widths": {"weight": 16}}, 8, 24), ("verilator",)),
        # Fixed DBB with 3 of 4 MACs per sparse dot product (4/4 runs in two steps a block),
        # with two result banks per TPE and two result rows a cycle (the output stage's second
        # write port), and pipelined MACs (mux and product registered: every result row two
        # cycles later, which the engine's cycle model adds).
        "accel_dbb_test": (_engine_design(
            {"kind": "dbb", "tpe": {"a": 2, "b": 4, "c": 2}, "array": {"m": 2, "n": 2},
             "dbb_macs": 3, "drain": {"rows": 2, "banks": 2},
             "pipeline": {"mux": True, "product": True}}, 8, 8), ("verilator",)),
    },
)
