"""SparseCore: k/m structured sparsity on a weight-local output-stationary array (paper 000)."""

from .accbuf import AccumulationBuffer
from .alus import AluArray
from .compactor import Compactor
from .pe import SparseCorePE
from .postproc import PostProcessor
from .requant import Requantizer
from .sequencer import TapSequencer

__all__ = ["AccumulationBuffer", "AluArray", "Compactor", "PostProcessor", "Requantizer",
           "SparseCorePE", "TapSequencer"]
