"""Sparse-Blox on the trained digits CNN: per-layer thresholds in its INT8 golden inference
(Hotfilter et al., III-A, IV-B; the evaluation Spex drives).

One threshold per convolution, on that convolution's output map. Where the blocks are taken:

* ``form="map"`` (the hardware's, :func:`.forms.prune_map`): on the map as the output stage stores
  it — after requantization and ReLU, *before* the host's 2×2 max-pool — in blocks of
  ``channels × rows × cols`` (on the VDBB accelerator the output tile: ``B`` channels by the
  layer's ``ph × pw`` output patch of ``M·A`` pixels, tiled from the origin). The pruned map is
  what is pooled and read by the next layer (the classifier, for the last convolution).
* ``form="im2col"`` (the authors', :func:`.forms.prune_im2col`): on the IM2COL matrix of the
  *consumer's* input — the next convolution's (after the host pool where there is one), or the
  classifier's (one row: the flattened map) — in blocks of output pixels × kernel-tap columns.
* ``form="scnn"`` (SCNN's PPU, :func:`sparseforge.sim.scnn.blox.prune_tiles`): on the decoded
  output ``relu(acc + bias)`` at the accumulator's scale (thresholds in SCNN's Q24.8), in blocks
  of one channel × ``rows × cols`` from the origin (SCNN's 4×4 blocks from each PE tile's origin:
  the same blocks when the tiles are multiples of 4); the requantized map is zero where a block
  was pruned. Counted as the map form (one element a word).

The image (the first layer's input) is not pruned in either form: no output stage produces it.

Counters (:class:`.BlockCounts`, summed over the images): blocks, blocks created, MACs skipped and
activation words saved. In the map form a consumer MAC is skipped when its activation lies in a
pruned block; behind a max-pool, when all four pixels it pools are in pruned blocks (only then is
the pooled pixel known zero). Words are the stored map's (``B`` channels of a pixel per word),
not written to and not read back once each. The cache is unbounded here (every block below
threshold is recorded). In the im2col form a pruned entry is a skipped MAC per output channel
and an IM2COL entry not fetched. All MAC shares are of the whole network's MACs
(:attr:`NetworkPruning.macs_network`, the first layer and the classifier included).

Arithmetic is the golden network's (:mod:`sparseforge.sim.network.quantize`) batched over images:
the products are summed in float32 matrix products where every partial sum of INT8 products is
below 2**24 (exact; float64 otherwise), then wrapped to ``acc_bits``.
"""

from dataclasses import dataclass

import numpy as np

from .. import quant
from ..gemm import wrap
from ..network import quantize
from .blocks import below_threshold, block_stats, expand_blocks
from .counts import BlockCounts
from .forms import Consumer

__all__ = ["FORMS", "NetworkPruning", "NetworkResult"]

FORMS = ("map", "im2col", "scnn")


def _im2col(x, r, pad, dtype=np.float32):
    """N×C×H×W → N×(H·W)×(C·R·R), stride 1, taps ``(c, i, j)`` with ``c`` slowest (as
    :func:`sparseforge.sim.conv.im2col_matrix`, image by image)."""
    n, c, h, w = x.shape
    ho, wo = h + 2 * pad - r + 1, w + 2 * pad - r + 1
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = np.empty((n, c, r, r, ho, wo), dtype)
    for i in range(r):
        for j in range(r):
            cols[:, :, i, j] = xp[:, :, i:i + ho, j:j + wo]
    return cols.reshape(n, c * r * r, ho * wo).transpose(0, 2, 1)


def _pool(y):
    n, c, h, w = y.shape
    return y[:, :, :h // 2 * 2, :w // 2 * 2].reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


@dataclass(frozen=True)
class NetworkResult:
    """One evaluation: accuracy, classes, and per thresholded layer its summed counts."""

    accuracy: float
    classes: np.ndarray
    layers: tuple
    counts: tuple

    @property
    def total(self):
        return sum(self.counts, BlockCounts())


class NetworkPruning:
    """The digits CNN (a :class:`~sparseforge.sim.network.quantize.QNet`) with Sparse-Blox
    thresholds on its convolutions' outputs, evaluated on images ``x`` with ``labels``.

    Parameters
    ----------
    qnet : QNet
    x : N×1×H×W float images (0…1), labels : N ints
    form : ``"map"``, ``"im2col"`` or ``"scnn"`` (see the module docstring)
    blocks : sequence of tuples, one per convolution
        Map form: ``(channels, rows, cols)`` blocks of that layer's stored output. Im2col form:
        ``(rows, cols)`` blocks of its consumer's IM2COL matrix.
    frac_bits : int
        Thresholds are raw codes ``t · 2**frac_bits`` (:class:`.ThresholdFormat`).
    elems_per_word : int
        Channels per activation word (map form).
    acc_bits : int
        The accumulator width the golden network wraps to.

    Calling the object with raw thresholds (one per convolution) returns ``(accuracy,
    created_blocks, total_blocks)``, the interface of :func:`.spex.run_spex`; it pickles, so
    Spex can evaluate in worker processes.
    """

    def __init__(self, qnet, x, labels, form, blocks, frac_bits=8, elems_per_word=1,
                 acc_bits=32):
        if form not in FORMS:
            raise ValueError(f"Block form must be one of {', '.join(FORMS)}, not {form!r}")
        blocks = tuple(tuple(b) for b in blocks)
        if len(blocks) != len(qnet.layers):
            raise ValueError(f"{len(qnet.layers)} layers but {len(blocks)} block shapes")
        want = 2 if form == "im2col" else 3
        for name, b in zip(self.layer_names(qnet), blocks):
            if len(b) != want or not all(isinstance(v, int) and v >= 1 for v in b):
                raise ValueError(f"Block of {name} must be {want} positive integers in the "
                                 f"{form} form, not {b!r}")
        self.qnet, self.form, self.blocks = qnet, form, blocks
        self.frac_bits, self.elems_per_word, self.acc_bits = frac_bits, elems_per_word, acc_bits
        self.labels = np.asarray(labels)
        self.images = quantize.quantize_input(qnet, x)
        # The first layer's input is never pruned: its accumulators are computed once.
        self._acc0 = self._conv_acc(qnet.layers[0], self.images)
        self.consumers = []
        shape = self.images.shape[1:]
        for i, layer in enumerate(qnet.layers):
            k, _, r, _ = layer.w.shape
            shape = (k, shape[1], shape[2])                  # stride-1 "same" convolutions
            pooled = (k, shape[1] // 2, shape[2] // 2) if layer.pool else shape
            if i + 1 < len(qnet.layers):
                nxt = qnet.layers[i + 1]
                cons = Consumer(nxt.w.shape[0], nxt.w.shape[2], nxt.w.shape[3], 1, nxt.pad)
            else:
                cons = Consumer(qnet.fc_w.shape[0], pooled[1], pooled[2])
            self.consumers.append((shape, pooled, cons))
            shape = pooled
        first = qnet.layers[0]
        self.macs_network = len(self.labels) * (
            int(first.w.size) * int(np.prod(self.images.shape[2:]))
            + sum(cons.macs(*pooled) for _, pooled, cons in self.consumers))

    @staticmethod
    def layer_names(qnet):
        return tuple(layer.name for layer in qnet.layers)

    @property
    def layers(self):
        return self.layer_names(self.qnet)

    def _conv_acc(self, layer, x):
        k, _, r, _ = layer.w.shape
        cols = _im2col(x, r, layer.pad)
        return self._matmul(cols, layer.w.reshape(k, -1), x.shape[2:])

    def _matmul(self, cols, wmat, out_hw):
        """N×P×Q IM2COL matrices times K×Q weights: N×K×H×W wrapped accumulators."""
        n, (h, w) = len(cols), out_hw
        exact32 = wmat.shape[1] * 128 * 128 < 1 << 24
        dtype = np.float32 if exact32 else np.float64
        acc = (cols.astype(dtype, copy=False) @ wmat.T.astype(dtype)).astype(np.int64)
        return wrap(acc.transpose(0, 2, 1).reshape(n, -1, h, w), self.acc_bits)

    def _prune_map(self, y, block, raw, pooled_shape, cons, pool, values=None):
        """Prune the maps ``y`` in ``block``s decided on ``values`` (``y`` itself by default)."""
        b = (1,) + block
        sums, n_valid, nonzero = block_stats(y if values is None else values, b)
        below = below_threshold(sums, n_valid, raw, self.frac_bits)
        zero = nonzero == 0
        mask = expand_blocks(below, b, y.shape)
        y = np.where(mask, 0, y)
        # Words of a block: its valid pixels × ceil(valid channels / channels per word).
        c = y.shape[1]
        ch = np.minimum(block[0], c - block[0] * np.arange(sums.shape[1]))
        pix = n_valid // ch[None, :, None, None]
        words = -(-ch // self.elems_per_word)[None, :, None, None] * pix
        seen = mask
        if pool:
            n, c, h, w = mask.shape
            seen = mask[:, :, :h // 2 * 2, :w // 2 * 2].reshape(
                n, c, h // 2, 2, w // 2, 2).all(axis=(3, 5))
        uses = cons.uses(pooled_shape[1], pooled_shape[2])
        saved = int(words[below].sum())
        counts = BlockCounts(
            blocks_total=int(below.size), blocks_zero_before=int(zero.sum()),
            blocks_pruned=int((below & ~zero).sum()), blocks_cached=int(below.sum()),
            macs_total=len(y) * cons.macs(*pooled_shape),
            macs_skipped=cons.k * int((seen * uses[None, None]).sum()),
            words_total=len(y) * int(words[0].sum()), words_not_written=saved,
            words_not_read=saved)
        return y, counts

    def _prune_cols(self, cols, block, raw, k):
        b = (1,) + block
        sums, n_valid, nonzero = block_stats(cols, b)
        below = below_threshold(sums, n_valid, raw, self.frac_bits)
        zero = nonzero == 0
        cols = np.where(expand_blocks(below, b, cols.shape), 0, cols)
        entries = int(n_valid[below].sum())
        counts = BlockCounts(
            blocks_total=int(below.size), blocks_zero_before=int(zero.sum()),
            blocks_pruned=int((below & ~zero).sum()), blocks_cached=int(below.sum()),
            macs_total=k * cols.size, macs_skipped=k * entries, words_total=cols.size,
            words_not_read=entries)
        return cols, counts

    def run(self, raw):
        """Evaluate raw thresholds (one per convolution): a :class:`NetworkResult`."""
        raw = tuple(int(r) for r in raw)
        if len(raw) != len(self.qnet.layers):
            raise ValueError(f"{len(self.qnet.layers)} layers but {len(raw)} thresholds")
        counts = []
        acc = self._acc0
        cols, out_hw = None, None
        for i, layer in enumerate(self.qnet.layers):
            if i:
                k = layer.w.shape[0]
                acc = self._matmul(cols, layer.w.reshape(k, -1), out_hw)
            y = quant.requantize(acc, layer.bias, layer.mult, layer.shift, relu=True, axis=1)
            _, pooled, cons = self.consumers[i]
            if self.form == "map":
                y, c = self._prune_map(y, self.blocks[i], raw[i], pooled, cons, layer.pool)
            elif self.form == "scnn":
                bias = np.asarray(layer.bias, np.int64)[None, :, None, None]
                decoded = np.maximum(wrap(acc + bias, self.acc_bits), 0)
                y, c = self._prune_map(y, self.blocks[i], raw[i], pooled, cons, layer.pool,
                                       values=decoded)

            if layer.pool:
                y = _pool(y)
            out_hw = cons.out_size(pooled[1], pooled[2])
            cols = _im2col(y, cons.r, cons.pad) if i + 1 < len(self.qnet.layers) else \
                y.reshape(len(y), 1, -1)
            if self.form == "im2col":
                cols, c = self._prune_cols(cols, self.blocks[i], raw[i], cons.k)
            counts.append(c)
        logits = wrap(cols[:, 0].astype(np.int64) @ self.qnet.fc_w.T + self.qnet.fc_b, 32)
        classes = logits.argmax(1)
        return NetworkResult(float(np.mean(classes == self.labels)), classes, self.layers,
                             tuple(counts))

    def __call__(self, raw):
        res = self.run(raw)
        total = res.total
        return res.accuracy, total.blocks_pruned, total.blocks_total
