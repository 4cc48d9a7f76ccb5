"""Test-suite settings: hypothesis without per-example deadlines, the slow tests first.

Under pytest-xdist on two cores an example can take many times its usual time while the other
worker compiles a simulation, so a deadline would fail tests for the machine's load, not for the
code. Every property test still runs its full number of examples.

The suite's wall time on two workers is set by its long tests (simulator builds and runs,
syntheses): run last, one of them keeps one worker busy after the other has finished. They are
collected first, so the many short tests fill the gaps (with ``--dist worksteal``, see the
Makefile).
"""

from hypothesis import settings

settings.register_profile("sparseforge", deadline=None)
settings.load_profile("sparseforge")


def _rank(item):
    """0: a simulator regression (the longest); 1: another cocotb run or a synthesis; 2: the
    rest."""
    if item.nodeid.startswith("tests/test_regression.py"):
        return 0
    if item.get_closest_marker("cocotb") is not None or "synth" in item.name:
        return 1
    return 2


def pytest_collection_modifyitems(config, items):
    items.sort(key=_rank)
