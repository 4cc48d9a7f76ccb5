"""Benches of the CCR accelerator: Amaranth-simulator runs (:mod:`.pysim`)."""
