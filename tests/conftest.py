"""Test-suite settings: hypothesis without per-example deadlines.

Under pytest-xdist on two cores an example can take many times its usual time while the other
worker compiles a simulation, so a deadline would fail tests for the machine's load, not for the
code. Every property test still runs its full number of examples.
"""

from hypothesis import settings

settings.register_profile("sparseforge", deadline=None)
settings.load_profile("sparseforge")
