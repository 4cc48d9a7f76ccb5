"""The CCR accelerator (Li et al., *CCR: A Concise Convolution Rule for Sparse Neural Network
Accelerators*, Sec. IV, Table I): the dense baseline, SparseK, SparseI and SparseKI."""

from .accelerator import STATUS_BITS, CcrAccelerator, register_map

__all__ = ["CcrAccelerator", "register_map", "STATUS_BITS"]
