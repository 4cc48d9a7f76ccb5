"""``sparseforge reproduce PAPER``: each seed paper's headline tables and figures, regenerated.

One module per paper (:mod:`.sta`, :mod:`.scnn`, :mod:`.sparseblox`, :mod:`.ccr`,
:mod:`.sparsecore`) holds the paper's published numbers with their table or figure
(``PUBLISHED``) and a ``reproduce(ctx)`` that sets ours beside each: from the generator's configs,
the cycle models, RTL runs and synthesis, or, for the expensive parts of a full run, the results
the benchmark scripts committed. :mod:`.writer` turns the rows into ``PAPER.md`` and ``PAPER.json``.
"""

import importlib

from .context import Context
from .rows import Report

__all__ = ["PAPERS", "paper_module", "run_paper", "reproduce_into"]

#: Paper name → what it is (the module of the same name reproduces it).
PAPERS = {
    "sta": "Liu et al., Sparse Systolic Tensor Array (STA, DBB, VDBB, IM2COL)",
    "scnn": "Parashar et al., SCNN: compressed-sparse CNN accelerator (ISCA 2017)",
    "sparseblox": "Hotfilter et al., Sparse-Blox and Spex: blockwise activation pruning",
    "ccr": "Li et al., CCR: a concise convolution rule (SparseK, SparseI, SparseKI)",
    "sparsecore": "SparseCore: k/m structured sparsity, weight-local output-stationary",
}


def paper_module(paper):
    """The module reproducing ``paper`` (a key of :data:`PAPERS`)."""
    if paper not in PAPERS:
        raise ValueError(f"Paper must be one of {', '.join(PAPERS)}, not {paper!r}")
    return importlib.import_module(f"{__name__}.{paper}")


def run_paper(paper, stage, *, quick=False, progress=None):
    """Reproduce ``paper``: a :class:`~.rows.Report` whose plots are written into ``stage``."""
    module = paper_module(paper)
    report = Report(paper, module.TITLE, quick)
    module.reproduce(Context(report, stage, progress or (lambda message: None)))
    return report


def reproduce_into(paper, out, *, quick=False, progress=None):
    """Reproduce ``paper`` and write ``PAPER.md``, ``PAPER.json`` and its plots into the folder
    ``out`` (nothing is written if it fails halfway); ``(report, paths written)``, the Markdown
    first. What ``sparseforge reproduce`` and :func:`sparseforge.gen.api.reproduce` do."""
    from .writer import publish, staging

    command = f"sparseforge reproduce {paper}{' --quick' if quick else ''}"
    with staging(out) as stage:
        report = run_paper(paper, stage, quick=quick, progress=progress)
        written = publish(report, command, stage, out)
    return report, written
