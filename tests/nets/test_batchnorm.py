"""NotesBatchNorm (the notes' four steps) against torch's BatchNorm: same numbers, same keys."""

import pytest
import torch
from torch import nn

from dlnotes.nets.batchnorm import NotesBatchNorm
from dlnotes.nets.nin import NIN
from dlnotes.nets.norm import NORMS, conv_bias, norm_layer

TOL = dict(atol=1e-5, rtol=1e-5)
CASES = [(nn.BatchNorm1d, (8, 5)), (nn.BatchNorm2d, (4, 5, 6, 7))]


def _pair(torch_cls, momentum):
    """Ours and torch's, with the same non-trivial γ and β."""
    ours, ref = NotesBatchNorm(5, momentum=momentum), torch_cls(5, momentum=momentum)
    with torch.no_grad():
        ref.weight.uniform_(0.5, 1.5)
        ref.bias.normal_()
    ours.load_state_dict(ref.state_dict())
    return ours, ref


@pytest.mark.parametrize("momentum", [0.1, 0.01])
@pytest.mark.parametrize("torch_cls,shape", CASES)
def test_matches_torch_batchnorm(torch_cls, shape, momentum):
    torch.manual_seed(0)
    ours, ref = _pair(torch_cls, momentum)
    for step in range(5):
        # shifted, scaled batches, so the running statistics move away from 0 and 1
        x = torch.randn(shape) * (1 + step) + step
        x_ours, x_ref = x.clone().requires_grad_(), x.clone().requires_grad_()
        y_ours, y_ref = ours(x_ours), ref(x_ref)
        torch.testing.assert_close(y_ours, y_ref, **TOL)

        upstream = torch.randn(shape)
        y_ours.backward(upstream)
        y_ref.backward(upstream)
        torch.testing.assert_close(x_ours.grad, x_ref.grad, **TOL)
        torch.testing.assert_close(ours.weight.grad, ref.weight.grad, **TOL)
        torch.testing.assert_close(ours.bias.grad, ref.bias.grad, **TOL)
        ours.zero_grad()
        ref.zero_grad()

    torch.testing.assert_close(ours.running_mean, ref.running_mean, **TOL)
    torch.testing.assert_close(ours.running_var, ref.running_var, **TOL)
    assert ours.num_batches_tracked.item() == ref.num_batches_tracked.item() == 5

    ours.eval()
    ref.eval()
    x = torch.randn(shape) * 3 + 1
    torch.testing.assert_close(ours(x), ref(x), **TOL)


def test_state_dict_keys_match_torch():
    ours, ref = NotesBatchNorm(5), nn.BatchNorm2d(5)
    assert list(ours.state_dict()) == list(ref.state_dict())
    ref.load_state_dict(ours.state_dict())  # and back: checkpoints interchange both ways


@pytest.mark.parametrize("shape", [(4,), (2, 5, 3), (2, 5, 3, 3, 3), (4, 6), (2, 6, 3, 3)])
def test_rejects_wrong_rank_or_channels(shape):
    with pytest.raises(ValueError):
        NotesBatchNorm(5)(torch.randn(shape))


def test_registered_in_norm():
    assert "notes_bn" in NORMS
    assert isinstance(norm_layer("notes_bn", 7), NotesBatchNorm)
    assert conv_bias("notes_bn") is False
    assert conv_bias("batchnorm") is False
    assert conv_bias("none") is True


def test_nin_with_notes_bn_loads_batchnorm_checkpoint():
    torch.manual_seed(0)
    ours = NIN(in_channels=1, num_classes=10, norm="notes_bn")
    x = torch.randn(2, 1, 32, 32)
    out = ours(x)
    assert out.shape == (2, 10)
    out.sum().backward()
    assert all(p.grad is not None for p in ours.parameters())

    ref = NIN(in_channels=1, num_classes=10, norm="batchnorm")
    ref.train()
    with torch.no_grad():
        ref(torch.randn(4, 1, 32, 32))  # non-trivial running statistics
    ours.load_state_dict(ref.state_dict())
    ours.eval()
    ref.eval()
    with torch.no_grad():
        torch.testing.assert_close(ours(x), ref(x), atol=1e-4, rtol=1e-4)


def test_normalize_only_is_steps_one_to_three_without_gamma_and_beta():
    layer = norm_layer("normalize_only", 4).train()
    assert not list(layer.parameters())  # no γ, β to learn
    x = torch.randn(8, 4, 5, 5) * 3 + 2
    y = layer(x)
    torch.testing.assert_close(y.mean((0, 2, 3)), torch.zeros(4), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.var((0, 2, 3), unbiased=False), torch.ones(4), atol=1e-3, rtol=0)
