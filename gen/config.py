"""Configs: one frozen, validated object per design feeds the RTL, models, tests and flows.

A config is written in YAML (or taken from a preset, see :mod:`sparseforge.gen.presets`) and parsed
once by :func:`parse_config`; every check lives here, so the hardware generators, the golden and
cycle models and the CLI can trust the values they receive. This module is pure Python: the models
in ``sim/`` use it without importing Amaranth.
"""

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import ConfigError, InputError

__all__ = ["StaConfig", "STA_KINDS", "parse_config", "load_config_file", "config_to_dict"]


STA_KINDS = ("sa", "sta", "dbb", "vdbb")

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class StaConfig:
    """A systolic tensor array ``A×B×C_M×N`` of one of the four kinds of the STA paper.

    Liu, Whatmough, Mattina, *Sparse Systolic Tensor Array*, Section IV-A and Table III.

    Parameters
    ----------
    name : str
        Verilog module name and the stem of generated files.
    kind : str
        ``"sa"`` (classic systolic array, 1×1×1 TPEs), ``"sta"`` (dense TPEs of A×C B-way dot
        products), ``"dbb"`` (A×C sparse dot products S{B}DP{b}: fixed density bound b/B) or
        ``"vdbb"`` (A×C time-unrolled S{B}DP1 MACs: any density 1/B … B/B at run time).
    a, b, c : int
        TPE shape: each TPE multiplies an A×B activation tile by a B×C weight tile per step.
        ``b`` is the block size B along the reduction dimension (K).
    m, n : int
        Array shape: M rows by N columns of TPEs.
    dbb_macs : int
        For ``dbb``: the MACs per sparse dot product (b in the paper, 1 ≤ b < B). ``0`` otherwise.
    act_width, weight_width, acc_width : int
        Two's-complement widths of activations, weights and accumulators. Accumulators wrap modulo
        ``2**acc_width``.
    act_zero_gating : bool
        Disable (clock-gate) a MAC whose activation operand is zero. Only single-MAC TPEs (``sa``
        and ``vdbb``) can gate a MAC on one activation; a dot product shares its accumulator.
    """

    name: str
    kind: str
    a: int
    b: int
    c: int
    m: int
    n: int
    dbb_macs: int
    act_width: int
    weight_width: int
    acc_width: int
    act_zero_gating: bool

    arch = "sta"

    # -- derived values: one place, used by the RTL, the models and the reports -------------------

    @property
    def block(self):
        """Block size B along K (elements of K consumed per TPE step; 1 for ``sa``)."""
        return self.b

    @property
    def sparse(self):
        """Whether weights arrive DBB-compressed (values plus a B-bit mask)."""
        return self.kind in ("dbb", "vdbb")

    @property
    def lanes(self):
        """Weight values per TPE column per step: B (dense), b (``dbb``) or 1 (``vdbb``)."""
        return {"sa": 1, "sta": self.b, "dbb": self.dbb_macs, "vdbb": 1}[self.kind]

    @property
    def max_nnz(self):
        """Largest non-zero count per block the hardware accepts."""
        return self.dbb_macs if self.kind == "dbb" else self.b

    @property
    def tile_rows(self):
        """Rows of an output tile (M·A)."""
        return self.m * self.a

    @property
    def tile_cols(self):
        """Columns of an output tile (N·C)."""
        return self.n * self.c

    @property
    def macs_per_pe(self):
        """Multipliers per TPE (Table III: 1, A·B·C, A·b·C, A·C)."""
        return self.a * self.lanes * self.c

    @property
    def macs_total(self):
        return self.macs_per_pe * self.m * self.n

    @property
    def accumulators_per_pe(self):
        """Accumulator registers per TPE (Table III: A·C); each has a shadow register too."""
        return self.a * self.c

    @property
    def operand_registers_per_pe(self):
        """Operand pipeline registers per TPE: A·B activations plus ``lanes``·C weights.

        Equals Table III for ``sa`` (2), ``sta`` (B(A+C)) and ``dbb`` (AB + bC). For ``vdbb`` the
        TPE registers one weight per column per cycle (AB + C); Table III's AB + nC counts the n
        weights of a block that pass through it over n cycles.
        """
        return self.a * self.b + self.lanes * self.c

    def steps_per_block(self, nnz):
        """TPE steps per block of B: NNZ for ``vdbb`` (time unrolled), 1 otherwise."""
        return nnz if self.kind == "vdbb" else 1

    def nominal_macs_per_cycle(self):
        """Dense-equivalent MACs per cycle at the paper's nominal 4/8 density for sparse kinds.

        The iso-throughput comparison of Fig. 9 holds this figure equal across designs: dense kinds
        count their multipliers, ``dbb`` counts A·B·C per TPE (its fixed rate), ``vdbb`` counts its
        multipliers × B / (B/2), i.e. the rate at half density.
        """
        per_pe = {
            "sa": 1,
            "sta": self.a * self.b * self.c,
            "dbb": self.a * self.b * self.c,
            "vdbb": self.a * self.c * 2,
        }[self.kind]
        return per_pe * self.m * self.n

    def table3(self, nnz=None):
        """The paper's Table III figures for this design (``nnz`` = n for ``vdbb``)."""
        a, bz, c, m, n = self.a, self.b, self.c, self.m, self.n
        if self.kind == "sa":
            return {"macs": 1, "accs": 1, "oprs": 2, "inter_tpe_reuse": m * n / (m + n),
                    "intra_tpe_reuse": 0.5, "acc_reuse": 1}
        if self.kind == "sta":
            return {"macs": a * bz * c, "accs": a * c, "oprs": bz * (a + c),
                    "inter_tpe_reuse": a * m * c * n / (a * m + c * n),
                    "intra_tpe_reuse": a * c / (a + c), "acc_reuse": bz}
        if self.kind == "dbb":
            b = self.dbb_macs
            return {"macs": a * b * c, "accs": a * c, "oprs": a * bz + b * c,
                    "inter_tpe_reuse": a * b * c * m * n / (a * bz * m + c * b * n),
                    "intra_tpe_reuse": a * b * c / (a * bz + b * c), "acc_reuse": b}
        nn = bz if nnz is None else nnz
        return {"macs": a * c, "accs": a * c, "oprs": a * bz + nn * c,
                "inter_tpe_reuse": a * nn * c * m * n / (a * bz * m + c * nn * n),
                "intra_tpe_reuse": a * nn * c / (a * bz + nn * c), "acc_reuse": 1}

    @property
    def notation(self):
        """The paper's ``A×B×C_M×N`` notation, with the kind."""
        suffix = {"sa": "", "sta": "", "dbb": f"_DBB{self.dbb_macs}/{self.b}", "vdbb": "_VDBB"}
        return f"{self.a}x{self.b}x{self.c}_{self.m}x{self.n}{suffix[self.kind]}"


# -- parsing --------------------------------------------------------------------------------------

def _check_keys(section, path, allowed):
    if not isinstance(section, dict):
        raise ConfigError(path or "config", section, "a mapping")
    for key in section:
        if key not in allowed:
            where = f"{path}.{key}" if path else str(key)
            raise ConfigError(where, section[key],
                              f"no such key here (allowed keys: {', '.join(allowed)})")


def _int(section, key, path, lo, hi, default=None):
    where = f"{path}.{key}" if path else key
    if key not in section:
        if default is None:
            raise ConfigError(where, None, f"an integer from {lo} to {hi} (this key is required)")
        return default
    value = section[key]
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigError(where, value, f"an integer from {lo} to {hi}")
    return value


def _bool(section, key, path, default):
    where = f"{path}.{key}" if path else key
    value = section.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(where, value, "true or false")
    return value


def _name(value, where="name"):
    if not isinstance(value, str) or not _NAME_RE.match(value) or len(value) > 64:
        raise ConfigError(where, value,
                          "a Verilog identifier (letters, digits, '_'; not starting with a digit)")
    return value


def _parse_sta(raw, name):
    _check_keys(raw, "", ("arch", "kind", "tpe", "array", "dbb_macs", "widths",
                          "act_zero_gating", "name"))
    kind = raw.get("kind")
    if kind not in STA_KINDS:
        raise ConfigError("kind", kind, "one of " + ", ".join(STA_KINDS))

    tpe = raw.get("tpe", {} if kind == "sa" else None)
    if tpe is None:
        raise ConfigError("tpe", None, "a mapping {a, b, c} (required for kind " + kind + ")")
    _check_keys(tpe, "tpe", ("a", "b", "c"))
    if kind == "sa":
        for key in ("a", "b", "c"):
            value = tpe.get(key, 1)
            if type(value) is not int or value != 1:
                raise ConfigError(f"tpe.{key}", value, "1 (an sa TPE is a single 1×1×1 MAC)")
        a = b = c = 1
    else:
        a = _int(tpe, "a", "tpe", 1, 64)
        c = _int(tpe, "c", "tpe", 1, 64)
        if kind == "sta":
            b = _int(tpe, "b", "tpe", 1, 64)
        else:
            b = _int(tpe, "b", "tpe", 2, 32)

    array = raw.get("array")
    if array is None:
        raise ConfigError("array", None, "a mapping {m, n} (required)")
    _check_keys(array, "array", ("m", "n"))
    m = _int(array, "m", "array", 1, 64)
    n = _int(array, "n", "array", 1, 64)

    if kind == "dbb":
        dbb_macs = _int(raw, "dbb_macs", "", 1, b - 1, default=max(1, b // 2))
    else:
        if "dbb_macs" in raw:
            raise ConfigError("dbb_macs", raw["dbb_macs"],
                              "no value: dbb_macs applies to kind dbb only")
        dbb_macs = 0

    widths = raw.get("widths", {})
    _check_keys(widths, "widths", ("act", "weight", "acc"))
    act_width = _int(widths, "act", "widths", 2, 16, default=8)
    weight_width = _int(widths, "weight", "widths", 2, 16, default=8)
    acc_width = _int(widths, "acc", "widths", act_width + weight_width, 64, default=32)

    gating_possible = kind in ("sa", "vdbb")
    gating = _bool(raw, "act_zero_gating", "", default=gating_possible)
    if gating and not gating_possible:
        raise ConfigError("act_zero_gating", True,
                          f"false for kind {kind}: only single-MAC TPEs (sa, vdbb) can gate a MAC "
                          "on its activation (Table III); a dot product shares its accumulator")

    return StaConfig(name=name, kind=kind, a=a, b=b, c=c, m=m, n=n, dbb_macs=dbb_macs,
                     act_width=act_width, weight_width=weight_width, acc_width=acc_width,
                     act_zero_gating=gating)


_PARSERS = {"sta": _parse_sta}


def parse_config(raw, default_name="design"):
    """Validate a config mapping (as loaded from YAML) and return its frozen config object.

    Raises
    ------
    ConfigError
        On the first key that is missing, unknown, of the wrong type or out of range.
    """
    if not isinstance(raw, dict):
        raise ConfigError("config", raw, "a YAML mapping of keys to values")
    arch = raw.get("arch")
    if arch not in _PARSERS:
        raise ConfigError("arch", arch, "one of " + ", ".join(sorted(_PARSERS)))
    name = _name(raw.get("name", default_name))
    return _PARSERS[arch](raw, name)


def default_name_for(path):
    """A Verilog-safe module name from a file name (``my-design.yaml`` → ``my_design``)."""
    stem = re.sub(r"[^A-Za-z0-9_]", "_", Path(path).stem) or "design"
    return stem if not stem[0].isdigit() else "d_" + stem


def load_config_file(path):
    """Read and validate a YAML config file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise InputError(f"config: cannot read {str(path)!r}: {e.strerror}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InputError(f"config: {str(path)!r} is not valid YAML{where}") from None
    return parse_config(raw, default_name=default_name_for(path))


def config_to_dict(config):
    """The config as a plain mapping in YAML form (round-trips through :func:`parse_config`)."""
    if hasattr(config, "to_dict"):
        return config.to_dict()
    if isinstance(config, StaConfig):
        raw = {"arch": "sta", "name": config.name, "kind": config.kind,
               "tpe": {"a": config.a, "b": config.b, "c": config.c},
               "array": {"m": config.m, "n": config.n},
               "widths": {"act": config.act_width, "weight": config.weight_width,
                          "acc": config.acc_width},
               "act_zero_gating": config.act_zero_gating}
        if config.kind == "dbb":
            raw["dbb_macs"] = config.dbb_macs
        return raw
    if getattr(config, "arch", None) == "accel":
        from .config_accel import accel_to_dict
        return accel_to_dict(config)
    raise TypeError(f"Not a sparseforge config: {config!r}")


# Other architectures keep their configs in their own modules (they use the helpers above).
from .config_accel import parse_accel  # noqa: E402

_PARSERS["accel"] = parse_accel


from .config_scnn import parse_scnn  # noqa: E402  (needs the helpers above)
_PARSERS["scnn"] = parse_scnn
