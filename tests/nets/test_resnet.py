"""ResNet50 of the notes: sizes, names, shape checks, and equivalence with torchvision's."""

import pytest
import torch
import torchvision

from dlnotes.nets.resnet import (
    ConvBlock,
    IdentityBlock,
    ResNet50,
    load_torchvision_state_dict,
    stage5_size,
    torchvision_key_to_ours,
)

TORCHVISION_RESNET50_PARAMS = 25_557_032
KERAS_SUMMARY_PARAMS = 23_600_006  # the course's model.summary() for 64×64×3 input, 6 classes


def count_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.fixture(scope="module")
def torchvision_resnet50() -> torch.nn.Module:
    torch.manual_seed(0)
    return torchvision.models.resnet50(weights=None).eval()


# --- parameter counts -----------------------------------------------------------------------


def test_torchvision_param_count_is_known(torchvision_resnet50):
    assert count_params(torchvision_resnet50) == TORCHVISION_RESNET50_PARAMS


@pytest.mark.parametrize("variant", ["notes", "torchvision"])
def test_param_count_matches_torchvision(variant):
    assert count_params(ResNet50(variant=variant)) == TORCHVISION_RESNET50_PARAMS


def test_param_count_matches_course_summary():
    model = ResNet50(num_classes=6, pool="avg2x2", variant="notes")
    # torch: no conv biases (BN follows), BN's running stats are buffers, not parameters
    assert count_params(model) == 23_520_326
    # Keras: every conv has a bias, and BN's moving mean/variance count as (non-trainable) params
    conv_biases = sum(m.out_channels for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    bn_moving_stats = sum(
        m.running_mean.numel() + m.running_var.numel()
        for m in model.modules()
        if isinstance(m, torch.nn.BatchNorm2d)
    )
    assert count_params(model) + conv_biases + bn_moving_stats == KERAS_SUMMARY_PARAMS


# --- output shapes --------------------------------------------------------------------------


def test_notes_net_on_64x64_signs():
    model = ResNet50(num_classes=6, pool="avg2x2").eval()
    with torch.no_grad():
        assert model(torch.randn(2, 3, 64, 64)).shape == (2, 6)


def test_global_pool_on_small_grayscale():
    model = ResNet50(in_channels=1, num_classes=10).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 1, 32, 32)).shape == (2, 10)


def test_norm_none_has_no_batchnorm_and_conv_biases():
    model = ResNet50(in_channels=1, num_classes=10, norm="none")
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    assert model.conv1.bias is not None
    assert model.stage2[0].main_path.res2a_branch2a.bias is not None
    model.train()
    out = model(torch.randn(2, 1, 32, 32))
    assert out.shape == (2, 10)
    out.sum().backward()
    assert model.conv1.weight.grad is not None


def test_bad_pool_and_variant_are_rejected():
    with pytest.raises(ValueError, match="global, avg2x2"):
        ResNet50(pool="max")
    with pytest.raises(ValueError, match="notes, torchvision"):
        ResNet50(variant="v2")


# --- equivalence with torchvision -----------------------------------------------------------


def randomize_batchnorms(model: torch.nn.Module, generator: torch.Generator) -> None:
    """Every BN's γ, β, running mean and variance drawn at random (not 1, 0, 0, 1): a BN
    whose parameters or statistics went to the wrong layer can no longer pass unnoticed."""
    with torch.no_grad():
        for bn in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)):
            n = bn.num_features
            bn.weight.copy_(torch.rand(n, generator=generator) * 1.5 + 0.25)
            bn.bias.copy_(torch.randn(n, generator=generator) * 0.5)
            bn.running_mean.copy_(torch.randn(n, generator=generator) * 0.5)
            bn.running_var.copy_(torch.rand(n, generator=generator) * 1.5 + 0.25)


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_torchvision_variant_is_torchvision_resnet50_bit_for_bit(mode):
    """Outputs bitwise equal in eval mode (running statistics) and in train mode (batch
    statistics), and in train mode the updated running statistics too."""
    generator = torch.Generator().manual_seed(0)
    reference = torchvision.models.resnet50(weights=None)
    randomize_batchnorms(reference, generator)
    model = ResNet50(variant="torchvision")
    load_torchvision_state_dict(model, reference.state_dict())
    reference.train(mode == "train")
    model.train(mode == "train")
    x = torch.randn(4, 3, 64, 64, generator=generator)
    with torch.no_grad():
        assert torch.equal(model(x), reference(x))
    ours = model.state_dict()
    for key, value in reference.state_dict().items():
        assert torch.equal(ours[torchvision_key_to_ours(key)], value), key


def test_loading_torchvision_weights_into_notes_variant_is_rejected(torchvision_resnet50):
    with pytest.raises(ValueError, match="variant"):
        load_torchvision_state_dict(ResNet50(variant="notes"), torchvision_resnet50.state_dict())


def test_conv_block_stride_placement():
    notes = ResNet50(variant="notes")
    assert notes.stage3[0].main_path.res3a_branch2a.stride == (2, 2)
    assert notes.stage3[0].main_path.res3a_branch2b.stride == (1, 1)
    torchvision_like = ResNet50(variant="torchvision")
    assert torchvision_like.stage3[0].main_path.res3a_branch2a.stride == (1, 1)
    assert torchvision_like.stage3[0].main_path.res3a_branch2b.stride == (2, 2)
    assert notes.stage3[0].shortcut.res3a_branch1.stride == (2, 2)


# --- Keras names and structure --------------------------------------------------------------


def test_keras_layer_names():
    model = ResNet50()
    names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    expected = {
        "conv1",
        "bn_conv1",
        "res2a_branch2a",
        "bn2a_branch1",
        "res3a_branch1",
        "bn4f_branch2c",
        "res5c_branch2c",
        "avg_pool",
        "fc",
    }
    assert expected <= names
    assert "res4g_branch2a" not in names  # stage 4 stops at block f


def test_blocks_per_stage():
    model = ResNet50()
    stages = [model.stage2, model.stage3, model.stage4, model.stage5]
    assert [sum(isinstance(b, IdentityBlock) for b in s) for s in stages] == [2, 3, 5, 2]
    assert all(isinstance(s[0], ConvBlock) for s in stages)


# --- check_input_shape ----------------------------------------------------------------------


def test_avg2x2_rejects_32x32_with_a_clear_message():
    model = ResNet50(in_channels=1, num_classes=10, pool="avg2x2")
    with pytest.raises(ValueError) as error:
        model.check_input_shape((1, 32, 32))
    message = str(error.value)
    assert "1×32×32" in message
    assert "64" in message
    assert "\n" not in message


def test_avg2x2_accepts_64x64():
    ResNet50(num_classes=6, pool="avg2x2").check_input_shape((3, 64, 64))


def test_global_pool_accepts_32x32():
    ResNet50(in_channels=1, num_classes=10).check_input_shape((1, 32, 32))


def test_channel_mismatch_is_rejected():
    with pytest.raises(ValueError, match="1×32×32"):
        ResNet50(in_channels=3).check_input_shape((1, 32, 32))


def test_too_small_input_is_rejected():
    with pytest.raises(ValueError, match="too small"):
        ResNet50(variant="notes").check_input_shape((3, 4, 4))


@pytest.mark.parametrize("variant", ["notes", "torchvision"])
def test_stage5_arithmetic_matches_a_forward_pass(variant):
    model = ResNet50(in_channels=1, num_classes=2, variant=variant, norm="none").eval()
    for size in (5, 32, 64, 96, 100):
        with torch.no_grad():
            feature_map = model.features(torch.zeros(1, 1, size, size))
        assert feature_map.shape[-2:] == (stage5_size(size, variant),) * 2, size


@pytest.mark.parametrize("variant", ["notes", "torchvision"])
def test_check_input_shape_agrees_with_a_forward_pass_for_avg2x2(variant):
    model = ResNet50(in_channels=1, num_classes=2, pool="avg2x2", variant=variant).eval()
    for size in (32, 64, 96, 128):
        x = torch.zeros(1, 1, size, size)
        try:
            model.check_input_shape((1, size, size))
        except ValueError:
            with pytest.raises(RuntimeError), torch.no_grad():
                model(x)
        else:
            with torch.no_grad():
                assert model(x).shape == (1, 2)


def test_zero_init_residual_makes_every_block_start_as_identity_plus_relu():
    torch.manual_seed(0)
    net = ResNet50(in_channels=3, num_classes=10, zero_init_residual=True).eval()
    branch2c = [m for n, m in net.named_modules() if n.endswith("_branch2c") and "bn" in n]
    assert len(branch2c) == 16 and all((bn.weight == 0).all() for bn in branch2c)
    x = torch.rand(2, 256, 8, 8)
    identity_block = net.stage2[1]
    torch.testing.assert_close(identity_block(x), torch.relu(x))


# --- the notes' own build ---------------------------------------------------------------------


def test_both_readings_of_the_notes_stage5_filters():
    """[512, 512, 2048] (default: the course's summary) vs the notes' written [256, 256, 2048]
    for stage 5's identity blocks: 23,520,326 vs 17,882,182 parameters at 64×64, 6 classes
    (each identity block: 2048·512 + 9·512² + 512·2048 weights against 2048·256 + 9·256² +
    256·2048, and 2·(512 + 512) against 2·(256 + 256) BN parameters)."""
    default = ResNet50(num_classes=6, pool="avg2x2")
    written = ResNet50(num_classes=6, pool="avg2x2", stage5_identity_filters=[256, 256, 2048])
    assert count_params(default) == 23_520_326
    per_block = (2048 * 512 + 9 * 512**2 + 512 * 2048 + 4 * 512) - (
        2048 * 256 + 9 * 256**2 + 256 * 2048 + 4 * 256
    )
    assert count_params(written) == 23_520_326 - 2 * per_block == 17_882_182
    assert written.stage5[1].main_path.res5b_branch2a.out_channels == 256
    assert written(torch.zeros(2, 3, 64, 64)).shape == (2, 6)


def test_glorot_uniform_init_is_seeded_and_bounded():
    a = ResNet50(num_classes=6, init="glorot_uniform", init_seed=0)
    b = ResNet50(num_classes=6, init="glorot_uniform", init_seed=0)
    assert torch.equal(a.conv1.weight, b.conv1.weight) and torch.equal(a.fc.weight, b.fc.weight)
    fan_in, fan_out = 3 * 7 * 7, 64 * 7 * 7
    bound = (6 / (fan_in + fan_out)) ** 0.5  # Glorot & Bengio 2010
    assert a.conv1.weight.abs().max() <= bound and a.conv1.weight.abs().max() > 0.9 * bound
    assert not torch.equal(
        a.conv1.weight, ResNet50(init="glorot_uniform", init_seed=1).conv1.weight
    )


def test_notes_experiment_composes_for_six_digit_classes(tmp_path):
    from helpers.compose import compose_config, composed_parts

    cfg = compose_config(["experiment=resnet50_notes"], tmp_path)
    assert cfg.model.net.pool == "avg2x2" and cfg.model.net.init == "glorot_uniform"
    datamodule, model = composed_parts(["experiment=resnet50_notes"], tmp_path)
    images, labels = datamodule.split("train")
    assert images.shape[1:] == (1, 64, 64) and set(labels.tolist()) == set(range(6))
    assert model(images[:2]).shape == (2, 6)
