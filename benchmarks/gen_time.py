"""Generation time of the large presets: ``sparseforge generate`` wall and CPU seconds, best of N.

    .venv/bin/python benchmarks/gen_time.py [--repeat 3] [--preset NAME ...]
        [--json benchmarks/results/gen_time.json]

Each run is a fresh ``python -m sparseforge.gen.cli generate PRESET -o TMP -q`` process, so the
figures include the imports and Yosys (Amaranth's Verilog back end), as a user sees them. CPU is
user + system time of the process and its children (Yosys). The best of ``--repeat`` runs is kept
for each figure, since a shared machine only ever makes a run slower. Every run's Verilog is
hashed: the runs of one preset must give the same bytes (the command fails otherwise).
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sparseforge.gen.report import Progress

#: The presets measured by default: the accelerator at paper size and its engine alone, the small
#: accelerator, and the paper-sized SCNN and SparseCore.
PRESETS = ("accel_paper", "paper_vdbb_4x8x8_4x8", "accel_small", "scnn_paper_8x8",
           "sparsecore_paper")


def _children_cpu():
    usage = os.times()
    return usage.children_user + usage.children_system


def generate_once(preset):
    """``(wall s, CPU s, Verilog bytes, sha256)`` of one ``sparseforge generate`` of ``preset``."""
    with tempfile.TemporaryDirectory(prefix="sparseforge-gentime-") as out:
        cpu0, wall0 = _children_cpu(), time.perf_counter()
        subprocess.run([sys.executable, "-m", "sparseforge.gen.cli", "generate", preset, "-o",
                        out, "-q"], check=True, stdout=subprocess.DEVNULL)
        wall, cpu = time.perf_counter() - wall0, _children_cpu() - cpu0
        text = (Path(out) / f"{preset}.v").read_bytes()
    return wall, cpu, len(text), hashlib.sha256(text).hexdigest()


def measure(preset, repeat, progress):
    """The best wall and CPU time of ``repeat`` generations of ``preset``; its Verilog's size."""
    runs = []
    for n in range(repeat):
        progress(f"{preset}: run {n + 1} of {repeat}")
        runs.append(generate_once(preset))
    hashes = {run[3] for run in runs}
    if len(hashes) != 1:
        raise SystemExit(f"{preset}: {len(hashes)} different Verilog outputs in {repeat} runs")
    return {"preset": preset, "wall_s": round(min(r[0] for r in runs), 1),
            "cpu_s": round(min(r[1] for r in runs), 1), "runs": repeat,
            "verilog_bytes": runs[0][2], "sha256": runs[0][3]}


def table(rows):
    lines = ["| preset | wall s | CPU s | Verilog |", "| --- | ---: | ---: | ---: |"]
    lines += [f"| `{r['preset']}` | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | "
              f"{r['verilog_bytes'] / 1e6:.1f} MB |" for r in rows]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, metavar="N",
                        help="generations per preset, the best kept (default 3)")
    parser.add_argument("--preset", action="append", metavar="NAME",
                        help=f"a preset to measure (repeatable; default: {', '.join(PRESETS)})")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the results here")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error(f"--repeat: {args.repeat} is not a positive number of runs")
    progress = Progress()
    rows = [measure(p, args.repeat, progress) for p in (args.preset or PRESETS)]
    print(table(rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"cpus": os.cpu_count(), "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
