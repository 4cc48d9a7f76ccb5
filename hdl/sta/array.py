"""The M×N systolic tensor array: TPEs wired output-stationary, with skew buffers at the edges."""

from amaranth import Module
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..common import Skew
from .layouts import act_step_layout, tpe_results_layout, weight_step_layout
from .tpe import TensorPE

__all__ = ["SystolicTensorArray"]


class SystolicTensorArray(wiring.Component):
    """M×N TPEs: activation tiles flow left to right, weights top to bottom, one register per hop.

    Liu et al., STA paper, Section IV-A and Fig. 7. A step entering the edge at cycle ``e`` is
    computed by TPE ``(i, j)`` in cycle ``e + 1 + i + j`` (and accumulated ``cfg.mac_stages``
    cycles later, after the MACs' pipeline registers): row ``i`` of activations is delayed by
    ``i`` cycles and column ``j`` of weights by ``j`` cycles at the edges, then both move one hop
    per cycle, so they meet in every TPE. The whole array advances together: wrap it in an
    ``EnableInserter`` to stall it.

    Attributes
    ----------
    act_edge : In(ArrayLayout(act_step_layout(cfg), M))
        The step for each row of TPEs, unskewed (the same flags on every row).
    w_edge : In(ArrayLayout(weight_step_layout(cfg), N))
        The step's weights for each column of TPEs, unskewed.
    capture : Out(ArrayLayout(ArrayLayout(1, N), M))
        Per TPE: its accumulators go to its result registers at the end of this cycle.
    results : Out(ArrayLayout(ArrayLayout(TPE results, N), M))
        Every TPE's result registers, ``[i][j][a][c]``.
    gated : Out(ArrayLayout(1, M·N·A·C))
        Per MAC: gated this cycle (see :class:`~sparseforge.hdl.sta.mac.TimeUnrolledMac`).
    """

    def __init__(self, cfg):
        self._cfg = cfg
        tpe_results = tpe_results_layout(cfg)
        super().__init__({
            "act_edge": In(data.ArrayLayout(act_step_layout(cfg), cfg.m)),
            "w_edge": In(data.ArrayLayout(weight_step_layout(cfg), cfg.n)),
            "capture": Out(data.ArrayLayout(data.ArrayLayout(1, cfg.n), cfg.m)),
            "results": Out(data.ArrayLayout(data.ArrayLayout(tpe_results, cfg.n), cfg.m)),
            "gated": Out(data.ArrayLayout(1, cfg.m * cfg.n * cfg.a * cfg.c)),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        m.submodules.act_skew = act_skew = Skew(act_step_layout(cfg), cfg.m)
        m.submodules.w_skew = w_skew = Skew(weight_step_layout(cfg), cfg.n)
        m.d.comb += [act_skew.i.eq(self.act_edge), w_skew.i.eq(self.w_edge)]

        macs = cfg.a * cfg.c
        tpes = [[None] * cfg.n for _ in range(cfg.m)]
        for i in range(cfg.m):
            for j in range(cfg.n):
                tpe = tpes[i][j] = m.submodules[f"tpe_{i}_{j}"] = TensorPE(cfg)
                left = act_skew.o[i] if j == 0 else tpes[i][j - 1].act_o
                above = w_skew.o[j] if i == 0 else tpes[i - 1][j].w_o
                base = (i * cfg.n + j) * macs
                m.d.comb += [
                    tpe.act_i.eq(left),
                    tpe.w_i.eq(above),
                    self.capture[i][j].eq(tpe.capture),
                    self.results[i][j].eq(tpe.results),
                    self.gated.as_value()[base:base + macs].eq(tpe.gated),
                ]
        return m
