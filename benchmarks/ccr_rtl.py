"""CCR's RTL in every design of Table I, on Icarus and Verilator.

    .venv/bin/python benchmarks/ccr_rtl.py [--json benchmarks/results/ccr_rtl.json]

The dense baseline, SparseK, SparseI and SparseKI, each as the regression's small design (a 2×2
PU with the buffers its layers need, see ``gen/ccr/__init__.py``), run the whole cocotb
regression (:mod:`sparseforge.tb.ccr.regression`) on both simulators: 'full', 'same' and 'valid'
windows, 1×1 to 5×5 kernels, densities 1.0 to 0.05, stride 2 as four polyphase passes, idle
cycles and back-pressure on every stream, all-zero kernels and maps, minimum × minimum products,
the paper's worked example of the design with its MAC count, and the register bus; each layer
bit-exact against the golden layer and, cycles measured outside the design, equal to the cycle
model, every statistics register equal to the model's count. The suite's regression runs only
SparseKI on both simulators and SparseK on Icarus; this covers the rest.
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

from sparseforge.gen.ccr import _test_design
from sparseforge.gen.ccr.config import VARIANTS, parse_ccr
from sparseforge.tb import runner


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", default="benchmarks/results/ccr_rtl.json")
    args = ap.parse_args(argv)
    rows = []
    for variant in VARIANTS:
        raw = dict(_test_design(variant), name=f"ccr_{variant}_test")
        cfg = parse_ccr(raw, raw["name"])
        for simulator in runner.SIMULATORS:
            with tempfile.TemporaryDirectory() as tmp:
                start = time.monotonic()
                bld = runner.build(cfg, simulator, log=Path(tmp) / "build.log")
                tests, failures, _ = runner.run_module(
                    bld, "sparseforge.tb.ccr.regression", results_dir=tmp, seed=1,
                    log=Path(tmp) / "sim.log")
                row = {"variant": variant, "simulator": simulator, "tests": tests,
                       "failures": failures, "seconds": round(time.monotonic() - start, 1)}
                print(row, flush=True)
                rows.append(row)
                Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    print("| design | Icarus | Verilator |\n| --- | --- | --- |")
    for variant in VARIANTS:
        cells = [r for r in rows if r["variant"] == variant]
        print(f"| {variant} | " + " | ".join(
            f"{r['tests'] - r['failures']}/{r['tests']} passed ({r['seconds']:.0f} s)"
            for r in cells) + " |")


if __name__ == "__main__":
    main()
