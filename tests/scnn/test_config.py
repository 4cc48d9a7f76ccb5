"""SCNN config schema (gen/config_scnn.py) and presets (gen/presets_scnn.py).

Expected values come from the SCNN paper's Table 3 (16-bit multipliers, 24-bit accumulators, a 4×4
multiplier array, 32 banks × 32 entries, 10 KB IARAM/OARAM, 8×8 PEs) and from the accumulator-space
arithmetic worked by hand.
"""

import copy

import pytest
import yaml
from sparseforge.gen.config import config_to_dict, load_config_file, parse_config
from sparseforge.gen.errors import ConfigError
from sparseforge.gen.presets import load_preset, presets
from sparseforge.gen.scnn.config import ScnnConfig
from sparseforge.gen.scnn.presets import SCNN_PRESETS

BASE = {"arch": "scnn", "pes": {"x": 2, "y": 2}}


def _with(raw, path, value):
    raw = copy.deepcopy(raw)
    *outer, key = path.split(".")
    section = raw
    for part in outer:
        section = section.setdefault(part, {})
    section[key] = value
    return raw


def test_defaults_are_table3():
    cfg = parse_config(BASE)
    assert isinstance(cfg, ScnnConfig) and cfg.arch == "scnn"
    assert (cfg.f, cfg.i, cfg.banks, cfg.bank_entries) == (4, 4, 32, 32)
    assert (cfg.act_width, cfg.weight_width, cfg.acc_width, cfg.index_bits) == (16, 16, 24, 4)
    # 10 KB = 81920 bits = 4096 entries of 16 + 4 bits.
    assert cfg.iaram == cfg.oaram == 4096
    assert cfg.iaram * (cfg.act_width + cfg.index_bits) == 10 * 1024 * 8
    assert (cfg.kc, cfg.tile_w, cfg.tile_h, cfg.kernel_max) == (8, 8, 8, 3)
    assert cfg.queue_depth == 4


def test_derived_values_by_hand():
    cfg = parse_config(_with(_with(BASE, "tile", {"w": 3, "h": 5}), "kernel_max", 5))
    # halo 2: accumulator space (3 + 4) × (5 + 4) = 63 per channel, × kc = 8 → 504 ≤ 32 × 32.
    assert cfg.halo == 2
    assert (cfg.acc_w, cfg.acc_h, cfg.acc_plane, cfg.acc_space) == (7, 9, 63, 504)
    assert cfg.max_h == 10 and cfg.max_w == 6
    assert cfg.weight_block_max == 8 * 25
    assert cfg.multipliers_total == 4 * 16
    assert cfg.bank_bits == 5


def test_default_banks_are_2fi_rounded_to_a_power_of_two():
    small = _with(BASE, "tile", {"w": 4, "h": 4})              # rows of 6 accumulators
    assert parse_config(_with(small, "pe", {"f": 2, "i": 2})).banks == 8
    assert parse_config(_with(small, "pe", {"f": 3, "i": 1})).banks == 8     # 2·3 = 6 → 8
    # ... and at least a row of the accumulator space: 8 + 2 = 10 → 16.
    assert parse_config(_with(BASE, "pe", {"f": 2, "i": 2})).banks == 16


@pytest.mark.parametrize("path, value, words", [
    ("pe.f", 0, "pe.f: 0 is not allowed; expected an integer from 1 to 16"),
    ("pe.banks", 24, "a power of two"),
    ("pe.banks", 8, "at least tile.w + 2·halo = 10"),
    # 8 planes of 10 × 10 accumulators, each ⌈100 / 32⌉ = 4 entries of every bank.
    ("pe.bank_entries", 3, "at least 32"),
    ("pe.queue_depth", 1, "pe.queue_depth: 1 is not allowed; expected an integer from 2 to 16"),
    ("kernel_max", 4, "an odd integer"),
    ("tile.w", 0, "tile.w: 0 is not allowed"),
    ("widths.acc", 64, "an integer from 4 to 48"),
    ("index_bits", 0, "an integer from 1 to 8"),
    ("rams.iaram", 4095, "a multiple of pe.i = 4"),
    ("rams.weights", 6, "a multiple of pe.f = 4"),
    ("rams.nonsense", 1, "no such key here"),
    ("kc", 65, "an integer from 1 to 64"),
])
def test_bad_values_are_one_line_errors(path, value, words):
    with pytest.raises(ConfigError) as info:
        parse_config(_with(BASE, path, value))
    message = str(info.value)
    assert words in message
    assert "\n" not in message
    assert message.startswith(path.split(".")[0])


def test_tile_must_cover_the_halo():
    with pytest.raises(ConfigError, match=r"tile.w: 1 is not allowed; expected an integer from 2"):
        parse_config(_with(_with(BASE, "kernel_max", 5), "tile", {"w": 1, "h": 4}))


def test_missing_pes_is_an_error():
    with pytest.raises(ConfigError, match="pes: None is not allowed"):
        parse_config({"arch": "scnn"})


def test_round_trip_and_yaml_file(tmp_path):
    raw = {"arch": "scnn", "pes": {"x": 3, "y": 1}, "pe": {"f": 3, "i": 2, "banks": 16},
           "kc": 3, "tile": {"w": 5, "h": 3}, "widths": {"act": 8, "weight": 6, "acc": 18},
           "index_bits": 2, "rams": {"iaram": 64, "oaram": 32, "weights": 96,
                                     "out_channels": 9}}
    cfg = parse_config(raw, default_name="mine")
    assert parse_config(config_to_dict(cfg)) == cfg
    path = tmp_path / "my-scnn.yaml"
    path.write_text(yaml.safe_dump(raw))
    loaded = load_config_file(path)
    assert loaded.name == "my_scnn"
    assert config_to_dict(loaded)["rams"] == raw["rams"]


@pytest.mark.parametrize("name", sorted(SCNN_PRESETS))
def test_presets_parse_and_are_listed(name):
    cfg = load_preset(name)
    assert isinstance(cfg, ScnnConfig) and cfg.name == name
    assert name in presets()
    assert parse_config(config_to_dict(cfg)) == cfg


def test_paper_presets_match_table3():
    pe = load_preset("scnn_paper_pe")
    array = load_preset("scnn_paper_8x8")
    assert pe.pes == 1 and array.pes == 64
    assert array.multipliers_total == 1024                    # "# Multipliers 1,024"
    assert (pe.f, pe.i, pe.banks, pe.bank_entries) == (4, 4, 32, 32)
    # 6 KB of accumulator buffers per PE: 2 sets × 32 banks × 32 entries × 24 bits.
    assert 2 * pe.banks * pe.bank_entries * pe.acc_width == 6 * 1024 * 8
