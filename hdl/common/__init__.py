"""Blocks shared by every architecture: skew buffers, bit selection, adder trees."""

from .adder_tree import AdderTree, tree_levels
from .bitselect import NthSetBit
from .skew import Skew

__all__ = ["AdderTree", "NthSetBit", "Skew", "tree_levels"]
