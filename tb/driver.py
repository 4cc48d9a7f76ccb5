"""The generated register driver (``<name>_driver.py``, :mod:`sparseforge.gen.regmap`) in a bench.

A bench that programs its design through :func:`load_driver` runs the very text ``sparseforge
generate`` writes for users, over cocotbext-axi's AXI4-Lite master, so the driver is tested by
every regression that uses it.
"""

from ..gen.regmap import python_driver, registers_of

__all__ = ["load_driver"]


def load_driver(cfg, write, read):
    """``Driver(write, read)`` of ``cfg``'s generated driver module (compiled from its text)."""
    registers = registers_of(cfg)
    namespace = {}
    exec(compile(python_driver(cfg.name, cfg.notation, registers), f"{cfg.name}_driver.py",
                 "exec"), namespace)
    return namespace["Driver"](write, read)
