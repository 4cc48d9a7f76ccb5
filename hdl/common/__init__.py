"""Blocks shared by every architecture: skew buffers, bit selection."""

from .bitselect import NthSetBit
from .skew import Skew

__all__ = ["NthSetBit", "Skew"]
