"""cocotb bench of the test-only dot-product unit: beats in, sums out, cycles seen outside."""

import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

__all__ = ["run_jobs"]


def _pack(values, width):
    word = 0
    for k, v in enumerate(values):
        word |= (int(v) & ((1 << width) - 1)) << (k * width)
    return word


async def run_jobs(dut, cfg, acts, weights, *, pause=0.0, backpressure=0.0, seed=0):
    """Stream the jobs through the DUT; return ``(sums, cycles)``: cycles from the first beat
    accepted to the last sum accepted (handshakes seen on the ports)."""
    rng = random.Random(seed)
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    dut.i__valid.value = 0
    dut.o__ready.value = 0
    await ClockCycles(dut.clk, 2)
    dut.rst.value = 0
    beats = [(a, w, b == acts.shape[1] - 1) for j in range(acts.shape[0])
             for b, (a, w) in enumerate(zip(acts[j], weights[j]))]
    lanes = cfg.lanes
    sums, first, last, cycle, sent = [], None, None, 0, 0
    while len(sums) < acts.shape[0]:
        give = sent < len(beats) and rng.random() >= pause
        if give:
            a, w, end = beats[sent]
            dut.i__payload.value = (_pack(a, cfg.act_width)
                                    | _pack(w, cfg.weight_width) << (lanes * cfg.act_width)
                                    | int(end) << (lanes * (cfg.act_width + cfg.weight_width)))
        dut.i__valid.value = int(give)
        dut.o__ready.value = int(rng.random() >= backpressure)
        await ReadOnly()
        if give and dut.i__ready.value:
            sent += 1
            first = cycle if first is None else first
        if dut.o__valid.value and dut.o__ready.value:
            sums.append(dut.o__payload.value.to_signed())
            last = cycle
        await RisingEdge(dut.clk)
        cycle += 1
    return sums, last - first + 1
