"""The cocotb regression of every registered architecture, on the simulators each design names.

Each architecture's descriptor (:mod:`sparseforge.gen.registry`) lists the designs its regression
runs on in the test suite (``regression_designs``) and its cocotb module (``regression``): the STA
engines of every kind, the paper's examples, one PE, odd block sizes and narrow accumulators; the
VDBB accelerator with and without IM2COL; SCNN's 2×2 array and the Table 3 PE. Where a design is
too slow on Icarus, the descriptor names Verilator only and a smaller design of the same
architecture covers Icarus (the README says which).

Every design's Verilog is also linted (Verilator ``-Wall`` with the documented waivers): these are
the designs small enough to simulate in the suite, so each simulated design is a linted one.

Every design runs with one seed on each of its simulators: ``$SPARSEFORGE_SEED`` when the variable
is set, else a fresh one, so every run of the suite draws new random layers (``make soak`` runs
thousands). The seed is printed, and a failure prints the command that reproduces it.
"""

import os

import pytest

from sparseforge.gen import registry
from sparseforge.gen.config import parse_config
from sparseforge.gen.lint import lint_verilog
from sparseforge.tb import runner

RUNS = [(arch.name, design, raw, simulator)
        for arch in registry.architectures().values()
        for design, (raw, simulators) in arch.regression_designs.items()
        for simulator in simulators]


def simulators_of(arch, design):
    return registry.get(arch).regression_designs[design][1]


def _seeds(simulator):
    given = os.environ.get("SPARSEFORGE_SEED")
    return [int(given) if given else runner.fresh_seed()]


@pytest.mark.cocotb
@pytest.mark.parametrize("arch, design, raw, simulator", RUNS,
                         ids=[f"{a}-{d}-{s}" for a, d, _, s in RUNS])
def test_regression(arch, design, raw, simulator, tmp_path, request):
    cfg = parse_config({**raw, "name": design})
    log = tmp_path / "sim.log"
    bld = runner.build(cfg, simulator, log=log)
    if simulator == simulators_of(arch, design)[0]:
        lint = lint_verilog(bld.verilog_path, design)
        assert lint.ok, "\n".join(lint.warnings)
    for seed in _seeds(simulator):
        print(f"{design} on {simulator}: seed {seed}")
        tests, failures, _ = runner.run_module(bld, registry.get(arch).regression, seed=seed,
                                               log=log, results_dir=tmp_path)
        if failures or tests < 4:
            lines = log.read_text().splitlines()
            failing = [line for line in lines
                       if "FAIL" in line or "Error" in line or "assert" in line]
            pytest.fail(f"{design} on {simulator} (seed {seed}): {failures} of {tests} cocotb "
                        f"tests failed; reproduce with:\n  SPARSEFORGE_SEED={seed} "
                        f"python -m pytest '{request.node.nodeid}'\n" +
                        "\n".join(failing[-40:] or lines[-40:]))
