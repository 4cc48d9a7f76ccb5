"""Amaranth components of sparseforge: shared blocks in ``common`` and one package per architecture.

Nothing here knows about tests, models or the CLI; configs come in, Verilog comes out through
:mod:`sparseforge.gen.emit`.
"""
