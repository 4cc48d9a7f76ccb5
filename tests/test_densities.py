"""The published per-layer density tables (sim/densities.py) against their own arithmetic.

Transcription check, independent of the code that uses the tables: each row's FLOP% equals its
Weights% times the previous row's Act% (the paper's definition) to the tables' whole-percent
rounding, and the kept weights summed over the layer sizes give the totals the paper states in
its abstract (AlexNet 61M -> 6.7M, VGG-16 138M -> 10.3M parameters)."""

import pytest

from sparseforge.sim import densities, workloads

#: Fully connected layers' weight counts (inputs × outputs), which sim.workloads leaves out.
FC_WEIGHTS = {
    "alexnet": {"fc1": 9216 * 4096, "fc2": 4096 * 4096, "fc3": 4096 * 1000},
    "vgg16": {"fc6": 25088 * 4096, "fc7": 4096 * 4096, "fc8": 4096 * 1000},
}
#: (dense, pruned) parameter counts from the paper's abstract (biases aside, to 0.1M).
ABSTRACT = {"alexnet": (61e6, 6.7e6), "vgg16": (138e6, 10.3e6)}


@pytest.mark.parametrize("net", densities.networks())
def test_flop_is_weights_times_input_activations(net):
    previous = 100
    for row in densities.PUBLISHED[net]:
        # Two rounded factors and a rounded result: at most 1.5 points apart.
        assert abs(row.flop - row.weights * previous / 100) <= 1.5, row
        previous = row.act


@pytest.mark.parametrize("net", densities.networks())
def test_kept_weights_match_the_abstract(net):
    sizes = {layer.name: layer.weights for layer in workloads.network(net)}
    sizes.update(FC_WEIGHTS[net])
    rows = densities.PUBLISHED[net]
    assert [r.layer for r in rows] == list(sizes)
    dense = sum(sizes.values())
    kept = sum(sizes[r.layer] * r.weights / 100 for r in rows)
    want_dense, want_kept = ABSTRACT[net]
    assert dense == pytest.approx(want_dense, rel=0.01)
    assert kept == pytest.approx(want_kept, rel=0.03)


def test_layer_densities_take_the_previous_rows_activations():
    d = densities.layer_densities("vgg16")
    assert d["conv1_1"] == (0.58, 1.0)
    assert d["conv1_2"] == (0.22, 0.53)
    assert d["conv5_3"] == (0.36, 0.29)
    assert densities.layer_densities("alexnet")["conv2"] == (0.38, 0.88)
    with pytest.raises(KeyError):
        densities.layer_densities("googlenet")
