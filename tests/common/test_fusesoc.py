"""The FuseSoC core ``generate`` writes: FuseSoC parses it and lints the design with Verilator.

Without the waivers fileset the same lint fails (Amaranth's output style), which shows the
target really runs Verilator on the generated Verilog.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from sparseforge.gen.cli import main
from sparseforge.gen.toolchain import verilator_env


def _fusesoc(root, *argv):
    fusesoc = Path(sys.executable).parent / "fusesoc"
    env = {**os.environ, **verilator_env()}
    return subprocess.run([str(fusesoc if fusesoc.exists() else shutil.which("fusesoc")),
                           "--cores-root", str(root), *argv], cwd=root, env=env,
                          capture_output=True, text=True)


def test_fusesoc_lints_the_generated_core(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["generate", "sa_1x1", "-o", str(out), "-q"]) == 0
    capsys.readouterr()
    done = _fusesoc(out, "core-info", "sparseforge:sta:sa_1x1")
    assert done.returncode == 0, done.stderr
    done = _fusesoc(out, "run", "--target", "lint", "sparseforge:sta:sa_1x1")
    assert done.returncode == 0, done.stdout + done.stderr

    core = yaml.safe_load((out / "sa_1x1.core").read_text().removeprefix("CAPI=2:\n"))
    core["targets"]["lint"]["filesets"] = ["rtl"]
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(out / "sa_1x1.v", bare)
    (bare / "sa_1x1.core").write_text("CAPI=2:\n" + yaml.safe_dump(core, sort_keys=False))
    done = _fusesoc(bare, "run", "--target", "lint", "sparseforge:sta:sa_1x1")
    assert done.returncode != 0 and "WIDTHEXPAND" in done.stdout + done.stderr
