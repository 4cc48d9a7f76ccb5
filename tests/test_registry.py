"""The architecture registry is the only dispatch point, and every module imports on its own.

A test-only architecture (``tests/dotarch``: one dot-product unit with its config, preset, top,
golden and cycle models, cocotb regression and runner) is registered from outside sparseforge and
driven through ``presets``, ``generate``, ``lint``, ``test`` and ``run`` with no edit anywhere in
sparseforge. The import checks import every module in a fresh interpreter state, so an import
circle or a layer importing what it must not (``sim`` Amaranth or cocotb; ``hdl`` a bench or the
CLI) fails here.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sparseforge.gen import registry
from sparseforge.gen.config import config_to_dict, parse_config

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("hdl", "gen", "sim", "tb")


def _modules(layer):
    names = []
    for path in sorted((ROOT / layer).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names.append("sparseforge." + ".".join(parts))
    return names


def _python(code, **env):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **env}, cwd=ROOT)


_IMPORT_EACH = """
import importlib, sys
bad = []
for name in {names!r}:
    for loaded in [m for m in sys.modules if m.startswith("sparseforge")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as e:
        bad.append(f"{{name}}: {{type(e).__name__}}: {{e}}")
    leaked = sorted({{m.split(".")[0] for m in sys.modules}} & set({forbidden!r}))
    leaked += sorted(m for m in sys.modules if any(m.startswith(f) for f in {forbidden!r}))
    if leaked:
        bad.append(f"{{name}} imports {{', '.join(sorted(set(leaked)))}}")
print("\\n".join(bad))
"""


@pytest.mark.parametrize("layer, forbidden", [
    ("sim", ("amaranth", "cocotb", "sparseforge.hdl", "sparseforge.tb")),
    ("hdl", ("cocotb", "sparseforge.tb", "sparseforge.gen.cli", "sparseforge.sim")),
    ("gen", ()),
    ("tb", ()),
])
def test_every_module_imports_on_its_own(layer, forbidden):
    """Each module imported first, alone: no circle, and the layer's dependency rule holds.

    ``forbidden`` is checked in a process that imported nothing else, so ``sim`` must not pull in
    Amaranth or cocotb, and ``hdl`` no bench, CLI or model.
    """
    result = _python(_IMPORT_EACH.format(names=_modules(layer), forbidden=forbidden))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", result.stdout


def test_no_architecture_table_outside_the_registry():
    """No ``if cfg.arch == ...`` and no dict keyed by architecture names outside descriptors."""
    pattern = re.compile(r"\.arch\s*[!=]=|arch\s*==\s*[\"']|\{\s*[\"'](sta|accel|scnn)[\"']\s*:")
    hits = []
    for layer in LAYERS + ("benchmarks",):
        for path in (ROOT / layer).rglob("*.py"):
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if pattern.search(line):
                    hits.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not hits, "\n".join(hits)


def test_registry_lists_the_builtin_architectures():
    archs = registry.architectures()
    assert list(archs)[:len(registry.BUILTIN)] == list(registry.BUILTIN)
    for arch in archs.values():
        for name, (desc, raw) in arch.presets.items():
            cfg = parse_config({**raw, "name": name})
            assert isinstance(cfg, arch.config) and cfg.arch == arch.name
            assert parse_config(config_to_dict(cfg)) == cfg
            assert desc and "\n" not in desc


def test_register_rejects_duplicates_and_non_descriptors():
    sta = registry.get("sta")
    assert registry.register(sta) is sta            # the same descriptor again is harmless
    with pytest.raises(TypeError, match="Architecture descriptor, not"):
        registry.register({"name": "x"})
    from dataclasses import replace
    with pytest.raises(ValueError, match="registered already"):
        registry.register(replace(sta, presets={}))
    with pytest.raises(ValueError, match="taken by another"):
        registry.register(replace(sta, name="sta2"))


# -- the test-only architecture, through the CLI ------------------------------------------------

def _sparseforge(*args, cwd=None):
    env = {**os.environ, registry.ENV_VAR: "tests.dotarch",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "sparseforge.gen.cli", *args],
                          capture_output=True, text=True, env=env, cwd=cwd or ROOT)


def test_registered_architecture_in_presets_and_generate(tmp_path):
    listed = _sparseforge("presets", "--json")
    assert listed.returncode == 0, listed.stderr
    assert "dot4" in json.loads(listed.stdout)
    made = _sparseforge("generate", "dot4", "-o", str(tmp_path), "-q")
    assert made.returncode == 0, made.stderr
    manifest = json.loads((tmp_path / "dot4.json").read_text())
    assert manifest["arch"] == "dot" and manifest["macs_total"] == 4
    assert "module dot4" in (tmp_path / "dot4.v").read_text()
    yaml_cfg = tmp_path / "mine.yaml"
    yaml_cfg.write_text("arch: dot\nlanes: 3\n")
    assert _sparseforge("generate", str(yaml_cfg), "-o", str(tmp_path), "-q").returncode == 0
    assert (tmp_path / "mine.v").exists()


def test_registered_architecture_lints():
    result = _sparseforge("lint", "dot4", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["clean"] is True


@pytest.mark.cocotb
def test_registered_architecture_runs_its_regression_and_runner(tmp_path):
    tested = _sparseforge("test", "dot4", "--sim", "icarus", "--seed", "5", "--json",
                          "--log-dir", str(tmp_path))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    [row] = json.loads(tested.stdout)
    assert row["tests"] == 4 and row["failures"] == 0
    ran = _sparseforge("run", "dot4", "--length", "6", "--sim", "icarus", "--json")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    report = json.loads(ran.stdout)
    assert report["mismatches"] == 0 and report["cycles"] == report["model_cycles"] == 19


def test_registered_architecture_gets_the_shared_option_checks():
    result = _sparseforge("run", "dot4", "--gemm", "1,2,3")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "--gemm: not allowed for arch dot" in result.stderr and "--length" in result.stderr
    other = _sparseforge("run", "sa_1x1", "--length", "3")
    assert other.returncode == 2 and "--length: not allowed for arch sta" in other.stderr
