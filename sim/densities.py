"""Published per-layer densities of pruned networks, for the cycle models' network figures.

The pruned AlexNet and VGG-16 that SCNN (its ref. [17]) and CCR (its ref. [7]) evaluate are Han
et al.'s: S. Han, J. Pool, J. Tran, W. J. Dally, *Learning both Weights and Connections for
Efficient Neural Networks*, NIPS 2015 (arXiv:1506.02626), **Table 4** (AlexNet) and **Table 5**
(VGG-16). Per layer the tables give, in whole percent:

* ``weights`` — the share of the layer's weights kept after pruning (column "Weights%");
* ``act`` — the share of the layer's **output** activations that are non-zero (column "Act%");
* ``flop`` — the share of the layer's multiplications left (column "FLOP%"), which the paper
  computes as the layer's kept weights times the non-zero share of its **input**, i.e. the
  previous layer's ``act`` (the first layer's input, the image, counts as dense).

A layer's operand densities are therefore ``weights`` and the previous row's ``act``;
:func:`layer_densities` gives them. ``tests/test_densities.py`` checks the transcription
against the tables' own arithmetic (``flop ≈ weights × input act``, to the tables' rounding).
GoogLeNet has no published per-layer table (SCNN's Fig. 1 plots its densities without numbers),
so it has none here.
"""

from dataclasses import dataclass

__all__ = ["SOURCE", "LayerDensity", "PUBLISHED", "layer_densities", "networks"]

SOURCE = ("Han et al., Learning both Weights and Connections for Efficient Neural Networks, "
          "NIPS 2015, Tables 4 (AlexNet) and 5 (VGG-16)")


@dataclass(frozen=True)
class LayerDensity:
    """One row of a published table, in whole percent as printed."""
    layer: str
    weights: int
    act: int
    flop: int


def _rows(*rows):
    return tuple(LayerDensity(*row) for row in rows)


#: Convolution and fully connected rows, in network order, as printed (percent).
PUBLISHED = {
    "alexnet": _rows(
        ("conv1", 84, 88, 84),
        ("conv2", 38, 52, 33),
        ("conv3", 35, 37, 18),
        ("conv4", 37, 40, 14),
        ("conv5", 37, 34, 14),
        ("fc1", 9, 36, 3),
        ("fc2", 9, 40, 3),
        ("fc3", 25, 100, 10),
    ),
    "vgg16": _rows(
        ("conv1_1", 58, 53, 58),
        ("conv1_2", 22, 89, 12),
        ("conv2_1", 34, 80, 30),
        ("conv2_2", 36, 81, 29),
        ("conv3_1", 53, 68, 43),
        ("conv3_2", 24, 70, 16),
        ("conv3_3", 42, 64, 29),
        ("conv4_1", 32, 51, 21),
        ("conv4_2", 27, 45, 14),
        ("conv4_3", 34, 34, 15),
        ("conv5_1", 35, 32, 12),
        ("conv5_2", 29, 29, 9),
        ("conv5_3", 36, 19, 11),
        ("fc6", 4, 38, 1),
        ("fc7", 4, 42, 2),
        ("fc8", 23, 100, 9),
    ),
}


def networks():
    """Names of the networks with a published table."""
    return tuple(PUBLISHED)


def layer_densities(net):
    """``{layer: (weight_density, input_act_density)}`` of ``net`` as fractions: the layer's
    kept weights and the previous layer's non-zero output share (1.0 for the first layer).
    Raises ``KeyError`` for a network without a published table."""
    out, previous = {}, 100
    for row in PUBLISHED[net]:
        out[row.layer] = (row.weights / 100, previous / 100)
        previous = row.act
    return out
