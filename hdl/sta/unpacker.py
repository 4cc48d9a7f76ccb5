"""Block unpacker: compressed DBB weight words into the array's steps (STA paper, Fig. 2)."""

from amaranth import Cat, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .layouts import weight_beat_layout, weight_word_layout

__all__ = ["BlockUnpacker"]


class BlockUnpacker(wiring.Component):
    """Turn a stream of compressed weight words into one weight beat per step.

    A compressed block is its mask (``mask_slots`` slots) and then its NNZ values (Fig. 2: the
    mask once per block, not with every value); see
    :func:`~sparseforge.hdl.sta.layouts.weight_word_layout`. A step takes
    ``min(lanes, NNZ − step·lanes)`` values of its block, and the block's first step also its
    mask: one value a step for ``vdbb``, up to b for ``dbb`` (⌈NNZ/b⌉ steps a block). Every
    column has the same slot sequence, so one count serves all columns.

    The unpacker keeps up to ``word_slots − 1`` slots of the last word it took and takes a word
    only in a cycle whose step needs slots from it, passing them through in that cycle; a word
    holds a step's values and a mask, so a step is never short of slots while words are valid.
    At a tile's last step the rest of its last word (padding) is dropped.

    Attributes
    ----------
    i : In(stream.Signature(weight_word_layout(cfg)))
    o : Out(stream.Signature(weight_beat_layout(cfg)))
        One step: per column, ``lanes`` values (zero past the step's values) and the block's mask.
        ``o.valid`` depends on ``i.valid``; ``i.ready`` on ``o.ready``.
    nnz : In(range(B + 1))
        Values per block (the job's density bound).
    first : In(1)
        ``o`` carries its block's first step (step 0, which also takes the mask).
    count : In(range(lanes + 1))
        The values of the step ``o`` carries, ``min(lanes, NNZ − step·lanes)`` (registers of
        the feeder: the handshake does not wait on that arithmetic).
    tile_last : In(1)
        ``o`` carries a tile's last step.
    drop : In(1)
        Only with ``skip``: the current block (from its first slot, ``step`` 0) is dropped, not
        stepped: each handshake on ``o`` consumes the block's remaining slots held and those of
        one more word (``o.payload`` means nothing), so a block of NNZ + ``mask_slots`` slots
        starting with ``h`` slots held takes ``max(1, ⌈(NNZ + mask_slots − h) / word_slots⌉)``
        handshakes, one a cycle while words are valid.
    drop_last : Out(1)
        Only with ``skip``: a handshake in this cycle consumes the dropped block's last slots.
    """

    def __init__(self, cfg, *, skip=False):
        if not cfg.sparse:
            raise ValueError(f"Only the sparse kinds (dbb, vdbb) have compressed weights, "
                             f"not {cfg.kind!r}")
        self._cfg = cfg
        self._skip = bool(skip)
        ports = {
            "i": In(stream.Signature(weight_word_layout(cfg))),
            "o": Out(stream.Signature(weight_beat_layout(cfg))),
            "nnz": In(range(cfg.block + 1)),
            "first": In(1),
            "count": In(range(cfg.lanes + 1)),
            "tile_last": In(1),
        }
        if skip:
            ports.update({"drop": In(1), "drop_last": Out(1)})
        super().__init__(ports)

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        lanes, slots, mask_slots = cfg.lanes, cfg.word_slots, cfg.mask_slots
        word = self.i.payload
        slice_layout = word.shape().elem_shape

        held = Signal(range(slots))                     # slots kept from the last word
        buf = Signal(data.ArrayLayout(slice_layout, max(1, slots - 1)))
        mask = Signal(data.ArrayLayout(cfg.block, cfg.tile_cols))

        first, count = self.first, self.count
        # Slots this handshake consumes; dropping a block, up to the held ones and a word's.
        # Wide enough for any value of the `count` port (a step never has more than `lanes`).
        need = Signal(range(max(2 * slots if self._skip else slots + 1,
                                (1 << len(count)) + mask_slots)))
        if self._skip:
            dropped = Signal(range(cfg.block + mask_slots + 1))     # slots of the block gone
            rem = Signal(range(cfg.block + mask_slots + 1))
            m.d.comb += [
                rem.eq(self.nnz + mask_slots - dropped),
                self.drop_last.eq(rem <= held + slots),
                need.eq(Mux(self.drop, Mux(self.drop_last, rem, held + slots),
                            count + Mux(first, mask_slots, 0))),
            ]
            with m.If(self.drop & self.o.valid & self.o.ready):
                m.d.sync += dropped.eq(Mux(self.drop_last, 0, dropped + need))
        else:
            m.d.comb += need.eq(count + Mux(first, mask_slots, 0))
        m.d.comb += [
            self.o.valid.eq((held >= need) | self.i.valid),
            self.i.ready.eq(self.o.ready & (held < need)),
        ]

        # The step's slots: the held ones, then the word's.
        ahead = Signal(data.ArrayLayout(slice_layout, slots))
        for k in range(slots):
            with m.Switch(held):
                for h in range(slots):
                    with m.Case(h):
                        m.d.comb += ahead[k].eq(buf[k] if k < h else word[k - h])
                with m.Default():                       # never: held < word_slots
                    m.d.comb += ahead[k].eq(0)

        new_mask = Signal(data.ArrayLayout(cfg.block, cfg.tile_cols))
        for col in range(cfg.tile_cols):
            column = self.o.payload[col]
            m.d.comb += [
                new_mask[col].eq(Cat(ahead[k][col] for k in range(mask_slots))[:cfg.block]),
                column.mask.eq(Mux(first, new_mask[col], mask[col])),
            ]
            for lane in range(lanes):
                value = Signal(signed(cfg.weight_width), name=f"value_{col}_{lane}")
                m.d.comb += [
                    value.eq(Mux(first, ahead[mask_slots + lane][col], ahead[lane][col])),
                    column.values[lane].eq(Mux(lane < count, value, 0)),
                ]

        # Independent ifs below, not cases: Verilator -Wall flags a case that misses values.
        shift_word = Signal.like(need)
        m.d.comb += shift_word.eq(need - held)
        with m.If(self.o.valid & self.o.ready):
            with m.If(first):
                m.d.sync += mask.eq(new_mask)
            with m.If(self.tile_last):
                m.d.sync += held.eq(0)
            with m.Elif(held < need):                   # took a word: keep its unused slots
                m.d.sync += held.eq(held + slots - need)
                for shift in range(1, slots):
                    with m.If(shift_word == shift):
                        for k in range(slots - shift):
                            m.d.sync += buf[k].eq(word[k + shift])
            with m.Else():
                m.d.sync += held.eq(held - need)
                for shift in range(1, slots - 1):
                    with m.If(need == shift):
                        for k in range(slots - 1 - shift):
                            m.d.sync += buf[k].eq(buf[k + shift])
        return m
