"""AXI4-Stream movers between the outside world and the accelerator's SRAMs."""

from amaranth import Const, Module, Mux, Signal
from amaranth.lib import data, fifo, wiring
from amaranth.lib.wiring import In, Out

from ...gen.schema import bits_for
from ..common.axi import axi_stream_signature

__all__ = ["ActLoader", "WeightLoader", "Readback", "stream_width"]


def stream_width(bits):
    """AXI4-Stream ``tdata`` width for ``bits`` of payload: whole bytes."""
    return -(-bits // 8) * 8


class _MapWalker:
    """Counters over a feature map in load order (pixel-major, channel block inner) and the bank
    and row of the current word (see :mod:`sparseforge.sim.accel.plan` for the layout)."""

    def __init__(self, m, cfg, base, blocks, advance, restart):
        lg = cfg.act_banks.bit_length() - 1
        self.pixel = Signal(32)
        self.block = Signal(16)
        self.bank = Signal(lg)
        self.row = Signal(32)
        m.d.comb += [
            self.bank.eq(self.pixel + self.block),
            self.row.eq((self.pixel >> lg) * blocks + self.block + base),
        ]
        with m.If(restart):
            m.d.sync += [self.pixel.eq(0), self.block.eq(0)]
        with m.Elif(advance):
            with m.If(self.block == blocks - 1):
                m.d.sync += [self.block.eq(0), self.pixel.eq(self.pixel + 1)]
            with m.Else():
                m.d.sync += self.block.eq(self.block + 1)


class ActLoader(wiring.Component):
    """Write an AXI4-Stream of activation words into an activation SRAM half.

    Each packet (ended by ``tlast``) writes a feature map from row ``base`` with ``blocks``
    channel blocks per pixel, one word per beat, in load order. ``tready`` is low while
    ``blocked`` (the layer is writing that half).
    """

    def __init__(self, cfg):
        self._cfg = cfg
        banks = cfg.act_banks
        super().__init__({
            "s_axis": In(axi_stream_signature(stream_width(cfg.word_bits))),
            "base": In(32), "blocks": In(16), "blocked": In(1),
            "wr_addr": Out(data.ArrayLayout(bits_for(cfg.act_bank_depth), banks)),
            "wr_data": Out(data.ArrayLayout(cfg.word_bits, banks)),
            "wr_en": Out(banks),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        axis = self.s_axis
        take = Signal()
        m.d.comb += [axis.tready.eq(~self.blocked), take.eq(axis.tvalid & axis.tready)]
        walk = _MapWalker(m, cfg, self.base, self.blocks, take, take & axis.tlast)
        for b in range(cfg.act_banks):
            m.d.comb += [
                self.wr_addr[b].eq(walk.row),
                self.wr_data[b].eq(axis.tdata[:cfg.word_bits]),
                self.wr_en[b].eq(take & (walk.bank == b)),
            ]
        return m


class WeightLoader(wiring.Component):
    """Write an AXI4-Stream of weight words into a weight SRAM half from ``base`` on, running on
    into the other half past its end (``wr_addr`` counts from the start of the half, across
    both; the accelerator splits it); each packet (ended by ``tlast``) starts again at
    ``base``."""

    def __init__(self, cfg):
        self._cfg = cfg
        super().__init__({
            "s_axis": In(axi_stream_signature(stream_width(cfg.weight_word_bits))),
            "base": In(32),
            "wr_addr": Out(bits_for(2 * cfg.weight_half_words)),
            "wr_data": Out(cfg.weight_word_bits),
            "wr_en": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        axis = self.s_axis
        offset = Signal(32)
        take = Signal()
        m.d.comb += [
            axis.tready.eq(1),
            take.eq(axis.tvalid),
            self.wr_addr.eq(self.base + offset),
            self.wr_data.eq(axis.tdata[:self._cfg.weight_word_bits]),
            self.wr_en.eq(take),
        ]
        with m.If(take):
            m.d.sync += offset.eq(Mux(axis.tlast, 0, offset + 1))
        return m


class Readback(wiring.Component):
    """Stream ``count`` activation words out of an SRAM half, in load order from row ``base``
    with ``blocks`` words per pixel; ``start`` begins, ``tlast`` marks the last word. Reads wait
    while ``blocked`` (the layer reads that half). With Sparse-Blox, words also wait while
    ``hold``, and a word issued with ``zero`` is delivered as zeros without an SRAM read
    (:class:`.blox.BloxReadFilter`)."""

    def __init__(self, cfg):
        self._cfg = cfg
        banks = cfg.act_banks
        self._blox = cfg.sparseblox is not None
        super().__init__({
            **({"hold": In(1), "zero": In(1), "issued": Out(1)} if self._blox else {}),
            "m_axis": Out(axi_stream_signature(stream_width(cfg.word_bits))),
            "base": In(32), "blocks": In(16), "count": In(32), "start": In(1),
            "blocked": In(1), "busy": Out(1),
            "rd_addr": Out(data.ArrayLayout(bits_for(cfg.act_bank_depth), banks)),
            "rd_en": Out(banks),
            "rd_data": In(data.ArrayLayout(cfg.word_bits, banks)),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        axis = self.m_axis
        left = Signal(32)
        inflight = Signal()
        inflight_bank = Signal(range(cfg.act_banks))
        inflight_last = Signal()
        issue = Signal()
        m.submodules.out = out = fifo.SyncFIFO(width=cfg.word_bits + 1, depth=3)
        hold = self.hold if self._blox else Const(0)
        zero = self.zero if self._blox else Const(0)
        inflight_zero = Signal()
        m.d.sync += inflight_zero.eq(issue & zero)
        if self._blox:
            m.d.comb += self.issued.eq(issue)
        m.d.comb += [
            issue.eq((left != 0) & ~self.blocked & ~hold & (out.level + inflight < 3)),
            self.busy.eq((left != 0) | inflight | out.r_rdy),
            axis.tvalid.eq(out.r_rdy),
            axis.tdata.eq(out.r_data[:cfg.word_bits]),
            axis.tlast.eq(out.r_data[-1]),
            out.r_en.eq(axis.tready),
        ]
        walk = _MapWalker(m, cfg, self.base, self.blocks, issue, self.start)
        for b in range(cfg.act_banks):
            m.d.comb += [self.rd_addr[b].eq(walk.row),
                         self.rd_en[b].eq(issue & ~zero & (walk.bank == b))]
        m.d.sync += [inflight.eq(issue), inflight_bank.eq(walk.bank),
                     inflight_last.eq(left == 1)]
        with m.If(issue):
            m.d.sync += left.eq(left - 1)
        with m.If(self.start):
            m.d.sync += left.eq(self.count)
        m.d.comb += [out.w_en.eq(inflight),
                     out.w_data.eq(Mux(inflight_last, 1 << cfg.word_bits, 0) |
                                   Mux(inflight_zero, 0,
                                       self.rd_data.as_value().word_select(inflight_bank,
                                                                           cfg.word_bits)))]
        return m
