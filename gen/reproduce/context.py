"""What a paper's reproduction writes into while it runs: rows, figures, progress."""

from dataclasses import dataclass
from pathlib import Path

from .rows import Figure, Report

__all__ = ["Context", "published_table"]


def published_table(*entries):
    """``{key: Published}`` of a paper's published numbers, keys checked unique."""
    table = {}
    for entry in entries:
        if entry.key in table:
            raise ValueError(f"Published key {entry.key!r} appears twice")
        table[entry.key] = entry
    return table


@dataclass
class Context:
    """A running reproduction.

    Attributes
    ----------
    report : Report
        The report being filled: :meth:`add` appends rows, :meth:`figure` registers plots.
    stage : Path
        Folder the plots are written into (moved into the output folder at the end).
    progress : callable
        ``progress(message)``: one line on stderr for long steps.
    """

    report: Report
    stage: Path
    progress: object

    @property
    def quick(self):
        return self.report.quick

    def add(self, *rows):
        self.report.rows.extend(rows)

    def figure(self, name, caption):
        """The path to save the plot ``name`` at (``<paper>-<name>.png``), registered with its
        caption."""
        file = f"{self.report.paper}-{name}.png"
        self.report.figures.append(Figure(file, caption))
        return self.stage / file
