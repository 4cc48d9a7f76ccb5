"""SparseCore's RTL at every k/m of the issue, on Icarus and Verilator.

    .venv/bin/python benchmarks/sparsecore_rtl.py [--json benchmarks/results/sparsecore_rtl.json]

Four designs shaped like ``sparsecore_small`` (3 PEs, bands of two rows, 9×9×12 inputs) at
k/m = 1/4, 2/4, 2/8 and 4/8 (ALUs = 2·k, so chunks of 2·m channels) run the cocotb regression
(:mod:`sparseforge.tb.sparsecore.regression`) on both simulators, with its densities test at every
activation density from 0.1 to 1.0: each layer bit-exact (compressed output and decoded plane)
and, without back-pressure, cycle-exact against the cycle model.
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

from sparseforge.gen.sparsecore.config import parse_sparsecore
from sparseforge.gen.sparsecore.presets import SMALL
from sparseforge.tb import runner

KMS = [(1, 4), (2, 4), (2, 8), (4, 8)]
DENSITIES = "0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1.0"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", default="benchmarks/results/sparsecore_rtl.json")
    args = ap.parse_args(argv)
    rows = []
    for k, m in KMS:
        raw = dict(SMALL, name=f"sparsecore_k{k}m{m}", k=k, m=m, alus_per_pe=2 * k,
                   requant_lanes=m, limits=dict(SMALL["limits"], k=4 * m))
        cfg = parse_sparsecore(raw, raw["name"])
        for simulator in runner.SIMULATORS:
            with tempfile.TemporaryDirectory() as tmp:
                start = time.monotonic()
                bld = runner.build(cfg, simulator, log=Path(tmp) / "build.log")
                tests, failures, _ = runner.run_module(
                    bld, "sparseforge.tb.sparsecore.regression", results_dir=tmp, seed=1,
                    log=Path(tmp) / "sim.log", extra_env={"SPARSEFORGE_DENSITIES": DENSITIES})
                row = {"km": f"{k}/{m}", "simulator": simulator, "tests": tests,
                       "failures": failures, "seconds": round(time.monotonic() - start, 1)}
                print(row, flush=True)
                rows.append(row)
    print("| k/m | Icarus | Verilator |\n| --- | --- | --- |")
    for k, m in KMS:
        cells = [r for r in rows if r["km"] == f"{k}/{m}"]
        print(f"| {k}/{m} | " + " | ".join(
            f"{r['tests'] - r['failures']}/{r['tests']} passed" for r in cells) + " |")
    Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
