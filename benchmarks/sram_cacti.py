"""Write the SRAM energy table of the power flow from CACTI 7 runs (gen/power/data/sram_cacti.json).

SRAM macros are black boxes to synthesis and to the gate-level power flow; their energy per access
comes from CACTI (HP Labs' cache and memory model; github.com/HewlettPackard/cacti, version 7.0,
commit 1ffd8df). CACTI 7 accepts feature sizes up to 90 nm, so every macro shape of the table is
modelled at 90 nm (ITRS high-performance devices, Vdd 1.2 V, 300 K, one read/write port, no ECC,
scratch RAM, energy-delay optimised organisation) and the table states the scaling to the OSU
0.18 µm library at 1.8 V that :mod:`sparseforge.gen.power.sram` applies (see there).

Usage, given a CACTI 7 executable (run in its own directory)::

    .venv/bin/python benchmarks/sram_cacti.py --cacti /path/to/cacti
"""

import argparse
import json
import re
import subprocess
import tempfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "gen" / "power" / "data" / "sram_cacti.json"

KB = 1024
CAPACITIES = [512, 1 * KB, 2 * KB, 4 * KB, 8 * KB, 16 * KB, 32 * KB, 64 * KB, 128 * KB,
              256 * KB, 512 * KB, 1024 * KB, 2048 * KB]
WIDTHS = [8, 16, 32, 64, 128, 256, 512]

# The cache.cfg shipped with CACTI 7 with these changes: a scratch RAM of one bank and one
# read/write port, no ECC, 300 K, energy-delay optimisation, concise output.
TEMPLATE = """\
-size (bytes) {size}
-Array Power Gating - "false"
-WL Power Gating - "false"
-CL Power Gating - "false"
-Bitline floating - "false"
-Interconnect Power Gating - "false"
-Power Gating Performance Loss 0.01
-block size (bytes) {block}
-associativity 1
-read-write port 1
-exclusive read port 0
-exclusive write port 0
-single ended read ports 0
-UCA bank count 1
-technology (u) 0.090
-page size (bits) 8192
-burst length 8
-internal prefetch width 8
-Data array cell type - "itrs-hp"
-Data array peripheral type - "itrs-hp"
-Tag array cell type - "itrs-hp"
-Tag array peripheral type - "itrs-hp"
-output/input bus width {width}
-operating temperature (K) 300
-cache type "ram"
-tag size (b) "default"
-access mode (normal, sequential, fast) - "normal"
-design objective (weight delay, dynamic power, leakage power, cycle time, area) 0:0:0:100:0
-deviate (delay, dynamic power, leakage power, cycle time, area) 20:100000:100000:100000:100000
-NUCAdesign objective (weight delay, dynamic power, leakage power, cycle time, area) 100:100:0:0:100
-NUCAdeviate (delay, dynamic power, leakage power, cycle time, area) 10:10000:10000:10000:10000
-Optimize ED or ED^2 (ED, ED^2, NONE): "ED"
-Cache model (NUCA, UCA)  - "UCA"
-NUCA bank count 0
-Wire signaling (fullswing, lowswing, default) - "Global_30"
-Wire inside mat - "semi-global"
-Wire outside mat - "semi-global"
-Interconnect projection - "conservative"
-Core count 8
-Cache level (L2/L3) - "L3"
-Add ECC - "false"
-Print level (DETAILED, CONCISE) - "CONCISE"
-Print input parameters - "false"
-Force cache config - "false"
-Ndwl 1
-Ndbl 1
-Nspd 0
-Ndcm 1
-Ndsam1 0
-Ndsam2 0
-dram_type "DDR3"
-io state "WRITE"
-addr_timing 1.0
-mem_density 4 Gb
-bus_freq 800 MHz
-duty_cycle 1.0
-activity_dq 1.0
-activity_ca 0.5
-num_dq 72
-num_dqs 18
-num_ca 25
-num_clk  2
-num_mem_dq 2
-mem_data_width 8
-rtt_value 10000
-ron_value 34
-tflight_value
-num_bobs 1
-capacity 80
-num_channels_per_bob 1
-first metric "Cost"
-second metric "Bandwidth"
-third metric "Energy"
-DIMM model "ALL"
-mirror_in_bob "F"
"""

FIELDS = {
    "read_nj": r"Total dynamic read energy per access \(nJ\): ([0-9.eE+-]+)",
    "write_nj": r"Total dynamic write energy per access \(nJ\): ([0-9.eE+-]+)",
    "leakage_mw": r"Total leakage power of a bank \(mW\): ([0-9.eE+-]+)",
    "access_ns": r"Access time \(ns\): ([0-9.eE+-]+)",
}


def run(cacti_dir, size, width):
    text = TEMPLATE.format(size=size, block=width // 8, width=width)
    with tempfile.NamedTemporaryFile("w", suffix=".cfg", dir=cacti_dir, delete=False) as f:
        f.write(text)
        cfg = Path(f.name)
    try:
        result = subprocess.run(["./cacti", "-infile", cfg.name], cwd=cacti_dir,
                                capture_output=True, text=True, timeout=600)
    finally:
        cfg.unlink()
    values = {}
    for name, pattern in FIELDS.items():
        match = re.search(pattern, result.stdout)
        if match is None:
            return None
        values[name] = float(match.group(1))
    return values


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cacti", required=True, type=Path,
                        help="directory of a CACTI 7 build (holds ./cacti and tech_params/)")
    args = parser.parse_args()
    entries = []
    for size in CAPACITIES:
        for width in WIDTHS:
            if size * 8 // width < 16:          # fewer than 16 words: not an SRAM macro
                continue
            values = run(args.cacti, size, width)
            status = "failed" if values is None else f"read {values['read_nj'] * 1e3:.2f} pJ"
            print(f"{size:>8} B x {width:>3} b: {status}", flush=True)
            if values is not None:
                entries.append({"bytes": size, "width_bits": width, **values})
    table = {
        "source": "CACTI 7.0 (github.com/HewlettPackard/cacti, commit 1ffd8df), run by "
                  "benchmarks/sram_cacti.py: scratch RAM, one bank, one read/write port, no ECC, "
                  "ITRS high-performance cells and periphery, 90 nm (the largest node CACTI 7 "
                  "accepts), Vdd 1.2 V, 300 K, energy-delay optimised organisation",
        "technology_nm": 90,
        "vdd": 1.2,
        "config_template": TEMPLATE,
        "entries": entries,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(table, indent=1) + "\n")
    print(f"wrote {OUT} ({len(entries)} macro shapes)")


if __name__ == "__main__":
    main()
