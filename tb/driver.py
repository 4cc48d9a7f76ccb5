"""The generated register driver (``<name>_driver.py``, :mod:`sparseforge.gen.regmap`) in a bench.

A bench that programs its design through :class:`DriverRegisters` (or :func:`load_driver`) runs
the very text ``sparseforge generate`` writes for users, over cocotbext-axi's AXI4-Lite master,
so the driver is tested by every regression that uses it: the accelerator's, SCNN's, CCR's and
SparseCore's.
"""

from ..gen.regmap import python_driver, registers_of

__all__ = ["load_driver", "DriverRegisters"]


def load_driver(cfg, write, read, registers=None):
    """``Driver(write, read)`` of ``cfg``'s generated driver module (compiled from its text);
    ``registers`` is :func:`registers_of` ``(cfg)`` where the caller has it already."""
    registers = registers_of(cfg) if registers is None else registers
    namespace = {}
    exec(compile(python_driver(cfg.name, cfg.notation, registers), f"{cfg.name}_driver.py",
                 "exec"), namespace)
    return namespace["Driver"](write, read)


class DriverRegisters:
    """A bench's register access by name, through the generated driver over ``axil``.

    ``write(name, value)`` pulses a pulse register (``value`` must be 1) and writes an ``rw``
    one, a negative ``value`` as its two's complement in the register's width (the driver
    refuses a value that does not fit); ``read(name)`` is the driver's read."""

    def __init__(self, cfg, axil):
        registers = registers_of(cfg)
        self.driver = load_driver(cfg, axil.write_dword, axil.read_dword, registers)
        self.access = {r["name"]: r["access"] for r in registers}
        self.width = {r["name"]: r["width"] for r in registers}

    async def write(self, name, value):
        value = int(value)
        if self.access.get(name) == "pulse":
            assert value == 1, f"{name} is a pulse register: write 1"
            await self.driver.pulse(name)
            return
        if value < 0 and name in self.width:
            value += 1 << self.width[name]
        await self.driver.write(name, value)

    async def read(self, name):
        return await self.driver.read(name)
