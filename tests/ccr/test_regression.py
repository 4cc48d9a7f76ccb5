"""The cocotb regression of generated CCR accelerators (:mod:`sparseforge.tb.ccr.regression`) on
Icarus and Verilator: SparseK on both simulators, the dense baseline on Icarus (the two share
every block but the kernel buffer's format and the coordinates' source).

Until the architecture registry lands, the designs are built here with cocotb's runner directly,
without the build cache of :mod:`sparseforge.tb.runner`.
"""

import json
import os

import pytest
from amaranth.back import verilog
from cocotb_tools.check_results import get_results
from cocotb_tools.runner import get_runner

from sparseforge.gen import toolchain
from sparseforge.gen.ccr.config import parse_ccr
from sparseforge.gen.ccr.presets import CCR_PRESETS
from sparseforge.hdl.ccr import CcrAccelerator
from sparseforge.tb.runner import icarus_time_zero_fix

SEED = int(os.environ.get("SPARSEFORGE_SEED", "1"))

RUNS = [("ccr_sparse_k_small", "icarus"), ("ccr_sparse_k_small", "verilator"),
        ("ccr_dense_small", "icarus")]


@pytest.mark.cocotb
@pytest.mark.parametrize("design, simulator", RUNS)
def test_regression(design, simulator, tmp_path, monkeypatch):
    cfg = parse_ccr(CCR_PRESETS[design][1], design)
    text = verilog.convert(CcrAccelerator(cfg), name=cfg.name, emit_src=False)
    src = tmp_path / f"{cfg.name}.v"
    kwargs = {}
    if simulator == "icarus":
        toolchain.require_iverilog()
        text = icarus_time_zero_fix(text)
    else:
        for key, value in toolchain.verilator_env().items():
            if key in ("VERILATOR_ROOT", "PATH"):
                monkeypatch.setenv(key, value)
        kwargs["build_args"] = ["-Wno-fatal"]
        monkeypatch.setenv("MAKEFLAGS", "CFG_CXXFLAGS_PCH_I=-include OPT_FAST=-O1 OPT_SLOW=-O0")
    src.write_text(text)
    runner = get_runner(simulator)
    build = tmp_path / "build"
    runner.build(sources=[src], hdl_toplevel=cfg.name, build_dir=build, timescale=("1ns", "1ps"),
                 **kwargs)
    xml = tmp_path / "results.xml"
    env = {"SPARSEFORGE_CONFIG": json.dumps(cfg.to_dict()), "SPARSEFORGE_SEED": str(SEED)}
    try:
        runner.test(test_module="sparseforge.tb.ccr.regression", hdl_toplevel=cfg.name,
                    build_dir=build, test_dir=tmp_path, results_xml=str(xml), extra_env=env,
                    hdl_toplevel_lang="verilog", timescale=("1ns", "1ps"), seed=SEED)
    except SystemExit:
        pass
    tests, failures = get_results(xml)
    assert tests == 2 and failures == 0, f"{design} on {simulator} (seed {SEED}): " \
                                         f"{failures} of {tests} cocotb tests failed"
