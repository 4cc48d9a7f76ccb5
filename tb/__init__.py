"""cocotb benches: shared stream drivers, AXI helpers and the runner; one package per architecture.
"""
