"""Golden and cycle models of the test-only dot-product unit."""

import numpy as np

from sparseforge.sim.gemm import wrap

__all__ = ["dot_jobs", "job_cycles"]


def dot_jobs(acts, weights, acc_width):
    """Each job's sum of products (``acts``, ``weights``: jobs × beats × lanes), wrapped."""
    sums = np.einsum("jbl,jbl->j", acts.astype(np.int64), weights.astype(np.int64))
    return wrap(sums, acc_width)


def job_cycles(jobs, beats):
    """Cycles from the first beat accepted to the last sum accepted, no pauses: one beat a
    cycle, each sum one cycle after its job's last beat."""
    return jobs * beats + 1
