"""The papers' weight-pruning schemes as masks, and magnitude pruning with fine-tuning.

* ``vdbb:N/8`` — density-bound blocks (STA paper, Sec. II-A and V-A): at most N non-zeros in each
  block of 8 consecutive input channels of one kernel position ``(k, r, s)``; N = 1…8.
* ``km:k/m`` — k/m:d sparsity along the output depth (SparseCore, Sec. 2.1): of every m
  consecutive output channels at one ``(c, r, s)``, exactly k are kept; m divides K.
* ``density:d`` — unstructured magnitude pruning to a fraction d (0 < d ≤ 1) of the weights of
  each layer (what SCNN and CCR take), ``round(d · size)`` weights kept.
* ``dense`` — no pruning.

Within a block the largest ``|w|`` are kept, ties to the lower index (as :func:`..dbb.prune`).
The first convolution (one input channel) and the host's classifier stay dense under every
scheme, as the STA paper keeps the first layer (Sec. V-A); the others are pruned.

Fine-tuning follows the STA paper's recipe at small scale: the target is reached in a few steps
of growing sparsity with training between them, then the pruned network trains on with its
mask fixed (see :func:`prune_and_finetune`).
"""

import re
from dataclasses import dataclass

import numpy as np

from . import model

__all__ = ["Scheme", "parse_scheme", "mask", "layer_masks", "prune_and_finetune",
           "conforms", "PRUNED_LAYERS", "DBB_BLOCK"]

DBB_BLOCK = 8
#: The convolutions a scheme prunes (the first stays dense).
PRUNED_LAYERS = tuple(spec.name for spec in model.LAYERS[1:])


@dataclass(frozen=True)
class Scheme:
    """A pruning scheme: ``kind`` in {"dense", "vdbb", "km", "density"} and its numbers
    (``n``/``m`` for vdbb and km, ``density`` for density)."""

    kind: str
    n: int = 0
    m: int = 0
    density: float = 1.0

    def __str__(self):
        if self.kind == "dense":
            return "dense"
        if self.kind == "density":
            return f"density:{self.density:g}"
        return f"{self.kind}:{self.n}/{self.m}"

    @property
    def weight_density(self):
        """Fraction of a pruned layer's weights kept (an upper bound for vdbb)."""
        if self.kind == "dense":
            return 1.0
        if self.kind == "density":
            return self.density
        return self.n / self.m

    def steps(self, count=3):
        """Schemes of growing sparsity ending at this one (the gradual pruning schedule)."""
        if self.kind == "dense":
            return [self]
        fractions = [(i + 1) / count for i in range(count)]
        if self.kind == "density":
            return [Scheme("density", density=1 - f * (1 - self.density)) for f in fractions]
        ns = [self.m - round(f * (self.m - self.n)) for f in fractions]
        return [Scheme(self.kind, n, self.m) for n in dict.fromkeys(ns)]


def parse_scheme(text):
    """A :class:`Scheme` from ``dense``, ``vdbb:N/8``, ``km:k/m`` or ``density:d``.

    Raises
    ------
    ValueError
        Any other text, or numbers no such scheme can have (``vdbb:9/8``, ``km:5/4``,
        ``density:0``); the message says what is allowed.
    """
    text = str(text).strip()
    if text == "dense":
        return Scheme("dense")
    match = re.fullmatch(r"(vdbb|km):(\d+)/(\d+)", text)
    if match:
        kind, n, m = match.group(1), int(match.group(2)), int(match.group(3))
        if kind == "vdbb" and (m != DBB_BLOCK or not 1 <= n <= DBB_BLOCK):
            raise ValueError(f"vdbb:{n}/{m} is not a VDBB scheme; expected vdbb:N/8 with N "
                             "from 1 to 8")
        if kind == "km":
            widths = [spec.k for spec in model.LAYERS[1:]]
            if not (1 <= n <= m and all(k % m == 0 for k in widths)):
                raise ValueError(f"km:{n}/{m} is not a k/m scheme for this network; expected "
                                 f"1 <= k <= m with m dividing every pruned K {widths}")
        return Scheme(kind, n, m)
    match = re.fullmatch(r"density:([0-9.]+)", text)
    if match:
        try:
            d = float(match.group(1))
        except ValueError:
            d = -1.0
        if not 0 < d <= 1:
            raise ValueError(f"{text} is not a density scheme; expected density:d with "
                             "0 < d <= 1")
        return Scheme("density", density=d)
    raise ValueError(f"Pruning scheme must be dense, vdbb:N/8, km:k/m or density:d, not "
                     f"{text!r}")


def _keep_top(w, keep, block, axis):
    """0/1 mask keeping the ``keep`` largest ``|w|`` of each block of ``block`` along ``axis``,
    ties to the lower index (``block`` divides the axis or the last block is zero-padded)."""
    moved = np.moveaxis(np.abs(np.asarray(w, dtype=np.float64)), axis, -1)
    length = moved.shape[-1]
    pad = -length % block
    padded = np.concatenate([moved, np.full(moved.shape[:-1] + (pad,), -1.0)], axis=-1)
    blocks = padded.reshape(moved.shape[:-1] + (-1, block))
    order = np.argsort(-blocks, axis=-1, kind="stable")
    out = np.zeros(blocks.shape, dtype=bool)
    np.put_along_axis(out, order[..., :keep], True, axis=-1)
    out = out.reshape(padded.shape)[..., :length]
    return np.moveaxis(out, -1, axis).astype(np.float32)


def mask(scheme, w):
    """The 0/1 mask ``scheme`` leaves of K×C×R×S weights ``w``."""
    if scheme.kind == "dense":
        return np.ones_like(w, dtype=np.float32)
    if scheme.kind == "vdbb":
        return _keep_top(w, scheme.n, DBB_BLOCK, axis=1)
    if scheme.kind == "km":
        return _keep_top(w, scheme.n, scheme.m, axis=0)
    keep = round(scheme.density * w.size)
    order = np.argsort(-np.abs(w).ravel(), kind="stable")
    out = np.zeros(w.size, np.float32)
    out[order[:keep]] = 1
    return out.reshape(w.shape)


def layer_masks(scheme, params):
    """Masks of every pruned layer's weights: ``{"conv2.w": …, …}``."""
    return {f"{name}.w": mask(scheme, params[f"{name}.w"]) for name in PRUNED_LAYERS}


def conforms(scheme, w):
    """Whether K×C×R×S weights (float or integer) satisfy ``scheme``: at most N non-zeros per
    VDBB block, at most k per k/m group (exactly k slots, some may hold a zero), at most the
    density's count in the layer."""
    nz = np.asarray(w) != 0
    if scheme.kind == "dense":
        return True
    if scheme.kind == "density":
        return int(nz.sum()) <= round(scheme.density * nz.size)
    axis, block = (1, DBB_BLOCK) if scheme.kind == "vdbb" else (0, scheme.m)
    moved = np.moveaxis(nz, axis, -1)
    pad = -moved.shape[-1] % block
    moved = np.concatenate([moved, np.zeros(moved.shape[:-1] + (pad,), bool)], axis=-1)
    return bool((moved.reshape(moved.shape[:-1] + (-1, block)).sum(-1) <= scheme.n).all())


def prune_and_finetune(params, scheme, x, y, *, seed, step_epochs=1, finetune_epochs=4,
                       lr=1e-3):
    """Prune a trained network to ``scheme`` and fine-tune it; returns new params and masks.

    Sparsity grows over :meth:`Scheme.steps` (masks from the current weights' magnitudes, then
    ``step_epochs`` of training at a constant rate), and the final mask then trains for
    ``finetune_epochs`` with a cosine-decaying rate.
    """
    params = {k: v.copy() for k, v in params.items()}
    masks = {}
    if scheme.kind == "dense":
        return params, masks
    steps = scheme.steps()
    for i, step in enumerate(steps):
        masks = layer_masks(step, params)
        if i < len(steps) - 1:
            model.train(params, x, y, epochs=step_epochs, seed=seed + i, lr=lr, masks=masks,
                        lr_decay=False)
    model.train(params, x, y, epochs=finetune_epochs, seed=seed + len(steps), lr=lr,
                masks=masks)
    return params, masks
