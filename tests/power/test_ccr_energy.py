"""CCR's energy hooks (all four designs): action counts against a step-by-step enumeration, the
SRAM buffers' enables, and the model's counts against the RTL's statistics registers.

The gate-level runs (model against gate level within 15 %, SparseK against dense) are in
``benchmarks/ccr_energy.py``.
"""

import re

import numpy as np
import pytest
from sparseforge.gen.ccr import energy as ccr_energy
from sparseforge.gen.emit import verilog_text
from sparseforge.gen.ccr.presets import CCR_PRESETS
from sparseforge.gen.config import parse_config
from sparseforge.gen.errors import InputError
from sparseforge.sim.ccr import layer as ccr_layer
from sparseforge.sim.ccr.actions import pass_actions

#: The regression's SparseK design (its Icarus build is shared with tb/ccr's regression).
TEST = {**CCR_PRESETS["ccr_sparse_k_small"][1], "buffers": {"ib_kb": 1, "kb_kb": 1, "ob_kb": 1},
        "name": "ccr_sparse_k_test"}


def enumerate_updates(variant, px, py, x, w, x0, y0, ho, wo):
    """OB bank updates, one step and one lane at a time (the scatter of Fig. 7 spelled out)."""
    k, c, r, s = w.shape
    hb, wb = -(-x.shape[1] // px), -(-x.shape[2] // py)
    updates = 0
    if variant == "sparse_i":
        # A non-zero input times each P_x × P_y tile of the rotated kernel, padding included.
        for kk in range(k):
            for cc, m, n in zip(*np.nonzero(x)):
                for i in range(-(-r // px) * px):
                    for j in range(-(-s // py) * py):
                        updates += 0 <= m - i - x0 < ho and 0 <= n - j - y0 < wo
        return updates
    if variant == "sparse_ki":
        # Every product of a non-zero weight and a non-zero input of its channel.
        for kk, cc, i, j in zip(*np.nonzero(w)):
            for m, n in zip(*np.nonzero(x[cc])):
                updates += 0 <= m - i - x0 < ho and 0 <= n - j - y0 < wo
        return updates
    for kk in range(k):
        for cc in range(c):
            for i in range(r):
                for j in range(s):
                    if variant == "sparse_k" and w[kk, cc, i, j] == 0:
                        continue
                    for bm in range(hb):
                        for bn in range(wb):
                            for p in range(px):
                                for q in range(py):
                                    u = bm * px + p - i - x0
                                    v = bn * py + q - j - y0
                                    updates += 0 <= u < ho and 0 <= v < wo
    return updates


@pytest.mark.parametrize("variant", ["dense", "sparse_k", "sparse_i", "sparse_ki"])
@pytest.mark.parametrize("pad", [0, 1, 2])
def test_ob_updates_equal_a_lane_by_lane_enumeration(variant, pad):
    seed = 7 + pad
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 4, (2, 5, 7))
    w = rng.integers(-2, 3, (3, 2, 3, 3)) * (rng.random((3, 2, 3, 3)) < 0.5)
    win = ccr_layer.window(5, 7, 3, 3, pad=pad)
    counts = pass_actions(variant, 2, 2, x, w, win.x0, win.y0, win.ho, win.wo)
    want = enumerate_updates(variant, 2, 2, x, w, win.x0, win.y0, win.ho, win.wo)
    assert counts["ob_update"] == counts["sram_ob_read"] == want, f"seed {seed}"
    words = 3 * -(-win.ho // 2) * -(-win.wo // 2)          # K · ⌈Ho/2⌉ · ⌈Wo/2⌉ per bank
    assert counts["clear"] == words
    assert counts["sram_ob_write"] == want + 4 * words
    assert counts["sram_ib_read"] == counts["sram_kb_read"] == counts["step"]
    if variant == "sparse_i":                              # each non-zero input × 2×2 tiles
        assert counts["step"] == 3 * np.count_nonzero(x) * 4, f"seed {seed}"
        return
    if variant == "sparse_ki":
        assert counts["coord"] == counts["mac"]
        return
    blocks = 3 * 4                                         # ⌈5/2⌉ × ⌈7/2⌉ input blocks
    nonzero = np.count_nonzero(w)
    assert counts["step"] == blocks * (w.size if variant == "dense" else nonzero), f"seed {seed}"


def test_sram_groups_of_the_buffers():
    cfg = parse_config(TEST)
    macros = ccr_energy.sram(cfg)
    assert sorted(m["group"] for m in macros) == ["ib", "kb", "ob", "ob", "ob", "ob"]
    text = verilog_text(cfg)
    for macro in macros:
        body = re.search(rf"^module \\{re.escape(macro['module'])}\s*\(.*?^endmodule",
                         text, re.S | re.M).group(0)
        inputs = re.findall(r"^\s*input\s+(?:\[[^]]*\]\s*)?\\?(\S+?)\s*;", body, re.M)
        assert {*macro["reads"], *macro["writes"]} <= set(inputs), (macro["module"], inputs)
    strided = ccr_layer.window(5, 5, 3, 3, pad=1, stride=2)
    x, w, _ = ccr_energy.random_layer(cfg, np.random.default_rng(1), 1, 5, 5, 1, 3, 3, 1, 1)
    with pytest.raises(InputError, match="stride 2"):
        ccr_energy.layer_job(cfg, x, w, strided)


@pytest.mark.parametrize("variant", ["sparse_k", "sparse_i", "sparse_ki"])
def test_model_counts_equal_the_rtl_statistics_registers(variant):
    from sparseforge.tb import runner

    # The regression's designs (their Icarus builds are shared with tb/ccr's regression).
    cfg = parse_config({**TEST, "variant": variant, "name": f"ccr_{variant}_test"})
    seed = 13
    x, w, win = ccr_energy.random_layer(cfg, np.random.default_rng(seed), 3, 6, 5, 2, 3, 3,
                                        0.4, 0.6)
    job = ccr_energy.layer_job(cfg, x, w, win)
    out = runner.run_job(cfg, "icarus", job.module, job.inputs, message="layer", seed=seed)
    assert job.check(out) is None, f"seed {seed}"
    probed = job.probes(out, {})
    counts = job.actions(int(np.sum(out["cycles"])))
    assert {a: counts[a] for a in probed} == probed, f"seed {seed}"
