"""The digits CNN: its layers, float forward and backward passes, and training (NumPy only).

Every convolution maps onto the project's accelerators as they are: input C×H×W, weights
K×C×R×S, stride 1, "same" zero padding (1 for 3×3, 0 for 1×1), so the VDBB accelerator and SCNN
run them alike. ReLU follows every convolution, a 2×2 max-pool follows conv2 and conv3, and a
fully connected classifier on the flattened 64×2×2 map runs on the host:

=======  ======  ===========  ======  ========
layer    kernel  C → K        input   output
=======  ======  ===========  ======  ========
conv1    3×3     1 → 16       8×8     8×8
conv2    3×3     16 → 32      8×8     4×4 (pool)
conv3    3×3     32 → 32      4×4     2×2 (pool)
conv4    1×1     32 → 64      2×2     2×2
fc       —       256 → 10     —       10 logits
=======  ======  ===========  ======  ========

Training: cross-entropy, Adam, mini-batches of 32, He-normal initialization, float32, a fixed
seed. Pruning masks (:mod:`.prune`) are applied after every step, so pruned weights stay zero
while the others fine-tune.
"""

from dataclasses import dataclass

import numpy as np

__all__ = ["ConvSpec", "LAYERS", "FC_IN", "CLASSES", "init_params", "forward", "train",
           "accuracy", "predict"]


@dataclass(frozen=True)
class ConvSpec:
    name: str
    c: int
    k: int
    r: int
    pool: bool

    @property
    def pad(self):
        return self.r // 2


LAYERS = (ConvSpec("conv1", 1, 16, 3, False), ConvSpec("conv2", 16, 32, 3, True),
          ConvSpec("conv3", 32, 32, 3, True), ConvSpec("conv4", 32, 64, 1, False))
FC_IN = 64 * 2 * 2
CLASSES = 10


def init_params(seed):
    """He-normal weights, zero biases: ``{"conv1.w": K×C×R×S, "conv1.b": K, …, "fc.w": 10×256,
    "fc.b": 10}``."""
    rng = np.random.default_rng(seed)
    params = {}
    for spec in LAYERS:
        fan_in = spec.c * spec.r * spec.r
        params[f"{spec.name}.w"] = (rng.standard_normal((spec.k, spec.c, spec.r, spec.r))
                                    * np.sqrt(2.0 / fan_in)).astype(np.float32)
        params[f"{spec.name}.b"] = np.zeros(spec.k, np.float32)
    params["fc.w"] = (rng.standard_normal((CLASSES, FC_IN)) * np.sqrt(1.0 / FC_IN)) \
        .astype(np.float32)
    params["fc.b"] = np.zeros(CLASSES, np.float32)
    return params


def _im2col(x, r, pad):
    """N×C×H×W → N×(H·W)×(C·R·R) for a stride-1 'same' convolution, taps ``(c, i, j)``."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = np.empty((n, c, r, r, h, w), x.dtype)
    for i in range(r):
        for j in range(r):
            cols[:, :, i, j] = xp[:, :, i:i + h, j:j + w]
    return cols.reshape(n, c * r * r, h * w).transpose(0, 2, 1)


def _col2im(cols, shape, r, pad):
    """Adjoint of :func:`_im2col`: scatter-add N×(H·W)×(C·R·R) back to N×C×H×W."""
    n, c, h, w = shape
    cols = cols.transpose(0, 2, 1).reshape(n, c, r, r, h, w)
    xp = np.zeros((n, c, h + 2 * pad, w + 2 * pad), cols.dtype)
    for i in range(r):
        for j in range(r):
            xp[:, :, i:i + h, j:j + w] += cols[:, :, i, j]
    return xp[:, :, pad:pad + h, pad:pad + w]


def _pool(x):
    n, c, h, w = x.shape
    blocks = x.reshape(n, c, h // 2, 2, w // 2, 2)
    y = blocks.max(axis=(3, 5))
    return y, blocks == y[:, :, :, None, :, None]


def forward(params, x, keep=False):
    """Logits N×10 of images ``x`` (N×1×8×8 float); with ``keep``, also the values backward
    needs and every layer's output after its ReLU (before pooling) as ``tape["<name>.out"]``."""
    tape = {}
    for spec in LAYERS:
        n, _, h, w = x.shape
        cols = _im2col(x, spec.r, spec.pad)
        wmat = params[f"{spec.name}.w"].reshape(spec.k, -1)
        y = cols @ wmat.T + params[f"{spec.name}.b"]                 # N×(H·W)×K
        y = np.maximum(y, 0).transpose(0, 2, 1).reshape(n, spec.k, h, w)
        if keep:
            tape[spec.name] = (x.shape, cols, y)
            tape[f"{spec.name}.out"] = y
        if spec.pool:
            y, where = _pool(y)
            if keep:
                tape[f"{spec.name}.pool"] = where
        x = y
    flat = x.reshape(x.shape[0], -1)
    if keep:
        tape["fc"] = flat
    logits = flat @ params["fc.w"].T + params["fc.b"]
    return (logits, tape) if keep else logits


def _backward(params, tape, dlogits):
    grads = {}
    flat = tape["fc"]
    grads["fc.w"] = dlogits.T @ flat
    grads["fc.b"] = dlogits.sum(0)
    d = (dlogits @ params["fc.w"]).reshape(flat.shape[0], LAYERS[-1].k, 2, 2)
    for spec in reversed(LAYERS):
        shape, cols, y = tape[spec.name]
        if spec.pool:
            where = tape[f"{spec.name}.pool"]
            d = (where * d[:, :, :, None, :, None]).reshape(y.shape)
        d = d * (y > 0)
        n = d.shape[0]
        dmat = d.reshape(n, spec.k, -1).transpose(0, 2, 1)             # N×(H·W)×K
        grads[f"{spec.name}.w"] = np.einsum("npk,npq->kq", dmat, cols, optimize=True) \
            .reshape(params[f"{spec.name}.w"].shape)
        grads[f"{spec.name}.b"] = dmat.sum((0, 1))
        if spec is not LAYERS[0]:
            wmat = params[f"{spec.name}.w"].reshape(spec.k, -1)
            d = _col2im(dmat @ wmat, shape, spec.r, spec.pad)
    return grads


def _softmax_grad(logits, labels):
    z = logits - logits.max(1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(1, keepdims=True)
    p[np.arange(len(labels)), labels] -= 1
    return p / len(labels)


def train(params, x, y, *, epochs, seed, lr=2e-3, batch=32, masks=None, lr_decay=True):
    """Train ``params`` in place with Adam for ``epochs`` passes over ``(x, y)``.

    ``masks`` maps parameter names to 0/1 arrays: those weights are multiplied by their mask
    before the first step and after every step (pruned weights stay zero). With ``lr_decay`` the
    learning rate falls by cosine to 0 over the run. Returns ``params``.
    """
    masks = masks or {}
    rng = np.random.default_rng(seed)
    for name, mask in masks.items():
        params[name] *= mask
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(v) for k, v in params.items()}
    b1, b2, eps = 0.9, 0.999, 1e-8
    steps_per_epoch = -(-len(y) // batch)
    total = epochs * steps_per_epoch
    step = 0
    for _ in range(epochs):
        order = rng.permutation(len(y))
        for start in range(0, len(y), batch):
            idx = order[start:start + batch]
            logits, tape = forward(params, x[idx], keep=True)
            grads = _backward(params, tape, _softmax_grad(logits, y[idx]))
            step += 1
            rate = lr * (0.5 * (1 + np.cos(np.pi * (step - 1) / total)) if lr_decay else 1.0)
            for k, g in grads.items():
                m[k] = b1 * m[k] + (1 - b1) * g
                v[k] = b2 * v[k] + (1 - b2) * g * g
                mhat = m[k] / (1 - b1 ** step)
                vhat = v[k] / (1 - b2 ** step)
                params[k] -= (rate * mhat / (np.sqrt(vhat) + eps)).astype(np.float32)
            for name, mask in masks.items():
                params[name] *= mask
    return params


def predict(params, x, batch=512):
    """Predicted classes of float images ``x``."""
    return np.concatenate([forward(params, x[i:i + batch]).argmax(1)
                           for i in range(0, len(x), batch)])


def accuracy(params, x, y):
    return float(np.mean(predict(params, x) == y))
