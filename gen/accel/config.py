"""Config of the VDBB accelerator (STA paper, Sec. IV, Fig. 5): an STA array, SRAMs and IM2COL.

```yaml
arch: accel
array: {kind: vdbb, tpe: {a: 4, b: 8, c: 8}, array: {m: 4, n: 8}}   # any STA config's keys;
                                         # drain.rows 1 or 2 (2: a second write port per
                                         # activation bank; not with sparseblox)
sram: {act_kb: 2048, weight_kb: 512}     # optional act_banks: read/write banks of the act SRAM,
                                         # quant_channels: per-channel requantization table
im2col: true                             # or false, or {window: [rows, cols]}
sparseblox: {capacity: 1024}             # optional: block pruning (sparseforge.gen.accel.blox)
```
"""

from dataclasses import dataclass

from ..errors import ConfigError
from ..schema import check_keys, int_field, pow2_at_least
from ..sta.config import StaConfig, parse_sta, sta_to_dict
from .blox import parse_sparseblox, sparseblox_to_dict

__all__ = ["AccelConfig", "parse_accel", "accel_to_dict", "patch_shapes"]


def patch_shapes(tile_rows):
    """The output patches ``(ph, pw)`` an output tile of ``tile_rows`` pixels can take: flat or
    square (``ph ≤ pw``), as the IM2COL unit supports (the one definition, used by the
    hardware, the layer plan and the config)."""
    return [(ph, tile_rows // ph) for ph in range(1, tile_rows + 1)
            if tile_rows % ph == 0 and ph * ph <= tile_rows]


def _square_patch(tile_rows):
    """The most square patch with rows ≤ columns (the paper's 4×2 patch is 2×4 here)."""
    return max(patch_shapes(tile_rows), key=lambda p: p[0])


@dataclass(frozen=True)
class AccelConfig:
    """The VDBB accelerator: SRAMs, the IM2COL unit and an STA engine of any kind.

    Parameters
    ----------
    name : str
    array : StaConfig
        The systolic tensor array (its ``tile_rows`` output pixels by ``tile_cols`` output
        channels form the accelerator's output tile).
    act_kb, weight_kb : int
        SRAM sizes in KiB, each split into two halves (double buffering).
    act_banks : int
        Banks of each activation half: one word (one pixel's B channels) per bank per cycle.
    im2col : bool
        Hardware IM2COL magnifier (True) or direct reads of every IM2COL element (False).
    window_rows, window_cols : int
        Capacity of each IM2COL window buffer, in words.
    quant_channels : int
        Output channels the output stage's requantization table holds (INT32 bias, multiplier
        and shift each, :mod:`sparseforge.hdl.accel.quant_table`); 0: no table, the layer-wide
        shift only (and no multipliers in the output stage).
    sparseblox : SparseBloxConfig or None
        Block pruning in the output stage (:mod:`sparseforge.gen.accel.blox`); None: none.
    """

    name: str
    array: StaConfig
    act_kb: int
    weight_kb: int
    act_banks: int
    im2col: bool
    window_rows: int
    window_cols: int
    quant_channels: int
    sparseblox: object = None

    arch = "accel"

    # -- derived ------------------------------------------------------------------------------

    @property
    def block(self):
        return self.array.block

    @property
    def word_bits(self):
        """An activation word: the B channels of one pixel, INT8 each."""
        return self.array.block * self.array.act_width

    @property
    def act_half_words(self):
        return self.act_kb * 1024 * 8 // self.word_bits // 2

    @property
    def act_bank_depth(self):
        return self.act_half_words // self.act_banks

    @property
    def weight_word_bits(self):
        """A weight word: one word of the engine's weight stream (``weight_word_layout``): a
        step's B values per column (dense kinds), or ``word_slots`` compressed slots per column
        (sparse kinds: masks and values of DBB blocks, Fig. 2)."""
        a = self.array
        if not a.sparse:
            return a.tile_cols * a.block * a.weight_width
        return a.tile_cols * a.word_slots * a.slot_bits

    @property
    def weight_half_words(self):
        return self.weight_kb * 1024 * 8 // self.weight_word_bits // 2

    @property
    def blox_skips(self):
        """Sparse-Blox's next layer skips the engine steps whose activation words are all pruned
        (designs with a ``sparseblox:`` section and a sparse array, whose compressed weights the
        engine drops slot by slot: :class:`~sparseforge.hdl.sta.unpacker.BlockUnpacker`)."""
        return self.sparseblox is not None and self.array.sparse

    @property
    def out_blocks_per_row(self):
        """Channel blocks of one result row (an output tile's columns)."""
        return self.array.tile_cols // self.array.block

    @property
    def notation(self):
        """The array's notation, ``_IM2C`` added when the IM2COL unit is on."""
        return f"{self.array.notation}{'_IM2C' if self.im2col else ''}"


def parse_accel(raw, name):
    """Validate an ``arch: accel`` mapping; return its :class:`AccelConfig`."""
    check_keys(raw, "", ("arch", "name", "array", "sram", "im2col", "sparseblox"))
    array_raw = raw.get("array")
    if not isinstance(array_raw, dict):
        raise ConfigError("array", array_raw, "a mapping of STA config keys (kind, tpe, array, …)")
    for key in ("arch", "name"):
        if key in array_raw:
            raise ConfigError(f"array.{key}", array_raw[key],
                              "no value: the accelerator's array inherits its arch and name")
    try:
        array = parse_sta({**array_raw, "arch": "sta"}, f"{name}_array")
    except ConfigError as e:
        raise ConfigError(f"array.{e.field}", e.value, e.allowed) from None
    if array.drain_rows not in (1, 2):
        raise ConfigError("array.drain.rows", array.drain_rows,
                          "1 or 2: the output stage writes one result row a cycle, or two "
                          "through a second write port of every activation bank")
    if array.drain_rows == 2 and raw.get("sparseblox") is not None:
        raise ConfigError("array.drain.rows", array.drain_rows,
                          "1 with sparseblox: the pruner takes one result row a cycle")
    if array.act_width != 8:
        raise ConfigError("array.widths.act", array.act_width,
                          "8: activations live in SRAM as INT8 and the output stage requantizes "
                          "to INT8")
    if array.block & (array.block - 1):
        raise ConfigError("array.tpe.b", array.block,
                          "a power of two: the SRAM word holds one block of B channels")
    if array.tile_cols % array.block:
        raise ConfigError("array.tpe.c", array.c,
                          f"a value making N·C = {array.tile_cols} a multiple of B = "
                          f"{array.block}: an output tile writes whole channel blocks")

    sram = raw.get("sram", {})
    check_keys(sram, "sram", ("act_kb", "weight_kb", "act_banks", "quant_channels"))
    quant_channels = int_field(sram, "quant_channels", "sram", 0, 8192, default=512)
    act_kb = int_field(sram, "act_kb", "sram", 1, 1 << 16, default=64)
    weight_kb = int_field(sram, "weight_kb", "sram", 1, 1 << 16, default=16)
    rows = array.tile_rows
    if rows > 64:
        raise ConfigError("array.array.m", array.m,
                          f"a value giving at most 64 output pixels per tile (M·A = {rows})")
    out_words = 4 * array.tile_cols // array.block
    if out_words > 1024:
        raise ConfigError("array.array.n", array.n,
                          f"a value giving at most 256 channel blocks per tile (N·C/B = "
                          f"{out_words // 4})")
    default_banks = pow2_at_least(max(2 * rows, out_words, 2))
    act_banks = int_field(sram, "act_banks", "sram", 2, 1024, default=default_banks)
    if act_banks & (act_banks - 1):
        raise ConfigError("sram.act_banks", act_banks, "a power of two from 2 to 1024")
    if act_banks < out_words:
        raise ConfigError("sram.act_banks", act_banks,
                          f"at least {out_words}: a result row writes that many words at once")

    im2col = raw.get("im2col", True)
    ph, pw = _square_patch(rows)
    window = ((ph - 1) * 2 + 7, max((pw - 1) * 2 + 7, (rows - 1) * 2 + 1))
    if isinstance(im2col, dict):
        check_keys(im2col, "im2col", ("window",))
        value = im2col.get("window", list(window))
        if (not isinstance(value, list) or len(value) != 2 or
                not all(type(v) is int and 1 <= v <= 255 for v in value)):
            raise ConfigError("im2col.window", value,
                              "[rows, cols], each an integer from 1 to 255 words")
        window = tuple(value)
        im2col = True
    elif not isinstance(im2col, bool):
        raise ConfigError("im2col", im2col, "true, false, or {window: [rows, cols]}")

    cfg = AccelConfig(name=name, array=array, act_kb=act_kb, weight_kb=weight_kb,
                      act_banks=act_banks, im2col=im2col, window_rows=window[0],
                      window_cols=window[1], quant_channels=quant_channels,
                      sparseblox=parse_sparseblox(raw.get("sparseblox"), array))
    if cfg.act_bank_depth < 1:
        raise ConfigError("sram.act_kb", act_kb,
                          f"enough for two halves of {act_banks} banks of {cfg.word_bits}-bit "
                          "words")
    if cfg.weight_half_words < 1:
        raise ConfigError("sram.weight_kb", weight_kb,
                          f"enough for two {cfg.weight_word_bits}-bit weight words")
    return cfg


def accel_to_dict(cfg):
    """The config as the YAML mapping :func:`parse_accel` accepts."""
    array = sta_to_dict(cfg.array)
    for key in ("arch", "name"):
        array.pop(key)
    out = {"arch": "accel", "name": cfg.name, "array": array,
           "sram": {"act_kb": cfg.act_kb, "weight_kb": cfg.weight_kb,
                    "act_banks": cfg.act_banks, "quant_channels": cfg.quant_channels},
           "im2col": {"window": [cfg.window_rows, cfg.window_cols]} if cfg.im2col else False}
    if cfg.sparseblox is not None:
        out["sparseblox"] = sparseblox_to_dict(cfg.sparseblox)
    return out
