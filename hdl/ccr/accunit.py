"""AccUnit and the output buffer: products added to partial sums in ``P_x × P_y`` OB banks
(CCR, Sec. IV-A/B, Fig. 7).

"The P_x × P_y products are delivered into AccUnit indexed by the coordinates and are accumulated
to the corresponding partial sums fetched from OB." OB is interleaved over ``P_x × P_y`` banks
(:mod:`sparseforge.sim.ccr.format`); each bank has its own adder and takes one update per cycle.
Which product goes to which bank and word is decided before AccUnit: by the crossbar for a block
(:mod:`.scatter`) or by the bank arbiter for SparseKI's Cartesian products (:mod:`.arbiter`).
"""

from amaranth import Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .buffer import Buffer
from .layouts import bank_port_layout

__all__ = ["AccUnit"]


class AccUnit(wiring.Component):
    """OB banks with a read-add-write pipeline, a clear port and a read port.

    An update offered on ``banks[b]`` with ``en`` in cycle t reads the bank's word in cycle t
    and writes it back with the addend in cycle t + 1 (``latency`` = 2 cycles to a visible
    result). Each bank's read port is transparent to its write port, so an update may hit the
    word the previous cycle's update writes: one update per bank per cycle, any addresses.
    Accumulators wrap modulo ``2**acc_width``.

    ``clear`` zeroes word ``clear_addr`` of every bank through the same write-back stage as an
    update (written in cycle t + 1), so clears and updates take effect in the order they are
    issued, back to back in any order: an update issued right after a clear reads the zero
    (transparent read), and a clear issued right after an update is written after that update's
    write-back (no update is lost, whatever the addresses). ``rd_en`` reads word ``rd_addr`` of
    every bank onto ``rd_data`` in the next cycle, held while ``rd_en`` is low; it sees every
    update and clear issued before it. Updates, ``clear`` and ``rd_en`` must not be high in the
    same cycle (one write-back a cycle). ``tests/ccr/test_formal_accunit.py`` proves that a
    read returns exactly the sum of the updates since the word's last clear.

    Parameters
    ----------
    cfg : CcrConfig

    Attributes
    ----------
    banks : In(ArrayLayout(bank_port_layout(cfg), P_x·P_y))
    clear, clear_addr, rd_en, rd_addr : In
    rd_data : Out(ArrayLayout(signed(acc_width), P_x·P_y))
    """

    latency = 2

    def __init__(self, cfg):
        self._cfg = cfg
        words = max(2, cfg.ob_bank_words)
        super().__init__({
            "banks": In(data.ArrayLayout(bank_port_layout(cfg), cfg.multipliers)),
            "clear": In(1), "clear_addr": In(range(words)),
            "rd_en": In(1), "rd_addr": In(range(words)),
            "rd_data": Out(data.ArrayLayout(signed(cfg.acc_width), cfg.multipliers)),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        acc = signed(cfg.acc_width)
        # A clear is written a cycle after it is issued, like an update's write-back, so the two
        # never compete for a bank's write port (they are never issued in the same cycle).
        w_clear = Signal()
        w_clear_addr = Signal.like(self.clear_addr)
        m.d.sync += [w_clear.eq(self.clear), w_clear_addr.eq(self.clear_addr)]
        for bx in range(cfg.px):
            for by in range(cfg.py):
                b = bx * cfg.py + by
                port = self.banks[b]
                bank = Buffer(acc, cfg.ob_bank_words, transparent=True)
                m.submodules[f"ob_{bx}_{by}"] = bank
                # The write a cycle after the read.
                w_addr = Signal.like(bank.wr_addr, name=f"w_addr_{b}")
                w_en = Signal(name=f"w_en_{b}")
                w_add = Signal(acc, name=f"w_add_{b}")
                m.d.sync += [w_addr.eq(port.addr), w_en.eq(port.en), w_add.eq(port.addend)]
                m.d.comb += [
                    bank.rd_addr.eq(Mux(self.rd_en, self.rd_addr, port.addr)),
                    bank.rd_en.eq(port.en | self.rd_en),
                    self.rd_data[b].eq(bank.rd_data),
                    bank.wr_addr.eq(Mux(w_clear, w_clear_addr, w_addr)),
                    bank.wr_data.eq(Mux(w_clear, 0, bank.rd_data + w_add)),
                    bank.wr_en.eq(w_clear | w_en),
                ]
        return m
