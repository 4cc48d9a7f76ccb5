"""NumPy golden models, sparse formats, cycle models and workloads.

Nothing here imports Amaranth or cocotb: the models stay independent of the RTL they judge.
"""
