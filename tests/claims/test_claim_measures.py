"""The measures the redesigned claims read: a network's cost (parameters, FLOPs, step time), a
discriminator's memorisation, a tuning run that stops at its threshold, and the 1×1 reduction."""

import pytest
import torch
from torch import nn

from dlnotes.claims.conv_cost import forward_flops, training_step_ms
from dlnotes.claims.discriminator_fit import memorisation
from dlnotes.claims.run import stop_once_reached
from dlnotes.data.torchvision_sets import MNISTDataModule
from dlnotes.nets.nin import NIN
from dlnotes.train import train
from helpers.compose import compose_config, composed_parts, fast_overrides


def test_forward_flops_count_a_convolution_as_the_formula_gives():
    conv = nn.Conv2d(8, 16, 3, padding=1, bias=False)
    images = torch.zeros(4, 8, 10, 10)
    # one multiply-add (2 FLOPs) per weight per output pixel
    assert forward_flops(conv, images) == 2 * 3 * 3 * 8 * 16 * 10 * 10


def test_a_1x1_reduction_cuts_parameters_flops_and_leaves_the_output():
    plain, reduced = NIN(1, 10, reduction=1), NIN(1, 10, reduction=4)
    images = torch.rand(2, 1, 28, 28)
    count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    assert count(reduced) < 0.5 * count(plain)
    # per image: block 2's 5×5 conv at 14×14 sees 24 of 96 channels after a 1×1 96→24;
    # block 3's 3×3 at 7×7 sees 48 of 192 after a 1×1 192→48 (a multiply-add is 2 FLOPs)
    block2 = 2 * 14 * 14 * (25 * 96 * 192 - (96 * 24 + 25 * 24 * 192))
    block3 = 2 * 7 * 7 * (9 * 192 * 192 - (192 * 48 + 9 * 48 * 192))
    saved = forward_flops(plain.eval(), images) - forward_flops(reduced.eval(), images)
    assert saved == block2 + block3
    assert reduced(images).shape == plain(images).shape == (2, 10)
    # the 1×1 conv comes first in blocks 2 and 3, to a quarter of their input channels
    assert [reduced.features[i][0][0].kernel_size for i in (3, 6)] == [(1, 1), (1, 1)]
    assert [reduced.features[i][0][0].out_channels for i in (3, 6)] == [24, 48]
    assert list(plain.state_dict()) == list(NIN(1, 10).state_dict())  # old checkpoints load
    with pytest.raises(ValueError, match="reduction=0"):
        NIN(1, 10, reduction=0)


def test_training_step_time_is_positive_and_grows_with_the_work():
    small, big = nn.Conv2d(8, 2, 3), nn.Conv2d(8, 1024, 3)  # 512 times the work
    images, labels = torch.rand(32, 8, 16, 16), torch.zeros(32, 14, 14, dtype=torch.long)
    small_ms, big_ms = (training_step_ms(m, images, labels) for m in (small, big))
    assert 0 < small_ms < big_ms


def test_memorisation_is_half_when_d_cannot_tell_and_one_when_it_always_can():
    torch.manual_seed(0)
    same = memorisation(torch.randn(2000), torch.randn(2000))
    assert same["fit/d_auc"] == pytest.approx(0.5, abs=0.03)
    apart = memorisation(torch.randn(100) + 10, torch.randn(100))
    assert apart["fit/d_auc"] == 1.0 and apart["fit/d_train"] > 0.99
    assert apart["fit/d_test"] == pytest.approx(0.5, abs=0.1)
    # where D's outputs sit does not matter, only their order: smoothing moves them, not this
    squeezed = memorisation(torch.randn(100) / 10 + 1, torch.randn(100) / 10)
    assert squeezed["fit/d_auc"] == pytest.approx(apart["fit/d_auc"], abs=0.01)


def test_a_tuning_run_stops_once_it_reaches_the_threshold(tmp_path):
    """Lightning's EarlyStopping on the threshold alone: a run past it at its first validation
    ends there; a final measure adds nothing."""
    measure = {"kind": "epochs_to", "metric": "val/acc", "threshold": 0.0}
    assert stop_once_reached({"kind": "final", "metric": "val/acc"}) == []
    overrides = fast_overrides(
        "model=nin",
        "data.image_size=8",
        "trainer.max_epochs=3",
        "+trainer.limit_train_batches=1",
        "+trainer.limit_val_batches=1",
        "test=false",
        *stop_once_reached(measure),
    )
    train(compose_config(overrides, tmp_path))
    last = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)
    assert last["epoch"] == 0  # stopped after its first epoch of 3


def test_a_train_limit_keeps_the_first_mnist_training_images(mnist_dir):
    full = MNISTDataModule(data_dir=mnist_dir, download=False)
    small = MNISTDataModule(data_dir=mnist_dir, download=False, train_limit=100)
    full.setup("fit")
    small.setup("fit")
    assert torch.equal(small.split("train")[0], full.split("train")[0][:100])
    for name in ("val", "test"):
        assert torch.equal(small.split(name)[1], full.split(name)[1])


def first_conv(overrides: list[str], tmp_path) -> torch.Tensor:
    _, model = composed_parts(["experiment=resnet50_notes", *overrides], tmp_path)
    return next(m for m in model.modules() if isinstance(m, nn.Conv2d)).weight.detach()


def test_the_notes_initialisation_is_drawn_by_the_seed_once_its_own_seed_is_unset(tmp_path):
    """resnet50_defaults varies the notes' Glorot initialisation over seeds (init_seed=null);
    as the notes write it (init_seed 0) every seed starts from the same weights."""
    fixed = [first_conv([f"seed={seed}"], tmp_path) for seed in (1, 2)]
    drawn = [first_conv([f"seed={seed}", "model.net.init_seed=null"], tmp_path) for seed in (1, 2)]
    assert torch.equal(*fixed) and not torch.equal(*drawn)
