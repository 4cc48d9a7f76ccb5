"""The streaming post-processor: requantization, ReLU, 2×2 max-pooling and compression of a
finished work unit (*SparseCore*, Sec. 3: "upon completion, the data is sent through streaming
processor for operations like pooling, normalization, RELU etc., and are eventually compressed").

It reads the accumulation buffer one row (one output pixel, all ``D`` channels of the chunk) at a
time, requantizes ``requant_lanes`` of its ``D`` lanes per cycle (``D / requant_lanes`` cycles a
pixel: a requantizer, with its 33×16-bit multiplier, is about a third of the area of the PE's
sixteen 8×8-bit ALUs, so the paper design time-shares four of them), applies ReLU, keeps a running
maximum over the four pixels of a pooling window (read in the order (0,0), (0,1), (1,0), (1,1)),
and emits one compressed beat per output pixel: the golden model's order (requantize, clamp,
ReLU, pool), applied per pixel.
"""

from amaranth import Module, Mux, Signal, signed
from amaranth.lib import data, enum, stream, wiring
from amaranth.lib.wiring import In, Out

from ..common.rams import read_port_signature
from .compactor import Compactor
from .layouts import acc_row_layout, beat_layout, layer_layout, requant_row_layout
from .requant import Requantizer

__all__ = ["PostProcessor"]


class _State(enum.Enum, shape=2):
    IDLE = 0
    RUN = 1
    WAIT = 2


class PostProcessor(wiring.Component):
    """Attributes
    ----------
    start : In(1)
        Post-process ``rows`` band rows starting at output row ``row0``.
    rows : In(range(band_rows + 1)), row0 : In(range(max_h + 1))
    layer : In(layer_layout(cfg))
    rq : Out(read_port_signature(requant_row_layout(cfg), chunk / requant_lanes))
        Read port of the PE's requantization memory: row ``n`` for lane group ``n``.
    channels : In(range(chunk + 1))
        Output channels of the chunk that exist (fewer in a last chunk when ``K`` is not a
        multiple of the chunk depth); the others are dropped before compression.
    acc : Out(read_port_signature(acc_row_layout))
        Read port of the accumulation buffer (rows ``i·max_w + x``).
    o : Out(stream.Signature(beat_layout(cfg)))
        One beat per output pixel, in row then column order; back-pressure stalls the pipeline.
    busy : Out(1), done : Out(1)
        ``done`` is high in the cycle the last beat is taken. With ``o.ready`` always high, a
        band of ``n`` reads (``rows·wo``, or ``4·⌊rows/2⌋·⌊wo/2⌋`` pooled) keeps it busy
        ``n · D / requant_lanes + 3`` cycles from the cycle after ``start`` (2 when ``n = 0``):
        stage A (read and lane-group steps), B (requantize, ReLU, pool), C (compress).
    """

    def __init__(self, cfg):
        self._cfg = cfg
        super().__init__({
            "start": In(1), "rows": In(range(cfg.band_rows + 1)),
            "row0": In(range(cfg.max_h + 1)), "layer": In(layer_layout(cfg)),
            "rq": Out(read_port_signature(requant_row_layout(cfg),
                                          cfg.chunk // cfg.requant_lanes)),
            "channels": In(range(cfg.chunk + 1)),
            "acc": Out(read_port_signature(acc_row_layout(cfg), cfg.band_rows * cfg.max_w)),
            "o": Out(stream.Signature(beat_layout(cfg))),
            "busy": Out(1), "done": Out(1),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        layer, o = self.layer, self.o
        lanes, steps = cfg.requant_lanes, cfg.chunk // cfg.requant_lanes
        state = Signal(_State)
        remaining = Signal(range(cfg.band_rows * cfg.max_w + 1))
        i = Signal(range(cfg.band_rows + 1))           # band row (pooled: window row)
        x = Signal(range(cfg.max_w + 1))               # column (pooled: window column)
        sub = Signal(2)                                # pixel of the pooling window
        step = Signal(range(max(2, steps)))            # lane group being requantized
        pool = layer.pool

        adv = Signal()
        m.d.comb += adv.eq(~o.valid | o.ready)

        # -- stage A: one read per pixel, held for the ``steps`` lane groups --------------------
        row = Signal(range(cfg.band_rows + 1))
        col = Signal(range(cfg.max_w + 1))
        m.d.comb += [row.eq(Mux(pool, (i << 1) + sub[1], i)),
                     col.eq(Mux(pool, (x << 1) + sub[0], x)),
                     self.acc.addr.eq(row * cfg.max_w + col)]
        reading = Signal()
        last_step = Signal()
        m.d.comb += [reading.eq((state == _State.RUN) & (remaining != 0)),
                     last_step.eq(step == steps - 1),
                     self.acc.en.eq(reading & adv & (step == 0)),
                     self.rq.addr.eq(step), self.rq.en.eq(reading & adv)]
        last_of_pixel = Signal()
        m.d.comb += last_of_pixel.eq(~pool | (sub == 3))
        xs = Signal.like(x)
        m.d.comb += xs.eq(Mux(pool, layer.wo >> 1, layer.wo))

        b_valid, b_last, b_first = Signal(), Signal(), Signal()
        b_step = Signal.like(step)
        b_y = Signal.like(o.payload.y)
        b_x = Signal.like(o.payload.x)
        with m.If(adv):
            m.d.sync += [b_valid.eq(reading), b_last.eq(last_of_pixel & last_step),
                         b_first.eq(~pool | (sub == 0)), b_step.eq(step),
                         b_y.eq(Mux(pool, (self.row0 >> 1) + i, self.row0 + i)), b_x.eq(x)]
            with m.If(reading):
                m.d.sync += step.eq(Mux(last_step, 0, step + 1))
            with m.If(reading & last_step):
                m.d.sync += remaining.eq(remaining - 1)
                with m.If(last_of_pixel):
                    m.d.sync += sub.eq(0)
                    with m.If(x + 1 == xs):
                        m.d.sync += [x.eq(0), i.eq(i + 1)]
                    with m.Else():
                        m.d.sync += x.eq(x + 1)
                with m.Else():
                    m.d.sync += sub.eq(sub + 1)

        # -- stage B: requantize one lane group, ReLU, running maximum of the window -------------
        running = Signal(data.ArrayLayout(signed(8), cfg.chunk))
        for n in range(lanes):
            rq = m.submodules[f"rq{n}"] = Requantizer(cfg.acc_width)
            params = self.rq.data[n]
            m.d.comb += [rq.relu.eq(layer.relu), rq.bias.eq(params.bias),
                         rq.mult.eq(params.mult), rq.shift.eq(params.shift)]
            for g in range(steps):
                lane = g * lanes + n
                with m.If(b_step == g):
                    m.d.comb += rq.acc.eq(self.acc.data[lane])
                    with m.If(adv & b_valid):
                        m.d.sync += running[lane].eq(
                            Mux(b_first | (rq.y > running[lane]), rq.y, running[lane]))

        # -- stage C: the finished pixel compressed into the output register ---------------------
        c_valid = Signal()
        c_y = Signal.like(o.payload.y)
        c_x = Signal.like(o.payload.x)
        m.submodules.compactor = comp = Compactor(cfg.chunk)
        for lane in range(cfg.chunk):
            m.d.comb += comp.values[lane].eq(Mux(lane < self.channels, running[lane], 0))
        with m.If(adv):
            m.d.sync += [c_valid.eq(b_valid & b_last), c_y.eq(b_y), c_x.eq(b_x),
                         o.valid.eq(c_valid)]
            with m.If(c_valid):
                m.d.sync += [o.payload.y.eq(c_y), o.payload.x.eq(c_x),
                             o.payload.count.eq(comp.count)]
                for lane in range(cfg.chunk):
                    m.d.sync += [o.payload.lanes[lane].c.eq(comp.slots[lane].c),
                                 o.payload.lanes[lane].value.eq(comp.slots[lane].value)]

        # -- control ---------------------------------------------------------------------------
        total = Signal.like(remaining)
        m.d.comb += total.eq(Mux(pool, ((self.rows >> 1) * (layer.wo >> 1)) << 2,
                                 self.rows * layer.wo))
        finished = Signal()
        m.d.comb += [finished.eq((state == _State.WAIT) & ~b_valid & ~c_valid &
                                 (~o.valid | o.ready)),
                     self.done.eq(finished), self.busy.eq(state != _State.IDLE)]
        # If/elif, not a switch: Yosys writes a switch as per-signal case statements that
        # Verilator -Wall flags as incomplete.
        with m.If(state == _State.IDLE):
            with m.If(self.start):
                m.d.sync += [state.eq(_State.RUN), remaining.eq(total), i.eq(0), x.eq(0),
                             sub.eq(0), step.eq(0)]
        with m.Elif(state == _State.RUN):
            with m.If((remaining == 0) | ((remaining == 1) & last_step & adv)):
                m.d.sync += state.eq(_State.WAIT)
        with m.Else():                                  # WAIT
            with m.If(finished):
                m.d.sync += state.eq(_State.IDLE)
        return m
