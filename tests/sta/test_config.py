"""Config schema (gen/config.py) and presets (gen/presets.py).

Expected values come from the STA paper's Table III worked by hand, from the preset names and
descriptions, and from the stated contract of :class:`ConfigError` (field, value, one line).
"""

import copy
import dataclasses
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sparseforge.gen.config import config_to_dict, load_config_file, parse_config
from sparseforge.gen.errors import ConfigError, InputError
from sparseforge.gen.presets import DEFAULT_PRESET, load_preset, preset_names, presets
from sparseforge.gen.sta.presets import STA_PRESETS
from sparseforge.gen.sta.config import STA_KINDS, StaConfig


def _sta(kind="sta", a=2, b=4, c=2, m=2, n=2, **extra):
    raw = {"arch": "sta", "kind": kind, "tpe": {"a": a, "b": b, "c": c}, "array": {"m": m, "n": n}}
    raw.update(extra)
    return raw


def _with(raw, path, value):
    """A deep copy of ``raw`` with the dotted ``path`` set to ``value``."""
    raw = copy.deepcopy(raw)
    *outer, key = path.split(".")
    section = raw
    for part in outer:
        section = section.setdefault(part, {})
    section[key] = value
    return raw


def _without(raw, path):
    raw = copy.deepcopy(raw)
    *outer, key = path.split(".")
    section = raw
    for part in outer:
        section = section[part]
    del section[key]
    return raw


SA = {"arch": "sta", "kind": "sa", "array": {"m": 2, "n": 3}}
STA = _sta("sta")
DBB = _sta("dbb", dbb_macs=2)
VDBB = _sta("vdbb", 2, 8, 4)


# (id, raw config, dotted field, offending value)
BAD_CONFIGS = [
    # top level
    ("not-a-mapping", [1, 2], "config", [1, 2]),
    ("none", None, "config", None),
    ("arch-missing", _without(STA, "arch"), "arch", None),
    ("arch-unknown", _with(STA, "arch", "tpu"), "arch", "tpu"),
    ("kind-missing", _without(STA, "kind"), "kind", None),
    ("kind-unknown", _with(STA, "kind", "dense"), "kind", "dense"),
    ("kind-case", _with(STA, "kind", "SA"), "kind", "SA"),
    ("unknown-key", _with(STA, "clock", 100), "clock", 100),
    ("name-digit", _with(STA, "name", "1design"), "name", "1design"),
    ("name-dash", _with(STA, "name", "my-design"), "name", "my-design"),
    ("name-int", _with(STA, "name", 7), "name", 7),
    ("name-too-long", _with(STA, "name", "x" * 65), "name", "x" * 65),
    # tpe
    ("tpe-missing", _without(STA, "tpe"), "tpe", None),
    ("tpe-not-mapping", _with(STA, "tpe", [2, 4, 2]), "tpe", [2, 4, 2]),
    ("tpe-unknown-key", _with(STA, "tpe.d", 1), "tpe.d", 1),
    ("tpe.a-zero", _with(STA, "tpe.a", 0), "tpe.a", 0),
    ("tpe.a-missing", _without(STA, "tpe.a"), "tpe.a", None),
    ("tpe.a-bool", _with(STA, "tpe.a", True), "tpe.a", True),
    ("tpe.a-str", _with(STA, "tpe.a", "2"), "tpe.a", "2"),
    ("tpe.a-float", _with(STA, "tpe.a", 2.0), "tpe.a", 2.0),
    ("tpe.b-zero", _with(STA, "tpe.b", 0), "tpe.b", 0),
    ("tpe.b-65", _with(STA, "tpe.b", 65), "tpe.b", 65),
    ("tpe.b-negative", _with(STA, "tpe.b", -4), "tpe.b", -4),
    ("tpe.c-65", _with(STA, "tpe.c", 65), "tpe.c", 65),
    ("tpe.c-bool", _with(STA, "tpe.c", False), "tpe.c", False),
    ("dbb-tpe.b-1", _with(DBB, "tpe.b", 1), "tpe.b", 1),
    ("dbb-tpe.b-33", _with(_without(DBB, "dbb_macs"), "tpe.b", 33), "tpe.b", 33),
    ("vdbb-tpe.b-1", _with(VDBB, "tpe.b", 1), "tpe.b", 1),
    ("vdbb-tpe.b-33", _with(VDBB, "tpe.b", 33), "tpe.b", 33),
    ("sa-tpe.b-2", _with(SA, "tpe", {"b": 2}), "tpe.b", 2),
    ("sa-tpe.a-4", _with(SA, "tpe", {"a": 4, "b": 1, "c": 1}), "tpe.a", 4),
    ("sa-tpe.c-0", _with(SA, "tpe", {"c": 0}), "tpe.c", 0),
    ("sa-tpe.b-bool", _with(SA, "tpe", {"b": True}), "tpe.b", True),
    ("sa-tpe.a-float", _with(SA, "tpe", {"a": 1.0}), "tpe.a", 1.0),
    ("sa-tpe-unknown-key", _with(SA, "tpe", {"d": 1}), "tpe.d", 1),
    # array
    ("array-missing", _without(STA, "array"), "array", None),
    ("array-not-mapping", _with(STA, "array", 4), "array", 4),
    ("array.m-zero", _with(STA, "array.m", 0), "array.m", 0),
    ("array.m-missing", _without(STA, "array.m"), "array.m", None),
    ("array.n-65", _with(STA, "array.n", 65), "array.n", 65),
    ("array.m-bool", _with(STA, "array.m", True), "array.m", True),
    ("array-unknown-key", _with(STA, "array.k", 2), "array.k", 2),
    ("sa-array.m-zero", _with(SA, "array.m", 0), "array.m", 0),
    # widths
    ("widths-not-mapping", _with(STA, "widths", 8), "widths", 8),
    ("widths-unknown-key", _with(STA, "widths.bias", 8), "widths.bias", 8),
    ("widths.act-1", _with(STA, "widths.act", 1), "widths.act", 1),
    ("widths.act-17", _with(STA, "widths.act", 17), "widths.act", 17),
    ("widths.weight-bool", _with(STA, "widths.weight", True), "widths.weight", True),
    ("widths.acc-15", _with(STA, "widths.acc", 15), "widths.acc", 15),
    ("widths.acc-65", _with(STA, "widths.acc", 65), "widths.acc", 65),
    ("widths.acc-below-act+weight",
     _with(_with(_with(STA, "widths.act", 12), "widths.weight", 12), "widths.acc", 23),
     "widths.acc", 23),
    ("widths.acc-str", _with(STA, "widths.acc", "32"), "widths.acc", "32"),
    # dbb_macs
    ("dbb_macs-on-sta", _with(STA, "dbb_macs", 2), "dbb_macs", 2),
    ("dbb_macs-on-vdbb", _with(VDBB, "dbb_macs", 4), "dbb_macs", 4),
    ("dbb_macs-on-sa", _with(SA, "dbb_macs", 1), "dbb_macs", 1),
    ("dbb_macs-equal-b", _with(DBB, "dbb_macs", 4), "dbb_macs", 4),
    ("dbb_macs-above-b", _with(DBB, "dbb_macs", 5), "dbb_macs", 5),
    ("dbb_macs-zero", _with(DBB, "dbb_macs", 0), "dbb_macs", 0),
    ("dbb_macs-bool", _with(DBB, "dbb_macs", True), "dbb_macs", True),
    ("dbb_macs-b2-equal", _with(_with(DBB, "tpe.b", 2), "dbb_macs", 2), "dbb_macs", 2),
    # act_zero_gating
    ("gating-on-sta", _with(STA, "act_zero_gating", True), "act_zero_gating", True),
    ("gating-on-dbb", _with(DBB, "act_zero_gating", True), "act_zero_gating", True),
    ("gating-int-1", _with(SA, "act_zero_gating", 1), "act_zero_gating", 1),
    ("gating-int-0", _with(VDBB, "act_zero_gating", 0), "act_zero_gating", 0),
    ("gating-str", _with(VDBB, "act_zero_gating", "yes"), "act_zero_gating", "yes"),
    # pipeline (MAC registers)
    ("pipeline-not-mapping", _with(VDBB, "pipeline", 2), "pipeline", 2),
    ("pipeline-unknown-key", _with(VDBB, "pipeline.stages", 2), "pipeline.stages", 2),
    ("pipeline.mux-int", _with(VDBB, "pipeline.mux", 1), "pipeline.mux", 1),
    ("pipeline.product-str", _with(SA, "pipeline.product", "yes"), "pipeline.product", "yes"),
    ("pipeline.mux-on-sa", _with(SA, "pipeline.mux", True), "pipeline.mux", True),
    ("pipeline.mux-on-sta", _with(STA, "pipeline.mux", True), "pipeline.mux", True),
]


@pytest.mark.parametrize("raw, field, value",
                         [pytest.param(r, f, v, id=i) for i, r, f, v in BAD_CONFIGS])
def test_bad_config_names_field_and_value(raw, field, value):
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    e = info.value
    assert e.field == field
    assert type(e.value) is type(value) and e.value == value
    message = str(e)
    assert "\n" not in message
    assert message.startswith(f"{field}: ")
    assert repr(value) in message
    assert isinstance(e, InputError)


def test_bad_config_does_not_mutate_input():
    raw = _with(STA, "tpe.b", 0)
    before = copy.deepcopy(raw)
    with pytest.raises(ConfigError):
        parse_config(raw)
    assert raw == before


# -- good configs: defaults and derived values -----------------------------------------------------

def test_defaults():
    cfg = parse_config(_sta("sta"))
    assert cfg.name == "design"
    assert (cfg.act_width, cfg.weight_width, cfg.acc_width) == (8, 8, 32)
    assert cfg.dbb_macs == 0
    assert cfg.act_zero_gating is False
    assert parse_config(SA).act_zero_gating is True            # single-MAC kinds gate by default
    assert parse_config(VDBB).act_zero_gating is True
    assert parse_config(_sta("dbb")).act_zero_gating is False
    assert parse_config(_sta("dbb", b=8)).dbb_macs == 4        # default b = B/2
    assert parse_config(_sta("dbb", b=2)).dbb_macs == 1
    assert parse_config(_sta("dbb", b=5)).dbb_macs == 2
    assert parse_config(_sta("sta"), default_name="top").name == "top"
    assert parse_config(_sta("sta", name="mine"), default_name="top").name == "mine"


def test_extreme_good_values():
    cfg = parse_config(_sta("sta", 64, 64, 64, 64, 64, widths={"act": 16, "weight": 16, "acc": 64}))
    assert (cfg.a, cfg.b, cfg.c, cfg.m, cfg.n) == (64,) * 5
    assert cfg.acc_width == 64
    cfg = parse_config(_sta("sta", 1, 1, 1, 1, 1, widths={"act": 2, "weight": 2, "acc": 4}))
    assert (cfg.act_width, cfg.weight_width, cfg.acc_width) == (2, 2, 4)
    assert parse_config(_sta("vdbb", b=32)).b == 32
    assert parse_config(_sta("dbb", b=32, dbb_macs=31)).dbb_macs == 31
    # sa accepts an explicit all-ones TPE, and gating switched off
    cfg = parse_config(_with(_with(SA, "tpe", {"a": 1, "b": 1, "c": 1}), "act_zero_gating", False))
    assert (cfg.a, cfg.b, cfg.c, cfg.act_zero_gating) == (1, 1, 1, False)
    assert parse_config(_with(VDBB, "act_zero_gating", False)).act_zero_gating is False


def test_pipeline_stages():
    """Each MAC register is one stage; the defaults have none and round-trip without the key."""
    assert parse_config(VDBB).mac_stages == 0
    assert "pipeline" not in config_to_dict(parse_config(VDBB))
    cases = [(SA, {"product": True}, 1), (DBB, {"mux": True}, 1),
             (VDBB, {"mux": True, "product": True}, 2), (VDBB, {"mux": False}, 0)]
    for raw, pipeline, stages in cases:
        cfg = parse_config({**raw, "pipeline": pipeline})
        assert cfg.mac_stages == stages
        assert parse_config(config_to_dict(cfg)) == cfg


def test_accelerator_takes_a_pipelined_mac():
    raw = {"arch": "accel", "array": {**_without(VDBB, "arch"), "pipeline": {"mux": True}}}
    for extra in ({}, {"sparseblox": {"capacity": 12}}):
        cfg = parse_config({**raw, **extra})
        assert cfg.array.mac_stages == 1
        assert parse_config(config_to_dict(cfg)) == cfg


def test_config_is_frozen():
    cfg = parse_config(STA)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.a = 3


# (id, raw, macs/TPE, accs/TPE, oprs/TPE, tile rows, tile cols, lanes, max nnz) by hand from
# Table III: MACs SA 1, STA A·B·C, DBB A·b·C, VDBB A·C; ACCs A·C;
# OPRs SA 2, STA B(A+C), DBB AB+bC.
DERIVED = [
    ("sa_2x3", SA, 1, 1, 2, 2, 3, 1, 1),
    ("sta_2x4x2_2x2", _sta("sta"), 16, 4, 16, 4, 4, 4, 4),
    ("sta_3x5x7_2x3", _sta("sta", 3, 5, 7, 2, 3), 105, 21, 50, 6, 21, 5, 5),
    ("sta_1x1x1_1x1", _sta("sta", 1, 1, 1, 1, 1), 1, 1, 2, 1, 1, 1, 1),
    # A fixed-DBB array accepts any density up to B: denser blocks than b take ⌈NNZ/b⌉ steps.
    ("dbb_2x4x2_2x2_b2", _sta("dbb", dbb_macs=2), 8, 4, 12, 4, 4, 2, 4),
    ("dbb_3x8x5_1x2_b3", _sta("dbb", 3, 8, 5, 1, 2, dbb_macs=3), 45, 15, 39, 3, 10, 3, 8),
    ("dbb_1x2x1_1x1_b1", _sta("dbb", 1, 2, 1, 1, 1), 1, 1, 3, 1, 1, 1, 2),
    ("vdbb_2x8x4_2x2", VDBB, 8, 8, None, 4, 8, 1, 8),
    ("vdbb_3x5x1_1x3", _sta("vdbb", 3, 5, 1, 1, 3), 3, 3, None, 3, 3, 1, 5),
]


@pytest.mark.parametrize("raw, macs, accs, oprs, rows, cols, lanes, max_nnz",
                         [pytest.param(*case[1:], id=case[0]) for case in DERIVED])
def test_derived_values_match_table3(raw, macs, accs, oprs, rows, cols, lanes, max_nnz):
    cfg = parse_config(raw)
    assert cfg.macs_per_pe == macs
    assert cfg.accumulators_per_pe == accs
    if oprs is not None:
        assert cfg.operand_registers_per_pe == oprs
    assert cfg.macs_total == macs * raw["array"]["m"] * raw["array"]["n"]
    assert (cfg.tile_rows, cfg.tile_cols) == (rows, cols)
    assert cfg.lanes == lanes
    assert cfg.max_nnz == max_nnz
    assert cfg.sparse == (raw["kind"] in ("dbb", "vdbb"))
    assert cfg.block == cfg.b


def test_vdbb_operand_registers():
    cfg = parse_config(VDBB)                     # A=2, B=8, C=4
    # Docstring: the TPE registers A·B activations and one weight per column (AB + C) ...
    assert cfg.operand_registers_per_pe == 2 * 8 + 4
    # ... while Table III's AB + nC counts the n weights of a block.
    assert cfg.table3(nnz=2)["oprs"] == 2 * 8 + 2 * 4
    assert cfg.table3(nnz=8)["oprs"] == 2 * 8 + 8 * 4
    assert cfg.table3()["oprs"] == 2 * 8 + 8 * 4                 # n defaults to B


def test_steps_per_block():
    assert parse_config(VDBB).steps_per_block(3) == 3
    assert parse_config(VDBB).steps_per_block(8) == 8
    assert parse_config(DBB).steps_per_block(2) == 1           # b = 2: up to the bound, one
    assert parse_config(DBB).steps_per_block(1) == 1
    assert parse_config(DBB).steps_per_block(3) == 2           # denser: ⌈3/2⌉ steps
    assert parse_config(DBB).steps_per_block(4) == 2
    assert parse_config(STA).steps_per_block(5) == 1
    assert parse_config(SA).steps_per_block(1) == 1


# Table III by hand: (id, raw, nnz, macs, accs, oprs, inter-TPE reuse, intra-TPE reuse, ACC reuse)
TABLE3 = [
    # SA 8x8: MN/(M+N) = 64/16
    ("sa_8x8", {"arch": "sta", "kind": "sa", "array": {"m": 8, "n": 8}}, None,
     1, 1, 2, 4.0, 0.5, 1),
    # STA 2x4x2_2x2: AMCN/(AM+CN) = 16/8, AC/(A+C) = 4/4, B = 4
    ("sta_2x4x2_2x2", _sta("sta"), None, 16, 4, 16, 2.0, 1.0, 4),
    # STA 3x5x7_2x3: 3·2·7·3/(6+21) = 126/27, 21/10
    ("sta_3x5x7_2x3", _sta("sta", 3, 5, 7, 2, 3), None, 105, 21, 50, 126 / 27, 21 / 10, 5),
    # DBB 2x4x2_2x2 b=2: AbCMN/(ABM+CbN) = 32/(16+8), AbC/(AB+bC) = 8/12, b = 2
    ("dbb_2x4x2_2x2", DBB, None, 8, 4, 12, 32 / 24, 8 / 12, 2),
    # VDBB 2x8x4_2x2 n=2: AnCMN/(ABM+CnN) = 64/(32+16), AnC/(AB+nC) = 16/24, 1
    ("vdbb_2x8x4_2x2_n2", VDBB, 2, 8, 8, 24, 64 / 48, 16 / 24, 1),
    # VDBB n=8: 256/(32+64), 64/(16+32)
    ("vdbb_2x8x4_2x2_n8", VDBB, 8, 8, 8, 48, 256 / 96, 64 / 48, 1),
]


@pytest.mark.parametrize("raw, nnz, macs, accs, oprs, inter, intra, acc_reuse",
                         [pytest.param(*case[1:], id=case[0]) for case in TABLE3])
def test_table3(raw, nnz, macs, accs, oprs, inter, intra, acc_reuse):
    got = parse_config(raw).table3(nnz)
    assert got["macs"] == macs
    assert got["accs"] == accs
    assert got["oprs"] == oprs
    assert got["inter_tpe_reuse"] == pytest.approx(inter)
    assert got["intra_tpe_reuse"] == pytest.approx(intra)
    assert got["acc_reuse"] == acc_reuse


def test_notation():
    assert parse_config(SA).notation == "1x1x1_2x3"
    assert parse_config(STA).notation == "2x4x2_2x2"
    assert parse_config(DBB).notation == "2x4x2_2x2_DBB2/4"
    assert parse_config(VDBB).notation == "2x8x4_2x2_VDBB"


# -- round trip ----------------------------------------------------------------------------------

@st.composite
def good_raw_configs(draw):
    kind = draw(st.sampled_from(STA_KINDS))
    raw = {"arch": "sta", "kind": kind,
           "array": {"m": draw(st.integers(1, 64)), "n": draw(st.integers(1, 64))}}
    if kind != "sa":
        lo, hi = (1, 64) if kind == "sta" else (2, 32)
        raw["tpe"] = {"a": draw(st.integers(1, 64)), "b": draw(st.integers(lo, hi)),
                      "c": draw(st.integers(1, 64))}
    if kind == "dbb" and draw(st.booleans()):
        raw["dbb_macs"] = draw(st.integers(1, raw["tpe"]["b"] - 1))
    if draw(st.booleans()):
        act, weight = draw(st.integers(2, 16)), draw(st.integers(2, 16))
        raw["widths"] = {"act": act, "weight": weight, "acc": draw(st.integers(act + weight, 64))}
    if kind in ("sa", "vdbb"):
        raw["act_zero_gating"] = draw(st.booleans())
    if draw(st.booleans()):
        raw["name"] = draw(st.sampled_from(["top", "_x", "Design_2", "a" * 64, "Z9"]))
    return raw


@given(good_raw_configs())
def test_round_trip(raw):
    cfg = parse_config(raw)
    assert isinstance(cfg, StaConfig)
    again = parse_config(config_to_dict(cfg), default_name="something_else")
    assert again == cfg
    assert cfg.kind == raw["kind"]
    assert (cfg.m, cfg.n) == (raw["array"]["m"], raw["array"]["n"])


@pytest.mark.parametrize("name", list(presets()))
def test_preset_round_trip(name):
    cfg = load_preset(name)
    assert parse_config(config_to_dict(cfg)) == cfg


def test_config_to_dict_rejects_other_objects():
    with pytest.raises(TypeError):
        config_to_dict({"arch": "sta"})


# -- presets --------------------------------------------------------------------------------------

_PRESET_RE = re.compile(r"(?:\w+?_)?(sa|sta|dbb|vdbb)_(?:(\d+)x(\d+)x(\d+)_)?(\d+)x(\d+)\Z")


@pytest.mark.parametrize("name", list(STA_PRESETS))
def test_every_preset_parses_and_matches_its_name(name):
    cfg = load_preset(name)
    assert isinstance(cfg, StaConfig)
    assert cfg.name == name
    match = _PRESET_RE.match(name)
    assert match, name
    kind, a, b, c, m, n = match.groups()
    assert cfg.kind == kind
    if a is not None:
        assert (cfg.a, cfg.b, cfg.c) == (int(a), int(b), int(c))
    else:
        assert (cfg.a, cfg.b, cfg.c) == (1, 1, 1)
    assert (cfg.m, cfg.n) == (int(m), int(n))
    description = STA_PRESETS[name][0]
    assert isinstance(description, str) and description and "\n" not in description


# MAC counts stated in the preset descriptions and the paper (Fig. 9, Fig. 12, Table IV)
@pytest.mark.parametrize("name, macs, nominal", [
    ("iso128_sa_8x16", 128, 128),
    ("iso128_sta_2x4x2_2x4", 128, 128),
    ("iso128_dbb_2x8x2_2x2", 64, 128),       # S8DP4: 2·4·2 MACs × 4 TPEs; 2·8·2 × 4 nominal
    ("iso128_vdbb_4x8x4_2x2", 64, 128),      # 16 MACs × 4 TPEs; ×8/4 at 4/8 density
    ("paper_sa_32x64", 2048, 2048),
    ("paper_dbb_4x8x4_4x8", 2048, 4096),
    ("paper_vdbb_4x8x8_4x8", 1024, 2048),
])
def test_preset_mac_counts(name, macs, nominal):
    cfg = load_preset(name)
    assert cfg.macs_total == macs
    assert cfg.nominal_macs_per_cycle() == nominal


def test_paper_presets_dbb_macs():
    assert load_preset("dbb_2x4x2_2x2").dbb_macs == 2
    assert load_preset("iso128_dbb_2x8x2_2x2").dbb_macs == 4
    assert load_preset("paper_dbb_4x8x4_4x8").dbb_macs == 4


def test_preset_names_and_default():
    assert preset_names() == list(presets())
    assert DEFAULT_PRESET in presets()
    assert load_preset(DEFAULT_PRESET).kind == "vdbb"


@pytest.mark.parametrize("name", ["nope", "", "SA_8X8", "sa_8x8.yaml"])
def test_load_preset_unknown_name(name):
    with pytest.raises(InputError) as info:
        load_preset(name)
    assert repr(name) in str(info.value)
    assert "\n" not in str(info.value)


def test_load_preset_does_not_mutate_presets():
    before = copy.deepcopy(presets())
    for name in before:
        load_preset(name)
    assert presets() == before


# -- files ----------------------------------------------------------------------------------------

def test_load_config_file_default_name_from_stem(tmp_path):
    path = tmp_path / "my_design.yaml"
    path.write_text("arch: sta\nkind: sta\ntpe: {a: 2, b: 4, c: 2}\narray: {m: 2, n: 2}\n")
    cfg = load_config_file(path)
    assert cfg.name == "my_design"
    assert (cfg.kind, cfg.a, cfg.b, cfg.c, cfg.m, cfg.n) == ("sta", 2, 4, 2, 2, 2)
    assert load_config_file(str(path)) == cfg


@pytest.mark.parametrize("filename, name", [
    ("my-design.yaml", "my_design"),
    ("3x3.yml", "d_3x3"),
    ("a.b.yaml", "a_b"),
])
def test_load_config_file_sanitizes_stem(tmp_path, filename, name):
    path = tmp_path / filename
    path.write_text("arch: sta\nkind: sa\narray: {m: 1, n: 1}\n")
    assert load_config_file(path).name == name


def test_load_config_file_name_key_wins(tmp_path):
    path = tmp_path / "file_stem.yaml"
    path.write_text("arch: sta\nname: top\nkind: sa\narray:\n  m: 4\n  n: 4\n")
    assert load_config_file(path).name == "top"


def test_load_config_file_invalid_yaml(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("arch: sta\nkind: [sa\narray: {m: 1, n: 1}\n")
    with pytest.raises(InputError) as info:
        load_config_file(path)
    assert not isinstance(info.value, ConfigError)
    assert "\n" not in str(info.value)
    assert "broken.yaml" in str(info.value)


def test_load_config_file_missing(tmp_path):
    with pytest.raises(InputError) as info:
        load_config_file(tmp_path / "absent.yaml")
    assert "absent.yaml" in str(info.value)


@pytest.mark.parametrize("text, field", [
    ("", "config"),                                   # empty file: YAML null
    ("- 1\n- 2\n", "config"),
    ("arch: sta\nkind: sta\ntpe: {a: 2, b: 0, c: 2}\narray: {m: 1, n: 1}\n", "tpe.b"),
    ("arch: sta\nkind: sa\narray: {m: 1, n: 1}\nact_zero_gating: 1\n", "act_zero_gating"),
])
def test_load_config_file_bad_config(tmp_path, text, field):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config_file(path)
    assert info.value.field == field
