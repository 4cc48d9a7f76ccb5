"""Bit layouts of SparseCore's memories, jobs and output beats, defined once (*SparseCore*,
Sec. 2.1: "k values per group of m plus their positions"; Sec. 3: compressed activations).

The test benches pack memory words and read beats with packers derived from these layouts.
"""

from amaranth import signed, unsigned
from amaranth.lib import data

__all__ = ["bits_for", "max_segments", "act_entry_layout", "pointer_layout", "weight_row_layout",
           "layer_layout", "job_layout", "beat_layout", "requant_layout", "acc_row_layout",
           "weight_beat_layout", "requant_beat_layout", "requant_row_layout", "out_lane_layout",
           "out_layout", "stream_width", "COUNTER_BITS"]

#: Width of statistics counters.
COUNTER_BITS = 32


def bits_for(n):
    """Bits of an unsigned field holding 0 … n."""
    return max(1, int(n).bit_length())


def max_segments(cfg):
    """Channel segments of the widest input: ``⌈max_c / chunk⌉``."""
    return -(-cfg.max_c // cfg.chunk)


def act_entry_layout(cfg):
    """One compressed activation: column ``x``, channel ``c`` within its segment, ``value``."""
    return data.StructLayout({"x": unsigned(bits_for(cfg.max_w - 1)),
                              "c": unsigned(bits_for(cfg.chunk - 1)),
                              "value": signed(cfg.act_width)})


def pointer_layout(cfg, entries):
    """A row of the index memory: where the list of one (row, segment) starts, and its length."""
    return data.StructLayout({"start": unsigned(bits_for(entries)),
                              "count": unsigned(bits_for(cfg.max_w * cfg.chunk))})


def weight_row_layout(cfg):
    """A PE's weights at one ``(c, r, s)``: per group, ``k`` values and their positions."""
    slot = data.StructLayout({"value": signed(cfg.weight_width), "pos": unsigned(cfg.pos_bits)})
    return data.ArrayLayout(data.ArrayLayout(slot, cfg.k), cfg.groups)


def acc_row_layout(cfg):
    """A row of the accumulation buffer: the chunk's ``D`` accumulators of one output pixel."""
    return data.ArrayLayout(signed(cfg.acc_width), cfg.chunk)


def requant_layout():
    """One output channel's requantization: INT32 ``bias``, unsigned 16-bit ``mult``, ``shift``."""
    return data.StructLayout({"bias": signed(32), "mult": unsigned(16), "shift": unsigned(5)})


def layer_layout(cfg):
    """The layer a PE runs: input ``h × w``, output ``ho × wo``, ``r × s`` kernel, padding,
    ``stride = 2**stride_log2``, channel segments, and post-processing switches."""
    kb = bits_for(cfg.kernel_max)
    return data.StructLayout({
        "h": unsigned(bits_for(cfg.max_h)), "w": unsigned(bits_for(cfg.max_w)),
        "ho": unsigned(bits_for(cfg.max_h)), "wo": unsigned(bits_for(cfg.max_w)),
        "r": unsigned(kb), "s": unsigned(kb), "pad": unsigned(kb), "stride_log2": unsigned(2),
        "segments": unsigned(bits_for(max_segments(cfg))),
        "relu": unsigned(1), "pool": unsigned(1),
    })


def job_layout(cfg):
    """One ALU cycle: an activation ``value`` for the weight row ``waddr`` (``(c, r, s)``) and
    the accumulation-buffer row ``aaddr`` (the output pixel within the band)."""
    return data.StructLayout({
        "value": signed(cfg.act_width),
        "waddr": unsigned(bits_for(cfg.max_c * cfg.kernel_max ** 2 - 1)),
        "aaddr": unsigned(bits_for(cfg.band_rows * cfg.max_w - 1)),
    })


def beat_layout(cfg):
    """An output beat: one output pixel ``(y, x)`` of a chunk, its non-zero INT8 values
    compacted into the first ``count`` lanes with their channel ``c`` within the chunk, lanes past
    ``count`` zero."""
    lane = data.StructLayout({"c": unsigned(bits_for(cfg.chunk - 1)), "value": signed(8)})
    return data.StructLayout({
        "y": unsigned(bits_for(cfg.max_h)), "x": unsigned(bits_for(cfg.max_w)),
        "count": unsigned(bits_for(cfg.chunk)), "lanes": data.ArrayLayout(lane, cfg.chunk),
    })


def weight_beat_layout(cfg):
    """A beat of the weight stream (``tdest`` = chunk): the weight memory row ``addr``
    (``c·kernel_max² + r·kernel_max + s``) and the row."""
    return data.StructLayout({"addr": unsigned(bits_for(cfg.max_c * cfg.kernel_max ** 2 - 1)),
                              "row": weight_row_layout(cfg)})


def requant_row_layout(cfg):
    """A row of a PE's requantization memory: the parameters of ``requant_lanes`` consecutive
    channels of its chunk (row ``n`` holds channels ``n·lanes …``), read one row per step."""
    return data.ArrayLayout(requant_layout(), cfg.requant_lanes)


def requant_beat_layout(cfg):
    """A beat of the requantization stream (``tdest`` = chunk): a row index and the row."""
    return data.StructLayout({"row": unsigned(bits_for(cfg.chunk // cfg.requant_lanes - 1)),
                              "params": requant_row_layout(cfg)})


def out_lane_layout(cfg):
    """One PE's lane of the output stream: ``valid``, the PE's ``chunk`` and its beat."""
    return data.StructLayout({"valid": unsigned(1), "chunk": unsigned(bits_for(cfg.pes - 1)),
                              "beat": beat_layout(cfg)})


def out_layout(cfg):
    """A beat of the output stream: one lane per PE."""
    return data.ArrayLayout(out_lane_layout(cfg), cfg.pes)


def stream_width(layout):
    """AXI4-Stream ``tdata`` width carrying ``layout``: its size rounded up to whole bytes."""
    return -(-data.Layout.cast(layout).size // 8) * 8
