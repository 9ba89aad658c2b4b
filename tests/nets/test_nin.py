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


def test_linear_one_by_one_keeps_the_weights_and_drops_only_the_relus_after_1x1_convs():
    torch.manual_seed(0)
    mlpconv, linear = NIN(3, 10).eval(), NIN(3, 10, one_by_one="linear").eval()
    linear.load_state_dict(mlpconv.state_dict())  # same layers, same names
    relus = [sum(isinstance(m, torch.nn.ReLU) for m in net.modules()) for net in (mlpconv, linear)]
    assert relus == [8, 3]  # 3 k×k convs keep theirs; the 5 ReLUs after 1×1 convs go
    x = torch.randn(2, 3, 32, 32)
    assert not torch.allclose(mlpconv(x), linear(x))
    # without ReLUs, each block's 1×1 stack is one linear map of the channels: with BN in eval
    # mode as affine maps, block 1 equals its k×k ReLU output through a single affine map
    block = linear.features[0]
    after_kxk = block[0](x)
    flat = after_kxk.permute(0, 2, 3, 1).reshape(-1, after_kxk.shape[1])
    out = block(x).permute(0, 2, 3, 1).reshape(-1, 96)
    design = torch.cat([flat, torch.ones(len(flat), 1)], 1)
    solution = torch.linalg.lstsq(design, out).solution
    assert torch.allclose(design @ solution, out, atol=1e-4)


def test_without_one_by_one_convs_each_block_is_its_kxk_conv_to_the_same_width():
    net = NIN(3, 10, one_by_one="none")
    kernels = [m.kernel_size for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert kernels == [(5, 5), (5, 5), (3, 3)]
    assert net(torch.rand(2, 3, 32, 32)).shape == (2, 10)
    assert count(net) < count(NIN(3, 10)) / 1.9  # 481,076 vs 958,804
