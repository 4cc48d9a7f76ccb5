"""Blocks shared by every architecture: skew buffers, bit selection, adder trees, RAM macros."""

from .adder_tree import AdderTree, tree_levels
from .bitselect import NthSetBit
from .rams import Ram
from .skew import Skew

__all__ = ["AdderTree", "NthSetBit", "Ram", "Skew", "tree_levels"]
