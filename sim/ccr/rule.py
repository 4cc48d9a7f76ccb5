"""The concise convolution rule: 'full' convolution, triplets, CCR-1/2/3 (CCR paper, Sec. II–III).

Coordinates follow the paper. A 2-D convolution ``O = I * K`` of an ``H × W`` input map with an
``R × S`` kernel in 'full' mode is (Eq. 1)::

    O(x, y) = Σ_j Σ_i K(i, j) · I(x + i, y + j),   1 − R ≤ x < H,  1 − S ≤ y < W

(a cross-correlation, as CNN frameworks define convolution), an ``E × F`` map with
``E = H + R − 1``, ``F = W + S − 1`` whose first element sits at ``(1 − R, 1 − S)``. 'same' and
'valid' are crops of it (Sec. II-A). A matrix is a set of triplets ``(row, column, sub-matrix)``
whose sub-matrices, placed at their coordinates, add up to it where they overlap (Eq. 2–3,
:func:`concatenate`). CCR-1 splits the kernel, CCR-2 the input map, CCR-3 both; each gives the
full output as the concatenation of the sub-convolutions' outputs at computed offsets (Eq. 4,
Property 2, Property 3). Arrays are int64; nothing wraps here (see :mod:`.layer` for the
hardware's arithmetic).
"""

from dataclasses import dataclass

import numpy as np

__all__ = ["Triplet", "full_conv", "crop", "crop_window", "concatenate", "tiles", "nonzero",
           "ccr1_offsets", "ccr2_offsets", "ccr3_offsets", "ccr1", "ccr2", "ccr3",
           "MODES"]

#: Output modes of a 2-D convolution (Sec. II-A).
MODES = ("full", "same", "valid")


@dataclass(frozen=True)
class Triplet:
    """A sub-matrix and the coordinates of its first element: ``(row, col, matrix)``."""

    row: int
    col: int
    matrix: np.ndarray

    @property
    def shape(self):
        return self.matrix.shape

    def is_zero(self):
        """An ineffective sub-matrix: all its elements are zero."""
        return not np.any(self.matrix)


def _matrix(a, what):
    a = np.asarray(a)
    if a.ndim != 2 or 0 in a.shape:
        raise ValueError(f"{what} must be a non-empty 2-D matrix, not shape {a.shape}")
    return a.astype(np.int64)


def full_conv(imap, kernel):
    """``I * K`` in 'full' mode (Eq. 1): an ``(H + R − 1) × (W + S − 1)`` map whose element
    ``[a, b]`` is ``O(a + 1 − R, b + 1 − S)``."""
    imap = _matrix(imap, "Input map")
    kernel = _matrix(kernel, "Kernel")
    (h, w), (r, s) = imap.shape, kernel.shape
    padded = np.zeros((h + 2 * (r - 1), w + 2 * (s - 1)), dtype=np.int64)
    padded[r - 1:r - 1 + h, s - 1:s - 1 + w] = imap
    out = np.zeros((h + r - 1, w + s - 1), dtype=np.int64)
    for i in range(r):
        for j in range(s):
            out += kernel[i, j] * padded[i:i + h + r - 1, j:j + w + s - 1]
    return out


def crop_window(h, w, r, s, mode):
    """Rows and columns of the full map kept by ``mode``: ``(row0, rows, col0, cols)``, ``row0``
    in full-map coordinates (the full map starts at ``1 − R``).

    'valid' keeps the outputs whose window lies inside the input (``0 ≤ x ≤ H − R``); 'same'
    keeps ``H × W`` outputs starting at ``x = −⌊(R − 1)/2⌋`` (centred for odd kernels).
    """
    if mode == "full":
        return 1 - r, h + r - 1, 1 - s, w + s - 1
    if mode == "same":
        return -((r - 1) // 2), h, -((s - 1) // 2), w
    if mode == "valid":
        if r > h or s > w:
            raise ValueError(f"A {r}×{s} kernel has no valid output on a {h}×{w} input map")
        return 0, h - r + 1, 0, w - s + 1
    raise ValueError(f"Mode must be one of {', '.join(map(repr, MODES))}, not {mode!r}")


def crop(full, r, s, mode):
    """The 'full', 'same' or 'valid' output cropped from a full map (Sec. II-A)."""
    full = _matrix(full, "Full output map")
    h, w = full.shape[0] - r + 1, full.shape[1] - s + 1
    row0, rows, col0, cols = crop_window(h, w, r, s, mode)
    a, b = row0 - (1 - r), col0 - (1 - s)
    return full[a:a + rows, b:b + cols]


def concatenate(triplets, shape, origin=(0, 0)):
    """``⊎`` of triplets (Eq. 2): each sub-matrix added into a ``shape`` matrix at its
    coordinates, where the matrix's first element has coordinates ``origin``; overlapping
    elements accumulate.

    Raises
    ------
    ValueError
        If a sub-matrix reaches outside the matrix.
    """
    out = np.zeros(shape, dtype=np.int64)
    for t in triplets:
        a, b = t.row - origin[0], t.col - origin[1]
        rows, cols = t.matrix.shape
        if a < 0 or b < 0 or a + rows > shape[0] or b + cols > shape[1]:
            raise ValueError(f"Sub-matrix {rows}×{cols} at ({t.row}, {t.col}) must lie inside "
                             f"the {shape[0]}×{shape[1]} matrix starting at {origin}")
        out[a:a + rows, b:b + cols] += t.matrix
    return out


def tiles(matrix, rows=1, cols=1):
    """The matrix as triplets of ``rows × cols`` tiles (smaller at the right and bottom edges),
    row-major."""
    matrix = _matrix(matrix, "Matrix")
    h, w = matrix.shape
    return [Triplet(a, b, matrix[a:a + rows, b:b + cols].copy())
            for a in range(0, h, rows) for b in range(0, w, cols)]


def nonzero(triplets):
    """The effective triplets: those whose sub-matrix is not all zero."""
    return [t for t in triplets if not t.is_zero()]


def ccr1_offsets(t):
    """CCR-1 (Eq. 4): coordinates ``(α, β) = (1 − r − R_l, 1 − c − S_l)`` of ``I * K_l``."""
    r_l, s_l = t.shape
    return 1 - t.row - r_l, 1 - t.col - s_l


def ccr2_offsets(t, r, s):
    """CCR-2 (Property 2): coordinates ``(γ, θ) = (1 + m − R, 1 + n − S)`` of ``I_l * K``."""
    return 1 + t.row - r, 1 + t.col - s


def ccr3_offsets(ti, tk):
    """CCR-3 (Property 3): coordinates ``(m_j − r_i − R_i + 1, n_j − c_i − S_i + 1)`` of
    ``I_j * K_i``."""
    r_i, s_i = tk.shape
    return ti.row - tk.row - r_i + 1, ti.col - tk.col - s_i + 1


def ccr1(imap, kernel_triplets, r, s):
    """``I * K`` from the kernel's triplets by CCR-1: ``⊎ (α_l, β_l, I * K_l)``, full mode.

    Only the triplets given are convolved: pass :func:`nonzero` triplets to skip the
    ineffective sub-convolutions.
    """
    imap = _matrix(imap, "Input map")
    h, w = imap.shape
    parts = [Triplet(*ccr1_offsets(t), full_conv(imap, t.matrix)) for t in kernel_triplets]
    return concatenate(parts, (h + r - 1, w + s - 1), (1 - r, 1 - s))


def ccr2(imap_triplets, kernel, h, w):
    """``I * K`` from the input map's triplets by CCR-2: ``⊎ (γ_l, θ_l, I_l * K)``, full mode."""
    kernel = _matrix(kernel, "Kernel")
    r, s = kernel.shape
    parts = [Triplet(*ccr2_offsets(t, r, s), full_conv(t.matrix, kernel)) for t in imap_triplets]
    return concatenate(parts, (h + r - 1, w + s - 1), (1 - r, 1 - s))


def ccr3(imap_triplets, kernel_triplets, h, w, r, s):
    """``I * K`` from triplets of both by CCR-3: ``⊎_j ⊎_i (m_j − r_i − R_i + 1, …,
    I_j * K_i)``, full mode."""
    parts = [Triplet(*ccr3_offsets(ti, tk), full_conv(ti.matrix, tk.matrix))
             for ti in imap_triplets for tk in kernel_triplets]
    return concatenate(parts, (h + r - 1, w + s - 1), (1 - r, 1 - s))
