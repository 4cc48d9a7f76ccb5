"""Per-layer thresholds as the hardware holds them: unsigned fixed point (Hotfilter et al., III-B).

A threshold ``t`` bounds the block's ``|mean|``; the hardware never divides. With ``t`` held as the
unsigned integer ``raw = t · 2**frac_bits`` (format ``Q{int_bits}.{frac_bits}``, ``int_bits +
frac_bits`` bits), the authors' test ``|sum| / n_valid < t`` is, exactly and in integers,

    ``|sum| · 2**frac_bits  <  raw · n_valid``.

The default ``Q8.8`` (16 bits) covers every ``|mean|`` of INT8 activations (at most 128) in steps of
1/256; a 16-bit operand (SCNN) wants ``Q16.8``.
"""

from dataclasses import dataclass
from fractions import Fraction

__all__ = ["ThresholdFormat", "Q8_8"]


@dataclass(frozen=True)
class ThresholdFormat:
    """Unsigned fixed point ``Q{int_bits}.{frac_bits}``: ``raw`` in ``[0, 2**bits)``,
    ``value = raw / 2**frac_bits``."""

    int_bits: int = 8
    frac_bits: int = 8

    def __post_init__(self):
        if not isinstance(self.int_bits, int) or self.int_bits < 1:
            raise ValueError(f"Threshold integer bits must be a positive integer, "
                             f"not {self.int_bits!r}")
        if not isinstance(self.frac_bits, int) or self.frac_bits < 0:
            raise ValueError(f"Threshold fraction bits must be a non-negative integer, "
                             f"not {self.frac_bits!r}")

    @property
    def bits(self):
        return self.int_bits + self.frac_bits

    @property
    def max_raw(self):
        return (1 << self.bits) - 1

    @property
    def name(self):
        return f"Q{self.int_bits}.{self.frac_bits}"

    def to_raw(self, value):
        """The raw code nearest ``value`` (ties to even); ``ValueError`` outside the format."""
        exact = Fraction(value) * (1 << self.frac_bits)
        raw = round(exact)
        if not 0 <= raw <= self.max_raw:
            raise ValueError(f"Threshold {value!r} is outside {self.name} "
                             f"(0 to {self.to_value(self.max_raw):g})")
        return raw

    def to_value(self, raw):
        """The threshold a raw code stands for, as a float (exact: it is a dyadic rational)."""
        self.check_raw(raw)
        return raw / (1 << self.frac_bits)

    def check_raw(self, raw):
        if not isinstance(raw, int) or isinstance(raw, bool) or not 0 <= raw <= self.max_raw:
            raise ValueError(f"Raw {self.name} threshold must be an integer from 0 to "
                             f"{self.max_raw}, not {raw!r}")
        return raw

    @classmethod
    def parse(cls, name):
        """``"Q8.8"`` → ``ThresholdFormat(8, 8)``."""
        try:
            head, frac = str(name).upper().removeprefix("Q").split(".")
            return cls(int(head), int(frac))
        except ValueError:
            raise ValueError(f"Threshold format must be written Q<int>.<frac>, "
                             f"not {name!r}") from None


Q8_8 = ThresholdFormat(8, 8)
