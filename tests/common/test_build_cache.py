"""The simulation build cache is keyed by what is simulated, not by a list of source files.

Today's designs derive many hardware parameters in their configs (an accelerator's SRAM bank
depth, its IM2COL window, SCNN's halo); an edit there changes the Verilog without touching
``hdl/``. The build key hashes the exact Verilog each simulator compiles, so such an edit gets a
build of its own instead of a stale cached one.
"""

from sparseforge.gen import registry
from sparseforge.gen.accel.config import AccelConfig
from sparseforge.gen.config import parse_config
from sparseforge.gen.emit import verilog_text
from sparseforge.gen.presets import load_preset
from sparseforge.tb import runner


def _key(cfg, simulator, text=None):
    text = verilog_text(cfg) if text is None else text
    return runner.build_key(cfg, simulator, runner._sources(cfg, simulator, text))


def test_a_config_derived_value_changes_the_key(monkeypatch):
    raw, _ = registry.get("accel").regression_designs["accel_sa_test"]
    cfg = parse_config({**raw, "name": "accel_sa_test"})
    text = verilog_text(cfg)
    before = {sim: _key(cfg, sim, text) for sim in runner.SIMULATORS}
    depth = cfg.act_bank_depth
    # An edit of the config module's derivation, as a developer would make it: the RTL's SRAM
    # banks get shallower, nothing under hdl/ changes.
    monkeypatch.setattr(AccelConfig, "act_bank_depth", property(lambda self: depth // 2))
    text = verilog_text(cfg)
    after = {sim: _key(cfg, sim, text) for sim in runner.SIMULATORS}
    for sim in runner.SIMULATORS:
        assert after[sim] != before[sim], sim


def test_the_same_verilog_gives_the_same_key():
    cfg = load_preset("sa_1x1")
    text = verilog_text(cfg)
    for sim in runner.SIMULATORS:
        assert _key(cfg, sim, text) == _key(cfg, sim, verilog_text(cfg))


def test_one_changed_byte_changes_the_key():
    cfg = load_preset("sa_1x1")
    text = verilog_text(cfg)
    edited = text.replace("endmodule", "endmodule ", 1)
    for sim in runner.SIMULATORS:
        assert _key(cfg, sim, text) != _key(cfg, sim, edited)


def test_the_key_names_the_simulator():
    cfg = load_preset("sa_1x1")
    text = verilog_text(cfg)
    assert _key(cfg, "icarus", text) != _key(cfg, "verilator", text)


def test_kept_verilog_is_the_generated_verilog_and_keyed_by_config_and_sources(tmp_path,
                                                                             monkeypatch):
    """``kept_verilog_text`` (what simulation builds read) equals a fresh elaboration, is read
    back from the cache while config and sources are unchanged (a marker planted in the kept
    file comes back), and is elaborated afresh when either changes."""
    from sparseforge.gen import emit
    monkeypatch.setenv("SPARSEFORGE_CACHE", str(tmp_path))
    cfg = load_preset("sa_1x1")
    fresh = verilog_text(cfg)
    assert emit.kept_verilog_text(cfg) == fresh
    [kept] = (tmp_path / "verilog").glob("sa_1x1-*.v")
    kept.write_text(fresh + "// planted\n")
    assert emit.kept_verilog_text(cfg).endswith("// planted\n")
    other = parse_config({**registry.get("sta").to_dict(cfg), "name": "sa_1x1",
                          "widths": {"acc": 20}})
    assert not emit.kept_verilog_text(other).endswith("// planted\n")
    monkeypatch.setattr(emit, "_sources_digest", lambda: "an edited checkout")
    assert emit.kept_verilog_text(cfg) == fresh
