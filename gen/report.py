"""Results for people (aligned tables, progress lines) and for scripts (JSON)."""

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .errors import InputError

__all__ = ["table", "dump_json", "save_npy", "Progress", "write_energy"]


def _cell(value):
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def table(rows, headers=None):
    """Format rows (sequences) as an aligned text table; numbers right-aligned."""
    text_rows = [[_cell(v) for v in row] for row in rows]
    numeric = [all(isinstance(row[i], (int, float)) and not isinstance(row[i], bool)
                   for row in rows) for i in range(len(rows[0]))] if rows else []
    if headers:
        text_rows.insert(0, list(headers))
    widths = [max(len(r[i]) for r in text_rows) for i in range(len(text_rows[0]))]
    lines = []
    for n, row in enumerate(text_rows):
        cells = [c.rjust(w) if numeric[i] and (n or not headers) else c.ljust(w)
                 for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
        if headers and n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def dump_json(data, stream=None):
    stream = stream or sys.stdout
    json.dump(data, stream, indent=2, sort_keys=False)
    stream.write("\n")


def save_npy(path, array, flag="--out"):
    """Save ``array`` to ``path`` atomically: a temporary file in the same directory, renamed at
    the end, so a failure leaves neither a partial file nor the temporary one.

    Raises
    ------
    InputError
        ``path`` cannot be written (naming ``flag``, the option that gave it).
    """
    path = Path(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            np.save(f, array)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)      # mkstemp's 0600 is for the temporary name only
        os.replace(tmp, path)
    except OSError as e:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise InputError(f"{flag}: cannot write {str(path)!r} ({e.strerror or e})") from None


class Progress:
    """One line per step on stderr, with elapsed time, so long work is visibly alive."""

    def __init__(self, enabled=True, stream=None):
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.start = time.monotonic()

    def __call__(self, message):
        if self.enabled:
            elapsed = time.monotonic() - self.start
            print(f"[{elapsed:6.1f}s] {message}", file=self.stream, flush=True)


def write_energy(write, report):
    """Write the energy line of a ``run --energy`` report (nothing when it has no energy): the
    model's pJ and effective TOPS/W, the library, supply, clock and calibration design, and the
    blocks the figures leave out, if any."""
    if "energy_pj" not in report:
        return
    model = report["energy_model"]
    write(f"energy model: {report['energy_pj']:,.0f} pJ, {report['tops_per_w']:.3f} "
          f"effective TOPS/W ({model['library']}, {model['supply_v']:g} V, "
          f"{model['clock_mhz']:g} MHz; calibrated on {model['calibrated_on']})")
    if model.get("excluded"):
        write(f"left out of the energy (synthesis too slow for the flow): "
              f"{', '.join(model['excluded'])}")
