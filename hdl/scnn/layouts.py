"""Bit layouts of the SCNN accelerator's rows, streams and pipeline, defined once.

A compressed block (:mod:`sparseforge.sim.scnn.format`) is stored and streamed as rows of ``L``
lanes: the block's entry ``count`` and ``L`` entries ``(value, zeros)``. The test benches and the
CLI pack beats with packers derived from these layouts (:mod:`sparseforge.tb.packing`), so the
hardware and the software cannot disagree on bit order.
"""

from amaranth import signed, unsigned
from amaranth.lib import data

__all__ = [
    "entry_layout", "row_layout", "weight_row_layout", "act_row_layout", "out_row_layout",
    "stream_width", "request_layout", "layer_layout", "COUNTER_BITS",
]

#: Width of the statistics counters (cycles, stalls, barrier waits, products).
COUNTER_BITS = 32


def entry_layout(value_width, index_bits):
    """One entry of a compressed block: ``zeros`` zero elements, then ``value``."""
    return data.StructLayout({"value": signed(value_width), "zeros": unsigned(index_bits)})


def row_layout(lanes, value_width, index_bits, count_bits):
    """A row of a compressed block: the block's entry ``count`` and ``lanes`` entries.

    Lanes past the block's count hold ``(0, 0)`` on the streams. An empty block is one row with
    count 0.
    """
    return data.StructLayout({
        "count": unsigned(count_bits),
        "entries": data.ArrayLayout(entry_layout(value_width, index_bits), lanes),
    })


def weight_row_layout(cfg):
    """A row of a weight block: F entries of ``weight_width``-bit values (weight FIFO, stream)."""
    return row_layout(cfg.f, cfg.weight_width, cfg.index_bits, cfg.weight_count_bits)


def act_row_layout(cfg):
    """A row of an activation block: I entries of ``act_width``-bit values (IARAM, stream)."""
    return row_layout(cfg.i, cfg.act_width, cfg.index_bits, cfg.act_count_bits)


def out_row_layout(cfg):
    """A row of an output block: I entries of ``acc_width``-bit values (OARAM, output stream)."""
    return row_layout(cfg.i, cfg.acc_width, cfg.index_bits, cfg.act_count_bits)


def stream_width(layout):
    """AXI4-Stream ``tdata`` width carrying ``layout``: its size rounded up to whole bytes."""
    return -(-data.Layout.cast(layout).size // 8) * 8


def request_layout(cfg):
    """A product on its way to the accumulator banks: its ``bank``, ``entry`` and value."""
    return data.StructLayout({
        "bank": unsigned(max(1, cfg.bank_bits)),
        "entry": unsigned(max(1, (cfg.bank_entries - 1).bit_length())),
        "product": signed(cfg.acc_width),
    })


def layer_layout(cfg):
    """A layer descriptor: input ``h × w × c``, ``k`` output channels, an ``r × s`` kernel."""
    return data.StructLayout({
        "h": unsigned(max(1, cfg.max_h.bit_length())),
        "w": unsigned(max(1, cfg.max_w.bit_length())),
        "c": unsigned(max(1, cfg.iaram_rows.bit_length())),
        "k": unsigned(max(1, cfg.out_channels.bit_length())),
        "r": unsigned(max(1, cfg.kernel_max.bit_length())),
        "s": unsigned(max(1, cfg.kernel_max.bit_length())),
    })
