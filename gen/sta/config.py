"""Config of the systolic tensor array family (``arch: sta``): SA, STA, STA-DBB, STA-VDBB.

Liu, Whatmough, Mattina, *Sparse Systolic Tensor Array*, Section IV-A and Table III. Parsed once by
:func:`parse_sta`; every check lives here, so the hardware generators, the golden and cycle models
and the CLI can trust the values they receive. Pure Python: the models in ``sim/`` use it without
importing Amaranth.
"""

from dataclasses import dataclass

from ..errors import ConfigError
from ..schema import bool_field, check_keys, int_field

__all__ = ["StaConfig", "STA_KINDS", "parse_sta", "sta_to_dict"]


STA_KINDS = ("sa", "sta", "dbb", "vdbb")


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
    drain_rows : int
        Result rows the drain delivers per cycle (a divisor of A): ``R`` consecutive rows of a
        row of TPEs per result beat.
    result_banks : int
        Result (shadow) registers per accumulator, 1 or 2: with two, a TPE can capture a tile
        while the previous one still waits to be drained.
    pipeline_mux, pipeline_product : bool
        MAC pipeline registers (for clock speed): after the B:1 activation mux (sparse kinds
        only) and after the product (the dot product's sum), so that the mux, the multiplier and
        the accumulate no longer sit in one cycle. Each adds one cycle of latency
        (:attr:`mac_stages`), nothing to the throughput.
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
    drain_rows: int = 1
    result_banks: int = 1
    pipeline_mux: bool = False
    pipeline_product: bool = False

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
        """Largest non-zero count per block a job may have: B for every kind (a fixed-DBB array
        runs blocks denser than its bound in several steps, the paper's dense fallback)."""
        return self.b

    @property
    def step_nnz(self):
        """Largest non-zero count per block that runs in one step per block: the bound b for
        ``dbb``, B otherwise."""
        return self.dbb_macs if self.kind == "dbb" else self.b

    @property
    def slot_bits(self):
        """Width of one slot of a compressed weight word (sparse kinds): one weight value."""
        return self.weight_width

    @property
    def mask_slots(self):
        """Slots a block's B-bit mask takes in the compressed stream: ⌈B / weight width⌉ (one
        for INT8 weights in blocks of 8)."""
        return -(-self.b // self.weight_width)

    @property
    def word_slots(self):
        """Slots per weight word and column (sparse kinds): one step's values and a mask
        (2 for ``vdbb`` with INT8 weights and B = 8, b + 1 for ``dbb``), so a step can be fed
        every cycle at any density."""
        return self.lanes + self.mask_slots

    def block_bits(self, nnz):
        """Bits of one compressed block of one weight column at density ``nnz``/B: the paper's
        8·NNZ + B (Fig. 2) for INT8 weights (the mask stored once per block, rounded up to whole
        weight-wide slots), or the B values of a dense kind."""
        if not self.sparse:
            return self.b * self.weight_width
        return (nnz + self.mask_slots) * self.slot_bits

    @property
    def mac_stages(self):
        """Pipeline registers inside each MAC unit (0, 1 or 2): a step reaches its TPE's
        accumulator, and a tile its result registers, this many cycles later."""
        return int(self.pipeline_mux) + int(self.pipeline_product)

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
        """TPE steps per block of B: NNZ for ``vdbb`` (time unrolled), ⌈NNZ/b⌉ for ``dbb`` (one
        step up to its bound, more for denser blocks: no gain, as the paper says of the fixed-DBB
        fallback), 1 for the dense kinds."""
        if self.kind == "vdbb":
            return nnz
        if self.kind == "dbb":
            return -(-nnz // self.dbb_macs)
        return 1

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

def parse_sta(raw, name):
    """Validate an ``arch: sta`` mapping; return its :class:`StaConfig`."""
    check_keys(raw, "", ("arch", "kind", "tpe", "array", "dbb_macs", "widths",
                          "act_zero_gating", "drain", "pipeline", "name"))
    kind = raw.get("kind")
    if kind not in STA_KINDS:
        raise ConfigError("kind", kind, "one of " + ", ".join(STA_KINDS))

    tpe = raw.get("tpe", {} if kind == "sa" else None)
    if tpe is None:
        raise ConfigError("tpe", None, "a mapping {a, b, c} (required for kind " + kind + ")")
    check_keys(tpe, "tpe", ("a", "b", "c"))
    if kind == "sa":
        for key in ("a", "b", "c"):
            value = tpe.get(key, 1)
            if type(value) is not int or value != 1:
                raise ConfigError(f"tpe.{key}", value, "1 (an sa TPE is a single 1×1×1 MAC)")
        a = b = c = 1
    else:
        a = int_field(tpe, "a", "tpe", 1, 64)
        c = int_field(tpe, "c", "tpe", 1, 64)
        if kind == "sta":
            b = int_field(tpe, "b", "tpe", 1, 64)
        else:
            b = int_field(tpe, "b", "tpe", 2, 32)

    array = raw.get("array")
    if array is None:
        raise ConfigError("array", None, "a mapping {m, n} (required)")
    check_keys(array, "array", ("m", "n"))
    m = int_field(array, "m", "array", 1, 64)
    n = int_field(array, "n", "array", 1, 64)

    if kind == "dbb":
        dbb_macs = int_field(raw, "dbb_macs", "", 1, b - 1, default=max(1, b // 2))
    else:
        if "dbb_macs" in raw:
            raise ConfigError("dbb_macs", raw["dbb_macs"],
                              "no value: dbb_macs applies to kind dbb only")
        dbb_macs = 0

    widths = raw.get("widths", {})
    check_keys(widths, "widths", ("act", "weight", "acc"))
    act_width = int_field(widths, "act", "widths", 2, 16, default=8)
    weight_width = int_field(widths, "weight", "widths", 2, 16, default=8)
    acc_width = int_field(widths, "acc", "widths", act_width + weight_width, 64, default=32)

    gating_possible = kind in ("sa", "vdbb")
    gating = bool_field(raw, "act_zero_gating", "", default=gating_possible)
    if gating and not gating_possible:
        raise ConfigError("act_zero_gating", True,
                          f"false for kind {kind}: only single-MAC TPEs (sa, vdbb) can gate a MAC "
                          "on its activation (Table III); a dot product shares its accumulator")

    drain = raw.get("drain", {})
    check_keys(drain, "drain", ("rows", "banks"))
    drain_rows = int_field(drain, "rows", "drain", 1, a, default=1)
    if a % drain_rows:
        raise ConfigError("drain.rows", drain_rows,
                          f"a divisor of A = {a}: the drain delivers a row of TPEs' A result "
                          "rows in equal beats")
    result_banks = int_field(drain, "banks", "drain", 1, 2, default=1)

    pipeline = raw.get("pipeline", {})
    check_keys(pipeline, "pipeline", ("mux", "product"))
    pipeline_mux = bool_field(pipeline, "mux", "pipeline", default=False)
    pipeline_product = bool_field(pipeline, "product", "pipeline", default=False)
    if pipeline_mux and kind not in ("dbb", "vdbb"):
        raise ConfigError("pipeline.mux", True,
                          f"false for kind {kind}: only the sparse kinds (dbb, vdbb) have a B:1 "
                          "activation mux to register")

    return StaConfig(name=name, kind=kind, a=a, b=b, c=c, m=m, n=n, dbb_macs=dbb_macs,
                     act_width=act_width, weight_width=weight_width, acc_width=acc_width,
                     act_zero_gating=gating, drain_rows=drain_rows, result_banks=result_banks,
                     pipeline_mux=pipeline_mux, pipeline_product=pipeline_product)


def sta_to_dict(config):
    """The config as the YAML mapping :func:`parse_sta` accepts."""
    raw = {"arch": "sta", "name": config.name, "kind": config.kind,
           "tpe": {"a": config.a, "b": config.b, "c": config.c},
           "array": {"m": config.m, "n": config.n},
           "widths": {"act": config.act_width, "weight": config.weight_width,
                      "acc": config.acc_width},
           "act_zero_gating": config.act_zero_gating,
           "drain": {"rows": config.drain_rows, "banks": config.result_banks}}
    if config.mac_stages:
        raw["pipeline"] = {"mux": config.pipeline_mux, "product": config.pipeline_product}
    if config.kind == "dbb":
        raw["dbb_macs"] = config.dbb_macs
    return raw
