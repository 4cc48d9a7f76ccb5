"""A reproduction report's rows: a paper's published number beside ours, and a verdict.

Every row says one of three things, each with its reason in words:

* ``matches``: ours is within the row's tolerance of the paper's number, in the same setting;
* ``differs``: ours is another number, or the same kind of number in another setting (another
  technology, workload or simplification of ours), and the reason says which;
* ``cannot``: the project cannot produce this number, and the reason says why.
"""

from dataclasses import dataclass, field

__all__ = ["STATUSES", "Published", "Row", "Figure", "Report", "Source", "compare", "compare_text",
           "cannot"]

STATUSES = ("matches", "differs", "cannot")


@dataclass(frozen=True)
class Published:
    """One number (or fact) a paper publishes.

    Attributes
    ----------
    key : str
        Short identifier, unique within the paper (``"fig12a.vdbb_1of8"``).
    citation : str
        Where the paper states it (``"Table III"``, ``"Fig. 8(a), Sec. 6.1"``).
    quantity : str
        What it is, in words.
    value : float, int or str
        The paper's value (text for a formula or a qualitative claim).
    unit : str
        Unit of ``value`` (``"×"``, ``"%"``, ``"mm²"``), empty when none.
    """

    key: str
    citation: str
    quantity: str
    value: object
    unit: str = ""


@dataclass(frozen=True)
class Source:
    """Where our number came from: computed by this run, or read from a committed result.

    ``command`` is how to regenerate a committed result (empty for computed rows).
    """

    what: str
    committed: str = ""
    command: str = ""

    @property
    def text(self):
        if not self.committed:
            return self.what
        return f"{self.what}; committed `{self.committed}`"


@dataclass(frozen=True)
class Row:
    """A published number, ours beside it, the verdict and its reason."""

    published: Published
    ours: object
    status: str
    reason: str
    source: Source

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"Row status must be one of {', '.join(STATUSES)}, "
                             f"not {self.status!r}")
        if not self.reason:
            raise ValueError(f"Row {self.published.key!r} needs a reason for its status")

    def to_dict(self):
        p = self.published
        return {"key": p.key, "citation": p.citation, "quantity": p.quantity,
                "paper": p.value, "unit": p.unit, "ours": self.ours, "status": self.status,
                "reason": self.reason, "source": self.source.what,
                "committed": self.source.committed or None,
                "regenerate": self.source.command or None}


@dataclass(frozen=True)
class Figure:
    """A plot the report shows: its file name (in the report's folder) and caption."""

    file: str
    caption: str


@dataclass
class Report:
    """One paper's reproduction: rows, figures and notes on the setting."""

    paper: str
    title: str
    quick: bool
    rows: list = field(default_factory=list)
    figures: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def counts(self):
        return {s: sum(r.status == s for r in self.rows) for s in STATUSES}

    def to_dict(self):
        return {"paper": self.paper, "title": self.title, "quick": self.quick,
                "counts": self.counts(), "rows": [r.to_dict() for r in self.rows],
                "figures": [{"file": f.file, "caption": f.caption} for f in self.figures],
                "notes": list(self.notes)}


def _ratio_text(ours, paper):
    return f"ours / paper = {ours / paper:.2f}" if paper else "paper's value is 0"


def compare(published, ours, source, *, tolerance=0.10, setting=None, why=""):
    """The row for a numeric ``ours`` against ``published.value``.

    Parameters
    ----------
    tolerance : float
        Relative difference within which the numbers match (10 % unless stated).
    setting : str or None
        When ours is measured in another setting than the paper's (another technology, network
        or simplification), the words for it: the row then ``differs`` whatever the numbers,
        because a close number in another setting is not a reproduction.
    why : str
        Why the numbers differ when they do (in the same setting).
    """
    paper = published.value
    ratio = _ratio_text(ours, paper)
    if setting:
        return Row(published, ours, "differs", f"{setting} ({ratio})", source)
    if paper == ours or (paper and abs(ours / paper - 1) <= tolerance):
        close = "exactly" if paper == ours else f"within {tolerance:.0%} ({ratio})"
        return Row(published, ours, "matches", close, source)
    return Row(published, ours, "differs", f"{why} ({ratio})" if why else ratio, source)


def compare_text(published, ours, source, *, why=""):
    """The row for a textual ``ours`` (``"4×4"``) against ``published.value``: equal or not."""
    if ours == published.value:
        return Row(published, ours, "matches", "the same", source)
    return Row(published, ours, "differs", why or f"ours is {ours}", source)


def cannot(published, reason, source=None):
    """The row for a number the project cannot produce, with the reason."""
    return Row(published, None, "cannot", reason, source or Source("—"))
