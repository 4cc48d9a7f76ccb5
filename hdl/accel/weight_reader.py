"""Weight reader: streams a layer's weight words from the weight SRAM to the engine."""

from amaranth import Module, Signal
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from ...gen.schema import bits_for
from ..sta.layouts import weight_word_layout
from .layouts import layer_layout

__all__ = ["WeightReader"]


class WeightReader(wiring.Component):
    """Replay each column tile's weight words once per output patch.

    A column tile holds ``tile_slots`` slots (the layer descriptor's: NNZ + ``mask_slots`` a
    block for the sparse kinds, whose words hold ``word_slots`` slots; one a word for the dense
    kinds), so its ``n = ⌈tile_slots / word_slots⌉`` words end at the first word ``w`` with
    ``(w + 1)·word_slots ≥ tile_slots``. For column tile ``q`` and each of the layer's
    ``row_tiles`` patches, its words ``w_base + q·n … + n − 1`` are read in order: one read per
    cycle, latency 1, into a three-word buffer (one read in flight while the engine takes a word
    every cycle).

    Attributes
    ----------
    layer : In(layer_layout(cfg))
    row_tiles : In(32)
    start : In(1)
    busy : Out(1)
    weight : Out(stream.Signature(weight_word_layout(cfg.array)))
    rd_addr, rd_en : Out
        The read port of the weight SRAM: the word's address counted from the start of the
        layer's half (``w_half``), running on into the other half past its end (a layer whose
        weights need more than a half uses both; the accelerator splits the address).
    rd_data : In
    """

    def __init__(self, cfg):
        self._cfg = cfg
        super().__init__({
            "layer": In(layer_layout(cfg)),
            "row_tiles": In(32),
            "start": In(1),
            "busy": Out(1),
            "weight": Out(stream.Signature(weight_word_layout(cfg.array))),
            "rd_addr": Out(bits_for(2 * cfg.weight_half_words)),
            "rd_en": Out(1),
            "rd_data": In(cfg.weight_word_bits),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        layer = self.layer
        m.submodules.out = out = fifo.SyncFIFO(width=cfg.weight_word_bits, depth=3)
        m.d.comb += [
            self.weight.valid.eq(out.r_rdy),
            self.weight.payload.eq(out.r_data),
            out.r_en.eq(self.weight.ready),
        ]

        active = Signal()
        word = Signal(24)
        patch = Signal(32)
        q_left = Signal.like(layer.col_tiles)
        q_base = Signal(32)
        inflight = Signal()
        issue = Signal()
        m.d.comb += [
            issue.eq(active & (out.level + inflight < 3)),
            self.rd_en.eq(issue),
            self.rd_addr.eq(layer.w_base + q_base + word),
            self.busy.eq(active | inflight | out.r_rdy),
            out.w_en.eq(inflight),
            out.w_data.eq(self.rd_data),
        ]
        per_word = cfg.array.word_slots if cfg.array.sparse else 1
        last_word = Signal()
        m.d.comb += last_word.eq((word + 1) * per_word >= layer.tile_slots)
        m.d.sync += inflight.eq(issue)
        with m.If(issue):
            with m.If(last_word):
                m.d.sync += word.eq(0)
                with m.If(patch == self.row_tiles - 1):
                    m.d.sync += [patch.eq(0), q_base.eq(q_base + word + 1),
                                 q_left.eq(q_left - 1)]
                    with m.If(q_left == 1):
                        m.d.sync += active.eq(0)
                with m.Else():
                    m.d.sync += patch.eq(patch + 1)
            with m.Else():
                m.d.sync += word.eq(word + 1)
        with m.If(self.start):
            m.d.sync += [active.eq((layer.col_tiles != 0) & (self.row_tiles != 0)),
                         word.eq(0), patch.eq(0), q_base.eq(0), q_left.eq(layer.col_tiles)]
        return m
