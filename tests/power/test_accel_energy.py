"""The VDBB accelerator's energy hooks: action counts by hand, the SRAM macros' enables, the
window of a layer, and the model's counts against the RTL's statistics registers.

The gate-level runs (model against gate level within 15 %, IM2COL against the direct reader) are
in ``benchmarks/accel_energy.py``; here one tiny layer runs on the RTL (Icarus) so the counts the
energy model prices are checked equal to what the design counted itself.
"""

import fnmatch
import re
from types import SimpleNamespace

import numpy as np
from sparseforge.gen.accel import energy as accel_energy
from sparseforge.gen.config import parse_config
from sparseforge.sim.accel import plan as accel_plan
from sparseforge.sim.accel.actions import reader_actions

#: The benchmark's design (benchmarks/accel_energy.py): 2×2 TPEs of 2×4×2, IM2COL, 8 banks.
TINY = {"arch": "accel", "name": "accel_tiny",
        "array": {"kind": "vdbb", "tpe": {"a": 2, "b": 4, "c": 2}, "array": {"m": 2, "n": 2}},
        "sram": {"act_kb": 4, "weight_kb": 1, "quant_channels": 0},
        "im2col": {"window": [4, 4]}}


def test_reader_counts_of_a_pointwise_layer_by_hand():
    cfg = parse_config(TINY)
    # 1×1 kernel on a 4×4×8 map, K = 4: patch 1×4 (a 1-row window), 4 patches, 2 channel blocks.
    plan = accel_plan.plan_layer(cfg, 4, 4, 8, 4, 1, 1, nnz=4, int8_out=True)
    assert (plan.ph, plan.pw, plan.reader) == (1, 4, "im2col")
    counts = reader_actions(plan)
    assert counts["window"] == 4 * 2                    # patches × channel blocks, 1 column tile
    assert counts["im2col_fill_row"] == 8               # one row each
    assert counts["act_read"] == 4 * 4 * 2              # every word once
    assert counts["im2col_latch"] == 8 and counts["im2col_shift"] == 0
    assert counts["beats"] == 8 and counts["direct_beat"] == 0
    assert counts["out_row"] == 4 * 4                   # four tiles of four rows
    direct = accel_plan.plan_layer(cfg, 4, 4, 8, 4, 1, 1, nnz=4, int8_out=True, direct=True)
    counts = reader_actions(direct)
    assert counts["direct_beat"] == counts["beats"] == 8 and counts["window"] == 0
    assert counts["act_read"] == 32                     # 1×1: no element read twice


def test_a_3x3_layer_reads_each_word_once_per_window_with_im2col():
    cfg = parse_config(TINY)
    plan = accel_plan.plan_layer(cfg, 4, 4, 4, 4, 3, 3, pad=1, nnz=2, int8_out=True)
    assert (plan.ph, plan.pw) == (2, 2) and plan.window == (4, 4)
    counts = reader_actions(plan)
    # Four 2×2 patches, each a 4×4 window of which 3×3 words lie inside the 4×4 image.
    assert counts["act_read"] == 4 * 9
    assert counts["im2col_latch"] == 4 * 3 and counts["im2col_shift"] == 4 * 3 * 2
    direct = reader_actions(accel_plan.plan_layer(cfg, 4, 4, 4, 4, 3, 3, pad=1, nnz=2,
                                                  int8_out=True, direct=True))
    # Every in-image tap of every output pixel: rows 2,3,3,2 × columns 2,3,3,2 = 100.
    assert direct["act_read"] == 100


def test_sram_macros_are_modules_of_the_design_with_their_enables():
    from sparseforge.gen.emit import verilog_text

    cfg = parse_config(TINY)
    text = verilog_text(cfg)
    macros = accel_energy.sram(cfg)
    assert sorted({m["group"] for m in macros}) == ["act", "weights"]
    assert len(macros) == 2 * cfg.act_banks + 2
    for macro in macros:
        body = re.search(rf"^module \\{re.escape(macro['module'])}\s*\(.*?^endmodule",
                         text, re.S | re.M).group(0)
        inputs = re.findall(r"^\s*input\s+(?:\[[^]]*\]\s*)?\\?(\S+?)\s*;", body, re.M)
        reads = [p for p in inputs for g in macro["reads"] if fnmatch.fnmatchcase(p, g)]
        writes = [p for p in inputs for g in macro["writes"] if fnmatch.fnmatchcase(p, g)]
        assert len(reads) == 1 and len(writes) == 1, (macro["module"], inputs)


def test_layer_window_is_the_start_write_to_done():
    n = 12
    values = {name: [0] * n for name in ("s_axil__awvalid", "s_axil__awready",
                                          "s_axil__wvalid", "s_axil__wready", "s_axil__awaddr",
                                          "s_axil__wdata", "done")}
    for name in ("s_axil__awvalid", "s_axil__awready", "s_axil__wvalid", "s_axil__wready"):
        values[name][2] = values[name][4] = 1
    values["s_axil__awaddr"][2], values["s_axil__wdata"][2] = 0x20, 1    # another register
    values["s_axil__awaddr"][4], values["s_axil__wdata"][4] = 0x00, 1    # start
    values["done"][9:] = [1] * 3
    values["done"][1] = 1                  # an earlier layer's done, before the start write
    trace = SimpleNamespace(values=values)
    assert accel_energy.layer_window(trace, 0) == (4, 5)


def test_model_counts_equal_the_rtl_statistics_registers():
    from sparseforge.tb import runner

    cfg = parse_config(TINY)
    seed = 7
    rng = np.random.default_rng(seed)
    plan = accel_plan.plan_layer(cfg, 5, 4, 6, 6, 3, 3, pad=1, nnz=2, int8_out=True)
    x, w, shift = accel_energy.random_layer(cfg, rng, plan, 0.6)
    job = accel_energy.layer_job(cfg, plan, x, w, shift=shift)
    out = runner.run_job(cfg, "icarus", job.module, job.inputs, message="layer", seed=seed)
    assert job.check(out) is None, f"seed {seed}"
    probed = job.probes(out, {})
    counts = job.actions(int(out["cycles"]))
    assert {a: counts[a] for a in probed} == probed, f"seed {seed}"


def test_pruning_layer_counts_equal_the_rtl_statistics_registers():
    from sparseforge.sim import conv
    from sparseforge.tb import runner

    cfg = parse_config({**TINY, "name": "accel_tiny_blox", "sparseblox": {"capacity": 64}})
    seed = 9
    rng = np.random.default_rng(seed)
    plan = accel_plan.plan_layer(cfg, 4, 6, 4, 8, 3, 3, pad=1, nnz=3, int8_out=True)
    x, w, shift = accel_energy.random_layer(cfg, rng, plan, 0.5)
    y = conv.requantize(conv.conv2d(x, w, 1, 1, cfg.array.acc_width), shift, False)
    raw = accel_energy.median_threshold(cfg, plan, y, 0.5)
    job = accel_energy.layer_job(cfg, plan, x, w, shift=shift, blox=raw)
    out = runner.run_job(cfg, "icarus", job.module, job.inputs, message="layer", seed=seed)
    assert job.check(out) is None, f"seed {seed}"
    probed = job.probes(out, {})
    counts = job.actions(int(out["cycles"]))
    assert set(probed) == {"act_read", "beats", "cycle", "blox_cached", "blox_refused"}
    assert {a: counts[a] for a in probed} == probed, f"seed {seed}"
    assert counts["blox_cached"] > 0
    # The pruned words are not written: SRAM writes = words produced − the cached blocks'.
    plain = accel_energy.layer_job(cfg, plan, x, w, shift=shift).actions(int(out["cycles"]))
    assert plain["sram_act_write"] - counts["sram_act_write"] > 0
    assert counts["flag_write"] == plain["flag_write"] == plain["out_word"]


def test_calibration_design_keeps_the_tpe_and_reader_in_a_smaller_array():
    from sparseforge.gen.accel.presets import ACCEL_PRESETS

    for name in ("accel_small", "accel_small_noim2c", "accel_small_blox", "accel_paper"):
        cfg = parse_config({**ACCEL_PRESETS[name][1], "name": name})
        cal = accel_energy.calibration_design(cfg)
        a, c = cfg.array, cal.array
        assert (c.kind, c.a, c.b, c.c, c.act_zero_gating) == (a.kind, a.a, a.b, a.c,
                                                             a.act_zero_gating)
        assert (c.m, c.n) == (min(a.m, 2), min(a.n, 2)) and cal.name == f"{name}_cal"
        assert (cal.im2col, cal.act_banks, cal.window_rows, cal.window_cols) == \
            (cfg.im2col, cfg.act_banks, cfg.window_rows, cfg.window_cols)
        assert cal.quant_channels == 0 and cal.act_kb <= cfg.act_kb
        assert (cal.sparseblox is None) == (cfg.sparseblox is None)
        if cal.sparseblox is not None:
            assert cal.sparseblox.capacity == 64
    tiny = parse_config(TINY)
    assert accel_energy.calibration_design(tiny) == tiny      # its own calibration design


def test_energy_of_a_pruning_layer_refused_with_model_only(capsys):
    from sparseforge.gen.cli import main

    assert main(["run", "accel_small_blox", "--conv", "4,4,8,8,3,3,1,1", "--shift", "0",
                 "--threshold", "1", "--model-only", "--energy"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--threshold: not allowed with --model-only --energy" in err
