"""Network in Network: the paper's parameter count, shapes, and the class-map ReLU choice."""

import torch

from dlnotes.nets.nin import NIN


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_paper_network_has_966986_parameters():
    assert count(NIN(3, 10, norm="none", class_relu=True)) == 966_986
    assert count(NIN(3, 10, norm="none")) == 966_986  # the ReLU it drops has no parameters


def test_batchnorm_replaces_conv_bias_with_shift_and_scale():
    convs = [m for m in NIN(3, 10).modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(conv.bias is None for conv in convs)
    bns = [m for m in NIN(3, 10).modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(bns) == len(convs) == 9


def test_global_average_pooling_gives_one_score_per_class_for_any_size():
    net = NIN(1, 7).eval()
    for size in (8, 28, 32, 64):
        assert net(torch.rand(2, 1, size, size)).shape == (2, 7)


def test_class_maps_can_go_negative_without_class_relu():
    torch.manual_seed(0)
    x = torch.randn(4, 3, 32, 32)
    with_relu = NIN(3, 10, norm="none", class_relu=True).eval()
    without = NIN(3, 10, norm="none").eval()
    without.load_state_dict(with_relu.state_dict())
    assert (with_relu(x) >= 0).all()
    assert (without(x) < 0).any()
