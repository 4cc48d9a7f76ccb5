"""SCNN's energy hooks: action counts worked by hand, the SRAM macros' enables in the Verilog, and
the model's counts against the RTL's statistics registers.

The model's SRAM counts against the SRAM enables of gate-level runs, and the model against gate
level within 15 %, are in ``benchmarks/scnn_energy.py`` (each gate-level run takes about a
minute).
"""

import re

import numpy as np
import pytest
from sparseforge.gen.config import parse_config
from sparseforge.gen.emit import verilog_text
from sparseforge.gen.errors import InputError
from sparseforge.gen.scnn import energy as scnn_energy
from sparseforge.gen.scnn.presets import SCNN_PRESETS
from sparseforge.sim.scnn.actions import emitted_entries, oaram_writes, ppu_writes_per_channel

#: The regression's design (its Icarus build is shared with tb/scnn's regression).
TEST = {**SCNN_PRESETS["scnn_2x2_small"][1], "name": "scnn_2x2_small"}


def test_emitted_entries_count_placeholders_by_hand():
    # 2-bit indices: at most 3 zeros between entries, so every 4th zero of a run is a placeholder.
    assert emitted_entries([0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0], 2) == 4   # 1 + 5 + 2 trailing
    assert emitted_entries([1, 2, 3], 2) == 3
    assert emitted_entries([0, 0, 0], 2) == 0
    assert emitted_entries([0] * 7 + [9], 4) == 1          # 4-bit indices: up to 15 zeros


def test_oaram_writes_by_hand():
    cfg = parse_config(TEST)                               # I = 2, 64 OARAM rows
    # Block 1: values 5, 6, 7 then zeros: 3 emitted + 1 trailing placeholder (4 zeros, 2-bit
    # indices) = 4 entries, 2 full rows; count 3 needs 2 rows, both written while compressing.
    # Block 2: one value then 2 zeros: 1 entry, no full row; the flush writes its row.
    # Block 3: all zero: nothing emitted, count 0, nothing written.
    blocks = [([5, 6, 7, 0, 0, 0, 0], 3), ([4, 0, 0], 1), ([0, 0, 0], 0)]
    assert oaram_writes(cfg, blocks) == 2 + 1 + 0


def test_ppu_writes_per_channel_by_hand():
    cfg = parse_config(TEST)                               # 3-wide, 5-high tiles
    # 1×1: compression only, 15 elements cleared.
    assert ppu_writes_per_channel(cfg, 1, 1) == 15
    # 3×3: x exchange over 5 + 2 rows, each 1 + 1 halo columns and 2 tile columns; y exchange
    # 4 cycles of 3 columns; compression 15.
    assert ppu_writes_per_channel(cfg, 3, 3) == 7 * 4 + 12 + 15
    # 5×5 on a 3-wide tile: halo 2 + 2 columns, tile columns 0, 1, 2 (min(4, 3)).
    assert ppu_writes_per_channel(cfg, 5, 5) == 9 * 7 + 8 * 3 + 15


def test_sram_groups_and_sparseblox_refused():
    cfg = parse_config({**TEST, "pes": {"x": 1, "y": 1}, "name": "scnn_one_pe"})
    macros = scnn_energy.sram(cfg)
    groups = sorted({m["group"] for m in macros})
    assert groups == ["acc", "alist", "counts", "iaram", "oaram", "wbuf", "wqueue"]
    assert sum(m["group"] == "acc" for m in macros) == 2 * cfg.banks
    text = verilog_text(cfg)
    for macro in macros:
        body = re.search(rf"^module \\{re.escape(macro['module'])}\s*\(.*?^endmodule",
                         text, re.S | re.M).group(0)
        inputs = re.findall(r"^\s*input\s+(?:\[[^]]*\]\s*)?\\?(\S+?)\s*;", body, re.M)
        assert {*macro["reads"], *macro["writes"]} <= set(inputs), (macro["module"], inputs)
    blox = parse_config({**SCNN_PRESETS["scnn_2x2_small_blox"][1], "name": "blox"})
    act, weights = scnn_energy.random_layer(blox, np.random.default_rng(1), 1, 4, 4, 2, 3, 3,
                                            1, 1)
    with pytest.raises(InputError, match="Sparse-Blox, which has no energy model"):
        scnn_energy.layer_job(blox, act, weights)


def test_model_counts_equal_the_rtl_statistics_registers():
    from sparseforge.tb import runner

    cfg = parse_config(TEST)
    seed = 25                                              # a layer with crossbar stalls
    act, weights = scnn_energy.random_layer(cfg, np.random.default_rng(seed), 1, 6, 4, 2, 5, 3,
                                            0.8, 0.9)
    job = scnn_energy.layer_job(cfg, act, weights)
    out = runner.run_job(cfg, "icarus", job.module, job.inputs, message="layer", seed=seed)
    assert job.check(out) is None, f"seed {seed}"
    probed = job.probes(out, {})
    counts = job.actions(probed["cycle"])
    assert probed["stall"] > 0
    assert {a: counts[a] for a in probed} == probed, f"seed {seed}"


@pytest.mark.parametrize("argv, message", [
    (["scnn_digits", "--model", "digits_cnn", "--model-only", "--energy"],
     "--energy: not allowed with --model"),
    (["scnn_2x2_small_blox", "--conv", "6,4,1,2,3,3", "--energy"],
     "--energy: not allowed for scnn_2x2_small_blox: Sparse-Blox designs have no energy model"),
])
def test_run_energy_refusals(capsys, argv, message):
    from sparseforge.gen.cli import main

    assert main(["run", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
