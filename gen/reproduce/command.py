"""``sparseforge reproduce``: its options and what it prints."""

import time
from pathlib import Path

from ..errors import InputError
from ..report import Progress, dump_json, table
from . import PAPERS, reproduce_into
from .writer import value_text

__all__ = ["add_arguments", "cmd_reproduce", "DESCRIPTION", "EPILOG"]

DESCRIPTION = ("Regenerate a seed paper's headline tables and figures from the project's models, "
               "RTL runs and synthesis, next to the paper's own numbers, one row per published "
               "number saying whether ours matches, differs (and why) or cannot be produced "
               "(and why). Writes DIR/PAPER.md with its plots (PNG) and DIR/PAPER.json.")

EPILOG = """\
papers:
""" + "\n".join(f"  {name:12s} {text}" for name, text in PAPERS.items()) + """
  all          every paper above, one report each

examples:
  sparseforge reproduce sta --quick -o out/reproduce      cycle models and cached results only
  sparseforge reproduce scnn -o docs/reproduce            the full report
  sparseforge reproduce all -o docs/reproduce             every paper (what docs/ holds)
  sparseforge reproduce ccr --json                        the rows as JSON on stdout

A full run computes what is quick to compute and reads the expensive parts (synthesis of the
paper-sized designs, long RTL regressions) from benchmarks/results/; each such row names its file
and the report lists the benchmark command that regenerates it. --quick skips every RTL run and
synthesis, so each paper takes a few seconds.
"""


def add_arguments(p):
    p.add_argument("paper", metavar="PAPER",
                   help=f"the seed paper: {', '.join(PAPERS)}, or all")
    p.add_argument("--quick", action="store_true",
                   help="a subset for tests: cycle models on small workloads and committed "
                        "results, no RTL simulation or synthesis")
    p.add_argument("-o", "--out", default="out/reproduce", metavar="DIR",
                   help="output folder for PAPER.md, PAPER.json and the plots "
                        "(default out/reproduce)")
    p.add_argument("--json", action="store_true",
                   help="print the rows as JSON instead of tables")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")


def _short(text, width=56):
    """``text`` cut at a word to fit ``width`` columns, with an ellipsis when cut."""
    if len(text) <= width:
        return text
    return text[:width - 1].rsplit(" ", 1)[0] + " …"


def _papers(text):
    if text == "all":
        return list(PAPERS)
    if text not in PAPERS:
        raise InputError(f"PAPER: {text!r} is not a seed paper; expected one of "
                         f"{', '.join(PAPERS)} or all")
    return [text]


def _out(text):
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise InputError(f"-o: {text!r} is a file; expected a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"-o: cannot create {text!r} ({e.strerror or e})") from None
    return path


def cmd_reproduce(args):
    papers = _papers(args.paper)
    out = _out(args.out)
    progress = Progress(not args.quiet and not args.json)
    reports = []
    for paper in papers:
        start = time.monotonic()
        progress(f"{paper}: reproducing{' (quick)' if args.quick else ''}")
        report, written = reproduce_into(paper, out, quick=args.quick,
                                         progress=lambda m, p=paper: progress(f"{p}: {m}"))
        reports.append(report)
        if not args.json:
            counts = report.counts()
            print(f"\n{report.title}")
            print(table([(r.published.citation, _short(r.published.quantity),
                          value_text(r.published.value, r.published.unit),
                          value_text(r.ours, r.published.unit), r.status)
                         for r in report.rows], ("where", "quantity", "paper", "ours", "status")))
            print(f"{paper}: {counts['matches']} match, {counts['differs']} differ, "
                  f"{counts['cannot']} cannot; wrote {written[0]} and {len(written) - 1} more "
                  f"files in {time.monotonic() - start:.1f} s")
    if args.json:
        dump_json([r.to_dict() for r in reports] if args.paper == "all"
                  else reports[0].to_dict())
    return 0
