"""What DDP on GPUs needs from the models, checked on the CPU: gradients in their parameters'
strides under channels_last (DDP's "Grad strides do not match bucket view strides"), batches
with real NHWC strides, and trainer.sync_batchnorm refusing the notes' BN in one line."""

import warnings

import pytest
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from dlnotes.config.validate import validate_config
from dlnotes.errors import ConfigError
from dlnotes.nets.memory_format import channels_last_batch, nhwc_strides, to_channels_last
from dlnotes.nets.nin import NIN
from dlnotes.train import train
from helpers.compose import compose_config, composed_parts, fast_overrides

STRIDE_WARNING = "Grad strides do not match bucket view strides"


def test_one_channel_batches_get_nhwc_strides_without_a_copy():
    gray = torch.rand(4, 1, 28, 28)
    # torch keeps NCHW strides: the memory order is the same, so it counts as channels_last
    assert gray.contiguous(memory_format=torch.channels_last).stride() == (784, 784, 28, 1)
    nhwc = channels_last_batch(gray)
    assert nhwc.stride() == (784, 1, 28, 1) == nhwc_strides(gray.shape)
    assert nhwc.data_ptr() == gray.data_ptr() and torch.equal(nhwc, gray)
    color = torch.rand(4, 3, 8, 8)  # a real NCHW batch is copied into NHWC
    assert channels_last_batch(color).stride() == (192, 1, 24, 3)
    assert torch.equal(channels_last_batch(color), color)


def test_the_classifier_gives_its_net_nhwc_batches(tmp_path):
    datamodule, model = composed_parts(["data.image_size=28"], tmp_path)
    seen = []
    model.net.register_forward_pre_hook(lambda module, args: seen.append(args[0].stride()))
    images, _ = datamodule.split("train")
    model(images[:4].float())  # the digits: 1 channel
    assert seen == [nhwc_strides(torch.Size([4, 1, 28, 28]))]


class NCHWGradient(torch.autograd.Function):
    """The identity, whose backward hands the gradient on with NCHW strides: what cuDNN does
    to a channels_last 1×1 conv weight when the activations it sees are NCHW."""

    @staticmethod
    def forward(ctx, weight):
        return weight.view_as(weight)

    @staticmethod
    def backward(ctx, grad):
        return torch.empty(grad.shape).copy_(grad)  # NCHW strides, same values


class OneByOne(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(8, 4, 1, 1))
        self.bias = nn.Parameter(torch.zeros(8))

    def forward(self, x):
        return F.conv2d(x, NCHWGradient.apply(self.weight), self.bias)


def backward_under_ddp(module: nn.Module) -> list[str]:
    """One DDP backward (one gloo rank); the warnings it raised."""
    ddp = nn.parallel.DistributedDataParallel(module)
    x = torch.randn(2, 4, 5, 5).contiguous(memory_format=torch.channels_last)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ddp(x).square().sum().backward()
    return [str(w.message) for w in caught]


def test_ddp_gets_gradients_in_their_parameters_strides(tmp_path):
    dist.init_process_group("gloo", init_method=f"file://{tmp_path}/store", rank=0, world_size=1)
    try:
        torch.manual_seed(0)
        ours = to_channels_last(OneByOne())
        assert ours.weight.stride() == (4, 1, 4, 4)  # NHWC strides for a 1×1 weight
        caught = backward_under_ddp(ours)
        assert not any(STRIDE_WARNING in message for message in caught), caught
        assert ours.weight.grad.stride() == ours.weight.stride()
        # a plain `.to(memory_format=...)`: the same gradient makes DDP warn (PyTorch warns once
        # per process, so this comes second: had it fired before, this would fail, not pass)
        plain = OneByOne().to(memory_format=torch.channels_last)
        assert any(STRIDE_WARNING in message for message in backward_under_ddp(plain))
        assert plain.weight.grad.stride() != plain.weight.stride()
    finally:
        dist.destroy_process_group()


def test_restrided_gradients_keep_their_values():
    torch.manual_seed(0)
    ours = to_channels_last(OneByOne())
    reference = OneByOne().to(memory_format=torch.channels_last)  # the same maths, no hooks
    reference.load_state_dict(ours.state_dict())
    x = torch.randn(2, 4, 5, 5)
    for module in (ours, reference):
        module(x).square().sum().backward()
    assert ours.weight.grad.stride() == ours.weight.stride() != reference.weight.grad.stride()
    assert torch.equal(ours.weight.grad, reference.weight.grad)


@pytest.mark.parametrize("model", ["nin", "resnet50"])
def test_sync_batchnorm_refuses_the_notes_bn_in_one_line(tmp_path, model):
    # SyncBatchNorm converts torch's BatchNorm only: the notes' BN would stay per GPU
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(NIN(1, 10, norm="notes_bn"))
    assert not any(isinstance(m, nn.SyncBatchNorm) for m in converted.modules())
    cfg = compose_config([f"model={model}", "trainer=ddp", "model.net.norm=notes_bn"], tmp_path)
    with pytest.raises(ConfigError) as refused:
        validate_config(cfg)
    message = str(refused.value)
    assert "\n" not in message and "use model.net.norm=batchnorm" in message
    for accepted in (
        ["trainer=ddp"],
        ["trainer=ddp", "model.net.norm=notes_bn", "trainer.sync_batchnorm=false"],
    ):
        validate_config(compose_config([f"model={model}", *accepted], tmp_path))


def test_train_py_refuses_it_before_building_anything(tmp_path):
    overrides = fast_overrides("model.net.norm=notes_bn", "+trainer.sync_batchnorm=true")
    with pytest.raises(ConfigError, match="^trainer.sync_batchnorm=true cannot synchronize"):
        train(compose_config(overrides, tmp_path))
    assert not (tmp_path / "checkpoints").exists()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("shape", [[1, 28, 28], [3, 32, 32]])
def test_on_a_gpu_every_gradient_has_its_parameters_strides(tmp_path, shape):
    overrides = [
        "model=resnet50",
        "data=synthetic",
        f"data.image_shape=[{','.join(map(str, shape))}]",
        "data.num_classes=10",
        "data.train_size=8",
    ]
    datamodule, model = composed_parts(overrides, tmp_path)
    model = model.cuda()
    images, labels = (t[:8].cuda() for t in datamodule.split("train"))
    with torch.autocast("cuda", dtype=torch.bfloat16):
        F.cross_entropy(model(images.float() / 255), labels).backward()
    mismatched = [n for n, p in model.net.named_parameters() if p.grad.stride() != p.stride()]
    assert mismatched == []
