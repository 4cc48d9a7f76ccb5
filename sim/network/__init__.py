"""A real network for the accelerators: a small CNN on scikit-learn's handwritten digits.

NumPy only. :mod:`.data` loads the images and the fixed split, :mod:`.model` defines and trains
the float network, :mod:`.prune` the papers' pruning schemes, :mod:`.quantize` the INT8
post-training quantization and the integer golden inference (the hardware's arithmetic), and
:mod:`.train` reproduces the committed weights (``python -m sparseforge.sim.network.train``).
"""
