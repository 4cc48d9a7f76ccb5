"""A test-only architecture whose Verilog Yosys refuses: its top instantiates a cell that no
library defines, so ``synth`` fails in Yosys's ``hierarchy`` pass.

``tests/common/test_error_paths.py`` registers it through ``SPARSEFORGE_ARCHS`` (the documented way
to add an architecture from outside sparseforge) to see a failed tool through the real
``sparseforge synth``: exit status 1 and one line naming a Yosys log that still exists. It has no
models, regression or runner: the descriptor's ``golden``, ``cycles``, ``regression`` and ``run``
name this module and are never used.
"""

from dataclasses import dataclass

from amaranth import Instance, Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from sparseforge.gen.registry import Architecture
from sparseforge.gen.schema import check_keys

__all__ = ["ARCH"]


@dataclass(frozen=True)
class BrokenConfig:
    name: str

    arch = "broken"
    notation = "an undefined cell"


def parse_broken(raw, name):
    check_keys(raw, "", ("arch", "name"))
    return BrokenConfig(name=name)


def broken_to_dict(cfg):
    return {"arch": "broken", "name": cfg.name}


class BrokenTop(wiring.Component):
    """One instance of ``sparseforge_no_such_cell``, which exists nowhere."""

    def __init__(self, cfg):
        super().__init__({"a": In(1), "y": Out(1)})

    def manifest_details(self):
        return {}

    def elaborate(self, platform):
        m = Module()
        m.submodules.cell = Instance("sparseforge_no_such_cell", i_a=self.a, o_y=self.y)
        return m


ARCH = Architecture(
    name="broken",
    summary="a design Yosys cannot synthesize (test-only)",
    config=BrokenConfig,
    parse=parse_broken,
    to_dict=broken_to_dict,
    presets={"broken_synth": ("instantiates an undefined cell (test-only)", {"arch": "broken"})},
    top="tests.common.brokensynth:BrokenTop",
    golden="tests.common.brokensynth",
    cycles="tests.common.brokensynth",
    regression="tests.common.brokensynth",
    run="tests.common.brokensynth:parse_broken",
)
