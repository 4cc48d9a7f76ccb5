"""``sparseforge sweep``: specs, points, a local Dask cluster of 2 workers, resumption, failures.

The figures a sweep stores must be the ones the CLI gives for the same design and workload when
run on its own (``synth --json``, ``run --model-only --json``): those are the independent
reference. Resumption is checked by counting the jobs a re-run computes.
"""

import json
import subprocess
import sys

import pytest
import yaml

from sparseforge.gen.cli import main
from sparseforge.gen.errors import InputError
from sparseforge.gen.presets import presets
from sparseforge.gen.sweep import parse_spec

ISSUE_SPEC = {
    "base": {"arch": "sta", "kind": "vdbb", "tpe": {"a": 2, "b": 8, "c": 4},
             "array": {"m": 2, "n": 2}},
    "axes": {"array.m": [1, 2], "tpe.c": [2, 4]},
    "metrics": ["cells", "cycles"],
    "workload": {"gemm": [16, 64, 16], "nnz": [2, 8]},
}


def test_points_are_the_product_of_the_axes():
    spec = parse_spec(ISSUE_SPEC)
    points = spec.points()
    assert len(points) == 8
    seen = {(p.raw["array"]["m"], p.raw["tpe"]["c"], dict(p.workload)["nnz"]) for p in points}
    assert seen == {(m, c, nnz) for m in (1, 2) for c in (2, 4) for nnz in (2, 8)}
    for p in points:                    # the fixed parts of the base are kept
        assert p.raw["kind"] == "vdbb" and p.raw["tpe"]["b"] == 8 and p.raw["array"]["n"] == 2
        assert dict(p.workload)["gemm"] == "16,64,16"
    assert spec.kinds == ("generic", "model")


def test_workload_axes_and_shape_lists():
    spec = parse_spec({"base": "sa_1x1", "metrics": ["cycles"],
                       "axes": {"workload.gemm": [[4, 4, 4], "8,8,8"]}})
    assert [dict(p.workload)["gemm"] for p in spec.points()] == ["4,4,4", "8,8,8"]


@pytest.mark.parametrize("raw, message", [
    ([], "spec: [] is not allowed"),
    ({"base": "no_such_preset", "metrics": ["cells"]}, "base: 'no_such_preset'"),
    ({"base": "sa_1x1", "metrics": ["speed"]}, "metrics: 'speed' is not allowed; expected one of"),
    ({"base": "sa_1x1", "metrics": []}, "metrics: [] is not allowed"),
    ({"base": "sa_1x1", "metrics": ["cells"], "axes": {"array.m": 3}},
     "axes.array.m: 3 is not allowed; expected a non-empty list"),
    ({"base": "sa_1x1", "metrics": ["cells"], "axes": {"array.m": [1, 0]}},
     "axes: the point array.m=0 is not a valid design: array.m: 0 is not allowed"),
    ({"base": "sa_1x1", "metrics": ["cycles"]}, "workload: None is not allowed; expected run "),
    ({"base": "sa_1x1", "metrics": ["cells"], "workload": {"gemm": [[1, 2], "x"]}},
     "workload.gemm: [[1, 2], 'x'] is not allowed"),
    ({"base": "sa_1x1", "metrics": ["cells"], "colour": 1},
     "colour: 1 is not allowed; expected no such key here"),
])
def test_bad_specs_are_named(raw, message):
    with pytest.raises(InputError) as info:
        parse_spec(raw)
    text = str(info.value)
    assert text.startswith(message), text
    assert "\n" not in text


def test_bad_spec_file_exits_2_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("base: sa_1x1\nmetrics: [cells\n")
    out = tmp_path / "out"
    assert main(["sweep", str(bad), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("sparseforge: error: spec:") and "\n" not in err
    assert not out.exists()                 # nothing written for a spec that was refused
    assert main(["sweep", str(tmp_path / "missing.yaml"), "-o", str(out)]) == 2
    assert main(["sweep", str(bad), "-o", str(out), "--workers", "0"]) == 2
    assert "--workers: '0' is not allowed" in capsys.readouterr().err


def _cli_json(*argv):
    """The ``sparseforge`` command's JSON, run as a user would (a separate process)."""
    done = subprocess.run([sys.executable, "-m", "sparseforge.gen.cli", *argv, "--json"],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def _figures(rows):
    """Rows without the time their jobs took (which a recomputed job changes)."""
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def _sweep(path, out, capsys):
    assert main(["sweep", str(path), "-o", str(out), "--workers", "2", "--json", "-q"]) == 0
    return json.loads(capsys.readouterr().out)


def test_model_sweep_on_a_local_cluster_resumes_and_records_failures(tmp_path, capsys):
    """Two Dask workers; the model figures equal the CLI's own; a re-run computes nothing; a lost
    result (a run killed before storing it) alone is recomputed; a failing point is recorded."""
    spec = {
        "base": "sparsecore_small",
        "axes": {"pes": [2, 3], "workload.conv": ["8,8,8,8,3,3", "16,16,8,8,3,3"]},
        "metrics": ["cycles", "utilization"],
        "workload": {"act_density": 0.5},
    }
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    out = tmp_path / "out"
    summary = _sweep(path, out, capsys)
    assert summary["points"] == 4 and summary["jobs_computed"] == 4
    rows = summary["rows"]
    good = [r for r in rows if r["workload.conv"] == "8,8,8,8,3,3"]
    bad = [r for r in rows if r["workload.conv"] == "16,16,8,8,3,3"]
    # 16×16 inputs exceed the design's 9×9 limit: each such point records the CLI's one line
    assert summary["jobs_failed"] == 2
    for r in bad:
        assert r["cycles"] is None and "--conv" in r["errors"] and "\n" not in r["errors"]
    for r in good:
        assert not r["errors"]
        design = tmp_path / f"pes{r['pes']}.yaml"
        design.write_text(yaml.safe_dump({**presets()["sparsecore_small"][2],
                                          "name": "sparsecore_small", "pes": r["pes"]}))
        model = _cli_json("run", str(design), "--conv", "8,8,8,8,3,3", "--act-density", "0.5",
                          "--model-only")
        assert r["cycles"] == model["model_cycles"] and r["utilization"] == model["utilization"]
    assert (out / "sweep.csv").read_text().count("\n") == 5
    assert len((out / "sweep.jsonl").read_text().splitlines()) == 4

    again = _sweep(path, out, capsys)
    assert again["jobs_computed"] == 0 and again["rows"] == rows
    victim = next(p for p in (out / "results").iterdir()
                  if json.loads(p.read_text())["outcome"]["ok"])
    victim.unlink()
    resumed = _sweep(path, out, capsys)
    assert resumed["jobs_computed"] == 1 and _figures(resumed["rows"]) == _figures(rows)


def test_synthesis_sweep_matches_synth_and_draws_the_front(tmp_path, capsys):
    """Synthesis figures equal ``sparseforge synth``'s for the same design; the Pareto plot is
    written and the shipped preset among the points is labelled."""
    spec = {"base": "sa_1x1", "axes": {"array.n": [1, 2]}, "metrics": ["cells", "flops"]}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    summary = _sweep(path, tmp_path / "out", capsys)
    assert summary["jobs_computed"] == 2 and summary["jobs_failed"] == 0
    one, two = summary["rows"]
    design = tmp_path / "sa_1x2.yaml"
    design.write_text(yaml.safe_dump({**presets()["sa_1x1"][2], "name": "sa_1x1",
                                      "array": {"m": 1, "n": 2}}))
    reference = _cli_json("synth", str(design), "--flow", "generic", "-q")
    assert (two["cells"], two["flops"]) == (reference["cells"], reference["flops"])
    assert one["cells"] < two["cells"]
    assert summary["presets"] == {"0": "sa_1x1"}


def test_pareto_front_by_hand():
    from sparseforge.gen.sweep.report import pareto_front
    rows = [{"point": 0, "arch": "a", "cells": 1, "cycles": 10},
            {"point": 1, "arch": "a", "cells": 2, "cycles": 5},
            {"point": 2, "arch": "a", "cells": 3, "cycles": 6},      # dominated by point 1
            {"point": 3, "arch": "a", "cells": 2, "cycles": 5},      # equal to point 1: kept
            {"point": 4, "arch": "b", "cells": 9, "cycles": 50},     # another architecture
            {"point": 5, "arch": "a", "cells": None, "cycles": 1},   # no area: left out
            {"point": 6, "arch": "a", "workload.nnz": 2, "cells": 9, "cycles": 9}]  # own workload
    assert pareto_front(rows, "cells", "cycles") == [0, 1, 3, 4, 6]
