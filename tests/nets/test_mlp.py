"""The fully connected classifier: BN before each activation, γ and β only in full BN."""

import pytest
import torch
from torch import nn

from dlnotes.nets.mlp import MLPClassifier


def test_layers_follow_the_notes_order_and_normalize_only_has_no_gamma_beta():
    full = MLPClassifier([1, 28, 28], 10, hidden=[32, 16], norm="batchnorm")
    bare = MLPClassifier([1, 28, 28], 10, hidden=[32, 16], norm="normalize_only")
    linear_bn_sigmoid = [nn.Linear, nn.BatchNorm1d, nn.Sigmoid]
    expected = [nn.Flatten, *linear_bn_sigmoid, *linear_bn_sigmoid, nn.Linear]
    assert [type(m) for m in full.layers] == expected
    count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    assert count(full) - count(bare) == 2 * (32 + 16)  # γ and β per unit
    assert full(torch.rand(4, 1, 28, 28)).shape == (4, 10)


def test_normalising_alone_keeps_a_sigmoid_in_its_near_linear_range():
    """The notes' argument, on the net itself: at γ = 1, β = 0 (where full BN starts and
    normalize-only stays) most sigmoid inputs lie within [−1, 1]; γ = 3 (a value full BN can
    learn) moves most of them out."""
    torch.manual_seed(0)
    net = MLPClassifier([1, 8, 8], 10, hidden=[64], norm="batchnorm").train()
    inputs = {}
    net.layers[3].register_forward_hook(lambda m, i, o: inputs.setdefault("x", i[0]))
    net(torch.rand(256, 1, 8, 8))
    assert (inputs.pop("x").abs() < 1).float().mean() > 0.6
    with torch.no_grad():
        net.layers[2].weight.fill_(3.0)
    net(torch.rand(256, 1, 8, 8))
    assert (inputs.pop("x").abs() < 1).float().mean() < 0.35


def test_bad_settings_are_one_line_errors():
    with pytest.raises(ValueError, match="activation='swish'"):
        MLPClassifier([1, 8, 8], 10, activation="swish")
    with pytest.raises(ValueError, match="norm='layer'"):
        MLPClassifier([1, 8, 8], 10, norm="layer")
    with pytest.raises(ValueError, match="built for 1×8×8 images, the data gives 3×8×8"):
        MLPClassifier([1, 8, 8], 10).check_input_shape((3, 8, 8))
