"""Sweep results on disk: one JSON file per job, named by the job's key, written atomically.

A result is stored as soon as its job finishes, so a sweep killed halfway keeps what it did and a
re-run computes only what is missing. Failed jobs are stored too (a re-run does not repeat a
deterministic failure) unless the sweep is asked to retry them.
"""

import json
import os
from pathlib import Path

__all__ = ["ResultStore"]


class ResultStore:
    """``<directory>/<key>.json`` holding ``{"job": ..., "outcome": ...}``."""

    def __init__(self, directory):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def _path(self, key):
        return self.directory / f"{key}.json"

    def get(self, key):
        """The stored outcome of ``key``, or None (also for a file left unreadable by a crash)."""
        try:
            return json.loads(self._path(key).read_text())["outcome"]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key, job, outcome):
        path = self._path(key)
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        partial.write_text(json.dumps({"job": {"kind": job.kind, "config": job.raw,
                                               "workload": [list(w) for w in job.workload]},
                                       "outcome": outcome}, indent=1, default=str))
        partial.replace(path)
