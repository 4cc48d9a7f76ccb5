"""``run --wave``: the RTL simulation's waveforms, in the simulator's format, where asked.

The Verilator VCD is read back and the result stream's handshakes counted: a 4×4×4 GEMM on one
MAC delivers its 16 results in exactly 16 accepted beats. The Icarus FST is checked by its header.
"""

import pytest

from sparseforge.gen.cli import main


def _vcd_handshakes(path, valid, ready, clock="clk"):
    """Rising clock edges at which ``valid`` and ``ready`` are both 1 (top-level signals)."""
    ids, values, count = {}, {}, 0
    lines = iter(path.read_text().splitlines())
    for line in lines:                     # header: the first $scope's signals by their names
        parts = line.split()
        if parts[:1] == ["$var"] and parts[4] in (valid, ready, clock):
            ids.setdefault(parts[3], parts[4])
        if parts[:1] == ["$enddefinitions"]:
            break
    for line in lines:
        if not line or line[0] in "#$b":
            continue
        value, ident = line[0], line[1:]
        if ident in ids:
            name = ids[ident]
            if name == clock and value == "1" and values.get(clock) == "0":
                count += values.get(valid) == "1" and values.get(ready) == "1"
            values[name] = value
    return count


def test_verilator_vcd_holds_the_run(tmp_path, capsys):
    wave = tmp_path / "run.vcd"
    assert main(["run", "sa_1x1", "--gemm", "4,4,4", "--wave", str(wave), "-q"]) == 0
    assert _vcd_handshakes(wave, "result__valid", "result__ready") == 16
    capsys.readouterr()


def test_icarus_fst(tmp_path, capsys):
    wave = tmp_path / "run.fst"
    assert main(["run", "sa_1x1", "--gemm", "4,4,4", "--sim", "icarus", "--wave", str(wave),
                 "-q"]) == 0
    head = wave.read_bytes()[:33]
    assert head[0] == 0 and int.from_bytes(head[1:9], "big") == 329      # FST header block
    assert int.from_bytes(head[17:25], "big") > 0                          # its end time
    capsys.readouterr()


@pytest.mark.parametrize("argv, message", [
    (["--wave", "{tmp}/x.fst"], "--wave: '{tmp}/x.fst' is not allowed with --sim verilator; "
                                "expected a .vcd file"),
    (["--sim", "icarus", "--wave", "{tmp}/x.vcd"], "expected a .fst file"),
    (["--wave", "{tmp}/missing/x.vcd"], "--wave: directory"),
    (["--wave", "{tmp}"], "is not allowed with --sim verilator"),
])
def test_bad_wave_paths(tmp_path, capsys, argv, message):
    argv = [a.format(tmp=tmp_path) for a in argv]
    assert main(["run", "sa_1x1", "--gemm", "4,4,4", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message.format(tmp=tmp_path) in err and "\n" not in err
    assert list(tmp_path.iterdir()) == []
