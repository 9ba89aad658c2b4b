"""The VAE as the notes define it: KL, reparameterization, losses, pictures, and `train()`."""

import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from dlnotes.errors import ConfigError
from dlnotes.metrics.kl import kl_to_standard_normal, kl_to_standard_normal_from_log_var
from dlnotes.metrics.reconstruction import ReconstructionVsMean
from dlnotes.sample import sample
from dlnotes.tasks.vae import generation_loss, reparameterize
from dlnotes.train import train
from helpers.compose import compose_config, composed_parts, fast_overrides
from helpers.training import one_training_step


def test_latent_loss_equals_torch_distributions_kl():
    torch.manual_seed(0)
    mean, std = torch.randn(5, 16), torch.rand(5, 16) * 2 + 0.05
    expected = kl_divergence(Normal(mean, std), Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(kl_to_standard_normal(mean, std), expected)
    zero = kl_to_standard_normal(torch.zeros(1, 4), torch.ones(1, 4))
    assert zero.item() == 0.0  # the unit Gaussian itself costs nothing


def test_reparameterized_sample_has_the_right_moments_and_gradients():
    torch.manual_seed(0)
    mean = torch.tensor([1.5, -2.0], requires_grad=True)
    std = torch.tensor([0.5, 3.0], requires_grad=True)
    z = reparameterize(mean.expand(200_000, 2), std.expand(200_000, 2))
    torch.testing.assert_close(z.mean(0), mean.detach(), atol=0.02, rtol=0)
    torch.testing.assert_close(z.std(0), std.detach(), atol=0.02, rtol=0)
    z.sum().backward()
    assert mean.grad is not None and std.grad is not None
    torch.testing.assert_close(mean.grad, torch.full((2,), 200_000.0))
    assert std.grad.abs().min() > 0  # d z / d std = eps, summed: nonzero almost surely


def test_generation_losses_are_summed_over_pixels_per_image():
    torch.manual_seed(0)
    logits, images = torch.randn(3, 1, 4, 4), torch.rand(3, 1, 4, 4)
    mse = ((torch.sigmoid(logits) - images) ** 2).sum((1, 2, 3))
    torch.testing.assert_close(generation_loss(logits, images, "mse"), mse)
    p = torch.sigmoid(logits)
    bce = -(images * p.log() + (1 - images) * (1 - p).log()).sum((1, 2, 3))
    torch.testing.assert_close(generation_loss(logits, images, "bce"), bce)


def test_reconstruction_baseline_is_the_per_pixel_variance():
    torch.manual_seed(0)
    images = torch.rand(40, 1, 5, 5)
    metric = ReconstructionVsMean((1, 5, 5))
    for chunk in images.split(16):  # accumulated over batches
        metric.update(torch.zeros_like(chunk), chunk)
    values = metric.compute()
    mean_image = images.mean(0, keepdim=True)
    baseline = ((images - mean_image) ** 2).mean()
    assert values["baseline_mse"].item() == pytest.approx(baseline.item(), rel=1e-5)
    assert values["recon_mse"].item() == pytest.approx((images**2).mean().item(), rel=1e-5)


def run(tmp_path, *overrides):
    cfg = compose_config(fast_overrides(*overrides), tmp_path)
    return cfg, train(cfg)


@pytest.mark.parametrize("model", ["vae", "vae_mlp"])
def test_train_fast_dev_run(model, tmp_path):
    _, (monitored, objects) = run(tmp_path, f"model={model}", "debug=fdr")
    metrics = objects["metrics"]
    assert {"val/loss", "val/latent_loss", "val/generation_loss", "test/recon_ratio"} <= set(
        metrics
    )
    samples = objects["model"].sample(5)
    assert samples.shape == (5, 1, 32, 32) and samples.min() >= 0 and samples.max() <= 1


def test_pictures_and_elbo_with_bce_and_a_2d_latent(tmp_path):
    overrides = ["model=vae", "debug=limit", "logger=csv", "model.latent_dim=2"]
    cfg, (monitored, objects) = run(tmp_path, *overrides, "model.reconstruction=bce")
    for key in ("val_samples", "val_reconstructions", "val_latent_manifold"):
        assert len(list((tmp_path / "images").glob(f"{key}_*.png"))) == 2  # one per epoch
    header = (tmp_path / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"val/neg_elbo", "train/neg_elbo_step", "val/recon_ratio"} <= set(header)
    assert monitored == pytest.approx(
        float(objects["trainer"].checkpoint_callback.best_model_score)
    )
    assert math.isfinite(monitored)


def test_image_size_the_conv_nets_cannot_take(tmp_path):
    cfg = compose_config(fast_overrides("model=vae", "debug=fdr", "data.image_size=30"), tmp_path)
    with pytest.raises(ConfigError, match="divisible by 4"):
        train(cfg)


def test_sample_writes_a_png_grid_and_a_tensor(tmp_path):
    run(tmp_path / "train", "model=vae", "debug=limit")
    ckpt = tmp_path / "train" / "checkpoints" / "last.ckpt"
    cfg = compose_config([f"ckpt_path={ckpt}", "num_samples=12"], tmp_path, config_name="sample")
    paths = sample(cfg)
    images = torch.load(paths["tensor"], weights_only=True)
    assert images.shape == (12, 1, 32, 32) and images.min() >= 0 and images.max() <= 1
    assert paths["png"].stat().st_size > 0
    again = torch.load(sample(cfg)["tensor"], weights_only=True)
    torch.testing.assert_close(again, images)  # the seed fixes the samples


def test_sample_refuses_a_classifier(tmp_path):
    run(tmp_path / "train", "model=nin", "debug=limit", "model.net.norm=none")
    ckpt = tmp_path / "train" / "checkpoints" / "last.ckpt"
    cfg = compose_config([f"ckpt_path={ckpt}"], tmp_path, config_name="sample")
    with pytest.raises(ConfigError, match="does not generate images"):
        sample(cfg)


def test_eval_reproduces_the_test_numbers_of_the_best_checkpoint(tmp_path):
    from dlnotes.evaluate import evaluate

    _, (_, objects) = run(tmp_path / "train", "model=vae", "debug=limit")
    best = objects["trainer"].checkpoint_callback.best_model_path
    overrides = ["trainer=cpu", "logger=none", "callbacks=none", f"ckpt_path={best}"]
    overrides += ["data.batch_size=8", "+trainer.limit_test_batches=2"]
    results = evaluate(compose_config(overrides, tmp_path, config_name="eval"))
    for key in ("test/recon_ratio", "test/latent_loss"):
        assert results[key] == pytest.approx(objects["metrics"][key], rel=1e-5)


@pytest.mark.parametrize("beta", [0.0, 1.0, 4.0])
def test_task_step_optimizes_generation_plus_beta_latent(beta, tmp_path):
    """Through a real training step: the loss the task returns (and backpropagates) is
    generation + β·latent of that very step, whatever β the config gives."""
    datamodule, model = composed_parts(["model=vae", f"model.beta={beta}"], tmp_path)
    logged, step = one_training_step(model, datamodule, tmp_path)
    loss = float(step.outputs[0]["loss"])
    generation, latent = logged["train/generation_loss_step"], logged["train/latent_loss_step"]
    assert latent > 1e-3  # 100× the tolerance below: a dropped or fixed β shows
    assert loss == pytest.approx(logged["train/loss_step"], rel=1e-6)
    assert loss == pytest.approx(generation + beta * latent, rel=1e-6), (
        f"loss {loss} is not generation {generation} + {beta} × latent {latent}"
    )


def test_the_notes_literal_generation_loss_is_the_mean_over_pixels_not_the_sum(tmp_path):
    """model.generation_over_pixels=mean: generation_loss = mean(square(generated − real)) per
    image, as the notes write it, while the latent loss stays summed over dimensions."""
    logits, images = torch.randn(3, 1, 4, 5), torch.rand(3, 1, 4, 5)
    summed = generation_loss(logits, images, "mse")
    mean = generation_loss(logits, images, "mse", over_pixels="mean")
    by_hand = (torch.sigmoid(logits) - images).square().mean(dim=(1, 2, 3))
    torch.testing.assert_close(mean, by_hand)
    torch.testing.assert_close(summed, by_hand * 20)
    overrides = ["model=vae", "model.generation_over_pixels=mean"]
    datamodule, model = composed_parts(overrides, tmp_path)
    logged, step = one_training_step(model, datamodule, tmp_path)
    generation, latent = logged["train/generation_loss_step"], logged["train/latent_loss_step"]
    assert generation < 1  # a mean of squared errors of pixels in [0, 1]
    assert float(step.outputs[0]["loss"]) == pytest.approx(generation + latent, rel=1e-6)


def test_latent_loss_from_the_log_variance_stays_finite_at_any_log_variance():
    """Through σ = exp(½ log σ²), σ² underflows to 0 below log σ² ≈ −103 (float32) and the loss
    becomes inf; from log σ² directly it is ½(μ² + σ² − log σ² − 1), finite, with finite
    gradients."""
    z_mean = torch.tensor([[0.5, -1.0, 0.0]])
    moderate = torch.tensor([[-2.0, 0.0, 1.5]])
    expected = kl_to_standard_normal(z_mean, torch.exp(0.5 * moderate))
    torch.testing.assert_close(kl_to_standard_normal_from_log_var(z_mean, moderate), expected)
    extreme = torch.tensor([[-150.0, -110.0, 60.0]], requires_grad=True)
    assert torch.isinf(kl_to_standard_normal(z_mean, torch.exp(0.5 * extreme.detach())))
    loss = kl_to_standard_normal_from_log_var(z_mean, extreme)
    hand = 0.5 * (0.25 + 150 - 1) + 0.5 * (1 + 110 - 1) + 0.5 * (math.exp(60) - 60 - 1)
    assert loss.item() == pytest.approx(hand, rel=1e-6)
    loss.sum().backward()
    assert torch.isfinite(extreme.grad).all()


def test_task_step_is_finite_at_beta_zero_when_the_log_variance_underflows(tmp_path):
    """The encoder's log σ² forced to −150: the step's losses stay finite (β = 0 used to give
    0 × inf = NaN)."""
    datamodule, model = composed_parts(["model=vae", "model.beta=0"], tmp_path)
    model.encoder.register_forward_hook(
        lambda module, inputs, output: (output[0], torch.full_like(output[1], -150.0))
    )
    logged, step = one_training_step(model, datamodule, tmp_path)
    assert math.isfinite(float(step.outputs[0]["loss"]))
    assert (
        math.isfinite(logged["train/latent_loss_step"]) and logged["train/latent_loss_step"] > 1000
    )
