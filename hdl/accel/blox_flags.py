"""Pruned-word flags: the next layer's reader learns, in the cycle it asks for a word, that the
word belongs to a block the previous layer pruned (Hotfilter et al., III-B: "a later read of a
pruned block returns zeros without an SRAM read").

Why a flag per activation word, beside each bank, and not a lookup of the sparse-block cache:

* The readers take up to one word per bank per cycle (IM2COL reads a window row, the direct
  reader a beat, ``act_banks`` words at once); the cache answers one position per binary search
  of ``2·probes`` cycles. Asking it per word would cut the readers' throughput by an order of
  magnitude and change every layer's cycles.
* A bitmap of the previous layer's block positions would answer at full rate only with one read
  port per bank and, per bank, the word's block position (its pixel divided by the previous
  layer's patch, its channel block split into column tile and block) computed in the cycle of the
  request; and it would have to be sized for ``2**position_bits`` positions.
* A flag per word needs no address arithmetic: it sits at the word's own bank and row, is set
  where the output stage drops a pruned word and cleared where anything writes a word (the output
  stage, the activation loader), and is read combinationally at the reader's address, so the
  data SRAM's read enable is gated in the same cycle: **a pruned word costs no SRAM read** and
  the reader's timing is untouched, so the cycle model needs no change for it. Its cost is one bit
  per word (1/``word_bits`` of the activation SRAM, 1/64 on accel_small), held in flip-flops
  because an SRAM macro's read is synchronous.

The cache still records the positions (its counters, full-cache behaviour and the host read-back
with ``read_blox = 1`` are unchanged); the flags are what a reader on chip consults.
"""

from amaranth import Module, unsigned
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from ...gen.schema import bits_for

__all__ = ["PrunedWordFlags"]


class PrunedWordFlags(wiring.Component):
    """One flag per word of one activation SRAM half, bank by bank, addressed like the words.

    Attributes
    ----------
    wr_addr : In(ArrayLayout(addr, banks)); wr_en, wr_flag : In(banks)
        Per bank: set the flag at ``wr_addr`` to ``wr_flag`` (1: the word of a pruned block, not
        written; 0: a word written) at the clock edge.
    rd_addr : In(ArrayLayout(addr, banks))
    flag : Out(banks)
        Per bank: the flag at ``rd_addr``, in the same cycle (combinational read; a flag written
        in this cycle is seen from the next).
    """

    def __init__(self, cfg):
        self._banks, self._depth = cfg.act_banks, cfg.act_bank_depth
        addr = data.ArrayLayout(bits_for(cfg.act_bank_depth), cfg.act_banks)
        super().__init__({"wr_addr": In(addr), "wr_en": In(cfg.act_banks),
                          "wr_flag": In(cfg.act_banks), "rd_addr": In(addr),
                          "flag": Out(cfg.act_banks)})

    def elaborate(self, platform):
        m = Module()
        for b in range(self._banks):
            mem = m.submodules[f"bank{b}"] = memory.Memory(shape=unsigned(1), depth=self._depth,
                                                          init=[])
            wr = mem.write_port()
            rd = mem.read_port(domain="comb")
            m.d.comb += [wr.addr.eq(self.wr_addr[b]), wr.data.eq(self.wr_flag[b]),
                         wr.en.eq(self.wr_en[b]), rd.addr.eq(self.rd_addr[b]),
                         self.flag[b].eq(rd.data)]
        return m
