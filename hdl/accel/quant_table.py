"""Per-output-channel requantization parameters of the output stage: bias, multiplier, shift.

What an INT8 network needs for its layers to chain on chip (the rule of
:mod:`sparseforge.sim.quant`); the STA paper's accelerator requantizes in its output stage
(Sec. IV, Fig. 5) without saying how, so this follows the deployed INT8 stacks.
"""

from amaranth import Module, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ...gen.schema import bits_for
from .sram import SramBank

__all__ = ["quant_param_layout", "quant_rows", "QuantTable"]


def quant_param_layout():
    """One channel's parameters: INT32 ``bias``, unsigned 16-bit ``mult``, 6-bit ``shift``."""
    return data.StructLayout({"bias": signed(32), "mult": unsigned(16), "shift": unsigned(6)})


def quant_rows(cfg):
    """Rows of an accelerator's table: ``cfg.quant_channels`` channels (the layers loaded at once
    together; a layer with more output channels runs as several), ``tile_cols`` a row; 0 when
    the config has no table."""
    return -(-cfg.quant_channels // cfg.array.tile_cols)


class QuantTable(wiring.Component):
    """The parameters of ``lanes`` output channels per row, one SRAM macro per lane.

    Row ``r``, lane ``j`` holds one output channel; a layer whose parameters start at row
    ``base`` finds channel ``k`` at row ``base + k div lanes``, lane ``k mod lanes`` (``lanes`` is
    the engine's ``tile_cols``, so one row serves one column tile). The host writes one channel
    at a time through the register file; the output stage reads a whole row per cycle.

    Parameters
    ----------
    lanes : int
        Channels per row (the output tile's columns).
    rows : int
        Rows of the table.

    Attributes
    ----------
    wr_row, wr_lane, wr_data, wr_en : In
        Write ``wr_data`` to (``wr_row``, ``wr_lane``) when ``wr_en``.
    rd_row : In
        Row to read; ``rd_data`` holds it one cycle later (latency 1, read every cycle).
    rd_data : Out(ArrayLayout(quant_param_layout(), lanes))
    """

    def __init__(self, lanes, rows):
        if not isinstance(lanes, int) or lanes < 1:
            raise TypeError(f"Lanes must be a positive integer, not {lanes!r}")
        if not isinstance(rows, int) or rows < 1:
            raise TypeError(f"Rows must be a positive integer, not {rows!r}")
        self._lanes, self._rows = lanes, rows
        layout = quant_param_layout()
        super().__init__({
            "wr_row": In(bits_for(rows)), "wr_lane": In(bits_for(lanes)),
            "wr_data": In(layout), "wr_en": In(1),
            "rd_row": In(bits_for(rows)),
            "rd_data": Out(data.ArrayLayout(layout, lanes)),
        })

    @property
    def lanes(self):
        return self._lanes

    @property
    def rows(self):
        return self._rows

    latency = 1

    def elaborate(self, platform):
        m = Module()
        width = quant_param_layout().size
        for j in range(self._lanes):
            bank = m.submodules[f"lane{j}"] = SramBank(width, self._rows)
            m.d.comb += [
                bank.wr.addr.eq(self.wr_row), bank.wr.data.eq(self.wr_data.as_value()),
                bank.wr.en.eq(self.wr_en & (self.wr_lane == j)),
                bank.rd.addr.eq(self.rd_row), bank.rd.en.eq(1),
                self.rd_data[j].eq(bank.rd.data),
            ]
        return m
