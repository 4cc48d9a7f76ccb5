"""``sparseforge demo`` on an STA engine: generate, lint, run three densities, synthesize."""

from pathlib import Path

from ..emit import generate
from ..errors import InputError
from ..lint import lint_verilog
from ..report import Progress, table
from ..synth import synth
from .run import prepare_gemm, run_gemm_rtl

__all__ = ["run_demo"]


def run_demo(cfg, args):
    """Generate, lint, run three densities on Verilator, and measure area."""
    progress = Progress(True)
    out_dir = Path(args.out)
    progress(f"generating {cfg.name} ({cfg.notation}, {cfg.macs_total} MACs)")
    v_path, j_path = generate(cfg, out_dir)
    print(f"Verilog: {v_path}   manifest: {j_path}")

    progress("linting with Verilator -Wall")
    lint = lint_verilog(v_path, cfg.name)
    lint_state = "clean" if lint.ok else f"{len(lint.warnings)} warnings"

    shape = (4 * cfg.tile_rows, 64 * cfg.block, 4 * cfg.tile_cols)
    densities = {"vdbb": [cfg.block, cfg.block // 2, max(1, cfg.block // 4)],
                 "dbb": sorted({cfg.block, cfg.dbb_macs}, reverse=True)}.get(cfg.kind,
                                                                             [cfg.max_nnz])
    reports = []
    for nnz in densities:
        act, weights, nnz = prepare_gemm(cfg, shape=shape, nnz=nnz, act_density=0.5,
                                         seed=args.seed)
        report, _ = run_gemm_rtl(cfg, act, weights, nnz, simulator="verilator",
                                 seed=args.seed, progress=progress)
        reports.append(report)

    progress("synthesizing (Yosys, OSU 0.18 µm liberty)")
    try:
        area = synth(v_path, cfg.name, "liberty", work_dir=out_dir / "synth", progress=progress)
        area_text = f"{area['area_um2']:,.0f} µm² ({area['cells']:,} cells, " \
                    f"{area['flops']:,} flops)"
    except InputError as e:
        area = synth(v_path, cfg.name, "generic", work_dir=out_dir / "synth", progress=progress)
        area_text = f"{area['cells']:,} generic cells, {area['flops']:,} flops ({e})"

    base = reports[0]["cycles"]
    print()
    print(f"{cfg.name}: {shape[0]}x{shape[1]}x{shape[2]} GEMM on Verilator")
    rows = [(f"{r['nnz']}/{cfg.block}", r["cycles"], r["model_cycles"], base / r["cycles"],
             r["utilization"], "bit-exact" if r["mismatches"] == 0 else "MISMATCH")
            for r in reports]
    print(table(rows, ("density", "cycles", "model", "speed-up", "util", "vs golden")))
    print(f"lint: {lint_state}    area: {area_text}")
    ok = lint.ok and all(r["mismatches"] == 0 and r["cycles"] == r["model_cycles"]
                         for r in reports)
    return 0 if ok else 1


