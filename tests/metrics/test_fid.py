"""Domain FID: the nets' `embed`, and FID on a NIN trained here on the bundled 8×8 digits."""

import pytest
import torch

from dlnotes.errors import ConfigError
from dlnotes.metrics.fid import DomainFeatures, domain_fid, load_domain_features
from dlnotes.nets.nin import NIN
from dlnotes.nets.resnet import ResNet50
from dlnotes.train import train
from helpers.compose import compose_config, fast_overrides

# --- the nets' penultimate features ---------------------------------------------------------


def test_nin_embed_is_what_the_class_conv_averages():
    torch.manual_seed(0)
    net = NIN(1, 10, norm="none").eval()  # with BN the untrained logits are ~1e-4: too small
    x = torch.rand(3, 1, 16, 16)
    with torch.no_grad():
        features = net.embed(x)
        assert features.shape == (3, net.embed_dim) == (3, 192)
        # the class conv is affine per pixel, so it commutes with the global average
        logits = net.class_conv(features[:, :, None, None]).flatten(1)
        torch.testing.assert_close(logits, net(x))


def test_nin_state_dict_keys_are_unchanged_by_embed():
    net = NIN(3, 10)
    assert net.class_conv[0].weight is net.state_dict(keep_vars=True)["features.6.2.0.weight"]
    assert len(net.state_dict()) == 54


def test_resnet_fc_of_embed_is_the_forward_pass():
    torch.manual_seed(0)
    net = ResNet50(in_channels=1, num_classes=10).eval()
    x = torch.rand(2, 1, 32, 32)
    with torch.no_grad():
        features = net.embed(x)
        assert features.shape == (2, net.embed_dim) == (2, 2048)
        torch.testing.assert_close(net.fc(features), net(x))


# --- a trained feature classifier -----------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The fid_features experiment shrunk: the digits at their native 8×8, one epoch, no test.

    40 steps, ~92% validation accuracy: enough for noise to stand 100× farther than held-out
    digits. 32×32 costs ~16× more per step.
    """
    out = tmp_path_factory.mktemp("fid_features")
    overrides = [
        "experiment=fid_features_digits",
        "data.image_size=8",
        "data.batch_size=32",
        "trainer.max_epochs=1",
        "trainer.precision=32-true",
        "test=false",
    ]
    _, objects = train(compose_config(fast_overrides(*overrides), out))
    return out / "checkpoints" / "last.ckpt", objects["datamodule"]


@pytest.fixture(scope="module")
def fids(trained):
    """FID of the train split (real, computed once) against several fake sets."""
    ckpt, datamodule = trained
    real = datamodule.split("train")[0]
    metric = domain_fid(str(ckpt))
    metric.update(real, real=True)
    torch.manual_seed(0)
    fakes = {
        "itself": real,
        "test split": datamodule.split("test")[0],
        "uniform noise": torch.rand_like(real),
    }
    values = {}
    for name, fake in fakes.items():
        metric.reset()  # keeps the real features (reset_real_features=False)
        metric.update(fake, real=False)
        values[name] = metric.compute()
    features = metric.inception(real)
    values["trace"] = torch.cov(features.T).trace()
    return values


def test_real_against_itself_is_zero_to_rounding(fids):
    # FID = tr(Σ1 + Σ2) − 2 Σ sqrt(eigvals(Σ1 Σ2)) in float64. The eigenvalues of Σ·Σ come with
    # an error of ~eps·λmax², so the square root of a tiny one is off by up to sqrt(eps)·λmax
    # (1.5e-8·λmax); 192 of them give at most ~3e-6·tr(Σ). Measured: 4e-11 (tr(Σ) ≈ 26).
    # Bound 1e-5·tr(Σ) (≈ 3e-4): above the worst case, far below the test split's 0.24.
    assert abs(float(fids["itself"])) < 1e-5 * float(fids["trace"])
    assert fids["itself"].dtype == torch.float64


def test_held_out_real_split_is_small_but_not_zero(fids):
    assert 1e-3 < float(fids["test split"]) < 0.05 * float(fids["trace"])  # measured 0.24


def test_uniform_noise_is_far_from_real(fids):
    assert float(fids["uniform noise"]) > 10 * float(fids["test split"])  # measured 25 vs 0.24


def test_extractor_refuses_images_of_another_shape(trained):
    extractor = load_domain_features(str(trained[0]))
    with pytest.raises(ValueError, match=r"trained on 1×8×8 images, got 1×32×32"):
        extractor(torch.rand(2, 1, 32, 32))
    with pytest.raises(ValueError, match=r"1×8×8 images, got 3×8×8"):
        domain_fid(str(trained[0])).update(torch.rand(2, 3, 8, 8), real=True)
    with pytest.raises(ValueError, match="float images"):
        extractor(torch.zeros(2, 1, 8, 8, dtype=torch.uint8))


def test_num_features_is_the_embed_width(trained):
    extractor = load_domain_features(str(trained[0]))
    assert isinstance(extractor, DomainFeatures)
    features = extractor(torch.rand(5, 1, 8, 8))
    assert features.shape == (5, extractor.num_features) == (5, extractor.net.embed_dim)
    assert features.dtype == torch.float64


def test_extractor_is_frozen_and_stays_in_eval_mode(trained):
    metric = domain_fid(str(trained[0]))
    extractor = metric.inception
    assert not any(p.requires_grad for p in extractor.parameters())
    metric.train()  # what Lightning does to a LightningModule's children each epoch
    assert not any(m.training for m in extractor.modules())
    images = torch.rand(4, 1, 8, 8, requires_grad=True)
    assert not extractor(images).requires_grad


def test_features_ignore_autocast_and_a_bf16_cast(trained):
    extractor = load_domain_features(str(trained[0]))
    images = torch.rand(4, 1, 8, 8)
    expected = extractor(images)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # what trainer.precision=bf16-mixed does
        torch.testing.assert_close(extractor(images), expected, rtol=0, atol=0)
    extractor.bfloat16()  # what bf16-true does to every submodule; weights come back as float32
    features = extractor(images.bfloat16())
    assert features.dtype == torch.float64
    torch.testing.assert_close(features, expected, rtol=0.05, atol=0.05)


def test_checkpoint_without_saved_config_is_refused(tmp_path):
    ckpt = tmp_path / "bare.ckpt"
    torch.save({"state_dict": NIN(1, 10).state_dict()}, ckpt)
    with pytest.raises(ConfigError, match="no saved config"):
        load_domain_features(str(ckpt))


def test_net_without_embed_is_refused(tmp_path, trained):
    checkpoint = torch.load(trained[0], weights_only=True)
    checkpoint["dlnotes_config"]["model"]["net"] = {"_target_": "torch.nn.Identity"}
    ckpt = tmp_path / "identity.ckpt"
    torch.save(checkpoint, ckpt)
    with pytest.raises(ConfigError, match=r"torch\.nn\.Identity, which has no embed\(\)"):
        load_domain_features(str(ckpt))
