"""The VDBB accelerator of the STA paper (Section IV): SRAMs, IM2COL, array, output stage."""

from .accelerator import REGISTERS, Accelerator

__all__ = ["Accelerator", "REGISTERS"]
