"""The Python API: a generated top instantiated inside a user's own Amaranth design, and the
commands as functions returning dataclasses.

The enclosing design (an engine plus a row counter, its streams passed through with
``wiring.connect``) is simulated in Amaranth's simulator on a GEMM and compared with the golden
GEMM, so the component really works where a user puts it.
"""

import doctest
import json
from pathlib import Path

import numpy as np
import pytest
from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from sparseforge.gen import api
from sparseforge.gen.cli import main_captured
from sparseforge.gen.errors import InputError
from sparseforge.sim.gemm import gemm
from sparseforge.sim.sta import streams as sta_streams


class CountingGemm(wiring.Component):
    """A user's design: sparseforge's engine, its streams passed through, result rows counted."""

    def __init__(self, cfg):
        self.engine = api.component(cfg)
        members = self.engine.signature.members
        super().__init__({
            "job": In(members["job"].signature.flip()),
            "act": In(members["act"].signature.flip()),
            "weight": In(members["weight"].signature.flip()),
            "result": Out(members["result"].signature),
            "rows": Out(16),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.engine = self.engine
        for name in ("job", "act", "weight"):
            wiring.connect(m, wiring.flipped(getattr(self, name)), getattr(self.engine, name))
        wiring.connect(m, self.engine.result, wiring.flipped(self.result))
        with m.If(self.result.valid & self.result.ready):
            m.d.sync += self.rows.eq(self.rows + 1)
        return m


def test_engine_inside_a_user_design():
    cfg = api.config({"arch": "sta", "kind": "sa", "array": {"m": 2, "n": 2}}, name="gemm")
    rng = np.random.default_rng(7)
    m_, k, n = 3, 5, 4
    act = rng.integers(-128, 128, (m_, k))
    weights = rng.integers(-128, 128, (k, n))
    streams = sta_streams.engine_streams(cfg, act, weights, 1)
    dut = CountingGemm(cfg)
    expected_rows = streams.tiles * cfg.tile_rows
    rows, counted = [], []

    async def put(ctx, port, beats):
        for beat in beats:
            ctx.set(port.valid, 1)
            ctx.set(port.payload, beat)
            await ctx.tick().until(port.ready)
            ctx.set(port.valid, 0)

    async def job(ctx):
        await put(ctx, dut.job, [{"k": streams.k, "nnz": streams.nnz, "tiles": streams.tiles}])

    async def act_in(ctx):
        await put(ctx, dut.act, [[list(map(int, row)) for row in beat]
                                 for beat in streams.act_beats])

    async def weight_in(ctx):
        await put(ctx, dut.weight, [[{"values": list(map(int, v))} for v in values]
                                    for values in streams.weight_values])

    async def result(ctx):
        ctx.set(dut.result.ready, 1)
        while len(rows) < expected_rows:
            _, _, valid, payload = await ctx.tick().sample(dut.result.valid, dut.result.payload)
            if valid:
                rows.append([int(x) for x in payload])
        await ctx.tick()
        counted.append(ctx.get(dut.rows))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    for bench in (job, act_in, weight_in, result):
        sim.add_testbench(bench)
    sim.run_until(1e-3)
    got = sta_streams.assemble(cfg, np.array(rows), m_, n)
    np.testing.assert_array_equal(got, gemm(act, weights, cfg.acc_width))
    assert counted == [expected_rows]


def test_config_from_mappings_and_presets():
    assert api.config("sa_1x1").name == "sa_1x1"
    assert api.config("sa_1x1", name="mine").name == "mine"
    with pytest.raises(InputError, match="array.m: 0 is not allowed"):
        api.config({"arch": "sta", "kind": "sa", "array": {"m": 0, "n": 1}})
    with pytest.raises(InputError, match="is neither a file nor a preset"):
        api.config("no_such_design")


def test_commands_as_functions(tmp_path):
    cfg = api.config("sa_1x1")
    made = api.generate(cfg, tmp_path)
    assert made.verilog == tmp_path / "sa_1x1.v" and made.manifest_data()["name"] == "sa_1x1"
    result = api.run(cfg, gemm=(4, 4, 4), sim="icarus")
    assert result.mismatches == 0 and result.data["m"] == 4
    assert result.cycles == result.model_cycles and result.ok and result.kind == "gemm"
    # the command is a layer over the function: its JSON is the function's data
    status, out, _err = main_captured(["run", "sa_1x1", "--gemm", "4,4,4", "--sim", "icarus",
                                       "--json", "-q"])
    assert status == 0 and json.loads(out) == result.data
    with pytest.raises(InputError, match="--nnz: 3 is not allowed"):
        api.run(cfg, gemm=(4, 4, 4), nnz=3, sim="icarus")
    with pytest.raises(InputError, match="--conv: not allowed for arch sta"):
        api.run(cfg, conv="8,8,4,4,3,3")
    with pytest.raises(TypeError, match="unexpected option 'gemmm'"):
        api.run(cfg, gemmm=(4, 4, 4))
    report = api.synth(cfg, "generic")
    assert report.cells > 0 and report.flops > 0 and report.figures["flow"] == "generic"


def test_reproduce_as_a_function(tmp_path):
    """The quick CCR report (its worked examples: the paper's MAC counts) as data and files."""
    report = api.reproduce("ccr", tmp_path, quick=True)
    assert (tmp_path / "ccr.md").exists() and (tmp_path / "ccr.json").exists()
    assert report.rows and {r.status for r in report.rows} <= {"matches", "differs", "cannot"}
    with pytest.raises(InputError, match="'nature' is not a seed paper"):
        api.reproduce("nature", tmp_path)


def test_readme_session(tmp_path, monkeypatch):
    """The README's notebook session ("From Python"), run as a doctest: every output it shows."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("### From Python"):]
    start = section.index("```pycon\n") + len("```pycon\n")
    session = section[start:section.index("\n```\n", start)]
    monkeypatch.chdir(tmp_path)
    test = doctest.DocTestParser().get_doctest(session, {}, "README From Python", "README.md", 0)
    assert len(test.examples) >= 10
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.summarize(verbose=False).failed == 0
