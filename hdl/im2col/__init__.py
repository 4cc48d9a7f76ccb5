"""The hardware IM2COL unit of the STA paper (Fig. 8) and the direct reader it replaces."""

from .direct import DirectReader
from .magnifier import Im2colMagnifier, patch_shapes

__all__ = ["Im2colMagnifier", "DirectReader", "patch_shapes"]
