"""The optional ``sparseblox:`` section shared by the accelerators that host Sparse-Blox
(Hotfilter et al., III-B, Fig. 4): its keys, their checks and its frozen form.

```yaml
sparseblox:
  enable: true          # default true when the section is present
  capacity: 1024        # sparse-block cache: pruned block positions per layer (per bank)
  position_bits: 16     # width of a position (the paper: 16)
  threshold: Q8.8       # format of the per-layer threshold CSR (unsigned fixed point)
```

Each host adds the checks of its own block shape (:mod:`sparseforge.gen.accel.blox`,
:mod:`sparseforge.gen.scnn.blox`).
"""

from dataclasses import dataclass

from .errors import ConfigError, InputError
from .schema import bool_field, check_keys, int_field

__all__ = ["SparseBloxConfig", "parse_section", "sparseblox_to_dict", "threshold_raw"]


@dataclass(frozen=True)
class SparseBloxConfig:
    """Sparse-Blox in a host accelerator's output stage.

    Parameters
    ----------
    capacity : int
        Positions each bank of the sparse-block cache holds (a layer's pruned blocks beyond it are
        stored normally).
    position_bits : int
        Width of a block position; a layer's blocks past ``2**position_bits`` are never pruned.
    int_bits, frac_bits : int
        The threshold CSR's format ``Q{int_bits}.{frac_bits}``.
    """

    capacity: int = 1024
    position_bits: int = 16
    int_bits: int = 8
    frac_bits: int = 8

    @property
    def bits(self):
        """Width of the threshold CSR (the hardware reads the format from here: ``bits``,
        ``frac_bits``, ``name``)."""
        return self.int_bits + self.frac_bits

    @property
    def name(self):
        return f"Q{self.int_bits}.{self.frac_bits}"

    @property
    def fmt(self):
        """The format as :class:`sparseforge.sim.sparseblox.ThresholdFormat` (for models)."""
        from ..sim.sparseblox import ThresholdFormat
        return ThresholdFormat(self.int_bits, self.frac_bits)


def parse_section(raw, default_format="Q8.8", max_int_bits=16):
    """The ``sparseblox`` mapping's common keys, or None when absent or disabled.

    ``max_int_bits``: the host's widest threshold integer part (the accelerator's INT8 maps need
    at most 8, SCNN's 24-bit accumulators 24); the CSR holds at most 32 bits.

    Raises
    ------
    ConfigError
        An unknown key, a capacity beyond the positions, a format outside
        Q1..max_int_bits.0..16 or wider than 32 bits.
    """
    if raw is None:
        return None
    check_keys(raw, "sparseblox", ("enable", "capacity", "position_bits", "threshold"))
    if not bool_field(raw, "enable", "sparseblox", True):
        return None
    capacity = int_field(raw, "capacity", "sparseblox", 1, 1 << 16, default=1024)
    position_bits = int_field(raw, "position_bits", "sparseblox", 1, 32, default=16)
    if capacity > 1 << position_bits:
        raise ConfigError("sparseblox.capacity", capacity,
                          f"at most 2**position_bits = {1 << position_bits} positions")
    from ..sim.sparseblox import ThresholdFormat       # not at import: hdl imports this
    name = raw.get("threshold", default_format)
    try:
        fmt = ThresholdFormat.parse(name)
    except ValueError:
        fmt = None
    if (fmt is None or not 1 <= fmt.int_bits <= max_int_bits or not 0 <= fmt.frac_bits <= 16
            or fmt.bits > 32):
        raise ConfigError("sparseblox.threshold", name,
                          f"a format Q<int>.<frac> with 1 to {max_int_bits} integer and 0 to 16 "
                          "fraction bits, 32 bits at most")
    return SparseBloxConfig(capacity=capacity, position_bits=position_bits,
                            int_bits=fmt.int_bits, frac_bits=fmt.frac_bits)


def sparseblox_to_dict(blox):
    """The section as :func:`parse_section` accepts it."""
    return {"enable": True, "capacity": blox.capacity, "position_bits": blox.position_bits,
            "threshold": blox.name}


def threshold_raw(cfg, args, preset):
    """The raw threshold of ``run --threshold`` (None when not given) in ``cfg``'s format;
    refused with one line where it cannot apply (a network run, a design without Sparse-Blox,
    ``preset`` naming one with it, a value the format cannot hold)."""
    if args.threshold is None:
        return None
    if args.model is not None or args.network:
        raise InputError("--threshold: applies with --conv or --layer (one layer), not with "
                         "--model and --network; a network takes per-layer thresholds: --model "
                         "NAME --thresholds FILE (arch accel)")
    if cfg.sparseblox is None:
        raise InputError(f"--threshold: {cfg.name} has no Sparse-Blox (add a sparseblox: "
                         f"section to the config, or use the preset {preset})")
    fmt = cfg.sparseblox.fmt
    try:
        return fmt.to_raw(args.threshold)
    except (ValueError, TypeError):
        raise InputError(f"--threshold: {args.threshold} is not allowed; expected 0 to "
                         f"{fmt.to_value(fmt.max_raw):g} ({fmt.name}, steps of "
                         f"{fmt.to_value(1):g})") from None
