"""Spex: NSGA-II search of per-layer Sparse-Blox thresholds (Hotfilter et al., III-A, IV-A, Fig. 3,
Fig. 5).

The genome is one integer per layer, ``0 … steps``, on a linear grid up to ``limit``: gene ``i``
stands for ``t = i · limit / steps`` held in the hardware's fixed point (nearest code). The two
objectives, both maximized, are the created blocks (blocks zeroed that were not already zero,
summed over the network) and the accuracy of the network on its test set with those thresholds,
from a callable

    ``evaluate(raw_thresholds: tuple[int, ...]) -> (accuracy, created_blocks, total_blocks)``

(the quantized golden model of a trained network, or any stand-in). An optional minimum accuracy
is a constraint (``min_accuracy − accuracy ≤ 0``). As the authors: pymoo's NSGA-II, population 15
and 25 generations by default, simulated binary crossover (η = 20) and polynomial mutation
(η = 30), both with probability 0.9; the first population holds the all-zero individual (the
unpruned network) beside random ones. ``workers > 1`` evaluates a generation's new individuals in
parallel processes (``evaluate`` must then be picklable); each genome is evaluated once.
"""

import csv
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field

import numpy as np

from .threshold import Q8_8, ThresholdFormat

__all__ = ["SpexOptions", "Evaluation", "SpexResult", "threshold_grid", "pareto_front",
           "run_spex", "save_thresholds", "load_thresholds", "write_front_json",
           "write_front_csv", "plot_front"]


@dataclass(frozen=True)
class SpexOptions:
    """Search options; ``limit`` is the largest threshold (a ``|mean|`` in activation units)."""

    limit: float
    steps: int = 100
    pop_size: int = 15
    generations: int = 25
    min_accuracy: float | None = None
    seed: int = 0
    workers: int = 1
    fmt: ThresholdFormat = Q8_8

    def __post_init__(self):
        for name, low in (("steps", 1), ("pop_size", 2), ("generations", 1), ("workers", 1)):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < low:
                raise ValueError(f"Spex {name} must be an integer of at least {low}, not {v!r}")
        if not isinstance(self.limit, (int, float)) or not self.limit > 0:
            raise ValueError(f"Spex threshold limit must be a positive number, not {self.limit!r}")
        self.fmt.to_raw(self.limit)                 # the limit must fit the threshold format
        if self.min_accuracy is not None and not 0 <= self.min_accuracy <= 1:
            raise ValueError(f"Spex minimum accuracy must be from 0 to 1, "
                             f"not {self.min_accuracy!r}")


def threshold_grid(limit, steps, fmt=Q8_8):
    """Raw codes of the ``steps + 1`` grid thresholds ``i · limit / steps``, ``i = 0 … steps``."""
    return [fmt.to_raw(i * limit / steps) for i in range(steps + 1)]


@dataclass(frozen=True)
class Evaluation:
    """One individual: its genes, raw thresholds, accuracy and blocks."""

    genes: tuple
    raw: tuple
    accuracy: float
    created: int
    total: int
    generation: int

    @property
    def created_share(self):
        return self.created / self.total if self.total else 0.0


@dataclass
class SpexResult:
    options: SpexOptions
    layers: tuple
    evaluations: list = field(default_factory=list)

    @property
    def baseline(self):
        """The unpruned individual (all genes 0), evaluated in the first population."""
        return next(e for e in self.evaluations if not any(e.genes))

    @property
    def front(self):
        return pareto_front(self.evaluations, self.options.min_accuracy)

    def best_within(self, drop):
        """The front point with most created blocks whose accuracy is at least the unpruned
        accuracy minus ``drop`` (a fraction: 0.01 is one percentage point)."""
        floor = self.baseline.accuracy - drop
        ok = [e for e in self.front if e.accuracy >= floor - 1e-12]
        return max(ok, key=lambda e: (e.created, e.accuracy)) if ok else None


def pareto_front(evaluations, min_accuracy=None):
    """Non-dominated evaluations (maximizing accuracy and created blocks), feasible ones only,
    one per objective point (the first found), by increasing created blocks."""
    pts = [e for e in evaluations if min_accuracy is None or e.accuracy >= min_accuracy]
    front, seen = [], set()
    for e in pts:
        dominated = any(o.accuracy >= e.accuracy and o.created >= e.created and
                        (o.accuracy > e.accuracy or o.created > e.created) for o in pts)
        if not dominated and (e.accuracy, e.created) not in seen:
            seen.add((e.accuracy, e.created))
            front.append(e)
    return sorted(front, key=lambda e: (e.created, -e.accuracy))


def _problem_class():
    from pymoo.core.problem import Problem

    class ThresholdProblem(Problem):
        def __init__(self, n_var, steps, n_constr, run):
            super().__init__(n_var=n_var, n_obj=2, n_ieq_constr=n_constr, xl=0, xu=steps,
                             vtype=int)
            self._run = run

        def _evaluate(self, x, out, *args, **kwargs):
            evals = self._run(np.asarray(np.rint(x), dtype=np.int64))
            total = max(1, max(e.total for e in evals))
            out["F"] = np.array([[-e.accuracy, -e.created / total] for e in evals])
            if self.n_ieq_constr:
                floor = self._run.min_accuracy
                out["G"] = np.array([[floor - e.accuracy] for e in evals])

    return ThresholdProblem


class _Runner:
    """Evaluate genomes once each (a memo), in parallel when asked, reporting progress."""

    def __init__(self, evaluate, grid, options, result, progress, pool):
        self.evaluate, self.grid, self.options = evaluate, grid, options
        self.result, self.progress, self.pool = result, progress, pool
        self.min_accuracy = options.min_accuracy
        self.memo = {}
        self.generation = 0
        self.done = 0

    def __call__(self, genes):
        rows = [tuple(int(g) for g in row) for row in genes]
        new = [r for r in dict.fromkeys(rows) if r not in self.memo]
        raws = [tuple(self.grid[g] for g in r) for r in new]
        if self.pool is not None:
            outs = list(self.pool.map(self.evaluate, raws))
        else:
            outs = [self.evaluate(raw) for raw in raws]
        for r, raw, (acc, created, total) in zip(new, raws, outs):
            e = Evaluation(r, raw, float(acc), int(created), int(total), self.generation)
            self.memo[r] = e
            self.result.evaluations.append(e)
            self.done += 1
            if self.progress is not None:
                self.progress(self.generation, self.done, e)
        self.generation += 1
        return [self.memo[r] for r in rows]


def run_spex(evaluate, layers, options, progress=None):
    """Search thresholds for ``layers`` (names, one threshold each); returns a :class:`SpexResult`.

    ``progress(generation, evaluated, evaluation)`` is called after each new individual.
    """
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.operators.crossover.sbx import SBX
    from pymoo.operators.mutation.pm import PM
    from pymoo.operators.repair.rounding import RoundingRepair
    from pymoo.optimize import minimize

    layers = tuple(layers)
    if not layers:
        raise ValueError("Spex needs at least one layer to put a threshold on")
    grid = threshold_grid(options.limit, options.steps, options.fmt)
    result = SpexResult(options, layers)
    rng = np.random.default_rng(options.seed)
    initial = rng.integers(0, options.steps + 1, size=(options.pop_size, len(layers)))
    initial[0] = 0                                  # the unpruned network, as the authors seed it
    pool = None
    if options.workers > 1:
        pool = ProcessPoolExecutor(options.workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        runner = _Runner(evaluate, grid, options, result, progress, pool)
        problem = _problem_class()(len(layers), options.steps,
                                   0 if options.min_accuracy is None else 1, runner)
        algorithm = NSGA2(
            pop_size=options.pop_size, sampling=initial.astype(float),
            crossover=SBX(prob=0.9, eta=20, vtype=float, repair=RoundingRepair()),
            mutation=PM(prob=0.9, eta=30, vtype=float, repair=RoundingRepair()),
            eliminate_duplicates=True)
        minimize(problem, algorithm, ("n_gen", options.generations), seed=options.seed,
                 verbose=False)
    finally:
        if pool is not None:
            pool.shutdown()
    return result


# -- files ---------------------------------------------------------------------------------------

def save_thresholds(path, layers, raw, fmt=Q8_8):
    """The thresholds file ``run --thresholds`` loads: JSON with the format and, per layer, the
    raw code the hardware holds and the value it stands for."""
    if len(layers) != len(raw):
        raise ValueError(f"{len(layers)} layers but {len(raw)} thresholds")
    doc = {"format": fmt.name, "layers": [
        {"layer": name, "raw": fmt.check_raw(int(r)), "threshold": fmt.to_value(int(r))}
        for name, r in zip(layers, raw)]}
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


def load_thresholds(path):
    """``(fmt, {layer: raw})`` from a thresholds file; ``ValueError`` naming the bad field."""
    with open(path) as f:
        try:
            doc = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"thresholds file {path}: not JSON ({e.msg})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("layers"), list):
        raise ValueError(f"thresholds file {path}: expected an object with a 'layers' list")
    fmt = ThresholdFormat.parse(doc.get("format", "Q8.8"))
    out = {}
    for n, entry in enumerate(doc["layers"]):
        if not isinstance(entry, dict) or "layer" not in entry or "raw" not in entry:
            raise ValueError(f"thresholds file {path}: layers[{n}] needs 'layer' and 'raw'")
        name = entry["layer"]
        if name in out:
            raise ValueError(f"thresholds file {path}: layers[{n}].layer = {name!r} repeats")
        try:
            out[name] = fmt.check_raw(entry["raw"])
        except ValueError as e:
            raise ValueError(f"thresholds file {path}: layers[{n}].raw: {e}") from None
    return fmt, out


def _row(e, layers, fmt):
    return {"accuracy": e.accuracy, "created": e.created, "total": e.total,
            "created_share": e.created_share, "generation": e.generation,
            "thresholds": {n: fmt.to_value(r) for n, r in zip(layers, e.raw)},
            "raw": dict(zip(layers, e.raw))}


def write_front_json(result, path):
    opts = asdict(result.options)
    opts["fmt"] = result.options.fmt.name
    fmt = result.options.fmt
    doc = {"options": opts, "layers": list(result.layers),
           "baseline_accuracy": result.baseline.accuracy,
           "front": [_row(e, result.layers, fmt) for e in result.front],
           "evaluations": [_row(e, result.layers, fmt) for e in result.evaluations]}
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


def write_front_csv(result, path):
    fmt = result.options.fmt
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["accuracy", "created", "total", "created_share",
                    *(f"t_{n}" for n in result.layers)])
        for e in result.front:
            w.writerow([f"{e.accuracy:.6f}", e.created, e.total, f"{e.created_share:.6f}",
                        *(f"{fmt.to_value(r):g}" for r in e.raw)])


def plot_front(result, path, title=None):
    """Accuracy over created sparse blocks, every feasible individual and the Pareto front (as
    Fig. 5 of the paper). Needs matplotlib."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    floor = result.options.min_accuracy
    pts = [e for e in result.evaluations if floor is None or e.accuracy >= floor]
    front = result.front
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.scatter([100 * e.created_share for e in pts], [100 * e.accuracy for e in pts], s=10,
               color="0.7", label="solutions")
    ax.plot([100 * e.created_share for e in front], [100 * e.accuracy for e in front], "o-",
            color="C3", markersize=4, label="Pareto front")
    ax.axhline(100 * result.baseline.accuracy, color="0.4", linestyle=":", linewidth=1,
               label="unpruned")
    ax.set_xlabel("sparse blocks created (% of all blocks)")
    ax.set_ylabel("accuracy (%)")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
