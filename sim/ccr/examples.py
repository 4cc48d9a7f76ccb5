"""The worked examples of the CCR paper (Fig. 3, 4 and 5, Sec. III-A–C) as data.

Fig. 3 is specified in the text: a 4×4 input map, a 3×3 kernel split into
``(0,0,K1), (0,1,K2), (2,0,K3), (2,1,K4)`` with K1 and K4 zero, K2 a 2×2 and K3 a 1×1 sub-kernel,
offsets ``(−1, −2)`` and ``(−2, 0)`` (Eq. 6), 144 MACs reduced to 80 (44.4%). The values in the
figure are not in the text: any non-zero values in K2 and K3 give the same counts.

Fig. 4 and Fig. 5 are given in the text only by their sub-matrix counts and the 72.2% reduction
(``1 − 5/18``); their matrices are not. These are reconstructions with those properties: Fig. 4
a 6×6 input map split into seven sub-maps of which two (I3, I5, 10 elements) are non-zero, a 3×3
kernel, 324 → 90 MACs; Fig. 5 the kernel of Fig. 3 (two non-zero sub-kernels, 5 elements) and a
4×4 input map with two non-zero 2×2 sub-maps (8 elements), 144 → 40 MACs.
"""

from dataclasses import dataclass

import numpy as np

from .rule import Triplet

__all__ = ["Example", "fig3", "fig4", "fig5", "EXAMPLES"]


@dataclass(frozen=True)
class Example:
    """A worked example: the operands, their triplets and the MAC counts the paper states."""

    name: str
    imap: np.ndarray
    kernel: np.ndarray
    imap_triplets: tuple
    kernel_triplets: tuple
    macs_dense: int
    macs_effective: int

    @property
    def reduction(self):
        """MAC reduction: ``1 − effective / dense``."""
        return 1 - self.macs_effective / self.macs_dense


def _split(matrix, boxes):
    """Triplets of ``matrix`` over boxes ``(row, col, rows, cols)``."""
    return tuple(Triplet(a, b, matrix[a:a + h, b:b + w].copy()) for a, b, h, w in boxes)


def _fig3_kernel():
    kernel = np.zeros((3, 3), dtype=np.int64)
    kernel[0:2, 1:3] = [[1, -2], [3, 4]]        # K2
    kernel[2, 0] = 5                            # K3
    return kernel


_FIG3_KERNEL_BOXES = ((0, 0, 2, 1), (0, 1, 2, 2), (2, 0, 1, 1), (2, 1, 1, 2))


def fig3():
    """Fig. 3: CCR-1 on a sparse 3×3 kernel, 144 → 80 MACs (44.4%)."""
    imap = np.arange(1, 17, dtype=np.int64).reshape(4, 4)
    kernel = _fig3_kernel()
    return Example("fig3", imap, kernel, (Triplet(0, 0, imap),),
                   _split(kernel, _FIG3_KERNEL_BOXES), 144, 80)


def fig4():
    """Fig. 4 (reconstructed): CCR-2 on a sparse 6×6 input map, seven sub-maps, I3 and I5
    non-zero, 324 → 90 MACs (72.2%)."""
    boxes = ((0, 0, 2, 6), (2, 0, 2, 2), (2, 2, 2, 3), (2, 5, 2, 1), (4, 0, 2, 2), (4, 2, 2, 2),
             (4, 4, 2, 2))
    imap = np.zeros((6, 6), dtype=np.int64)
    imap[2:4, 2:5] = [[3, -1, 2], [7, 5, -6]]   # I3
    imap[4:6, 0:2] = [[-4, 9], [8, 1]]          # I5
    kernel = np.array([[1, 2, -1], [0, 3, 1], [2, -2, 4]], dtype=np.int64)
    return Example("fig4", imap, kernel, _split(imap, boxes), (Triplet(0, 0, kernel),), 324, 90)


def fig5():
    """Fig. 5 (reconstructed): CCR-3, two non-zero sub-maps by two non-zero sub-kernels,
    144 → 40 MACs (72.2%)."""
    boxes = ((0, 0, 2, 2), (0, 2, 2, 2), (2, 0, 2, 2), (2, 2, 2, 2))
    imap = np.zeros((4, 4), dtype=np.int64)
    imap[0:2, 0:2] = [[2, -3], [1, 6]]          # I1
    imap[2:4, 2:4] = [[-5, 4], [7, 2]]          # I2
    kernel = _fig3_kernel()
    return Example("fig5", imap, kernel, _split(imap, boxes), _split(kernel, _FIG3_KERNEL_BOXES),
                   144, 40)


EXAMPLES = {"fig3": fig3, "fig4": fig4, "fig5": fig5}
