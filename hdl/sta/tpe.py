"""Tensor PE of the systolic tensor array: operand registers around A×C MACs (STA paper, Fig. 6)."""

from amaranth import Module
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .layouts import act_step_layout, tpe_results_layout, weight_step_layout
from .mac import DotProduct, SparseDotProduct, TimeUnrolledMac

__all__ = ["TensorPE"]


class TensorPE(wiring.Component):
    """One TPE of an ``A×B×C`` array of kind ``sa``, ``sta``, ``dbb`` or ``vdbb``.

    Per step the TPE multiplies its A×B activation tile by a B×C weight tile (dense), by C columns
    of b non-zero weights with their positions (``dbb``), or by one non-zero weight per column
    (``vdbb``, a block taking NNZ steps while the activation tile is held).

    Parameters
    ----------
    cfg : StaConfig

    Attributes
    ----------
    act_i : In(act_step_layout(cfg))
        The step arriving from the left: flags and the A×B activation tile.
    act_o : Out(act_step_layout(cfg))
        Registered copy passed to the right neighbour. The activation tile is loaded only on the
        ``first`` step of a block and held otherwise; the flags follow every cycle.
    w_i : In(weight_step_layout(cfg))
        The step's weights arriving from above (meaningful when ``act_i.valid``).
    w_o : Out(weight_step_layout(cfg))
        Registered copy passed to the neighbour below.
    capture : Out(1)
        The step at the MACs' accumulate stage is the last of an output tile: at the end of this
        cycle (if the array advances) every accumulator is handed to :attr:`results`.
    results : Out(ArrayLayout(ArrayLayout(signed(acc_width), C), A))
        The shadow registers: the completed output tile ``[a][c]`` of this TPE.
    gated : Out(ArrayLayout(1, A·C))
        Per MAC: enabled step with a zero activation operand, accumulator not clocked.

    Latency: a step in ``act_i``/``w_i`` is in the operand registers one cycle later, reaches the
    accumulators ``cfg.mac_stages`` cycles after that (the MACs' pipeline registers) and
    :attr:`results` (last step of a tile) at the end of that cycle.
    """

    def __init__(self, cfg):
        self._cfg = cfg
        super().__init__({
            "act_i": In(act_step_layout(cfg)),
            "act_o": Out(act_step_layout(cfg)),
            "w_i": In(weight_step_layout(cfg)),
            "w_o": Out(weight_step_layout(cfg)),
            "capture": Out(1),
            "results": Out(tpe_results_layout(cfg)),
            "gated": Out(data.ArrayLayout(1, cfg.a * cfg.c)),
        })

    def _mac(self):
        cfg = self._cfg
        widths = dict(act_width=cfg.act_width, weight_width=cfg.weight_width,
                      acc_width=cfg.acc_width, pipeline_product=cfg.pipeline_product)
        if cfg.kind in ("sa", "sta"):
            return DotProduct(block=cfg.block, gating=cfg.act_zero_gating, **widths)
        if cfg.kind == "dbb":
            return SparseDotProduct(block=cfg.block, macs=cfg.dbb_macs,
                                    pipeline_mux=cfg.pipeline_mux, **widths)
        return TimeUnrolledMac(block=cfg.block, gating=cfg.act_zero_gating,
                               pipeline_mux=cfg.pipeline_mux, **widths)

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()

        # Operand registers: flags every cycle, activations once per block, weights every step.
        m.d.sync += [
            self.act_o.valid.eq(self.act_i.valid),
            self.act_o.first.eq(self.act_i.first),
            self.act_o.last.eq(self.act_i.last),
        ]
        with m.If(self.act_i.valid & self.act_i.first):
            m.d.sync += self.act_o.data.eq(self.act_i.data)
        with m.If(self.act_i.valid):
            m.d.sync += self.w_o.eq(self.w_i)

        for a in range(cfg.a):
            for c in range(cfg.c):
                mac = m.submodules[f"mac_{a}_{c}"] = self._mac()
                m.d.comb += [
                    mac.act.eq(self.act_o.data[a]),
                    mac.weights.eq(self.w_o[c].values),
                    mac.valid.eq(self.act_o.valid),
                    mac.last.eq(self.act_o.last),
                    self.results[a][c].eq(mac.result),
                    self.gated[a * cfg.c + c].eq(mac.gated),
                ]
                if cfg.sparse:
                    m.d.comb += mac.positions.eq(self.w_o[c].positions)
                if a == c == 0:     # every MAC carries the same flags: one speaks for the TPE
                    m.d.comb += self.capture.eq(mac.capture)
        return m
