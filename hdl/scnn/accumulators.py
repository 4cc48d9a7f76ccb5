"""Double-buffered accumulator banks (SCNN paper, Sec. 4.2, "Accumulation").

"Each accumulator bank includes adders and small set of entries for the output channels associated
with the output-channel group being processed. The accumulation buffers are double-buffered so
that one set of banks can be updated by incoming partial sums while the second set of banks are
drained out by the PPU."
"""

from amaranth import Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .crossbar import bank_port_layout
from .rams import RamBanks

__all__ = ["AccumulatorBanks"]


class AccumulatorBanks(wiring.Component):
    """Two sets of A banks of ``bank_entries`` accumulators, one for the crossbar, one for the PPU.

    Set ``acc_set`` takes the crossbar's deliveries: a bank with ``en`` adds ``addend`` to its
    entry (read, add, write back in the cycle; a write is visible from the next cycle, so
    back-to-back updates of one entry are exact). The other set belongs to the post-processor,
    which reads any entry of each bank combinationally and may write it in the same cycle.
    Accumulators wrap modulo ``2**acc_width``. Each set is a :class:`~.rams.RamBanks` (A
    register-file macros with a combinational read port each). Their contents after reset are
    not specified, so for ``bank_entries`` cycles after reset every bank of both sets clears one
    entry per cycle (``ready`` is low meanwhile); the PPU leaves a set all zero after each group.

    Attributes
    ----------
    acc_set : In(1)
    acc : In(ArrayLayout(bank_port_layout(cfg), A))
    ppu_entry : In(ArrayLayout(range(bank_entries), A))
    ppu_we : In(A)
    ppu_wdata : In(ArrayLayout(signed(acc_width), A))
    ppu_rdata : Out(ArrayLayout(signed(acc_width), A))
        The PPU set's entries at ``ppu_entry``, this cycle.
    ready : Out(1)
        The clearing after reset is over.
    """

    def __init__(self, cfg):
        self._cfg = cfg
        entry = range(max(2, cfg.bank_entries))
        acc = signed(cfg.acc_width)
        super().__init__({
            "acc_set": In(1),
            "acc": In(data.ArrayLayout(bank_port_layout(cfg), cfg.banks)),
            "ppu_entry": In(data.ArrayLayout(entry, cfg.banks)),
            "ppu_we": In(cfg.banks),
            "ppu_wdata": In(data.ArrayLayout(acc, cfg.banks)),
            "ppu_rdata": Out(data.ArrayLayout(acc, cfg.banks)),
            "ready": Out(1),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        acc_shape = signed(cfg.acc_width)
        sets = [RamBanks(acc_shape, cfg.bank_entries, cfg.banks) for _ in range(2)]
        for s, ram in enumerate(sets):
            m.submodules[f"set{s}"] = ram
        clearing = Signal(init=1)
        sweep = Signal(range(max(2, cfg.bank_entries)))
        m.d.comb += self.ready.eq(~clearing)
        with m.If(clearing):
            m.d.sync += sweep.eq(sweep + 1)
            with m.If(sweep == cfg.bank_entries - 1):
                m.d.sync += clearing.eq(0)
        for b in range(cfg.banks):
            port = self.acc[b]
            reads = [ram.r[b].data for ram in sets]
            # One adder per bank, shared by the sets: it serves whichever takes deliveries.
            total = Mux(self.acc_set, reads[1], reads[0]) + port.addend
            for s, ram in enumerate(sets):
                mine = self.acc_set == s
                addr = Mux(mine, port.entry, self.ppu_entry[b])
                m.d.comb += [
                    ram.r[b].addr.eq(addr),
                    ram.w[b].addr.eq(Mux(clearing, sweep, addr)),
                    ram.w[b].data.eq(Mux(clearing | ~mine, Mux(clearing, 0, self.ppu_wdata[b]),
                                         total)),
                    ram.w[b].en.eq(clearing | Mux(mine, port.en, self.ppu_we[b])),
                ]
            m.d.comb += self.ppu_rdata[b].eq(Mux(self.acc_set, reads[0], reads[1]))
        return m
