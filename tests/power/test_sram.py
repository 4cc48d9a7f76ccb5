"""The SRAM energy model against the CACTI table it is built on (gen/power/data/sram_cacti.json)."""

import json

import pytest
from sparseforge.gen.power import sram


@pytest.fixture(scope="module")
def table():
    return json.loads(sram.TABLE.read_text())


def test_table_entries_are_returned_scaled_to_018um_18v(table):
    assert sram.SCALE == pytest.approx(2 * 1.5 ** 2)
    for entry in table["entries"][::7]:
        words = entry["bytes"] * 8 // entry["width_bits"]
        read, write = sram.access_energy_pj(words, entry["width_bits"])
        assert read == pytest.approx(entry["read_nj"] * 1e3 * 4.5)
        assert write == pytest.approx(entry["write_nj"] * 1e3 * 4.5)


def test_between_entries_the_energy_lies_between_its_neighbours(table):
    # CACTI picks a different organisation for each size, so energy is not monotonic in size:
    # in between two entries it is interpolated, never beyond them.
    low = sram.access_energy_pj(4096, 64)           # 32 KB
    high = sram.access_energy_pj(8192, 64)          # 64 KB
    mid = sram.access_energy_pj(6000, 64)
    for i in (0, 1):
        assert min(low[i], high[i]) <= mid[i] <= max(low[i], high[i])
    narrow, wide = sram.access_energy_pj(8192, 32), sram.access_energy_pj(8192, 64)
    between = sram.access_energy_pj(8192, 48)
    assert min(narrow[0], wide[0]) <= between[0] <= max(narrow[0], wide[0])


def test_outside_the_table_energy_per_bit_is_the_edge_entry():
    # 8 KB of 1024-bit words: wider than the table's 512 bits, priced per bit as 8 KB of 512.
    assert sram.access_energy_pj(64, 1024)[0] / 1024 == pytest.approx(
        sram.access_energy_pj(128, 512)[0] / 512)
    # 4 MB: larger than the table's 2 MB, priced per bit as 2 MB.
    assert sram.access_energy_pj(1 << 19, 64)[1] / 64 == pytest.approx(
        sram.access_energy_pj(1 << 18, 64)[1] / 64)


def test_bad_macro_is_refused():
    with pytest.raises(ValueError, match="positive number of words"):
        sram.access_energy_pj(0, 32)
