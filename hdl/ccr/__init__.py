"""The CCR accelerator (Li et al., *CCR: A Concise Convolution Rule for Sparse Neural Network
Accelerators*, Sec. IV): dense baseline and SparseK."""

from .accelerator import BUILT_VARIANTS, CcrAccelerator, register_map

__all__ = ["CcrAccelerator", "register_map", "BUILT_VARIANTS"]
