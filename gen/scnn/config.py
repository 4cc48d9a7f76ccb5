"""SCNN configs: the PE, the PE array and the RAM sizes of an SCNN accelerator, validated once.

Parashar et al., *SCNN: An Accelerator for Compressed-sparse Convolutional Neural Networks*,
Sections 4.1–4.5 and Table 3. Parsed from YAML by :func:`parse_scnn` (the ``arch: scnn``
parser of :mod:`sparseforge.gen.registry`)::

    arch: scnn
    pe: {f: 4, i: 4, banks: 32, bank_entries: 32, queue_depth: 4}
                                                     # F×I multipliers, A accumulator banks ×
                                                     # entries, crossbar queue per multiplier
    pes: {x: 2, y: 2}                                # P_x × P_y PEs
    kc: 8                                            # output channels per group
    tile: {w: 8, h: 8}                               # W_t × H_t planar tile per PE
    kernel_max: 3                                    # largest (odd) R and S; sets the halo
    widths: {act: 16, weight: 16, acc: 24}
    index_bits: 4                                    # zero-run field of the compressed format
    rams: {iaram: 4096, oaram: 4096, weights: 72, out_channels: 512}
                                                     # weights: each PE's weight FIFO
    sparseblox: {capacity: 1024}                     # optional: 4×4 block pruning in the PPU
                                                     # (sparseforge.gen.scnn.blox)

Pure Python: the models in ``sim/`` use it without importing Amaranth.
"""

from dataclasses import dataclass

from ..errors import ConfigError
from ..schema import bits_for, check_keys, int_field, pow2_at_least
from ..sparseblox_section import sparseblox_to_dict
from .blox import BLOCK, blocks_per_tile, parse_scnn_blox

__all__ = ["ScnnConfig", "parse_scnn"]


def _bits(n):
    """Bits of an unsigned field holding 0 … n."""
    return bits_for(int(n) + 1)


@dataclass(frozen=True)
class ScnnConfig:
    """An SCNN accelerator: ``P_x × P_y`` PEs, each an ``F × I`` Cartesian-product multiplier array.

    Parameters
    ----------
    name : str
        Verilog module name and the stem of generated files.
    f, i : int
        Non-zero weights (F) and activations (I) multiplied per cycle, all F·I pairs.
    banks, bank_entries : int
        Accumulator banks (A, a power of two; by default the smallest one ≥ 2·F·I and ≥ a row of
        the accumulator space) and entries per bank (by default 32, Table 3, or as many as a group's
        accumulators need). Each PE holds two such sets (double buffering). Each output channel's
        plane of ``(W_t + 2h) × (H_t + 2h)`` accumulators (halo ``h``) takes
        ``⌈plane / A⌉`` entries of every bank (:attr:`plane_entries`), so a group's ``kc``
        planes need ``kc · ⌈plane / A⌉`` entries.
    queue_depth : int
        Entries of the scatter crossbar's queue behind each of the F·I multipliers (≥ 2).
    px, py : int
        PEs along x (columns) and y (rows).
    kc : int
        Output channels per output-channel group.
    tile_w, tile_h : int
        Planar tile of one PE (W_t × H_t). A layer of ``H × W`` runs when ``H ≤ py·tile_h`` and
        ``W ≤ px·tile_w``.
    kernel_max : int
        Largest odd kernel side R, S the PE supports; the halo is ``h = (kernel_max − 1) / 2``.
    act_width, weight_width, acc_width : int
        Two's-complement widths of activations, weights, accumulators (and outputs). Products are
        exact; accumulators wrap modulo ``2**acc_width``.
    index_bits : int
        Width of the zero-run field of the compressed-sparse format.
    iaram, oaram, weights : int
        Entries of each PE's activation RAM, output RAM and weight FIFO (multiples of I, I and
        F: they are stored as rows of I, I and F entries). The weights stream through the FIFO
        while the PEs compute (:mod:`sparseforge.sim.scnn.schedule`), so it must hold the
        largest weight block of a layer, not the layer; by default it holds a dense one,
        ``kc · kernel_max²`` entries rounded up to whole rows.
    out_channels : int
        Largest K: depth of each PE's table of output block counts.
    sparseblox : SparseBloxConfig or None
        4×4 block pruning in the PPU (:mod:`sparseforge.gen.scnn.blox`); None: none.
    """

    name: str
    f: int
    i: int
    banks: int
    bank_entries: int
    queue_depth: int
    px: int
    py: int
    kc: int
    tile_w: int
    tile_h: int
    kernel_max: int
    act_width: int
    weight_width: int
    acc_width: int
    index_bits: int
    iaram: int
    oaram: int
    weights: int
    out_channels: int
    sparseblox: object = None

    arch = "scnn"

    # -- derived values: one place, used by the RTL, the models and the reports -------------------

    @property
    def halo(self):
        """Halo h of the accumulator space on every side: ``(kernel_max − 1) / 2``."""
        return (self.kernel_max - 1) // 2

    @property
    def acc_w(self):
        """Width of a PE's accumulator space: the tile plus the halo on both sides."""
        return self.tile_w + 2 * self.halo

    @property
    def acc_h(self):
        return self.tile_h + 2 * self.halo

    @property
    def acc_plane(self):
        """Accumulators per output channel."""
        return self.acc_w * self.acc_h

    @property
    def acc_space(self):
        """Accumulators of one output-channel group: ``kc × acc_w × acc_h``."""
        return self.kc * self.acc_plane

    @property
    def plane_entries(self):
        """Entries of every bank that one output channel's accumulator plane takes:
        ``⌈acc_plane / A⌉`` (see :attr:`fold_shift` for the bank mapping)."""
        return -(-self.acc_plane // self.banks)

    @property
    def fold_shift(self):
        """Bank mapping: the accumulator at plane position ``pos`` of output channel ``kk`` lies in
        bank ``(pos mod A) XOR ((kk << fold_shift) mod A)``, entry
        ``kk · plane_entries + pos div A``. ``fold_shift = ⌈log2 I⌉``: the I positions of an
        activation row fall in at most two aligned blocks of ``2**fold_shift`` banks, and the
        XOR moves consecutive output channels to disjoint blocks, so the F·I products of a dense
        row pair (F channels at one kernel position, k innermost) never share a bank, while a row
        of the plane (consecutive positions) still lies in distinct banks for the PPU."""
        return (self.i - 1).bit_length()

    @property
    def bank_bits(self):
        """Address bits selecting the bank: ``log2(banks)``."""
        return (self.banks - 1).bit_length()

    @property
    def pes(self):
        return self.px * self.py

    @property
    def multipliers_per_pe(self):
        return self.f * self.i

    @property
    def multipliers_total(self):
        return self.multipliers_per_pe * self.pes

    @property
    def max_zeros(self):
        return (1 << self.index_bits) - 1

    @property
    def iaram_rows(self):
        return self.iaram // self.i

    @property
    def oaram_rows(self):
        return self.oaram // self.i

    @property
    def weight_rows(self):
        return self.weights // self.f

    @property
    def weight_block_max(self):
        """Most entries a weight block can have: ``kc × kernel_max²`` (one per element)."""
        return self.kc * self.kernel_max * self.kernel_max

    @property
    def tile_elems(self):
        return self.tile_w * self.tile_h

    @property
    def weight_count_bits(self):
        return _bits(self.weight_block_max)

    @property
    def act_count_bits(self):
        return _bits(self.tile_elems)

    @property
    def max_h(self):
        """Tallest layer the array holds: ``py × tile_h``."""
        return self.py * self.tile_h

    @property
    def max_w(self):
        return self.px * self.tile_w

    @property
    def blox_grid(self):
        """Sparse-Blox: ``(across, down)`` 4×4 blocks of a PE's tile (partial at its edges)."""
        return blocks_per_tile(self.tile_w, self.tile_h)

    @property
    def blox_blocks(self):
        """Sparse-Blox blocks of one output channel of a PE's tile."""
        across, down = self.blox_grid
        return across * down

    blox_block = BLOCK

    @property
    def notation(self):
        """Short description: multiplier array, PE array, tile, accumulator banks."""
        return (f"{self.f}x{self.i} mults, {self.px}x{self.py} PEs, {self.tile_w}x{self.tile_h} "
                f"tiles, {self.banks}x{self.bank_entries} acc banks")

    def to_dict(self):
        """The config as a plain mapping in YAML form (round-trips through :func:`parse_scnn`)."""
        return {
            "arch": "scnn", "name": self.name,
            "pe": {"f": self.f, "i": self.i, "banks": self.banks,
                   "bank_entries": self.bank_entries, "queue_depth": self.queue_depth},
            "pes": {"x": self.px, "y": self.py},
            "kc": self.kc,
            "tile": {"w": self.tile_w, "h": self.tile_h},
            "kernel_max": self.kernel_max,
            "widths": {"act": self.act_width, "weight": self.weight_width,
                       "acc": self.acc_width},
            "index_bits": self.index_bits,
            "rams": {"iaram": self.iaram, "oaram": self.oaram, "weights": self.weights,
                     "out_channels": self.out_channels},
            **({"sparseblox": sparseblox_to_dict(self.sparseblox)}
               if self.sparseblox is not None else {}),
        }


def _multiple(section, key, path, unit, unit_name, default, hi):
    value = int_field(section, key, path, unit, hi, default=default)
    if value % unit:
        raise ConfigError(f"{path}.{key}", value,
                          f"a multiple of {unit_name} = {unit} (stored as rows of {unit} entries)")
    return value


def parse_scnn(raw, name):
    """Validate an ``arch: scnn`` mapping and return its :class:`ScnnConfig`.

    Raises
    ------
    ConfigError
        On the first key that is missing, unknown, of the wrong type, out of range, or that breaks
        a rule between keys (accumulator space, halo, RAM row widths).
    """
    check_keys(raw, "", ("arch", "name", "pe", "pes", "kc", "tile", "kernel_max", "widths",
                          "index_bits", "rams", "sparseblox"))
    pe = raw.get("pe", {})
    check_keys(pe, "pe", ("f", "i", "banks", "bank_entries", "queue_depth"))
    f = int_field(pe, "f", "pe", 1, 16, default=4)
    i = int_field(pe, "i", "pe", 1, 16, default=4)

    pes = raw.get("pes")
    if pes is None:
        raise ConfigError("pes", None, "a mapping {x, y} of PEs (required)")
    check_keys(pes, "pes", ("x", "y"))
    px = int_field(pes, "x", "pes", 1, 16)
    py = int_field(pes, "y", "pes", 1, 16)

    kc = int_field(raw, "kc", "", 1, 64, default=8)
    kernel_max = int_field(raw, "kernel_max", "", 1, 11, default=3)
    if kernel_max % 2 == 0:
        raise ConfigError("kernel_max", kernel_max, "an odd integer from 1 to 11 ('same' "
                          "convolutions need odd kernels)")
    halo = (kernel_max - 1) // 2

    tile = raw.get("tile", {})
    check_keys(tile, "tile", ("w", "h"))
    tile_w = int_field(tile, "w", "tile", max(1, halo), 64, default=8)
    tile_h = int_field(tile, "h", "tile", max(1, halo), 64, default=8)

    widths = raw.get("widths", {})
    check_keys(widths, "widths", ("act", "weight", "acc"))
    act_width = int_field(widths, "act", "widths", 2, 16, default=16)
    weight_width = int_field(widths, "weight", "widths", 2, 16, default=16)
    acc_width = int_field(widths, "acc", "widths", 4, 48, default=24)
    index_bits = int_field(raw, "index_bits", "", 1, 8, default=4)

    acc_w = tile_w + 2 * halo
    # A = 2·F·I (Sec. 4.2), a power of two, and at least a row of the accumulator space.
    banks = int_field(pe, "banks", "pe", 1, 1024, default=pow2_at_least(max(2 * f * i, acc_w)))
    if banks & (banks - 1):
        raise ConfigError("pe.banks", banks, "a power of two (the bank is the address modulo A)")
    plane = acc_w * (tile_h + 2 * halo)
    need = kc * -(-plane // banks)
    bank_entries = int_field(pe, "bank_entries", "pe", 1, 4096, default=max(32, need))
    if acc_w > banks:
        raise ConfigError("pe.banks", banks,
                          f"at least tile.w + 2·halo = {acc_w}: the post-processor reads a row "
                          "of the accumulator space from distinct banks in one cycle")
    if bank_entries < need:
        raise ConfigError("pe.bank_entries", bank_entries,
                          f"at least {need}: each of the kc = {kc} planes of {acc_w} × "
                          f"{tile_h + 2 * halo} accumulators ((tile + 2·halo)²) takes "
                          f"⌈{plane} / {banks}⌉ entries of every bank")
    queue_depth = int_field(pe, "queue_depth", "pe", 2, 16, default=4)

    rams = raw.get("rams", {})
    check_keys(rams, "rams", ("iaram", "oaram", "weights", "out_channels"))
    iaram = _multiple(rams, "iaram", "rams", i, "pe.i", 4096 // i * i, 1 << 20)
    oaram = _multiple(rams, "oaram", "rams", i, "pe.i", 4096 // i * i, 1 << 20)
    weights = _multiple(rams, "weights", "rams", f, "pe.f",
                        -(-kc * kernel_max * kernel_max // f) * f, 1 << 20)
    out_channels = int_field(rams, "out_channels", "rams", 1, 1 << 16, default=512)

    return ScnnConfig(name=name, f=f, i=i, banks=banks, bank_entries=bank_entries,
                      queue_depth=queue_depth, px=px, py=py,
                      kc=kc, tile_w=tile_w, tile_h=tile_h, kernel_max=kernel_max,
                      act_width=act_width, weight_width=weight_width, acc_width=acc_width,
                      index_bits=index_bits, iaram=iaram, oaram=oaram, weights=weights,
                      out_channels=out_channels,
                      sparseblox=parse_scnn_blox(raw.get("sparseblox"), tile_w, tile_h,
                                                 out_channels))
