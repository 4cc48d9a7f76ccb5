"""cocotb verification components for Amaranth ``lib.stream`` ports: source, sink, pauses.

A stream port ``x`` of an Amaranth component appears in its Verilog as ``x__payload``,
``x__valid`` and ``x__ready``. The source drives valid/payload, the sink drives ready; both sample
the handshake in the ReadOnly phase before each rising edge (a transfer happens at an edge when
valid and ready were both high just before it), which behaves the same on Icarus and Verilator.
Pause generators, as in cocotbext-axi, insert idle cycles (source) and back-pressure (sink).
"""

import itertools
import random

import cocotb
from cocotb.triggers import Event, ReadOnly, RisingEdge
from cocotb.utils import get_sim_time

__all__ = ["StreamSource", "StreamSink", "random_pauses", "no_pauses", "Handshakes",
           "set_axi_pauses"]


def no_pauses():
    return itertools.repeat(False)


def random_pauses(probability, seed):
    """An endless pause pattern: each cycle paused with ``probability`` (seeded)."""
    rng = random.Random(seed)
    while True:
        yield rng.random() < probability


def set_axi_pauses(end, pauses):
    """Give a cocotbext-axi end (stream source or sink, AXI channel) the pause pattern
    ``pauses``, or none (``None``). cocotbext-axi stops the old pattern but keeps its last
    value, so a channel paused in that cycle would stay paused for ever: clear it."""
    end.set_pause_generator(pauses)
    if pauses is None:
        end.pause = False


class Handshakes:
    """Sim times (ns) of the first and last transfer on a stream."""

    def __init__(self):
        self.first = None
        self.last = None
        self.count = 0

    def record(self):
        now = get_sim_time(unit="ns")
        if self.first is None:
            self.first = now
        self.last = now
        self.count += 1


class _StreamEnd:
    def __init__(self, dut, name, clock, pause=None):
        self.payload = getattr(dut, f"{name}__payload")
        self.valid = getattr(dut, f"{name}__valid")
        self.ready = getattr(dut, f"{name}__ready")
        self.clock = clock
        self.name = name
        self.pauses = pause if pause is not None else no_pauses()
        self.handshakes = Handshakes()
        self._task = None

    def set_pause_generator(self, pauses):
        self.pauses = pauses if pauses is not None else no_pauses()


class StreamSource(_StreamEnd):
    """Drive ``name__valid``/``name__payload`` from a queue of packed ints.

    ``send_nowait`` queues beats; the source offers them in order, idling on paused cycles, and
    holds valid and payload steady until each is accepted (stream rules).
    """

    def __init__(self, dut, name, clock, pause=None):
        super().__init__(dut, name, clock, pause)
        self.queue = []
        self._next = 0
        self._transferred = False
        self._more = Event()
        self.valid.value = 0
        self._task = cocotb.start_soon(self._run())

    def clear(self):
        """Drop every queued beat and withdraw ``valid`` (a host forgetting a job it reset)."""
        self._task.cancel()
        self.queue = []
        self._next = 0
        self._transferred = False
        self.valid.value = 0
        self._task = cocotb.start_soon(self._run())

    def send_nowait(self, beats):
        self.queue.extend(beats)
        self._more.set()

    @property
    def idle(self):
        return self._next >= len(self.queue)

    async def _run(self):
        offering = False
        while True:
            await RisingEdge(self.clock)
            if offering and self._transferred:
                self._next += 1
                offering = False
            if not offering and self.idle:
                # Nothing to send: sleep until send_nowait() instead of waking every cycle.
                self.valid.value = 0
                self._more.clear()
                await self._more.wait()
                await RisingEdge(self.clock)
            if not offering:
                paused = next(self.pauses)
                if self._next < len(self.queue) and not paused:
                    self.payload.value = self.queue[self._next]
                    self.valid.value = 1
                    offering = True
                else:
                    self.valid.value = 0
            await ReadOnly()
            self._transferred = offering and bool(self.ready.value)
            if self._transferred:
                self.handshakes.record()


class StreamSink(_StreamEnd):
    """Drive ``name__ready`` (with back-pressure from the pause generator) and collect beats."""

    def __init__(self, dut, name, clock, pause=None):
        super().__init__(dut, name, clock, pause)
        self.beats = []
        self._target = None
        self._reached = Event()
        self.ready.value = 0
        self._task = cocotb.start_soon(self._run())

    def clear(self):
        """Forget the collected beats and any awaited count (a host forgetting a job it
        reset)."""
        self._task.cancel()
        self.beats = []
        self._target = None
        self.ready.value = 0
        self._task = cocotb.start_soon(self._run())

    async def wait_for(self, count):
        """Return once ``count`` beats have been collected in total."""
        if len(self.beats) < count:
            self._target = count
            self._reached.clear()
            await self._reached.wait()

    async def _run(self):
        while True:
            await RisingEdge(self.clock)
            ready = not next(self.pauses)
            self.ready.value = int(ready)
            await ReadOnly()
            if ready and self.valid.value:
                self.beats.append(int(self.payload.value))
                self.handshakes.record()
                if self._target is not None and len(self.beats) >= self._target:
                    self._target = None
                    self._reached.set()
