"""Config of the VDBB accelerator (gen/config_accel.py) and its presets (gen/presets_accel.py).

Bad configs must raise a one-line :class:`ConfigError` naming the dotted field and the value;
derived values are worked by hand from the documented formulas (STA paper, Sec. IV: INT8 words of
B channels, SRAMs split in two halves).
"""

import copy

import pytest
from sparseforge.gen.accel.config import AccelConfig, patch_shapes
from sparseforge.gen.accel.presets import ACCEL_PRESETS
from sparseforge.gen.config import config_to_dict, parse_config
from sparseforge.gen.errors import ConfigError, InputError
from sparseforge.gen.presets import load_preset, presets

# accel_small written out: 2x8x4_4x2 VDBB (8-pixel tiles, 8 columns, B = 8).
BASE = {"arch": "accel",
        "array": {"kind": "vdbb", "tpe": {"a": 2, "b": 8, "c": 4}, "array": {"m": 4, "n": 2}},
        "sram": {"act_kb": 128, "weight_kb": 64}, "im2col": True}


def _with(path, value, raw=BASE):
    """A deep copy of ``raw`` with the dotted ``path`` set to ``value``."""
    raw = copy.deepcopy(raw)
    *outer, key = path.split(".")
    section = raw
    for part in outer:
        section = section.setdefault(part, {})
    section[key] = value
    return raw


def _without(path, raw=BASE):
    raw = copy.deepcopy(raw)
    *outer, key = path.split(".")
    section = raw
    for part in outer:
        section = section[part]
    del section[key]
    return raw


# (id, raw config, dotted field, offending value, text the message must hold besides them)
BAD = [
    # top level
    ("unknown-key", _with("clock", 100), "clock", 100, "allowed keys"),
    ("name-not-identifier", _with("name", "1accel"), "name", "1accel", "identifier"),
    # array
    ("array-missing", _without("array"), "array", None, "mapping"),
    ("array-not-mapping", _with("array", [2, 8, 4]), "array", [2, 8, 4], "mapping"),
    ("array.arch", _with("array.arch", "sta"), "array.arch", "sta", "inherits"),
    ("array.name", _with("array.name", "core"), "array.name", "core", "inherits"),
    ("array.kind-unknown", _with("array.kind", "dense"), "array.kind", "dense", "vdbb"),
    ("array.kind-missing", _without("array.kind"), "array.kind", None, "vdbb"),
    ("array.unknown-key", _with("array.clock", 1), "array.clock", 1, "allowed keys"),
    ("array.tpe.a-zero", _with("array.tpe.a", 0), "array.tpe.a", 0, "1 to 64"),
    ("array.array.m-65", _with("array.array.m", 65), "array.array.m", 65, "1 to 64"),
    ("array.dbb_macs-on-vdbb", _with("array.dbb_macs", 4), "array.dbb_macs", 4, "kind dbb"),
    ("array.widths.act-4", _with("array.widths.act", 4), "array.widths.act", 4, "8"),
    ("array.widths.act-16", _with("array.widths.act", 16), "array.widths.act", 16, "INT8"),
    ("array.tpe.b-6", _with("array.tpe.b", 6), "array.tpe.b", 6, "power of two"),
    ("array.tpe.b-12", _with("array.tpe.b", 12), "array.tpe.b", 12, "power of two"),
    ("array.tpe.b-sta-3", _with("array", {"kind": "sta", "tpe": {"a": 1, "b": 3, "c": 3},
                                          "array": {"m": 1, "n": 1}}),
     "array.tpe.b", 3, "power of two"),
    # N·C = 2·3 = 6 is not a multiple of B = 8
    ("array.tpe.c-3", _with("array.tpe.c", 3), "array.tpe.c", 3, "N·C = 6 a multiple of B = 8"),
    ("array.tpe.c-n1", _with("array.array.n", 1), "array.tpe.c", 4,
     "N·C = 4 a multiple of B = 8"),
    # drain: 1 or 2 result rows a cycle (the output stage's write ports), 1 with Sparse-Blox
    ("array.drain.rows-4", _with("array", {"kind": "vdbb", "tpe": {"a": 4, "b": 8, "c": 4},
                                           "array": {"m": 2, "n": 2}, "drain": {"rows": 4}}),
     "array.drain.rows", 4, "1 or 2"),
    ("array.drain.rows-2-blox", _with("sparseblox", {"capacity": 64},
                                      _with("array.drain", {"rows": 2})),
     "array.drain.rows", 2, "1 with sparseblox"),
    # sram
    ("sram-not-mapping", _with("sram", 64), "sram", 64, "mapping"),
    ("sram.unknown-key", _with("sram.depth", 4), "sram.depth", 4, "allowed keys"),
    ("sram.act_kb-0", _with("sram.act_kb", 0), "sram.act_kb", 0, "1 to 65536"),
    ("sram.act_kb-65537", _with("sram.act_kb", 65537), "sram.act_kb", 65537, "1 to 65536"),
    ("sram.act_kb-str", _with("sram.act_kb", "128"), "sram.act_kb", "128", "integer"),
    ("sram.act_kb-bool", _with("sram.act_kb", True), "sram.act_kb", True, "integer"),
    ("sram.weight_kb-0", _with("sram.weight_kb", 0), "sram.weight_kb", 0, "1 to 65536"),
    ("sram.weight_kb-float", _with("sram.weight_kb", 64.0), "sram.weight_kb", 64.0, "integer"),
    ("sram.act_banks-12", _with("sram.act_banks", 12), "sram.act_banks", 12, "power of two"),
    ("sram.act_banks-1", _with("sram.act_banks", 1), "sram.act_banks", 1, "2 to 1024"),
    ("sram.act_banks-2048", _with("sram.act_banks", 2048), "sram.act_banks", 2048, "2 to 1024"),
    # a result row of 8 INT32 columns of B = 8 writes 4·8/8 = 4 words at once
    ("sram.act_banks-2", _with("sram.act_banks", 2), "sram.act_banks", 2, "at least 4"),
    # 1 KB of 64-bit words: 64 per half, fewer than 256 banks
    ("sram.act_kb-too-small", _with("sram", {"act_kb": 1, "act_banks": 256}), "sram.act_kb", 1,
     "256 banks of 64-bit words"),
    # B = 32: 2·64 columns of 1 value slot + 4 mask slots of 8 bits = 5120-bit weight words: 1 KB
    # holds one, not two
    ("sram.weight_kb-too-small",
     _with("sram", {"weight_kb": 1},
           _with("array", {"kind": "vdbb", "tpe": {"a": 1, "b": 32, "c": 64},
                           "array": {"m": 1, "n": 2}})),
     "sram.weight_kb", 1, "5120-bit weight words"),
    # im2col
    ("im2col-str", _with("im2col", "yes"), "im2col", "yes", "true, false"),
    ("im2col-none", _with("im2col", None), "im2col", None, "true, false"),
    ("im2col-int", _with("im2col", 1), "im2col", 1, "true, false"),
    ("im2col.unknown-key", _with("im2col", {"size": [3, 3]}), "im2col.size", [3, 3],
     "allowed keys"),
    ("im2col.window-zero", _with("im2col", {"window": [0, 5]}), "im2col.window", [0, 5],
     "1 to 255"),
    ("im2col.window-256", _with("im2col", {"window": [9, 256]}), "im2col.window", [9, 256],
     "1 to 255"),
    ("im2col.window-one", _with("im2col", {"window": [9]}), "im2col.window", [9], "[rows, cols]"),
    ("im2col.window-three", _with("im2col", {"window": [9, 9, 9]}), "im2col.window", [9, 9, 9],
     "[rows, cols]"),
    ("im2col.window-str", _with("im2col", {"window": "9x15"}), "im2col.window", "9x15",
     "[rows, cols]"),
    ("im2col.window-float", _with("im2col", {"window": [9.0, 15]}), "im2col.window", [9.0, 15],
     "integer"),
    ("im2col.window-bool", _with("im2col", {"window": [True, 15]}), "im2col.window", [True, 15],
     "integer"),
]


@pytest.mark.parametrize("raw, field, value, text",
                         [pytest.param(*case[1:], id=case[0]) for case in BAD])
def test_bad_accel_config_names_field_and_value(raw, field, value, text):
    before = copy.deepcopy(raw)
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    e = info.value
    assert e.field == field
    assert type(e.value) is type(value) and e.value == value
    message = str(e)
    assert "\n" not in message
    assert message.startswith(f"{field}: {value!r} is not allowed; expected ")
    assert text in message
    assert isinstance(e, InputError)
    assert raw == before                      # the input is not mutated


# -- derived values by hand ------------------------------------------------------------------------

def test_accel_small_derived_values_by_hand():
    cfg = load_preset("accel_small")
    assert isinstance(cfg, AccelConfig) and cfg.arch == "accel"
    assert (cfg.array.tile_rows, cfg.array.tile_cols, cfg.block) == (8, 8, 8)
    # 8 INT8 channels per word.
    assert cfg.word_bits == 64
    # 128 KB = 1 048 576 bits = 16 384 words, two halves of 8192.
    assert cfg.act_half_words == 8192
    # Default banks: the next power of two ≥ max(2·8 rows, 4·8/8 words, 2) = 16; 8192/16 = 512.
    assert (cfg.act_banks, cfg.act_bank_depth) == (16, 512)
    # A weight word: 8 columns × 2 slots of 8 bits (a value and a mask, or two values) = 128.
    assert cfg.weight_word_bits == 128
    # 64 KB = 524 288 bits = 4096 words, two halves of 2048.
    assert cfg.weight_half_words == 2048
    assert cfg.out_blocks_per_row == 1
    # Default window: the squarest patch 2×4 of a 7×7 kernel at stride 2 (3 + 6 = 9 rows,
    # 3·2 + 7 = 13 cols), widened to the no-IM2COL span of 8 pixels at stride 2 (15).
    assert (cfg.window_rows, cfg.window_cols, cfg.im2col) == (9, 15, True)
    assert (cfg.act_kb, cfg.weight_kb) == (128, 64)
    assert cfg.notation == "2x8x4_4x2_VDBB_IM2C"


def test_accel_paper_derived_values_by_hand():
    cfg = load_preset("accel_paper")
    assert (cfg.array.tile_rows, cfg.array.tile_cols, cfg.block) == (16, 64, 8)
    assert cfg.word_bits == 64
    # 2 MB = 16 777 216 bits = 262 144 words, two halves of 131 072.
    assert cfg.act_half_words == 131072
    # Banks: max(2·16, 4·64/8, 2) = 32; 131072/32 = 4096.
    assert (cfg.act_banks, cfg.act_bank_depth) == (32, 4096)
    # 64 columns × 2 slots of 8 bits = 1024-bit weight words; 512 KB = 4096 words, halves of
    # 2048.
    assert cfg.weight_word_bits == 1024
    assert cfg.weight_half_words == 2048
    assert cfg.out_blocks_per_row == 8
    # Squarest patch 4×4: 3·2 + 7 = 13 rows, max(13, 15·2 + 1 = 31) cols.
    assert (cfg.window_rows, cfg.window_cols) == (13, 31)
    assert cfg.notation == "4x8x8_4x8_VDBB_IM2C"
    # Two result rows a cycle, two result banks per TPE: K = 64 tiles (8 blocks, 8 steps at
    # 1/8) drain their M·A = 16 rows in 8 cycles.
    assert (cfg.array.drain_rows, cfg.array.result_banks) == (2, 2)


def test_accel_defaults_and_other_kinds_by_hand():
    raw = _without("sram")
    cfg = parse_config(raw)
    assert (cfg.act_kb, cfg.weight_kb, cfg.name) == (64, 16, "design")
    assert cfg.act_half_words == 64 * 1024 * 8 // 64 // 2 == 4096
    # A fixed-DBB array: 3 value slots + a mask slot of 8 bits per column, 8 columns → 256 bits;
    # it runs any density up to B.
    dbb = parse_config(_with("array", {"kind": "dbb", "tpe": {"a": 2, "b": 8, "c": 4},
                                       "array": {"m": 2, "n": 2}, "dbb_macs": 3}))
    assert (dbb.weight_word_bits, dbb.array.max_nnz) == (256, 8)
    # A dense STA array: 8 values of 8 bits per column, no mask: 8 × 64 = 512 bits.
    sta = parse_config(_with("array", {"kind": "sta", "tpe": {"a": 2, "b": 8, "c": 4},
                                       "array": {"m": 2, "n": 2}}))
    assert sta.weight_word_bits == 512
    assert sta.notation == "2x8x4_2x2_IM2C"
    # B = 4, 16-bit weights: words of 32 bits; 4 columns of 2 slots of 16 bits (the 4-bit mask
    # takes one slot).
    b4 = parse_config(_with("array", {"kind": "vdbb", "tpe": {"a": 2, "b": 4, "c": 2},
                                      "array": {"m": 2, "n": 2}, "widths": {"weight": 16}}))
    assert (b4.word_bits, b4.weight_word_bits, b4.act_banks) == (32, 128, 8)
    # Explicit banks and window; IM2COL off keeps a window for the record.
    cfg = parse_config(_with("im2col", {"window": [3, 4]}, _with("sram.act_banks", 64)))
    assert (cfg.act_banks, cfg.act_bank_depth, cfg.window_rows, cfg.window_cols) == \
        (64, 128, 3, 4)
    assert cfg.im2col is True
    off = parse_config(_with("im2col", False))
    assert off.im2col is False and off.notation == "2x8x4_4x2_VDBB"


def test_patch_shapes_by_hand():
    # Flat or square only (ph ≤ pw): the IM2COL unit latches one segment per patch row.
    assert patch_shapes(8) == [(1, 8), (2, 4)]
    assert patch_shapes(1) == [(1, 1)]
    assert patch_shapes(6) == [(1, 6), (2, 3)]
    assert patch_shapes(16) == [(1, 16), (2, 8), (4, 4)]


# -- presets and round trips -----------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(ACCEL_PRESETS))
def test_every_accel_preset_parses_and_round_trips(name):
    assert name in presets()
    cfg = load_preset(name)
    assert isinstance(cfg, AccelConfig)
    assert cfg.name == name
    raw = config_to_dict(cfg)
    assert raw["arch"] == "accel" and "arch" not in raw["array"] and "name" not in raw["array"]
    assert parse_config(copy.deepcopy(raw)) == cfg


ROUND_TRIPS = [
    ("base", BASE),
    ("no-im2col", _with("im2col", False)),
    ("window", _with("im2col", {"window": [5, 7]})),
    ("banks-and-widths", _with("array.widths", {"acc": 24}, _with("sram.act_banks", 128))),
    ("dbb", _with("array", {"kind": "dbb", "tpe": {"a": 1, "b": 4, "c": 4},
                            "array": {"m": 3, "n": 1}, "dbb_macs": 2})),
    ("sta-no-gating", _with("array", {"kind": "sta", "tpe": {"a": 4, "b": 2, "c": 2},
                                      "array": {"m": 1, "n": 1}})),
    ("vdbb-gating-off", _with("array.act_zero_gating", False)),
    # A taller array: 16·4 = 64-pixel tiles (the paper's TPE, 16 rows of them).
    ("tile-rows-64", _with("array", {"kind": "vdbb", "tpe": {"a": 4, "b": 8, "c": 8},
                                     "array": {"m": 16, "n": 8}})),
    # 4·N·C/B = 4·(8·64)/2 = 1024 words per INT32 result row.
    ("wide-row", _with("array", {"kind": "vdbb", "tpe": {"a": 1, "b": 2, "c": 64},
                                 "array": {"m": 1, "n": 8}})),
]


@pytest.mark.parametrize("raw", [pytest.param(raw, id=i) for i, raw in ROUND_TRIPS])
def test_accepted_config_round_trips_through_config_to_dict(raw):
    """Whatever parse_config accepts, it accepts again from config_to_dict, unchanged."""
    try:
        cfg = parse_config(copy.deepcopy(raw), default_name="rt")
    except ConfigError:
        return                                  # rejecting the config is consistent too
    again = config_to_dict(cfg)
    assert parse_config(copy.deepcopy(again)) == cfg
    assert config_to_dict(parse_config(again)) == again
