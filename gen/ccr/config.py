"""CCR configs: variant, PU, buffers and widths of a CCR accelerator, validated once.

Li et al., *CCR: A Concise Convolution Rule for Sparse Neural Network Accelerators*, Sec. IV–V
and Table I. Parsed from YAML by :func:`parse_ccr` (the ``arch: ccr`` parser of
:mod:`sparseforge.gen.registry`)::

    arch: ccr
    variant: sparse_k            # dense | sparse_k | sparse_i | sparse_ki (Table I)
    pu: {x: 8, y: 8}             # P_x × P_y PEs, powers of two
    buffers: {ib_kb: 128, kb_kb: 128, ob_kb: 128}   # the paper's 128 KB each (Sec. V-A)
    widths: {act: 8, weight: 8, acc: 32}
    kernel_max: 11               # largest R and S: sets the compressed kernel's index width
    map_max: 256                 # largest H and W of a pass
    kernels_max: 4096            # largest K·C: depth of the table of kernel entry counts

Pure Python: the models in ``sim/`` use it without importing Amaranth.
"""

from dataclasses import dataclass

from ..errors import ConfigError
from ..schema import bits_for, check_keys, int_field

__all__ = ["CcrConfig", "parse_ccr", "VARIANTS"]

#: The four architectures of Table I.
VARIANTS = ("dense", "sparse_k", "sparse_i", "sparse_ki")


def _bits(n):
    """Bits of an unsigned field holding 0 … n."""
    return bits_for(int(n) + 1)


@dataclass(frozen=True)
class CcrConfig:
    """A CCR accelerator: a ``P_x × P_y`` PU, KB/IB/OB buffers, AccUnit and crossbar (Fig. 7).

    Parameters
    ----------
    name : str
        Verilog module name and the stem of generated files.
    variant : str
        One of :data:`VARIANTS`: which of KB and IB hold compressed data (Table I).
    px, py : int
        PU rows and columns (powers of two: the output buffer is interleaved over ``P_x × P_y``
        banks by the low bits of the output coordinates).
    ib_kb, kb_kb, ob_kb : int
        Buffer sizes in KB (1024 bytes).
    act_width, weight_width, acc_width : int
        Two's-complement widths; products are exact, accumulators wrap modulo ``2**acc_width``.
    kernel_max : int
        Largest kernel height and width of a pass.
    map_max : int
        Largest input height and width of a pass.
    kernels_max : int
        Largest number of (output, input) channel pairs ``K·C`` of a pass: the depth of the
        kernels' count table (SparseK, SparseKI) and of the channels' count table (SparseI,
        SparseKI), since ``C ≤ K·C``.
    """

    name: str
    variant: str
    px: int
    py: int
    ib_kb: int
    kb_kb: int
    ob_kb: int
    act_width: int
    weight_width: int
    acc_width: int
    kernel_max: int
    map_max: int
    kernels_max: int

    arch = "ccr"

    # -- derived values: one place, used by the RTL, the models and the reports -------------------

    @property
    def multipliers(self):
        return self.px * self.py

    @property
    def sparse_kernels(self):
        """KB holds compressed kernels (SparseK, SparseKI)."""
        return self.variant in ("sparse_k", "sparse_ki")

    @property
    def sparse_inputs(self):
        """IB holds compressed input maps (SparseI, SparseKI)."""
        return self.variant in ("sparse_i", "sparse_ki")

    @property
    def kernel_index_bits(self):
        """Width of a kernel coordinate ``i`` or ``j`` in a compressed KB entry."""
        return _bits(self.kernel_max - 1)

    @property
    def map_bits(self):
        """Width of the layer's ``H`` and ``W``."""
        return _bits(self.map_max)

    @property
    def input_index_bits(self):
        """Width of an input coordinate ``m`` or ``n`` in a compressed IB entry."""
        return _bits(self.map_max - 1)

    @property
    def origin_bits(self):
        """Width of the signed window origin ``x0``, ``y0`` (``−pad``, or ``1 − R`` in 'full')."""
        return self.kernel_index_bits + 2

    @property
    def origin_min(self):
        """Smallest window origin the layer registers hold: the largest pad is ``−origin_min``."""
        return -(1 << (self.origin_bits - 1))

    @property
    def out_bits(self):
        """Width of the window's ``Ho`` and ``Wo`` (up to ``map_max + kernel_max − 1``)."""
        return _bits(self.map_max + self.kernel_max - 1)

    @property
    def kb_entry_bits(self):
        """Bits of a compressed KB entry ``(value, i, j)``."""
        return self.weight_width + 2 * self.kernel_index_bits

    @property
    def ib_entry_bits(self):
        """Bits of a compressed IB entry ``(value, m, n)``."""
        return self.act_width + 2 * self.input_index_bits

    @property
    def ib_word_bits(self):
        """Bits of an IB word (:mod:`sparseforge.sim.ccr.format`): a ``P_x × P_y`` input block
        (dense, SparseK), an entry (SparseI) or a vector of ``P_y`` entries (SparseKI)."""
        return {"dense": self.multipliers * self.act_width,
                "sparse_k": self.multipliers * self.act_width,
                "sparse_i": self.ib_entry_bits,
                "sparse_ki": self.py * self.ib_entry_bits}[self.variant]

    @property
    def kb_word_bits(self):
        """Bits of a KB word: a weight (dense), an entry (SparseK), a ``P_x × P_y`` tile
        (SparseI) or a vector of ``P_x`` entries (SparseKI)."""
        return {"dense": self.weight_width,
                "sparse_k": self.kb_entry_bits,
                "sparse_i": self.multipliers * self.weight_width,
                "sparse_ki": self.px * self.kb_entry_bits}[self.variant]

    @property
    def ib_words(self):
        return self.ib_kb * 8192 // self.ib_word_bits

    @property
    def kb_words(self):
        return self.kb_kb * 8192 // self.kb_word_bits

    @property
    def ob_bank_words(self):
        """Words of each of the ``P_x × P_y`` OB banks (``acc_width`` bits each)."""
        return self.ob_kb * 8192 // (self.multipliers * self.acc_width)

    @property
    def count_bits(self):
        """Width of a kernel's word count in the kernels' count table (0 … kernel_max²)."""
        return _bits(self.kernel_max * self.kernel_max)

    @property
    def ib_count_bits(self):
        """Width of a channel's word count in the channels' count table (0 … ib_words)."""
        return _bits(self.ib_words)

    @property
    def notation(self):
        return f"{self.variant} {self.px}x{self.py} PU, IB/KB/OB {self.ib_kb}/{self.kb_kb}/" \
               f"{self.ob_kb} KB"

    def to_dict(self):
        """The config as a plain mapping in YAML form (round-trips through :func:`parse_ccr`)."""
        return {
            "arch": "ccr", "name": self.name, "variant": self.variant,
            "pu": {"x": self.px, "y": self.py},
            "buffers": {"ib_kb": self.ib_kb, "kb_kb": self.kb_kb, "ob_kb": self.ob_kb},
            "widths": {"act": self.act_width, "weight": self.weight_width,
                       "acc": self.acc_width},
            "kernel_max": self.kernel_max, "map_max": self.map_max,
            "kernels_max": self.kernels_max,
        }


def _power_of_two(section, key, path, default):
    value = int_field(section, key, path, 1, 32, default=default)
    if value & (value - 1):
        raise ConfigError(f"{path}.{key}", value, "a power of two from 1 to 32 (the output "
                          "buffer banks are selected by the coordinates' low bits)")
    return value


def parse_ccr(raw, name):
    """Validate an ``arch: ccr`` mapping and return its :class:`CcrConfig`.

    Raises
    ------
    ConfigError
        On the first key that is missing, unknown, of the wrong type or out of range, or a
        buffer too small to hold one word.
    """
    check_keys(raw, "", ("arch", "name", "variant", "pu", "buffers", "widths", "kernel_max",
                          "map_max", "kernels_max"))
    variant = raw.get("variant", "sparse_k")
    if variant not in VARIANTS:
        raise ConfigError("variant", variant, "one of " + ", ".join(VARIANTS))
    pu = raw.get("pu")
    if pu is None:
        raise ConfigError("pu", None, "a mapping {x, y} of PEs (required)")
    check_keys(pu, "pu", ("x", "y"))
    px = _power_of_two(pu, "x", "pu", None)
    py = _power_of_two(pu, "y", "pu", None)
    buffers = raw.get("buffers", {})
    check_keys(buffers, "buffers", ("ib_kb", "kb_kb", "ob_kb"))
    sizes = {key: int_field(buffers, key, "buffers", 1, 1 << 16, default=128)
             for key in ("ib_kb", "kb_kb", "ob_kb")}
    widths = raw.get("widths", {})
    check_keys(widths, "widths", ("act", "weight", "acc"))
    act_width = int_field(widths, "act", "widths", 2, 16, default=8)
    weight_width = int_field(widths, "weight", "widths", 2, 16, default=8)
    acc_width = int_field(widths, "acc", "widths", 4, 48, default=32)
    kernel_max = int_field(raw, "kernel_max", "", 1, 16, default=11)
    map_max = int_field(raw, "map_max", "", 1, 4096, default=256)
    kernels_max = int_field(raw, "kernels_max", "", 1, 1 << 20, default=4096)
    cfg = CcrConfig(name=name, variant=variant, px=px, py=py, act_width=act_width,
                    weight_width=weight_width, acc_width=acc_width, kernel_max=kernel_max,
                    map_max=map_max, kernels_max=kernels_max, **sizes)
    for key, words in (("ib_kb", cfg.ib_words), ("kb_kb", cfg.kb_words),
                       ("ob_kb", cfg.ob_bank_words)):
        if words < 2:
            raise ConfigError(f"buffers.{key}", sizes[key], "a size holding at least two words")
    return cfg
