"""``sparseforge reproduce``: the quick reports of two papers, the published tables, bad input.

The quick runs use the cycle models on small workloads and the committed benchmark results, no
RTL or synthesis (about two and five seconds).
"""

import json

import pytest

from sparseforge.gen import cli
from sparseforge.gen.reproduce import PAPERS, paper_module
from sparseforge.gen.reproduce.rows import STATUSES

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module", params=["sta", "scnn"])
def quick_report(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"reproduce-{request.param}")
    status, stdout, stderr = cli.main_captured(
        ["reproduce", request.param, "--quick", "-o", str(out), "--json"])
    assert status == 0, stderr
    return request.param, out, json.loads(stdout)


def test_quick_report_files(quick_report):
    paper, out, report = quick_report
    md = (out / f"{paper}.md").read_text()
    assert report["quick"] and report["paper"] == paper
    assert json.loads((out / f"{paper}.json").read_text())["rows"] == report["rows"]
    # One Markdown table row per published number, numbered in order.
    numbered = [line for line in md.splitlines() if line.startswith("| ") and
                line.split("|")[1].strip().isdigit()]
    assert [int(line.split("|")[1]) for line in numbered] == list(
        range(1, len(report["rows"]) + 1))
    assert report["figures"], "a report draws at least one figure"
    for fig in report["figures"]:
        assert (out / fig["file"]).read_bytes()[:8] == PNG_MAGIC
        assert f"]({fig['file']})" in md
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "staging folder left"


def test_quick_report_rows(quick_report):
    paper, _, report = quick_report
    published = paper_module(paper).PUBLISHED
    assert len(report["rows"]) >= 10
    for row in report["rows"]:
        assert row["status"] in STATUSES, row
        assert row["reason"].strip(), row
        assert (row["ours"] is None) == (row["status"] == "cannot"), row
        assert row["key"].split(".rtl")[0] in published, row
        if row["committed"]:
            assert row["regenerate"].startswith(".venv/bin/python benchmarks/"), row
    counts = report["counts"]
    assert sum(counts.values()) == len(report["rows"])


def test_sta_rows_against_the_papers_formulas(tmp_path):
    """Table III and Fig. 2 evaluated here from the paper's text, not from the generator."""
    from sparseforge.gen.reproduce import sta
    from sparseforge.gen.reproduce.context import Context
    from sparseforge.gen.reproduce.rows import Report
    ctx = Context(Report("sta", sta.TITLE, True), tmp_path, lambda m: None)
    sta._table3(ctx)
    ours = {r.published.key: r.ours for r in ctx.report.rows}
    # SA: one MAC, one accumulator, two operand registers per PE.
    assert [ours[f"table3.sa.{x}"] for x in ("macs", "accs", "oprs")] == [1, 1, 2]
    # STA 2×4×2: A·B·C = 16 MACs, A·C = 4 accumulators, B(A+C) = 16 operand registers.
    assert [ours[f"table3.sta.{x}"] for x in ("macs", "accs", "oprs")] == [16, 4, 16]
    # STA-DBB 2×4×2 with b = 2: A·b·C = 8, A·C = 4, AB + bC = 12.
    assert [ours[f"table3.dbb.{x}"] for x in ("macs", "accs", "oprs")] == [8, 4, 12]
    ctx.report.rows.clear()
    sta._speedups(ctx)
    bits = {r.published.key: r.ours for r in ctx.report.rows}
    assert bits["fig2.block_bits_2"] == 8 * 2 + 8 and bits["fig2.block_bits_4"] == 8 * 4 + 8


@pytest.mark.parametrize("paper", list(PAPERS))
def test_published_tables(paper):
    published = paper_module(paper).PUBLISHED
    assert published, f"{paper} has no published numbers"
    for key, entry in published.items():
        assert entry.key == key and entry.citation and entry.quantity, entry
        assert entry.value is not None, entry


def test_bad_paper_exits_2_with_one_line(tmp_path):
    out = tmp_path / "out"
    status, stdout, stderr = cli.main_captured(["reproduce", "stb", "-o", str(out)])
    assert status == 2 and stdout == ""
    assert len(stderr.strip().splitlines()) == 1
    assert "'stb'" in stderr and all(name in stderr for name in PAPERS)
    assert not out.exists() or not any(out.iterdir())


def test_help_text():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices["reproduce"]
    text = sub.format_help()
    assert all(name in text for name in PAPERS) and "--quick" in text


def test_output_folder_that_is_a_file_exits_2(tmp_path):
    target = tmp_path / "report.md"
    target.write_text("keep me\n")
    status, _, stderr = cli.main_captured(["reproduce", "ccr", "--quick", "-o", str(target)])
    assert status == 2 and len(stderr.strip().splitlines()) == 1 and "-o" in stderr
    assert target.read_text() == "keep me\n"


def test_compare_statuses():
    from sparseforge.gen.reproduce.rows import Published, Row, Source, cannot, compare
    pub = Published("k", "Table 1", "a ratio", 2.0, "×")
    src = Source("test")
    assert compare(pub, 2.1, src).status == "matches"            # 5 % off, 10 % allowed
    assert compare(pub, 2.5, src, why="slower").status == "differs"
    assert "slower" in compare(pub, 2.5, src, why="slower").reason
    # A close number in another setting is not a reproduction.
    other = compare(pub, 2.0, src, setting="another network")
    assert other.status == "differs" and "another network" in other.reason
    assert cannot(pub, "no model").ours is None
    with pytest.raises(ValueError, match="status"):
        Row(pub, 1, "close", "why", src)
    with pytest.raises(ValueError, match="reason"):
        Row(pub, 1, "matches", "", src)


def test_failed_reproduction_writes_nothing(tmp_path, monkeypatch):
    from sparseforge.gen.reproduce import sta

    def broken(ctx):
        path = ctx.figure("half", "a plot drawn before the failure")
        path.write_bytes(PNG_MAGIC)
        raise RuntimeError("a model failed")
    monkeypatch.setattr(sta, "reproduce", broken)
    with pytest.raises(RuntimeError):
        cli.main_captured(["reproduce", "sta", "--quick", "-o", str(tmp_path)])
    assert list(tmp_path.iterdir()) == []


def test_readme_counts_are_the_committed_reports():
    """The README's table of reports says what docs/reproduce/*.json hold."""
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text()
    for paper in PAPERS:
        counts = json.loads((root / "docs" / "reproduce" / f"{paper}.json").read_text())["counts"]
        line = next(line for line in readme.splitlines()
                    if f"(docs/reproduce/{paper}.md) |" in line)
        assert line.rstrip(" |").endswith(
            f"{counts['matches']} / {counts['differs']} / {counts['cannot']}"), line
