"""The layer decoder: from the layer registers to what the PEs and the scheduler need
(output size, channel segments, chunks, bands) and whether the layer fits the design."""

from amaranth import Const, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .layouts import bits_for, layer_layout

__all__ = ["LayerDecoder", "RAW_FIELDS"]

#: The layer registers: name → width function of the config.
RAW_FIELDS = ("h", "w", "c", "k", "r", "s", "pad", "stride_log2", "relu", "pool")


def raw_widths(cfg):
    kb = bits_for(cfg.kernel_max)
    return {"h": bits_for(cfg.max_h), "w": bits_for(cfg.max_w), "c": bits_for(cfg.max_c),
            "k": bits_for(cfg.max_k), "r": kb, "s": kb, "pad": kb, "stride_log2": 2, "relu": 1,
            "pool": 1}


class LayerDecoder(wiring.Component):
    """Combinational.

    Attributes
    ----------
    <field> : In(width) for each of :data:`RAW_FIELDS`
        ``h × w`` input, ``c`` channels, ``k`` outputs, ``r × s`` kernel, ``pad``,
        ``stride = 2**stride_log2``, ``relu`` and ``pool`` switches.
    layer : Out(layer_layout(cfg))
    nchunks : Out(range(pes + 1)), nbands : Out(range(max_bands + 1))
    bad : Out(1)
        The layer does not fit: a size is zero or above its limit, ``k`` is not a multiple of
        ``m``, ``pad ≥ r`` or ``pad ≥ s``, the kernel is larger than the padded input, the output
        is wider or taller than the limits, ``stride_log2 > 2``, or pooling with odd
        ``band_rows``.
    """

    def __init__(self, cfg):
        self._cfg = cfg
        members = {name: In(width) for name, width in raw_widths(cfg).items()}
        members.update({"layer": Out(layer_layout(cfg)), "nchunks": Out(range(cfg.pes + 1)),
                        "nbands": Out(range(cfg.max_bands + 1)), "bad": Out(1)})
        super().__init__(members)

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        wide = bits_for(cfg.max_h + cfg.max_w + 2 * cfg.kernel_max) + 1
        span_h, span_w = Signal(wide), Signal(wide)
        ho, wo = Signal(wide), Signal(wide)
        m.d.comb += [span_h.eq(self.h + 2 * self.pad), span_w.eq(self.w + 2 * self.pad),
                     ho.eq(((span_h - self.r) >> self.stride_log2) + 1),
                     wo.eq(((span_w - self.s) >> self.stride_log2) + 1)]
        lay = self.layer
        m.d.comb += [
            lay.h.eq(self.h), lay.w.eq(self.w), lay.ho.eq(ho), lay.wo.eq(wo), lay.r.eq(self.r),
            lay.s.eq(self.s), lay.pad.eq(self.pad), lay.stride_log2.eq(self.stride_log2),
            lay.segments.eq((self.c + cfg.chunk - 1) // cfg.chunk),
            lay.relu.eq(self.relu), lay.pool.eq(self.pool),
            self.nchunks.eq((self.k + cfg.chunk - 1) // cfg.chunk),
            self.nbands.eq((ho + cfg.band_rows - 1) // cfg.band_rows),
        ]
        m_bits = (cfg.m - 1).bit_length()

        def out_of(value, top):
            # Zero or above ``top``; the upper test only where the field can exceed it (a
            # constant comparison is a Verilator -Wall warning).
            above = value > top if (1 << len(value)) - 1 > top else Const(0)
            return (value == 0) | above

        checks = [
            out_of(self.h, cfg.max_h), out_of(self.w, cfg.max_w), out_of(self.c, cfg.max_c),
            out_of(self.k, cfg.max_k), self.k[:m_bits] != 0,
            out_of(self.r, cfg.kernel_max), out_of(self.s, cfg.kernel_max),
            self.pad >= self.r, self.pad >= self.s,
            span_h < self.r, span_w < self.s, ho > cfg.max_h, wo > cfg.max_w,
            self.stride_log2 > 2,
        ]
        if cfg.band_rows % 2:
            checks.append(self.pool == 1)
        bad = checks[0]
        for c in checks[1:]:
            bad = bad | c
        m.d.comb += self.bad.eq(bad)
        return m
