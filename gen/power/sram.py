"""Energy of SRAM macros per access, from CACTI 7, for the OSU 0.18 µm library at 1.8 V.

SRAM macros stay black boxes in synthesis and in the gate-level power flow (an SRAM compiler would
supply them, as in the STA paper's flow); their energy is ``reads × E_read + writes × E_write``
with energies per access of a macro of that capacity and word width.

Source: ``data/sram_cacti.json``, written by ``benchmarks/sram_cacti.py`` from CACTI 7.0 runs
(HP Labs' cache and memory model, github.com/HewlettPackard/cacti, commit 1ffd8df) for scratch RAMs
of 512 B to 2 MB and words of 8 to 512 bits: one bank, one read/write port, ITRS high-performance
devices, 300 K, energy-delay optimised organisation. CACTI 7 accepts 90 nm at the largest, so the
table is at 90 nm and 1.2 V, and this module scales dynamic energy to 0.18 µm at 1.8 V to first
order (capacitances grow with the feature size, energy with C·V²):
``× (180 / 90) × (1.8 / 1.2)² = × 4.5``. As a cross-check, CACTI 7 run with its own shipped
``tech_params/180nm.dat`` (after lifting its 90 nm input limit) gives 123.5 pJ per read of a 64 KB
macro of 64-bit words at its 1.5 V, i.e. 178 pJ at 1.8 V, against 160 pJ from the scaled 90 nm
figure: 10 % apart. Leakage of the macros is not modelled (CACTI's 0.18 µm figure, 0.44 mW for that
macro, is a few per cent of its dynamic power at one access per 100 MHz cycle).

Between table entries the energy per bit is interpolated linearly in log₂(capacity) and
log₂(width); outside the table the nearest entry's energy per bit is used.
"""

import json
import math
from functools import lru_cache
from pathlib import Path

__all__ = ["TABLE", "SCALE", "access_energy_pj", "macro_access_energies"]

TABLE = Path(__file__).resolve().parent / "data" / "sram_cacti.json"

#: 90 nm, 1.2 V (the table) to 0.18 µm, 1.8 V (the OSU library): C ∝ feature size, E ∝ C·V².
SCALE = (180 / 90) * (1.8 / 1.2) ** 2


@lru_cache(maxsize=1)
def _table():
    data = json.loads(TABLE.read_text())
    grid = {}
    for entry in data["entries"]:
        grid.setdefault(entry["width_bits"], []).append(
            (math.log2(entry["bytes"]),
             entry["read_nj"] * 1e3 / entry["width_bits"],
             entry["write_nj"] * 1e3 / entry["width_bits"]))
    return {width: sorted(points) for width, points in grid.items()}


def _along(points, x):
    """(read, write) per bit at log2 capacity ``x`` from sorted (x, read, write) points."""
    if x <= points[0][0]:
        return points[0][1:]
    if x >= points[-1][0]:
        return points[-1][1:]
    for (x0, r0, w0), (x1, r1, w1) in zip(points, points[1:]):
        if x0 <= x <= x1:
            t = (x - x0) / (x1 - x0)
            return r0 + t * (r1 - r0), w0 + t * (w1 - w0)
    raise AssertionError("unreachable")


def access_energy_pj(words, width):
    """``(read, write)`` energy in pJ of one access to a ``words`` × ``width``-bit macro.

    Raises
    ------
    ValueError
        ``words`` or ``width`` is not a positive integer.
    """
    if not isinstance(words, int) or not isinstance(width, int) or words < 1 or width < 1:
        raise ValueError(f"An SRAM macro has a positive number of words and bits per word, not "
                         f"{words!r} words of {width!r} bits")
    grid = _table()
    x = math.log2(max(1, words * width // 8))
    widths = sorted(grid)
    y = math.log2(width)
    logs = [math.log2(w) for w in widths]
    if y <= logs[0]:
        read, write = _along(grid[widths[0]], x)
    elif y >= logs[-1]:
        read, write = _along(grid[widths[-1]], x)
    else:
        i = next(i for i in range(len(logs) - 1) if logs[i] <= y <= logs[i + 1])
        t = (y - logs[i]) / (logs[i + 1] - logs[i])
        r0, w0 = _along(grid[widths[i]], x)
        r1, w1 = _along(grid[widths[i + 1]], x)
        read, write = r0 + t * (r1 - r0), w0 + t * (w1 - w0)
    return read * width * SCALE, write * width * SCALE


def macro_access_energies(macros):
    """``{module: (read pJ, write pJ)}`` for a design's ``memory_macros()`` list."""
    return {m["module"]: access_energy_pj(m["words"], m["width"]) for m in macros}
