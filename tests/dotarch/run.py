"""``sparseforge run`` on the test-only dot-product unit: random jobs through the RTL."""

import numpy as np

from sparseforge.gen.errors import InputError
from sparseforge.gen.run_result import RunOutput
from sparseforge.sim.gemm import int_range
from sparseforge.tb import runner

from .model import dot_jobs, job_cycles

JOBS = 3


def run_cli(cfg, args):
    length = 4 if args.length is None else args.length
    if length < 1:
        raise InputError(f"--length: {length} is not allowed; expected an integer ≥ 1")
    rng = np.random.default_rng(args.seed)
    shape = (JOBS, length, cfg.lanes)
    acts = rng.integers(*int_range(cfg.act_width), shape, endpoint=True)
    weights = rng.integers(*int_range(cfg.weight_width), shape, endpoint=True)
    out = runner.run_job(cfg, args.sim, "tests.dotarch.job", {"acts": acts, "weights": weights},
                         message=f"{JOBS} jobs of {length} beats")
    golden = dot_jobs(acts, weights, cfg.acc_width)
    report = {"design": cfg.name, "cycles": int(out["cycles"]),
              "model_cycles": job_cycles(JOBS, length),
              "mismatches": int(np.count_nonzero(out["sums"] != golden))}
    ok = report["mismatches"] == 0 and report["cycles"] == report["model_cycles"]
    return RunOutput(report, ok, str(report))
