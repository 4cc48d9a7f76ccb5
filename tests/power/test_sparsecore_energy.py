"""SparseCore's energy hooks: action counts by hand, the dense reading of activations, the SRAM
macros' enables, and the model's counts against the RTL's statistics registers.

The gate-level runs (model against gate level within 15 %, the dense comparison) are in
``benchmarks/sparsecore_energy.py``; here one small layer runs on the RTL (Icarus) so the counts
the energy model prices are checked equal to what the design counted itself.
"""

import fnmatch
import re

import numpy as np
from sparseforge.gen.config import parse_config
from sparseforge.gen.sparsecore import energy as sc_energy
from sparseforge.sim.sparsecore import format as kmf
from sparseforge.sim.sparsecore.actions import layer_actions
from sparseforge.sim.sparsecore.cycles import LayerShape

TINY = {"arch": "sparsecore", "name": "sc_hooks", "pes": 2, "alus_per_pe": 2, "k": 2, "m": 4,
        "band_rows": 1, "requant_lanes": 1,
        "limits": {"h": 6, "w": 6, "c": 8, "k": 8, "kernel": 3},
        "memories": {"act_kib": 1, "weight_kib": 1, "acc_kib": 1}}


def test_actions_of_a_pointwise_layer_by_hand():
    # 1×1 kernel, stride 1: a unit (one output row, one chunk of 4 channels) fetches one pointer
    # per segment of its input row and makes one job per non-zero activation of the row.
    cfg = parse_config(TINY)
    shape = LayerShape(3, 3, 8, 8, 1, 1)            # two segments, two chunks, three bands
    act = np.zeros((8, 3, 3), dtype=np.int64)
    act[0, 0, 0] = act[5, 0, 2] = act[7, 2, 1] = 3  # row 0: one entry per segment; row 2: one
    counts = layer_actions(cfg, shape, kmf.compress_acts(act, cfg.chunk), 100)
    units = 3 * 2                                   # bands × chunks
    assert counts["unit"] == units
    assert counts["pair"] == units * 2              # one input row × two segments per unit
    assert counts["entry"] == counts["job"] == 2 * 3      # each chunk reads every entry once
    assert counts["pp_read"] == counts["beat"] == units * 3   # three pixels a row
    assert counts["pp_step"] == units * 3 * 4       # four channels, one requantizer
    assert counts["sram_accbuf_read"] == 6 + 18 and counts["sram_accbuf_write"] == 6
    assert counts["sram_weights_read"] == 6 and counts["sram_requant_read"] == 72
    assert counts["cycle"] == 100 and counts["pe_cycle"] == 200
    dense = layer_actions(cfg, shape, kmf.dense_acts(act, cfg.chunk), 100)
    assert dense["entry"] == dense["job"] == 2 * act.size     # zeros read too
    assert dense["pair"] == counts["pair"] and dense["beat"] == counts["beat"]


def test_more_chunks_than_pes_run_and_count_in_passes():
    # Four chunks on two PEs (a network layer on a dense baseline's narrower chunks): two passes
    # of two chunks, one after the other, so twice the counts and cycles of two chunks.
    cfg = parse_config(TINY)
    rng = np.random.default_rng(7)
    act = rng.integers(-4, 4, (8, 5, 6))
    act[rng.random(act.shape) < 0.4] = 0
    store = kmf.compress_acts(act, cfg.chunk)
    half, full = (LayerShape(5, 6, 8, k, 3, 3, 1, 1) for k in (2 * cfg.chunk, 4 * cfg.chunk))
    one = layer_actions(cfg, half, store, 10)
    two = layer_actions(cfg, full, store, 10)
    for action in ("unit", "pe_busy", "pair", "entry", "job", "pp_read", "pp_step", "beat"):
        assert two[action] == 2 * one[action] > 0, action
    assert sc_energy.model_cycles(cfg, full, store) == 2 * sc_energy.model_cycles(cfg, half,
                                                                                  store)


def test_dense_acts_lists_every_position_with_its_value():
    rng = np.random.default_rng(5)
    act = rng.integers(-4, 4, (5, 3, 4))
    act[rng.random(act.shape) < 0.5] = 0
    store = kmf.dense_acts(act, 4)
    assert store.entries == act.size
    assert np.array_equal(kmf.decompress_acts(store), act)
    assert np.all(store.count == np.array([[16, 4]] * 3))       # 4 channels × 4 columns, 1 × 4
    assert np.any(store.value == 0)


def test_dense_baseline_is_the_same_array_at_k_equal_m():
    cfg = parse_config(TINY)
    base = sc_energy.dense_baseline(cfg)
    assert (base.pes, base.alus_per_pe, base.k, base.m) == (2, 2, 2, 2)
    assert base.chunk == base.alus_per_pe and base.max_k <= base.pes * base.chunk
    paper = parse_config({**TINY, "alus_per_pe": 16, "requant_lanes": 4, "limits": {"k": 64}})
    base = sc_energy.dense_baseline(paper)
    assert (base.alus_per_pe, base.k, base.m, base.requant_lanes) == (16, 4, 4, 4)


def test_sram_macros_and_left_out_requantizers_are_modules_of_the_design():
    from sparseforge.gen.emit import verilog_text

    cfg = parse_config(TINY)
    text = verilog_text(cfg)
    macros = sc_energy.sram(cfg)
    assert sorted({m["group"] for m in macros}) == ["accbuf", "entries", "pointers", "requant",
                                                     "weights"]
    for macro in macros:
        body = re.search(rf"^module \\{re.escape(macro['module'])}\s*\(.*?^endmodule",
                         text, re.S | re.M).group(0)
        inputs = re.findall(r"^\s*input\s+(?:\[[^]]*\]\s*)?\\?(\S+?)\s*;", body, re.M)
        reads = [p for p in inputs for g in macro["reads"] if fnmatch.fnmatchcase(p, g)]
        writes = [p for p in inputs for g in macro["writes"] if fnmatch.fnmatchcase(p, g)]
        # One read enable per read port (the activation memory serves every PE), one write.
        ports = cfg.pes if macro["group"] in ("entries", "pointers") else 1
        assert len(reads) == ports and len(writes) == 1, (macro["module"], inputs)
    # The requantizers the energy figures leave out are modules of the design: one per lane.
    left_out = sc_energy.excluded(cfg)
    assert len(left_out) == cfg.pes * cfg.requant_lanes
    for module in left_out:
        assert re.search(rf"^module \\{re.escape(module)}\s*\(", text, re.M), module


def test_model_counts_equal_the_rtl_statistics_registers():
    from sparseforge.gen.sparsecore.presets import preset
    from sparseforge.tb import runner

    cfg = preset("sparsecore_small")        # the regression's design: its Icarus build is shared
    seed = 11
    rng = np.random.default_rng(seed)
    shape = LayerShape(4, 3, 12, 16, 3, 1, 1, 0)     # two segments, two chunks on three PEs
    act, weights, shift = sc_energy.random_layer(cfg, rng, shape, 0.4)
    job = sc_energy.layer_job(cfg, shape, act, weights, shift)
    out = runner.run_job(cfg, "icarus", job.module, job.inputs, message="layer", seed=seed)
    assert job.check(out) is None, f"seed {seed}"
    probed = job.probes(out, {})
    counts = job.actions(int(out["cycles"]))
    assert set(probed) == {"job", "unit", "pe_busy", "beat"}
    assert {a: counts[a] for a in probed} == probed, f"seed {seed}"
