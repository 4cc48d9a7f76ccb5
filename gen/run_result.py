"""What a ``run`` returns: its figures as data, and the text the command prints for people.

Every architecture's runner (the descriptor's ``run``: ``function(config, args)``) returns a
:class:`RunOutput`; :func:`sparseforge.gen.api.run` turns it into a :class:`RunResult` and the
``run`` command prints its ``data`` (``--json``) or its ``text``.
"""

from dataclasses import dataclass, field

__all__ = ["KINDS", "RunOutput", "RunResult", "Text"]

#: Workload kinds, from the option that names the workload (``--gemm``, ``--conv``, ...).
KINDS = ("gemm", "conv", "layer", "network", "model")


class Text:
    """The lines a runner writes for people: call it as ``print`` (values joined by ``sep``)."""

    def __init__(self):
        self._lines = []

    def __call__(self, *values, sep=" "):
        self._lines.append(sep.join(str(v) for v in values))

    def __str__(self):
        return "\n".join(self._lines)


@dataclass(frozen=True)
class RunOutput:
    """A runner's outcome: ``data`` (what ``run --json`` prints), ``ok`` (bit-exact and
    cycle-exact, or a model-only run: exit status 0), ``text`` (what ``run`` prints)."""

    data: dict
    ok: bool
    text: str


@dataclass(frozen=True)
class RunResult:
    """A ``run`` of a workload on a design.

    Attributes
    ----------
    design : str
    kind : str
        The workload: ``"gemm"``, ``"conv"``, ``"layer"``, ``"network"`` (every layer of a
        network table), ``"model"`` (a trained network on images), or ``"jobs"`` for an
        architecture whose runner takes none of them.
    ok : bool
        Every RTL result bit-exact and every measured cycle count equal to the model's (always
        true for a model-only run); the command's exit status is 0 exactly then.
    cycles, model_cycles, utilization, mismatches : int, int, float, int or None
        The run's measured cycles, the cycle model's, the utilization and the mismatching
        outputs: for a GEMM or a layer as its JSON has them; for a network table the model's
        ``total_cycles`` and the whole network's utilization (its RTL-checked layers' figures
        are in ``data["layers"]``); for a trained network the totals over its layers. None
        where the run has no such figure (``cycles`` and ``mismatches`` of a model-only run).
    data : dict
        Everything ``sparseforge run --json`` prints, as printed.
    text : str
        What ``sparseforge run`` prints without ``--json``.
    waves : tuple of Path
        The waveform files written (``wave=``): one per simulated job, none without.
    """

    design: str
    kind: str
    ok: bool
    cycles: int | None
    model_cycles: int | None
    utilization: float | None
    mismatches: int | None
    data: dict = field(repr=False)
    text: str = field(repr=False)
    waves: tuple = ()

    @classmethod
    def of(cls, design, kind, output, waves=()):
        """The result of ``output`` (a :class:`RunOutput`), ``waves`` the files recorded."""
        data = output.data

        def figure(name, kinds=(int,)):
            value = data.get(name)
            if isinstance(value, dict):         # per layer of a trained network, and the total
                value = value.get("total")
            return value if isinstance(value, kinds) and not isinstance(value, bool) else None

        model = figure("total_cycles") if kind == "network" else figure("model_cycles")
        return cls(design, kind, bool(output.ok), figure("cycles"), model,
                   figure("utilization", (int, float)), figure("mismatches"), data,
                   output.text, tuple(waves))
