"""Convolution layer tables of real CNNs (ImageNet, batch 1), named as in their reference models.

The tables hold the convolution layers only (no pooling, normalisation or fully-connected layers),
in network order, with the layer names of the reference Caffe (AlexNet, VGG-16, GoogLeNet,
ResNet-50) or Keras (MobileNetV1) models so that users recognise them. Shapes follow the
framework definitions: an input of ``c × h × w`` convolved with ``k × (c/groups) × r × s`` weights
at ``stride`` with ``pad`` zeros on every side gives ``k × ho × wo`` outputs.

Pooling between layers is not listed; its effect shows in the next layer's input size. Caffe
pools round up (``ceil``), which is why a 3×3/2 pool takes 112 to 56 in GoogLeNet and ResNet-50.
"""

import difflib
from dataclasses import dataclass

__all__ = ["ConvLayer", "NETWORKS", "DESCRIPTIONS", "network", "layer", "layer_names"]


@dataclass(frozen=True)
class ConvLayer:
    """One convolution layer of a network.

    Parameters
    ----------
    name : str
        Layer name as in the reference model (``"res2a_branch2b"``, ``"inception_3a/1x1"``).
    h, w : int
        Input height and width (before padding).
    c : int
        Input channels.
    k : int
        Output channels.
    r, s : int
        Kernel height and width.
    stride : int
        Stride in both dimensions.
    pad : int
        Zero padding on every side.
    groups : int
        Channel groups: 1 for a full convolution, ``c`` for a depthwise one (AlexNet uses 2).
        Each group convolves ``c/groups`` input channels into ``k/groups`` output channels.

    Raises
    ------
    TypeError
        If a size is not an integer or the name not a string.
    ValueError
        If a size is out of range, ``groups`` does not divide ``c`` and ``k``, or the kernel does
        not fit in the padded input.
    """

    name: str
    h: int
    w: int
    c: int
    k: int
    r: int
    s: int
    stride: int = 1
    pad: int = 0
    groups: int = 1

    def __post_init__(self):
        if not isinstance(self.name, str):
            raise TypeError(f"Layer name must be a string, not {self.name!r}")
        for field in ("h", "w", "c", "k", "r", "s", "stride", "pad", "groups"):
            value = getattr(self, field)
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"Layer {field} must be an integer, not {value!r}")
            low = 0 if field == "pad" else 1
            if value < low:
                raise ValueError(f"Layer {field} must be at least {low}, not {value!r}")
        if self.c % self.groups or self.k % self.groups:
            raise ValueError(f"Layer groups must divide c={self.c} and k={self.k}, "
                             f"not {self.groups!r}")
        if self.r > self.h + 2 * self.pad or self.s > self.w + 2 * self.pad:
            raise ValueError(f"Layer kernel {self.r}×{self.s} must fit in the padded input "
                             f"{self.h + 2 * self.pad}×{self.w + 2 * self.pad}")

    @property
    def ho(self):
        """Output height: ⌊(h + 2·pad − r) / stride⌋ + 1."""
        return (self.h + 2 * self.pad - self.r) // self.stride + 1

    @property
    def wo(self):
        """Output width: ⌊(w + 2·pad − s) / stride⌋ + 1."""
        return (self.w + 2 * self.pad - self.s) // self.stride + 1

    @property
    def depthwise(self):
        """True for a depthwise convolution: one filter per channel (groups = c = k > 1)."""
        return self.groups > 1 and self.groups == self.c == self.k

    @property
    def macs(self):
        """Multiply-accumulates of the layer: ho · wo · k · (c/groups) · r · s."""
        return self.ho * self.wo * self.k * (self.c // self.groups) * self.r * self.s

    @property
    def weights(self):
        """Number of weights (biases not counted): k · (c/groups) · r · s."""
        return self.k * (self.c // self.groups) * self.r * self.s


def _pool(size, kernel, stride):
    """Output size of a Caffe max pool without padding (Caffe rounds up)."""
    return -(-(size - kernel) // stride) + 1


def _alexnet():
    # Caffe BVLC AlexNet (models/bvlc_alexnet/deploy.prototxt): 227×227 input, LRN and 3×3/2
    # max pools after conv1, conv2 and conv5; conv2, conv4, conv5 split in two groups as on the
    # original two GPUs.
    return (
        ConvLayer("conv1", 227, 227, 3, 96, 11, 11, stride=4),
        ConvLayer("conv2", 27, 27, 96, 256, 5, 5, pad=2, groups=2),
        ConvLayer("conv3", 13, 13, 256, 384, 3, 3, pad=1),
        ConvLayer("conv4", 13, 13, 384, 384, 3, 3, pad=1, groups=2),
        ConvLayer("conv5", 13, 13, 384, 256, 3, 3, pad=1, groups=2),
    )


def _vgg16():
    # Simonyan & Zisserman, configuration D: 3×3/1 pad 1 everywhere, 2×2/2 max pool per stage.
    layers, size, c = [], 224, 3
    for stage, (k, count) in enumerate([(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)], 1):
        for i in range(1, count + 1):
            layers.append(ConvLayer(f"conv{stage}_{i}", size, size, c, k, 3, 3, pad=1))
            c = k
        size //= 2
    return tuple(layers)


def _mobilenet_v1():
    # Howard et al. 2017, Table 1, width 1.0 at 224, with the Keras layer names. Keras pads a
    # stride-2 layer by (0, 1) on each axis; the symmetric pad 1 used here gives the same output
    # size and MACs.
    layers = [ConvLayer("conv1", 224, 224, 3, 32, 3, 3, stride=2, pad=1)]
    size, c = 112, 32
    blocks = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5
    blocks += [(1024, 2), (1024, 1)]
    for n, (k, stride) in enumerate(blocks, 1):
        dw = ConvLayer(f"conv_dw_{n}", size, size, c, c, 3, 3, stride=stride, pad=1, groups=c)
        layers.append(dw)
        size = dw.ho
        layers.append(ConvLayer(f"conv_pw_{n}", size, size, c, k, 1, 1))
        c = k
    return tuple(layers)


# GoogLeNet inception modules (Szegedy et al. 2015, Table 1): #1×1, #3×3 reduce, #3×3,
# #5×5 reduce, #5×5, pool proj; a 3×3/2 max pool precedes 4a and 5a.
_INCEPTION = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}


def _googlenet():
    # Caffe BVLC GoogLeNet (models/bvlc_googlenet/deploy.prototxt), without the two auxiliary
    # classifiers (training only).
    layers = [ConvLayer("conv1/7x7_s2", 224, 224, 3, 64, 7, 7, stride=2, pad=3)]
    size = _pool(112, 3, 2)
    layers += [ConvLayer("conv2/3x3_reduce", size, size, 64, 64, 1, 1),
               ConvLayer("conv2/3x3", size, size, 64, 192, 3, 3, pad=1)]
    size, c = _pool(size, 3, 2), 192
    for module, (n1, n3r, n3, n5r, n5, proj) in _INCEPTION.items():
        if module in ("4a", "5a"):
            size = _pool(size, 3, 2)
        p = f"inception_{module}/"
        layers += [ConvLayer(p + "1x1", size, size, c, n1, 1, 1),
                   ConvLayer(p + "3x3_reduce", size, size, c, n3r, 1, 1),
                   ConvLayer(p + "3x3", size, size, n3r, n3, 3, 3, pad=1),
                   ConvLayer(p + "5x5_reduce", size, size, c, n5r, 1, 1),
                   ConvLayer(p + "5x5", size, size, n5r, n5, 5, 5, pad=2),
                   # after a 3×3/1 pad-1 max pool of the module input
                   ConvLayer(p + "pool_proj", size, size, c, proj, 1, 1)]
        c = n1 + n3 + n5 + proj
    return tuple(layers)


def _resnet50():
    # He et al. 2016, Table 1, as in the authors' Caffe model (ResNet-50-deploy.prototxt):
    # "v1", the stride 2 of a stage's first block sits on its 1×1 branch2a and branch1 convs.
    layers = [ConvLayer("conv1", 224, 224, 3, 64, 7, 7, stride=2, pad=3)]
    size, c = _pool(112, 3, 2), 64
    for stage, (width, blocks) in enumerate([(64, 3), (128, 4), (256, 6), (512, 3)], 2):
        out = 4 * width
        for b in range(blocks):
            p = f"res{stage}{'abcdef'[b]}_branch"
            stride = 2 if b == 0 and stage > 2 else 1
            if b == 0:
                layers.append(ConvLayer(p + "1", size, size, c, out, 1, 1, stride=stride))
            layers.append(ConvLayer(p + "2a", size, size, c, width, 1, 1, stride=stride))
            size = layers[-1].ho
            layers += [ConvLayer(p + "2b", size, size, width, width, 3, 3, pad=1),
                       ConvLayer(p + "2c", size, size, width, out, 1, 1)]
            c = out
    return tuple(layers)


NETWORKS = {
    "alexnet": _alexnet(),
    "googlenet": _googlenet(),
    "mobilenet_v1": _mobilenet_v1(),
    "resnet50": _resnet50(),
    "vgg16": _vgg16(),
}
"""Network name → its convolution layers (:class:`ConvLayer`), in network order."""

DESCRIPTIONS = {
    "alexnet": "AlexNet (Caffe BVLC), 227×227 input, conv2/4/5 in 2 groups",
    "googlenet": "GoogLeNet / Inception v1 (Caffe BVLC), 9 inception modules, no aux. classifiers",
    "mobilenet_v1": "MobileNetV1 1.0/224, 13 depthwise (run dense) + pointwise pairs",
    "resnet50": "ResNet-50 v1 (Caffe), stride 2 on the 1×1 convs, projection shortcuts",
    "vgg16": "VGG-16 (configuration D), 3×3 convolutions in 5 stages",
}
"""Network name → one-line description for listings."""


def network(name):
    """The convolution layers of network ``name``, in network order.

    Raises
    ------
    ValueError
        If ``name`` is not a key of :data:`NETWORKS`; the one-line message lists the allowed names.
    """
    try:
        return NETWORKS[name]
    except (KeyError, TypeError):
        raise ValueError(f"Network must be one of {', '.join(NETWORKS)}, not {name!r}") from None


def layer_names(net):
    """Names of the convolution layers of network ``net``, in network order.

    Raises
    ------
    ValueError
        As :func:`network`, for an unknown network.
    """
    return tuple(conv.name for conv in network(net))


def layer(qualified):
    """The layer named ``"NET.LAYER"``, e.g. ``layer("resnet50.res2a_branch2b")``.

    Raises
    ------
    ValueError
        If ``qualified`` has no ``.``, names an unknown network (the message lists the allowed
        networks) or an unknown layer (the message names the network and suggests the closest
        layer names, or how to list them); every message is one line.
    """
    if not isinstance(qualified, str) or "." not in qualified:
        raise ValueError(f"Layer must be NET.LAYER (e.g. 'resnet50.res2a_branch2b'), "
                         f"not {qualified!r}")
    net, name = qualified.split(".", 1)
    for conv in network(net):
        if conv.name == name:
            return conv
    close = difflib.get_close_matches(name, layer_names(net), n=3)
    hint = (f"did you mean {', '.join(map(repr, close))}?" if close
            else f"'sparseforge layers {net}' lists its {len(NETWORKS[net])} layers")
    raise ValueError(f"Network {net!r} has no layer {name!r}; {hint}")
