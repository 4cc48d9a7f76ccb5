"""Layer tables checked against published figures, not against themselves."""

import dataclasses

import pytest
from sparseforge.sim.workloads import DESCRIPTIONS, NETWORKS, ConvLayer, layer, layer_names, network


def total_macs(net):
    return sum(conv.macs for conv in network(net))


def total_weights(net):
    return sum(conv.weights for conv in network(net))


def test_layer_counts():
    # GoogLeNet: 3 stem convolutions + 9 modules × 6 = 57, the count of Sze et al. (below).
    counts = {"resnet50": 53, "vgg16": 13, "mobilenet_v1": 27, "alexnet": 5, "googlenet": 57}
    assert {net: len(layers) for net, layers in NETWORKS.items()} == counts
    assert set(DESCRIPTIONS) == set(NETWORKS)
    assert all("\n" not in text for text in DESCRIPTIONS.values())


# Conv-layer totals of Sze, Chen, Yang, Emer, "Efficient Processing of Deep Neural Networks: A
# Tutorial and Survey", Proc. IEEE 105(12), 2017, Table 4 ("CONV Layers" rows; the same AlexNet
# and VGG-16 figures open Chen et al., Eyeriss, ISSCC 2016). Given to 3 digits: 1% tolerance.
# ResNet-50 is He et al.'s v1 (stride on the 1×1 convs): 3.86 G. The often quoted 4.1 G is
# torchvision's "v1.5" (stride on the 3×3 convs, 0.23 G more), not this model; the FC layer only
# adds 2 M. He et al. (CVPR 2016, Table 1) give 3.8 × 10^9 for the whole network.
@pytest.mark.parametrize("net, macs, weights", [
    ("alexnet", 666e6, 2.3e6),
    ("vgg16", 15.3e9, 14.7e6),
    ("resnet50", 3.86e9, 23.5e6),
])
def test_conv_totals_match_sze_2017(net, macs, weights):
    assert total_macs(net) == pytest.approx(macs, rel=0.01)
    assert total_weights(net) == pytest.approx(weights, rel=0.02)


def test_vgg16_with_fc_matches_the_widely_quoted_15_5_g():
    # Sze et al. 2017, Table 4: 124 M FC MACs, 15.5 G in total.
    fc = 7 * 7 * 512 * 4096 + 4096 * 4096 + 4096 * 1000
    assert fc == pytest.approx(124e6, rel=0.01)
    assert total_macs("vgg16") + fc == pytest.approx(15.5e9, rel=0.01)


def test_mobilenet_v1_matches_its_paper():
    # Howard et al., "MobileNets", arXiv:1704.04861, Table 8: 1.0 MobileNet-224 has 569 M
    # mult-adds including the 1024 × 1000 FC layer; Table 2 puts 94.86% of them in the 1×1 convs
    # and 3.06% in the depthwise ones. (Its "Conv 3×3 1.19%" row is not checked: the four rows
    # sum to 99.29%, and the 3×3×3×32 first layer at 112×112 outputs is 10.8 M, 1.9%.)
    layers = network("mobilenet_v1")
    total = total_macs("mobilenet_v1") + 1024 * 1000
    assert total == pytest.approx(569e6, rel=0.002)
    pointwise = sum(conv.macs for conv in layers if conv.name.startswith("conv_pw"))
    depthwise = sum(conv.macs for conv in layers if conv.depthwise)
    assert 100 * pointwise / total == pytest.approx(94.86, abs=0.05)
    assert 100 * depthwise / total == pytest.approx(3.06, abs=0.05)


# Szegedy et al., "Going deeper with convolutions", CVPR 2015, Table 1: output size and "ops"
# (multiply-adds, rounded to 1 M) per stage. Its row for inception (5a) reads 54 M and 1072 K
# params, but the filter counts on that same row give 1042 K params and 51 M; hence 6% there.
# The whole network is the paper's "1.5 billion multiply-adds" budget: the rows sum to 1585 M
# plus 1 M for the classifier. (Sze et al.'s 1.43 G is what floor-rounding pools would give; the
# paper's and Caffe's feature maps are 56, 28, 14, 7.)
GOOGLENET_TABLE_1 = {
    # stage: (output height, output channels, M multiply-adds)
    "conv1": (112, 64, 118),
    "conv2": (56, 192, 360),
    "inception_3a": (28, 256, 128),
    "inception_3b": (28, 480, 304),
    "inception_4a": (14, 512, 73),
    "inception_4b": (14, 512, 88),
    "inception_4c": (14, 512, 100),
    "inception_4d": (14, 528, 119),
    "inception_4e": (14, 832, 170),
    "inception_5a": (7, 832, 54),
    "inception_5b": (7, 1024, 71),
}


def googlenet_stages():
    stages = {}
    for conv in network("googlenet"):
        stages.setdefault(conv.name.split("/")[0], []).append(conv)
    return stages


def test_googlenet_matches_its_paper():
    stages = googlenet_stages()
    assert list(stages) == list(GOOGLENET_TABLE_1)
    for stage, (size, channels, mops) in GOOGLENET_TABLE_1.items():
        convs = stages[stage]
        macs = sum(conv.macs for conv in convs)
        tolerance = 0.06 if stage == "inception_5a" else 0.01
        assert macs == pytest.approx(mops * 1e6, rel=tolerance, abs=0.5e6), stage
        if stage.startswith("inception"):
            # The filter concatenation of the 1×1, 3×3, 5×5 and pool-projection branches.
            branches = [c for c in convs if c.name.rsplit("/", 1)[1] in
                        ("1x1", "3x3", "5x5", "pool_proj")]
            assert {(c.ho, c.wo) for c in convs} == {(size, size)}, stage
            assert sum(c.k for c in branches) == channels, stage
        else:
            assert (convs[-1].ho, convs[-1].k) == (size, channels), stage
    assert total_macs("googlenet") + 1024 * 1000 == pytest.approx(1.586e9, rel=0.01)
    assert total_weights("googlenet") == pytest.approx(6.0e6, rel=0.02)  # Sze et al. 2017


@pytest.mark.parametrize("net", ["vgg16", "alexnet", "mobilenet_v1"])
def test_chain_networks_feed_each_layer_into_the_next(net):
    layers = network(net)
    for prev, conv in zip(layers, layers[1:]):
        assert conv.c == prev.k, conv.name
        assert conv.h == conv.w, conv.name
        # Same size, or halved by a max pool between stages (AlexNet's 3×3/2: 55 → 27 → 13).
        assert conv.h in (prev.ho, prev.ho // 2), conv.name
    assert layers[0].c == 3
    assert (layers[-1].ho, layers[-1].wo) == {"vgg16": (14, 14), "alexnet": (13, 13),
                                              "mobilenet_v1": (7, 7)}[net]


def test_alexnet_first_layer_and_groups():
    # Krizhevsky et al. 2012 / Caffe BVLC: 96 11×11×3 filters at stride 4 give 55×55 outputs;
    # conv2, conv4, conv5 see only the half of the channels on their GPU.
    conv1, conv2, conv3, conv4, conv5 = network("alexnet")
    assert (conv1.ho, conv1.wo, conv1.k) == (55, 55, 96)
    assert conv1.macs == 55 * 55 * 96 * 11 * 11 * 3
    assert [c.groups for c in (conv2, conv3, conv4, conv5)] == [2, 1, 2, 2]
    assert conv2.weights == 256 * 48 * 5 * 5
    assert not any(c.depthwise for c in network("alexnet"))


def test_resnet50_stage_shapes_and_shortcuts():
    # He et al. 2016, Table 1: conv2_x … conv5_x outputs 56, 28, 14, 7, bottleneck ×4 channels.
    layers = {conv.name: conv for conv in network("resnet50")}
    conv1 = layers["conv1"]
    assert (conv1.ho, conv1.k) == (112, 64)
    for stage, size, channels, blocks in [(2, 56, 256, 3), (3, 28, 512, 4), (4, 14, 1024, 6),
                                          (5, 7, 2048, 3)]:
        last = layers[f"res{stage}{'abcdef'[blocks - 1]}_branch2c"]
        assert (last.ho, last.wo, last.k) == (size, size, channels)
        assert f"res{stage}{'abcdefg'[blocks]}_branch2a" not in layers
        first = layers[f"res{stage}a_branch2a"]
        # v1: the stride is on the first 1×1, not on the 3×3.
        assert first.stride == layers[f"res{stage}a_branch1"].stride == (1 if stage == 2 else 2)
        assert layers[f"res{stage}a_branch2b"].stride == 1
    # Each block: 2a → 2b → 2c in a chain, and the residual addition adds two tensors of one
    # shape, the shortcut (branch1 projection, or the block input itself) and branch2c.
    shape = (56, 64)  # conv1 112×112×64 after the 3×3/2 max pool
    blocks = sorted({name.split("_")[0] for name in layers if name.startswith("res")})
    assert len(blocks) == 16
    for block in blocks:
        a, b, c = (layers[f"{block}_branch2{x}"] for x in "abc")
        assert (a.h, a.c) == shape, block
        assert (b.h, b.c) == (a.ho, a.k) and (c.h, c.c) == (b.ho, b.k), block
        projection = layers.get(f"{block}_branch1")
        if projection:
            assert (projection.h, projection.c) == shape, block
            shape = (projection.ho, projection.k)
        assert (c.ho, c.k) == shape, block
    assert shape == (7, 2048)


def test_depthwise_flags():
    layers = network("mobilenet_v1")
    depthwise = [conv.name for conv in layers if conv.depthwise]
    assert depthwise == [f"conv_dw_{n}" for n in range(1, 14)]
    assert all(conv.groups == conv.c == conv.k for conv in layers if conv.depthwise)
    assert all(conv.groups == 1 for conv in layers if not conv.depthwise)
    assert [conv.name for conv in layers if conv.name.startswith("conv_pw")] == \
        [f"conv_pw_{n}" for n in range(1, 14)]
    for net in ("resnet50", "vgg16", "alexnet", "googlenet"):
        assert not any(conv.depthwise for conv in network(net)), net


def test_layer_lookup():
    conv = layer("resnet50.res2a_branch2b")
    assert (conv.h, conv.c, conv.k, conv.r, conv.s, conv.pad) == (56, 64, 64, 3, 3, 1)
    assert layer("googlenet.inception_3a/1x1").k == 64
    for net, layers in NETWORKS.items():
        names = layer_names(net)
        assert len(set(names)) == len(names), net
        assert all(layer(f"{net}.{name}") is conv for name, conv in zip(names, layers))
    # Network order, as in the reference prototxt (the projection shortcut first).
    assert layer_names("vgg16")[:3] == ("conv1_1", "conv1_2", "conv2_1")
    assert layer_names("resnet50")[:5] == ("conv1", "res2a_branch1", "res2a_branch2a",
                                           "res2a_branch2b", "res2a_branch2c")
    assert layer_names("resnet50")[-1] == "res5c_branch2c"
    assert layer_names("mobilenet_v1")[:3] == ("conv1", "conv_dw_1", "conv_pw_1")
    assert layer_names("googlenet")[-1] == "inception_5b/pool_proj"


@pytest.mark.parametrize("call, message", [
    (lambda: network("resnet18"),
     "Network must be one of alexnet, googlenet, mobilenet_v1, resnet50, vgg16, not 'resnet18'"),
    (lambda: layer_names("VGG16"), "Network must be one of .*, not 'VGG16'"),
    (lambda: layer("resnet18.conv1"), "Network must be one of .*resnet50.*, not 'resnet18'"),
    (lambda: layer("res2a_branch2b"),
     r"Layer must be NET.LAYER \(e.g. 'resnet50.res2a_branch2b'\), not 'res2a_branch2b'"),
    (lambda: layer("resnet50.res2a_branch2"),
     "Network 'resnet50' has no layer 'res2a_branch2'; did you mean 'res2a_branch2.'"),
    (lambda: layer("vgg16.fc6"),
     "Network 'vgg16' has no layer 'fc6'; 'sparseforge layers vgg16' lists its 13 layers"),
])
def test_lookup_errors(call, message):
    with pytest.raises(ValueError, match=f"^{message}") as info:
        call()
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(groups=3), ValueError, "Layer groups must divide c=4 and k=8, not 3"),
    (dict(pad=-1), ValueError, "Layer pad must be at least 0, not -1"),
    (dict(stride=0), ValueError, "Layer stride must be at least 1, not 0"),
    (dict(h=2.0), TypeError, "Layer h must be an integer, not 2.0"),
    (dict(r=9), ValueError, "Layer kernel 9×3 must fit in the padded input 6×6"),
    (dict(name=None), TypeError, "Layer name must be a string, not None"),
])
def test_conv_layer_validation(kwargs, error, message):
    fields = dict(name="x", h=6, w=6, c=4, k=8, r=3, s=3) | kwargs
    with pytest.raises(error, match=f"^{message}$"):
        ConvLayer(**fields)


def test_conv_layer_shape_arithmetic():
    conv = ConvLayer("odd", h=7, w=5, c=6, k=4, r=3, s=2, stride=2, pad=1, groups=2)
    assert (conv.ho, conv.wo) == (4, 3)  # ⌊(7+2−3)/2⌋+1, ⌊(5+2−2)/2⌋+1
    assert conv.macs == 4 * 3 * 4 * 3 * 3 * 2
    assert conv.weights == 4 * 3 * 3 * 2
    assert not conv.depthwise
    assert ConvLayer("dw", 4, 4, 8, 8, 3, 3, pad=1, groups=8).depthwise
    with pytest.raises(dataclasses.FrozenInstanceError):
        conv.k = 5
