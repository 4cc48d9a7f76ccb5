"""The seed a cocotb regression runs with: ``$SPARSEFORGE_SEED``, logged, salted per test."""

import os

__all__ = ["seed_for"]


def seed_for(dut, salt):
    """The seed of one test of a regression (``salt`` tells its tests apart), logged so a
    failure can be reproduced with ``sparseforge test CONFIG --seed S``."""
    seed = int(os.environ.get("SPARSEFORGE_SEED", "1"))
    dut._log.info("seed %d (salt %d)", seed, salt)
    return seed * 1000 + salt
