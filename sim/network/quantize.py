"""INT8 post-training quantization of the digits CNN and its integer golden inference.

As deployed INT8 stacks quantize (symmetric, zero point 0):

* input: one scale ``s_in`` = max over the training images / 127 (pixels 0…1 → 0…127);
* weights: one scale per output channel, ``s_w[k] = max|W[k]| / 127``, ``q = round(W / s_w)``
  (−127…127); the classifier has one scale for all its weights, so its INT32 logits share a
  scale and their argmax is the class;
* activations: one scale per layer output, ``s_out = max / 127`` over the training images
  (calibration: the float network's ReLU outputs on all 1,347 training images);
* biases: INT32, ``round(b[k] / (s_in · s_w[k]))``;
* requantization: ``s_in · s_w[k] / s_out`` as a 16-bit multiplier and a shift
  (:func:`sparseforge.sim.quant.quantize_multiplier`), applied by the one rule of
  :mod:`sparseforge.sim.quant` with ReLU; 2×2 max-pool after it where the layer pools.

The integer inference (:func:`conv_layer`, :func:`infer`) is exactly the arithmetic the hardware
does: INT8 × INT8 products summed in a wrapping ``acc_bits`` accumulator, then the rule.
"""

from dataclasses import dataclass

import numpy as np

from .. import quant
from ..gemm import wrap
from . import model

__all__ = ["QLayer", "QNet", "quantize", "quantize_input", "conv_layer", "infer",
           "classify", "accuracy", "save", "load"]


@dataclass(frozen=True)
class QLayer:
    """One quantized convolution: INT8 K×C×R×S ``w``; per-channel INT32 ``bias``, ``mult`` and
    ``shift``; ReLU always; 2×2 max-pool after it if ``pool``; its output scale."""

    name: str
    w: np.ndarray
    bias: np.ndarray
    mult: np.ndarray
    shift: np.ndarray
    pool: bool
    pad: int
    out_scale: float

    @property
    def shape(self):
        return self.w.shape


@dataclass(frozen=True)
class QNet:
    """The quantized network: input scale, the convolutions, the INT8 classifier (10×256
    ``fc_w``, INT32 ``fc_b``)."""

    in_scale: float
    layers: tuple
    fc_w: np.ndarray
    fc_b: np.ndarray


def _calibrate(params, x, batch=512):
    """Max of each layer's float ReLU output over ``x``."""
    peaks = {spec.name: 0.0 for spec in model.LAYERS}
    for i in range(0, len(x), batch):
        _, tape = model.forward(params, x[i:i + batch], keep=True)
        for spec in model.LAYERS:
            peaks[spec.name] = max(peaks[spec.name], float(tape[f"{spec.name}.out"].max()))
    return peaks


def _weights_per_channel(w):
    peak = np.abs(w).reshape(len(w), -1).max(1).astype(np.float64)
    scale = np.where(peak > 0, peak / 127.0, 1.0)
    q = np.clip(np.round(w / scale.reshape(-1, *[1] * (w.ndim - 1))), -127, 127)
    return q.astype(np.int64), scale


def quantize(params, calib_x):
    """Quantize float ``params`` (see the module docstring), calibrated on images ``calib_x``."""
    in_scale = float(calib_x.max()) / 127.0
    peaks = _calibrate(params, calib_x)
    layers = []
    s_in = in_scale
    for spec in model.LAYERS:
        wq, s_w = _weights_per_channel(params[f"{spec.name}.w"])
        s_out = max(peaks[spec.name], 1e-12) / 127.0
        bias = np.round(params[f"{spec.name}.b"].astype(np.float64) / (s_in * s_w))
        pairs = [quant.quantize_multiplier(s_in * sw / s_out) for sw in s_w]
        layers.append(QLayer(spec.name, wq, bias.astype(np.int64),
                             np.array([p[0] for p in pairs], np.int64),
                             np.array([p[1] for p in pairs], np.int64),
                             spec.pool, spec.pad, s_out))
        s_in = s_out
    fc_w = params["fc.w"].astype(np.float64)
    s_fc = float(np.abs(fc_w).max()) / 127.0
    fc_q = np.clip(np.round(fc_w / s_fc), -127, 127).astype(np.int64)
    fc_b = np.round(params["fc.b"] / (s_in * s_fc)).astype(np.int64)
    return QNet(in_scale, tuple(layers), fc_q, fc_b)


def quantize_input(qnet, x):
    """INT8 images (N×1×8×8, 0…127) from float images in 0…1."""
    return np.clip(np.round(np.asarray(x, np.float64) / qnet.in_scale), -128, 127) \
        .astype(np.int64)


def _accumulate(x, w, pad, acc_bits):
    """Batched stride-1 convolution of N×C×H×W INT8 maps: N×K×H×W wrapped accumulators (what
    :func:`sparseforge.sim.conv.conv2d` gives image by image)."""
    n, c, h, wd = x.shape
    k, _, r, s = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    acc = np.zeros((n, k, h, wd), np.int64)
    for i in range(r):
        for j in range(s):
            acc += np.einsum("nchw,kc->nkhw", xp[:, :, i:i + h, j:j + wd], w[:, :, i, j])
    return wrap(acc, acc_bits)


def conv_layer(layer, x, acc_bits=32):
    """One layer on INT8 maps ``x`` (N×C×H×W or C×H×W): accumulate, requantize with ReLU, pool.

    Returns ``(out, acc)``: the INT8 output (pooled if the layer pools) and the accumulators.
    """
    single = np.ndim(x) == 3
    x = np.asarray(x, np.int64)[None] if single else np.asarray(x, np.int64)
    acc = _accumulate(x, layer.w, layer.pad, acc_bits)
    y = quant.requantize(acc, layer.bias, layer.mult, layer.shift, relu=True, axis=1)
    if layer.pool:
        y = np.stack([quant.max_pool2(img) for img in y])
    return (y[0], acc[0]) if single else (y, acc)


def classify(qnet, features):
    """INT32 logits (N×10) and classes of INT8 feature maps (N×64×2×2) on the host."""
    flat = np.asarray(features, np.int64).reshape(len(features), -1)
    logits = wrap(flat @ qnet.fc_w.T + qnet.fc_b, 32)
    return logits, logits.argmax(1)


def infer(qnet, x, acc_bits=32):
    """Classes of float images ``x`` by the integer network; also every layer's INT8 output."""
    maps = quantize_input(qnet, x)
    outs = []
    for layer in qnet.layers:
        maps, _ = conv_layer(layer, maps, acc_bits)
        outs.append(maps)
    return classify(qnet, maps)[1], outs


def accuracy(qnet, x, y, acc_bits=32):
    return float(np.mean(infer(qnet, x, acc_bits)[0] == y))


def save(path, qnet, params, meta):
    """Write float ``params``, the INT8 network and ``meta`` (numbers) to one ``.npz``."""
    arrays = {f"float.{k}": v for k, v in params.items()}
    arrays["q.in_scale"] = np.float64(qnet.in_scale)
    for layer in qnet.layers:
        for field in ("w", "bias", "mult", "shift"):
            dtype = {"w": np.int8, "bias": np.int32, "mult": np.uint16, "shift": np.uint8}[field]
            arrays[f"q.{layer.name}.{field}"] = getattr(layer, field).astype(dtype)
        arrays[f"q.{layer.name}.out_scale"] = np.float64(layer.out_scale)
    arrays["q.fc.w"] = qnet.fc_w.astype(np.int8)
    arrays["q.fc.b"] = qnet.fc_b.astype(np.int32)
    for k, v in meta.items():
        arrays[f"meta.{k}"] = np.asarray(v)
    np.savez_compressed(path, **arrays)


def load(path):
    """``(qnet, params, meta)`` from a file written by :func:`save`."""
    with np.load(path) as f:
        params = {k[6:]: f[k] for k in f.files if k.startswith("float.")}
        meta = {k[5:]: f[k][()] for k in f.files if k.startswith("meta.")}
        layers = tuple(
            QLayer(spec.name, f[f"q.{spec.name}.w"].astype(np.int64),
                   f[f"q.{spec.name}.bias"].astype(np.int64),
                   f[f"q.{spec.name}.mult"].astype(np.int64),
                   f[f"q.{spec.name}.shift"].astype(np.int64), spec.pool, spec.pad,
                   float(f[f"q.{spec.name}.out_scale"]))
            for spec in model.LAYERS)
        qnet = QNet(float(f["q.in_scale"]), layers, f["q.fc.w"].astype(np.int64),
                    f["q.fc.b"].astype(np.int64))
    return qnet, params, meta
