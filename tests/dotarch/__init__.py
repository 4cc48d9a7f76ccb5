"""A test-only architecture: one dot-product unit, registered from outside sparseforge.

It exists to prove that :mod:`sparseforge.gen.registry` is the only place an architecture is
dispatched from: ``tests/test_registry.py`` registers it (``SPARSEFORGE_ARCHS=tests.dotarch``) and
drives ``presets``, ``generate``, ``lint``, ``test`` and ``run`` on it with no edit anywhere in
sparseforge. It has everything a real architecture has: a config and its parser, a preset, a
top-level component, a golden model, an exact cycle model, a cocotb regression and a runner.
"""

from sparseforge.gen.registry import Architecture, RunOption

from .config import DotConfig, dot_to_dict, parse_dot

__all__ = ["ARCH"]

ARCH = Architecture(
    name="dot",
    summary="a single dot-product unit (test-only)",
    config=DotConfig,
    parse=parse_dot,
    to_dict=dot_to_dict,
    presets={"dot4": ("a 4-lane INT8 dot-product unit with a 20-bit accumulator (test-only)",
                      {"arch": "dot", "lanes": 4, "widths": {"acc": 20}})},
    top="tests.dotarch.hdl:DotUnit",
    golden="tests.dotarch.model",
    cycles="tests.dotarch.model",
    regression="tests.dotarch.regression",
    run="tests.dotarch.run:run_cli",
    run_options=(RunOption(("--length",), {"type": int, "metavar": "L",
                                           "help": "beats per dot product"}),),
)
