"""The systolic tensor array family of Liu, Whatmough, Mattina: SA, STA, STA-DBB, STA-VDBB."""

from .array import SystolicTensorArray
from .drain import ResultDrain
from .engine import StaEngine
from .feeder import StepFeeder
from .mac import DotProduct, SparseDotProduct, TimeUnrolledMac
from .tpe import TensorPE

__all__ = ["StaEngine", "SystolicTensorArray", "TensorPE", "StepFeeder", "ResultDrain",
           "DotProduct", "SparseDotProduct", "TimeUnrolledMac"]
