"""The SCNN accelerator of Parashar et al.: compressed-sparse Cartesian-product PEs, tiled."""

from .accelerator import ScnnAccelerator, register_map
from .accumulators import AccumulatorBanks
from .compressor import Compressor
from .coords import ActOffset, ConstDivider, ProductAddresses, RowPositions, WeightOffset
from .blox import BlockPruner
from .crossbar import BankArbiter, ProductQueue, QueuedCrossbar
from .multiplier import MultiplierArray
from .pe import ScnnPE
from .ppu import PostProcessor
from ..common.rams import Ram

__all__ = ["ScnnAccelerator", "register_map", "ScnnPE", "PostProcessor", "Compressor",
           "QueuedCrossbar", "ProductQueue", "BankArbiter", "AccumulatorBanks", "MultiplierArray",
           "ConstDivider", "RowPositions", "ActOffset", "WeightOffset", "ProductAddresses", "Ram",
           "BlockPruner"]
