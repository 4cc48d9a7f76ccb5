"""The systolic tensor array family (``arch: sta``): SA, STA, STA-DBB and STA-VDBB GEMM engines.

Liu, Whatmough, Mattina, *Sparse Systolic Tensor Array for Efficient CNN Hardware Acceleration*,
Sections III–IV-A.
"""

from ..registry import Architecture
from .config import StaConfig, parse_sta, sta_to_dict
from .presets import STA_PRESETS

__all__ = ["ARCH"]

ARCH = Architecture(
    name="sta",
    summary="a GEMM engine of the systolic tensor array family",
    config=StaConfig,
    parse=parse_sta,
    to_dict=sta_to_dict,
    presets=STA_PRESETS,
    top="sparseforge.hdl.sta:StaEngine",
    golden="sparseforge.sim.gemm",
    cycles="sparseforge.sim.sta.cycles",
    regression="sparseforge.tb.sta.regression",
    soak="sparseforge.tb.sta.soak",
    run="sparseforge.gen.sta.run:run_cli",
    run_options=("gemm", "nnz", "act_density", "act", "weights", "prune", "model_only",
                 "energy"),
    demo="sparseforge.gen.sta.demo:run_demo",
    power="sparseforge.gen.sta.energy:HOOKS",
    regression_designs={
        # Icarus runs one design of each kind and each pipelining (the paper's three examples,
        # the odd SA, the single VDBB PE, the pipelined VDBB); the other four, each a variant of
        # a kind Icarus already runs, are Verilator only (the suite's time, make test).
        # The paper's examples (Fig. 6, 7).
        "vdbb_2x8x4_2x2": (STA_PRESETS["vdbb_2x8x4_2x2"][1], ("icarus", "verilator")),
        "dbb_2x4x2_2x2": (STA_PRESETS["dbb_2x4x2_2x2"][1], ("icarus", "verilator")),
        "sta_2x4x2_2x2": (STA_PRESETS["sta_2x4x2_2x2"][1], ("icarus", "verilator")),
        # Every design below wraps its accumulators in the regression's extreme-value test
        # (tb/sta/cases.py: wrap_k), which asserts that some exact sums left the range.
        # A classic SA with an odd shape, gating on, 18-bit accumulators (wrap after 9 terms).
        "sa_3x2_acc18": ({"arch": "sta", "kind": "sa", "array": {"m": 3, "n": 2},
                          "widths": {"acc": 18}}, ("icarus", "verilator")),
        # One PE: a VDBB TPE with a non-power-of-two block of 6 and a 3-row, 1-column tile; its
        # 24-bit accumulators wrap after 513 INT8 products of -128 x -128 (516 steps). Its drain
        # delivers the tile's three rows in one beat from two result banks.
        "vdbb_3x6x1_1x1": ({"arch": "sta", "kind": "vdbb", "tpe": {"a": 3, "b": 6, "c": 1},
                            "array": {"m": 1, "n": 1}, "widths": {"acc": 24},
                            "drain": {"rows": 3, "banks": 2}},
                           ("icarus", "verilator")),
        # Fixed DBB with 3 of 8 MACs on a tall array, narrow operands, 20-bit accumulators
        # (wrap after 1,025 products of -32 x -16: 342 steps).
        "dbb_1x8x3_3x1": ({"arch": "sta", "kind": "dbb", "tpe": {"a": 1, "b": 8, "c": 3},
                           "array": {"m": 3, "n": 1}, "dbb_macs": 3,
                           "widths": {"act": 6, "weight": 5, "acc": 20}},
                          ("verilator",)),
        # Dense STA with B = 3 on a wide array, 16-bit operands: its 32-bit accumulators wrap
        # after 3 products (INT8 operands would need 131,073; the presets above do not wrap).
        "sta_3x3x2_1x3": ({"arch": "sta", "kind": "sta", "tpe": {"a": 3, "b": 3, "c": 2},
                           "array": {"m": 1, "n": 3},
                           "widths": {"act": 16, "weight": 16, "acc": 32}},
                          ("verilator",)),
        # Pipelined MACs (clock speed): results come one or two cycles later, cycle-exact.
        # An SA with its product registered, gating on, 18-bit accumulators.
        "sa_2x3_pipe_acc18": ({"arch": "sta", "kind": "sa", "array": {"m": 2, "n": 3},
                               "widths": {"acc": 18}, "pipeline": {"product": True}},
                              ("verilator",)),
        # VDBB with mux and product registered, two result banks, 20-bit accumulators (wrap
        # after 33 products of -128 x -128: 36 steps).
        "vdbb_2x4x2_2x1_pipe": ({"arch": "sta", "kind": "vdbb", "tpe": {"a": 2, "b": 4, "c": 2},
                                 "array": {"m": 2, "n": 1}, "widths": {"acc": 20},
                                 "drain": {"banks": 2},
                                 "pipeline": {"mux": True, "product": True}},
                                ("icarus", "verilator")),
        # Fixed DBB (2 of 4 MACs) with only its muxes registered, 20-bit accumulators.
        "dbb_1x4x2_1x2_pipe": ({"arch": "sta", "kind": "dbb", "tpe": {"a": 1, "b": 4, "c": 2},
                                "array": {"m": 1, "n": 2}, "dbb_macs": 2,
                                "widths": {"acc": 20}, "pipeline": {"mux": True}},
                               ("verilator",)),
    },
)
