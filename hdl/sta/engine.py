"""STA engine: the systolic tensor array with its feeder and result drain, behind streams."""

from amaranth import Module, Signal
from amaranth.hdl import EnableInserter
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .array import SystolicTensorArray
from .drain import ResultDrain
from .feeder import StepFeeder
from .layouts import TILE_BITS, act_beat_layout, job_layout, result_beat_layout, weight_word_layout

__all__ = ["StaEngine", "engine_manifest"]


class StaEngine(wiring.Component):
    """A GEMM engine around an ``A×B×C_M×N`` systolic tensor array of any kind.

    Liu, Whatmough, Mattina, *Sparse Systolic Tensor Array*, Section IV-A. The engine computes
    output tiles of ``M·A`` rows by ``N·C`` columns, output stationary: INT32 (``acc_width``)
    accumulators stay in the TPEs while operands stream through.

    Attributes
    ----------
    job : In(stream.Signature(job_layout(cfg)))
        ``k`` (reduction length), ``nnz`` (VDBB steps per block; ignored by other kinds) and
        ``tiles``. Accepted when the engine is idle.
    act : In(stream.Signature(act_beat_layout(cfg)))
        Per block of K, per tile: the block's B activations of each of the tile's M·A rows
        (zero-padded past K).
    weight : In(stream.Signature(weight_word_layout(cfg)))
        Dense kinds: per step, B values for each of the tile's N·C columns. Sparse kinds: per
        tile, its columns' compressed DBB blocks (Fig. 2: each block's mask once, then its NNZ
        values), ``word_slots`` slots per column a word, the tile's last word padded
        (:func:`~sparseforge.hdl.sta.layouts.weight_word_layout`): NNZ + 1 slots a block instead
        of a mask with every value. A ``vdbb`` block takes NNZ steps, a ``dbb`` block ⌈NNZ/b⌉.
    result : Out(stream.Signature(result_beat_layout(cfg)))
        Output rows ``0 … M·A−1`` of each tile in order, each N·C accumulators wrapped to
        ``acc_width`` bits, ``drain_rows`` consecutive rows a beat.
    busy : Out(1)
        A job is being fed or its results are not all delivered.

    Throughput: one step per cycle while both input streams keep up, so a tile takes
    ``⌈K/B⌉·steps`` cycles; its rows drain (``drain_rows`` per cycle) while the next tiles
    compute. The array stalls only when a TPE must hand over a tile while all its
    ``result_banks`` still hold undelivered ones.
    The exact cycle count is :func:`sparseforge.sim.cycles.sta_job_cycles`.

    Any valid/ready pattern on any stream gives the same results.

    With ``skip`` (sparse kinds only), ``act_skip`` comes with ``act`` and ``dropped`` pulses when
    a block is dropped instead of stepped (see :class:`~sparseforge.hdl.sta.feeder.StepFeeder`):
    a dropped block takes the cycles its weight words take to pass, not NNZ steps.

    Simulation probes (:attr:`PROBES`, recorded in the manifest): ``advance`` is high in cycles
    where the array moves on; ``array.gated`` has one bit per MAC, high when the MAC holds a step
    whose activation operand is zero and its accumulator is not enabled.
    """

    PROBES = {"advance": "advance", "gated": "array.gated"}

    def __init__(self, cfg, *, skip=False):
        self._cfg = cfg
        self._skip = bool(skip)
        ports = {
            "job": In(stream.Signature(job_layout(cfg))),
            "act": In(stream.Signature(act_beat_layout(cfg))),
            "weight": In(stream.Signature(weight_word_layout(cfg))),
            "result": Out(stream.Signature(result_beat_layout(cfg))),
            "busy": Out(1),
        }
        if skip:
            ports.update({"act_skip": In(1), "dropped": Out(1)})
        super().__init__(ports)

    @property
    def config(self):
        return self._cfg

    def manifest_details(self):
        """What the manifest records of this engine beside its config and ports."""
        return engine_manifest(self._cfg)

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()

        advance = Signal()                      # the array (and the feeder's steps) move on
        m.submodules.feeder = feeder = StepFeeder(cfg, skip=self._skip)
        if self._skip:
            m.d.comb += [feeder.act_skip.eq(self.act_skip), self.dropped.eq(feeder.dropped)]

        m.submodules.drain = drain = ResultDrain(cfg)
        array = SystolicTensorArray(cfg)
        m.submodules.array = EnableInserter(advance)(array)

        wiring.connect(m, wiring.flipped(self.job), feeder.job)
        wiring.connect(m, wiring.flipped(self.act), feeder.act)
        wiring.connect(m, wiring.flipped(self.weight), feeder.weight)
        wiring.connect(m, drain.o, wiring.flipped(self.result))

        # Stall when a TPE must capture a tile while its result registers are still full.
        blocked = array.capture.as_value() & drain.full.as_value()
        m.d.comb += [
            advance.eq(~blocked.any()),
            feeder.advance.eq(advance),
            array.act_edge.eq(feeder.act_edge),
            array.w_edge.eq(feeder.w_edge),
            drain.results.eq(array.results),
            drain.captured.eq(array.capture.as_value() & advance.replicate(cfg.m * cfg.n)),
        ]

        # Result beats still owed for accepted jobs.
        beats_per_tile = cfg.tile_rows // cfg.drain_rows
        rows_left = Signal(TILE_BITS + (beats_per_tile - 1).bit_length() + 1)
        with m.If(self.job.valid & self.job.ready):
            m.d.sync += rows_left.eq(self.job.payload.tiles * beats_per_tile)
        with m.Elif(self.result.valid & self.result.ready):
            m.d.sync += rows_left.eq(rows_left - 1)
        m.d.comb += [
            feeder.hold.eq(rows_left != 0),
            self.busy.eq(feeder.active | (rows_left != 0)),
        ]
        return m


def engine_manifest(cfg):
    """What a manifest records of an STA engine of config ``cfg`` besides its ports."""
    return {

        "notation": cfg.notation,
        "macs_total": cfg.macs_total,
        "macs_per_pe": cfg.macs_per_pe,
        "accumulators_per_pe": cfg.accumulators_per_pe,
        "shadow_registers_per_pe": cfg.accumulators_per_pe * cfg.result_banks,
        "drain": {"rows_per_cycle": cfg.drain_rows, "result_banks": cfg.result_banks},
        "operand_registers_per_pe": cfg.operand_registers_per_pe,
        "pes": cfg.m * cfg.n,
        "output_tile": [cfg.tile_rows, cfg.tile_cols],
        "block": cfg.block,
        "max_nnz": cfg.max_nnz,
        "steps_per_block": {str(n): cfg.steps_per_block(n) for n in range(1, cfg.block + 1)},
        "weight_bits_per_block_column": {str(n): cfg.block_bits(n)
                                         for n in range(1, cfg.block + 1)},
        "nominal_macs_per_cycle": cfg.nominal_macs_per_cycle(),
        "table3": cfg.table3(),
        "latency": {
            "step_to_tpe": "1 + i + j cycles from a step's acceptance to its computation in "
                           "TPE (i, j)",
            "mac_stages": cfg.mac_stages,
            "last_step_to_first_row": cfg.n + 1 + cfg.mac_stages,
            "rows_per_tile": cfg.tile_rows,
            "tile_last_step_spacing": {"previous_tile": cfg.n,
                                       f"tile_minus_{cfg.result_banks}": cfg.n,
                                       f"tile_minus_{cfg.result_banks + 1}":
                                           cfg.m + cfg.n - 1},
        },
        "streams": {
            "act": "per tile, per block of B along K: B activations of each of the M·A rows",
            "weight": ("per step: per column, B values" if not cfg.sparse else
                       f"compressed DBB blocks: per column the mask then NNZ values, "
                       f"{cfg.word_slots} slots of {cfg.slot_bits} bits per column a word, each "
                       "tile from a new word"),
            "result": "per tile: M·A rows of N·C accumulators",
            "job": "k (elements), nnz (VDBB steps per block), tiles",
        },
        "probes": dict(StaEngine.PROBES),
    }
