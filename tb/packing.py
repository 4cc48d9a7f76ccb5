"""Packers derived from the hardware's ``data.Layout``: beats to integers and back.

A layout is flattened once into its leaves (bit offset, width, signedness) in traversal order:
array elements in index order, struct fields in declaration order. Callers give values in that
order (e.g. a ``(beats, rows, B)`` array for an ``ArrayLayout(ArrayLayout(elem, B), rows)``);
the offsets come from the layout itself, so hardware and software cannot disagree on bit order.
"""

from dataclasses import dataclass

import numpy as np
from amaranth import Shape
from amaranth.lib import data

__all__ = ["Packer"]


@dataclass(frozen=True)
class _Leaf:
    offset: int
    width: int
    signed: bool


def _leaves(layout, offset=0):
    if isinstance(layout, data.ArrayLayout):
        size = Shape.cast(layout.elem_shape).width
        for index in range(layout.length):
            yield from _leaves(layout.elem_shape, offset + index * size)
    elif isinstance(layout, data.Layout):
        for _name, field in layout:
            yield from _leaves(field.shape, offset + field.offset)
    else:
        shape = Shape.cast(layout)
        yield _Leaf(offset, shape.width, shape.signed)


class Packer:
    """Pack and unpack beats of one layout.

    Parameters
    ----------
    layout : data.Layout
    """

    def __init__(self, layout):
        self.layout = layout
        self.width = Shape.cast(layout).width
        self.leaves = [leaf for leaf in _leaves(layout) if leaf.width]
        self._offsets = np.array([leaf.offset for leaf in self.leaves], dtype=np.int64)
        self._widths = np.array([leaf.width for leaf in self.leaves], dtype=np.int64)
        # Fast path: equal byte-wide leaves packed back to back from bit 0.
        w = self.leaves[0].width if self.leaves else 0
        self._bytewise = (w in (8, 16, 32) and
                          all(leaf.width == w and leaf.offset == i * w
                              for i, leaf in enumerate(self.leaves)))

    def _check(self, values):
        values = np.asarray(values, dtype=np.int64)
        values = values.reshape(values.shape[0] if values.ndim else 1, -1)
        if values.shape[1] != len(self.leaves):
            raise ValueError(f"Expected {len(self.leaves)} values per beat, "
                             f"not {values.shape[1]}")
        lo = np.array([-(1 << (leaf.width - 1)) if leaf.signed else 0 for leaf in self.leaves])
        hi = np.array([(1 << (leaf.width - (1 if leaf.signed else 0))) - 1
                       for leaf in self.leaves])
        if ((values < lo) | (values > hi)).any():
            raise ValueError("A value does not fit its field")
        return values

    def pack_many(self, values):
        """Pack ``values`` (beats × leaves, or any shape with leaves last) into a list of ints."""
        values = self._check(values)
        unsigned = values & ((np.int64(1) << self._widths) - 1)
        if self._bytewise:
            dtype = {8: "<u1", 16: "<u2", 32: "<u4"}[self.leaves[0].width]
            raw = unsigned.astype(dtype)
            return [int.from_bytes(row.tobytes(), "little") for row in raw]
        beats = []
        for row in unsigned.tolist():
            word = 0
            for offset, value in zip(self._offsets.tolist(), row):
                word |= value << offset
            beats.append(word)
        return beats

    def unpack_many(self, words):
        """Unpack ints into an array (beats × leaves) of signed/unsigned field values."""
        out = np.empty((len(words), len(self.leaves)), dtype=np.int64)
        for b, word in enumerate(words):
            word = int(word)
            for k, leaf in enumerate(self.leaves):
                value = (word >> leaf.offset) & ((1 << leaf.width) - 1)
                if leaf.signed and value >> (leaf.width - 1):
                    value -= 1 << leaf.width
                out[b, k] = value
        return out
