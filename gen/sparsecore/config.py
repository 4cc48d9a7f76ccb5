"""SparseCore configs: PEs of ALUs, k/m, the band of output rows and the memories, validated once.

*SparseCore* (paper 000), Sections 2.1 and 3, Table 2. Parsed from a mapping (YAML) by
:func:`parse_sparsecore`::

    arch: sparsecore
    pes: 64                  # PEs; each owns one output-depth chunk (weight-local)
    alus_per_pe: 16          # ALUs (multipliers) per PE
    k: 2                     # k/m:d sparsity along output depth: k non-zeros of every m
    m: 4
    band_rows: 2             # output rows of one work unit (even when 2×2 pooling is used)
    limits: {h: 64, w: 64, c: 64, k: 128, kernel: 3}
    widths: {act: 8, weight: 8, acc: 32}
    memories: {act_kib: 2048, weight_kib: 512, acc_kib: 512}   # Table 2's macros, for area

Pure Python: the models in ``sim/`` use it without importing Amaranth.
"""

from dataclasses import dataclass

from ..schema import check_keys as _check_keys
from ..schema import int_field as _int
from ..errors import ConfigError

__all__ = ["SparseCoreConfig", "parse_sparsecore"]


@dataclass(frozen=True)
class SparseCoreConfig:
    """A SparseCore accelerator: ``pes`` PEs of ``alus_per_pe`` ALUs exploiting k/m sparsity.

    Parameters
    ----------
    name : str
        Verilog module name and the stem of generated files.
    pes : int
        Processing elements.
    alus_per_pe : int
        ALUs per PE, a multiple of ``k``: one non-zero activation meets the ``k`` non-zero weights
        of each of ``alus_per_pe / k`` groups of ``m`` output channels per cycle.
    k, m : int
        k/m:d sparsity along the output depth: of every ``m`` consecutive output channels at one
        ``(c, r, s)``, at most ``k`` weights are non-zero (``m`` a power of two, ``1 ≤ k ≤ m``).
    band_rows : int
        Output rows of a work unit (a band spanning the whole output width).
    requant_lanes : int
        Channels the post-processor requantizes per cycle (a divisor of the chunk depth).
    max_h, max_w, max_c, max_k, kernel_max : int
        Largest input height, input width, input channels, output channels and kernel side.
    act_width, weight_width, acc_width : int
        Two's-complement widths; accumulators wrap modulo ``2**acc_width``.
    act_kib, weight_kib, acc_kib : int
        Sizes of the activation/index memory, the weight memory and the accumulation buffer as
        the area model counts them (Table 2: 2 MB, 512 KB, 512 KB).
    """

    name: str
    pes: int
    alus_per_pe: int
    k: int
    m: int
    band_rows: int
    requant_lanes: int
    max_h: int
    max_w: int
    max_c: int
    max_k: int
    kernel_max: int
    act_width: int = 8
    weight_width: int = 8
    acc_width: int = 32
    act_kib: int = 64
    weight_kib: int = 16
    acc_kib: int = 16

    arch = "sparsecore"

    def to_dict(self):
        """The config as a plain mapping (round-trips through :func:`parse_sparsecore`)."""
        return {"arch": "sparsecore", "name": self.name, "pes": self.pes,
                "alus_per_pe": self.alus_per_pe, "k": self.k, "m": self.m,
                "band_rows": self.band_rows, "requant_lanes": self.requant_lanes,
                "limits": {"h": self.max_h, "w": self.max_w, "c": self.max_c, "k": self.max_k,
                           "kernel": self.kernel_max},
                "widths": {"act": self.act_width, "weight": self.weight_width,
                           "acc": self.acc_width},
                "memories": {"act_kib": self.act_kib, "weight_kib": self.weight_kib,
                             "acc_kib": self.acc_kib}}

    @property
    def notation(self):
        """``P×A k/m``: PEs × ALUs per PE and the sparsity."""
        return f"{self.pes}x{self.alus_per_pe} {self.k}/{self.m}"

    @property
    def groups(self):
        """Groups of ``m`` output channels in a PE's chunk: ``alus_per_pe / k``."""
        return self.alus_per_pe // self.k

    @property
    def chunk(self):
        """Output channels of a chunk (a work unit's depth): ``groups · m``."""
        return self.groups * self.m

    @property
    def pos_bits(self):
        """Bits of a weight's position in its group: ``log2(m)`` (at least 1)."""
        return max(1, (self.m - 1).bit_length())

    @property
    def alus_total(self):
        return self.pes * self.alus_per_pe

    @property
    def max_segments(self):
        """Channel segments of the widest input: ``⌈max_c / chunk⌉``."""
        return -(-self.max_c // self.chunk)

    @property
    def act_entries(self):
        """Entries of the activation memory: a dense ``max_c × max_h × max_w`` plane fits."""
        return self.max_c * self.max_h * self.max_w

    @property
    def max_bands(self):
        """Bands of the tallest output: ``⌈max_h / band_rows⌉``."""
        return -(-self.max_h // self.band_rows)

    @property
    def chunks_max(self):
        """Chunks of the largest layer: ``⌈max_k / chunk⌉`` (at most ``pes``)."""
        return -(-self.max_k // self.chunk)


def parse_sparsecore(raw, name):
    """Validate an ``arch: sparsecore`` mapping and return its :class:`SparseCoreConfig`.

    Raises
    ------
    ConfigError
        On the first key that is missing, unknown, of the wrong type, out of range, or that breaks
        a rule between keys.
    """
    _check_keys(raw, "", ("arch", "name", "pes", "alus_per_pe", "k", "m", "band_rows",
                          "requant_lanes", "limits", "widths", "memories"))
    pes = _int(raw, "pes", "", 1, 256)
    alus = _int(raw, "alus_per_pe", "", 1, 64, default=16)
    m = _int(raw, "m", "", 2, 16, default=4)
    if m & (m - 1):
        raise ConfigError("m", m, "a power of two from 2 to 16 (positions take log2(m) bits)")
    k = _int(raw, "k", "", 1, m, default=min(2, m))
    if alus % k:
        raise ConfigError("alus_per_pe", alus, f"a multiple of k = {k} (each ALU holds one of "
                          "the k non-zero weights of a group)")
    band_rows = _int(raw, "band_rows", "", 1, 16, default=2)
    chunk = alus // k * m
    lanes = _int(raw, "requant_lanes", "", 1, chunk, default=chunk)
    if chunk % lanes:
        raise ConfigError("requant_lanes", lanes, f"a divisor of the chunk depth {chunk} "
                          "(alus_per_pe / k · m)")
    limits = raw.get("limits", {})
    _check_keys(limits, "limits", ("h", "w", "c", "k", "kernel"))
    max_h = _int(limits, "h", "limits", 1, 4096, default=64)
    max_w = _int(limits, "w", "limits", 1, 1024, default=64)
    max_c = _int(limits, "c", "limits", 1, 4096, default=64)
    max_k = _int(limits, "k", "limits", 1, 65536, default=min(pes * chunk, 128))
    if -(-max_k // chunk) > pes:
        raise ConfigError("limits.k", max_k, f"at most pes · chunk = {pes * chunk}: each chunk "
                          f"of {chunk} output channels stays in one PE (weight-local)")
    kernel = _int(limits, "kernel", "limits", 1, 7, default=3)
    widths = raw.get("widths", {})
    _check_keys(widths, "widths", ("act", "weight", "acc"))
    act_width = _int(widths, "act", "widths", 2, 16, default=8)
    weight_width = _int(widths, "weight", "widths", 2, 16, default=8)
    acc_width = _int(widths, "acc", "widths", 8, 48, default=32)
    mem = raw.get("memories", {})
    _check_keys(mem, "memories", ("act_kib", "weight_kib", "acc_kib"))
    return SparseCoreConfig(
        name=name, pes=pes, alus_per_pe=alus, k=k, m=m, band_rows=band_rows,
        requant_lanes=lanes, max_h=max_h,
        max_w=max_w, max_c=max_c, max_k=max_k, kernel_max=kernel, act_width=act_width,
        weight_width=weight_width, acc_width=acc_width,
        act_kib=_int(mem, "act_kib", "memories", 1, 1 << 20, default=64),
        weight_kib=_int(mem, "weight_kib", "memories", 1, 1 << 20, default=16),
        acc_kib=_int(mem, "acc_kib", "memories", 1, 1 << 20, default=16))
