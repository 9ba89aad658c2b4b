"""The GAN: the notebook's losses against hand formulas, the nets' shapes, the two-optimizer step
(each optimizer moves only its own net; D learns on detached fakes), gradient clipping under
manual optimization, and `train()` end to end with samples, metrics and FID."""

import math
from functools import partial

import lightning as L
import pytest
import torch
import torch.nn.functional as F
from lightning.fabric.utilities.exceptions import MisconfigurationException
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torchmetrics.image.fid import FrechetInceptionDistance

from dlnotes.checkpoints.load import model_from_checkpoint
from dlnotes.errors import ConfigError
from dlnotes.nets.dcgan import Discriminator, Generator, upsampling_plan
from dlnotes.nets.mlp_gan import MLPDiscriminator, MLPGenerator
from dlnotes.tasks.gan import GANTask
from dlnotes.tasks.gan_losses import discriminator_loss, generator_loss
from dlnotes.train import train
from helpers.compose import compose_config, composed_parts, fast_overrides
from helpers.training import one_training_step

LN2 = math.log(2)

# --- losses ---------------------------------------------------------------------------------


def test_losses_at_zero_logits_are_ln2_per_term():
    zeros = torch.zeros(5)
    d_loss, d_real, d_fake = discriminator_loss(zeros, zeros, smooth=0.1)
    assert d_real.item() == pytest.approx(LN2) and d_fake.item() == pytest.approx(LN2)
    assert d_loss.item() == pytest.approx(2 * LN2)
    assert generator_loss(zeros).item() == pytest.approx(LN2)


def test_smoothed_real_loss_bottoms_out_at_the_entropy_of_bernoulli_0_9():
    """With label 0.9 the real term cannot reach 0: its minimum is H(0.9), at logit ln 9."""
    logits = torch.linspace(-5, 10, 15001, dtype=torch.float64)  # step 1e-3
    real_term = torch.vmap(lambda x: discriminator_loss(x[None], x[None], smooth=0.1)[1])
    losses = real_term(logits)
    entropy = -(0.9 * math.log(0.9) + 0.1 * math.log(0.1))
    assert entropy == pytest.approx(0.3251, abs=1e-4)
    assert losses.min().item() == pytest.approx(entropy, abs=1e-4)
    assert logits[losses.argmin()].item() == pytest.approx(math.log(9), abs=1e-3)


def test_losses_match_the_hand_formulas_on_random_logits():
    generator = torch.Generator().manual_seed(0)
    real, fake = torch.randn(2, 64, generator=generator, dtype=torch.float64) * 3
    smooth = 0.2
    p_real, p_fake = torch.sigmoid(real), torch.sigmoid(fake)
    label = 1 - smooth
    hand_real = -(label * p_real.log() + (1 - label) * (1 - p_real).log()).mean()
    hand_fake = -(1 - p_fake).log().mean()
    d_loss, d_real, d_fake = discriminator_loss(real, fake, smooth)
    assert d_real.item() == pytest.approx(hand_real.item(), rel=1e-9)
    assert d_fake.item() == pytest.approx(hand_fake.item(), rel=1e-9)
    assert d_loss.item() == pytest.approx((hand_real + hand_fake).item(), rel=1e-9)
    assert generator_loss(fake).item() == pytest.approx(-p_fake.log().mean().item(), rel=1e-9)


# --- nets -----------------------------------------------------------------------------------

NETS = {
    "dcgan": (partial(Generator, base_channels=8), partial(Discriminator, base_channels=8)),
    "mlp": (partial(MLPGenerator, hidden=32), partial(MLPDiscriminator, hidden=32, dropout=0.1)),
}


@pytest.mark.parametrize("size", [8, 16, 28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("kind", NETS)
def test_nets_fit_the_image_shape(kind, channels, size):
    make_g, make_d = NETS[kind]
    shape = [channels, size, size]  # a list, as the config's ${data.image_shape} gives it
    images = make_g(latent_dim=10, image_shape=shape)(torch.randn(3, 10))
    assert images.shape == (3, channels, size, size)
    assert images.min() >= 0 and images.max() <= 1
    assert make_d(image_shape=shape)(images).shape == (3,)


def test_upsampling_plan_is_arithmetic():
    assert upsampling_plan(28) == (7, 2) and upsampling_plan(32) == (4, 3)
    assert upsampling_plan(64) == (4, 4) and upsampling_plan(8) == (4, 1)


# --- the training step ----------------------------------------------------------------------


def tiny_task(shape=(1, 16, 16), lr=1e-2, optimizer=torch.optim.Adam, **kwargs) -> GANTask:
    return GANTask(
        Generator(8, shape, base_channels=8),
        Discriminator(shape, base_channels=8),
        g_optimizer=partial(optimizer, lr=lr),
        d_optimizer=partial(optimizer, lr=lr),
        latent_dim=8,
        num_sample_images=4,
        **kwargs,
    )


def params(net: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in net.parameters()]


def same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


class StepRecorder(L.Callback):
    """What each optimizer sees just before it steps (after backward and clipping)."""

    def __init__(self):
        self.steps = []

    def on_before_optimizer_step(self, trainer, task, optimizer):
        own = [p for group in optimizer.param_groups for p in group["params"]]
        norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in own]))
        self.steps.append(
            {
                "opt": "g" if optimizer is trainer.optimizers[0] else "d",
                "g": params(task.generator),
                "d": params(task.discriminator),
                "g_grads": [p.grad for p in task.generator.parameters()],
                "d_grads": [p.grad for p in task.discriminator.parameters()],
                "norm": norm.item(),
            }
        )


def fit_one_batch(task: GANTask, tmp_path, *callbacks, **trainer_args) -> L.Trainer:
    images = torch.rand(8, *task.generator.image_shape)
    loader = DataLoader(TensorDataset(images, torch.zeros(8, dtype=torch.long)), batch_size=8)
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=2,  # global_step counts optimizer steps: 2 per batch under manual optimization
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
        callbacks=list(callbacks),
        **trainer_args,
    )
    trainer.fit(task, train_dataloaders=loader)
    return trainer


def test_each_optimizer_steps_once_and_moves_only_its_own_net(tmp_path):
    torch.manual_seed(0)
    task = tiny_task()
    g0, d0 = params(task.generator), params(task.discriminator)
    recorder = StepRecorder()
    trainer = fit_one_batch(task, tmp_path, recorder)
    d_step, g_step = recorder.steps
    assert [d_step["opt"], g_step["opt"]] == ["d", "g"] and trainer.global_step == 2

    # D's step: fakes were detached, so no gradient reached G; then only D moved
    assert all(grad is None for grad in d_step["g_grads"])
    assert all(grad is not None for grad in d_step["d_grads"])
    assert same(g_step["g"], g0) and not same(g_step["d"], d0)

    # G's step: D is toggled off (no gradients), only G moved
    assert all(grad is None for grad in g_step["d_grads"])
    assert all(grad is not None for grad in g_step["g_grads"])
    assert same(params(task.discriminator), g_step["d"])
    assert not same(params(task.generator), g0)

    for optimizer in trainer.optimizers:  # Adam counted exactly one step for every parameter
        steps = {int(state["step"]) for state in optimizer.state.values()}
        assert steps == {1} and len(optimizer.state) == len(optimizer.param_groups[0]["params"])


def test_gradient_clipping_is_applied_by_the_task(tmp_path):
    """The recorder sees the gradients after the task's clip_gradients, before the step.
    (A huge lr would wreck D in its step and leave G no gradient at all: lr stays small.)"""
    loose, clipped = StepRecorder(), StepRecorder()
    torch.manual_seed(0)
    fit_one_batch(tiny_task(lr=1e-3, optimizer=torch.optim.SGD), tmp_path, loose)
    torch.manual_seed(0)
    task = tiny_task(lr=1e-3, optimizer=torch.optim.SGD, gradient_clip_val=1e-3)
    fit_one_batch(task, tmp_path, clipped)
    assert min(step["norm"] for step in loose.steps) > 0.1  # norms 0.2-4: the clip has work
    for step in clipped.steps:
        assert step["norm"] <= 1e-3 * (1 + 1e-4)


def test_trainer_level_clipping_is_refused_under_manual_optimization(tmp_path):
    with pytest.raises(MisconfigurationException, match="manual optimization"):
        fit_one_batch(tiny_task(), tmp_path, gradient_clip_val=1.0)


def test_check_data_names_both_shapes():
    task = tiny_task(shape=(1, 28, 28))
    with pytest.raises(ValueError, match=r"makes 1×28×28 images but the data's are 1×32×32"):
        task.check_data((1, 32, 32))
    task.check_data((1, 28, 28))  # fits


def test_check_data_catches_a_discriminator_for_other_images():
    task = GANTask(
        MLPGenerator(8, (1, 16, 16)),
        MLPDiscriminator((1, 28, 28)),
        g_optimizer=torch.optim.Adam,
        d_optimizer=torch.optim.Adam,
        latent_dim=8,
    )
    with pytest.raises(ValueError, match=r"discriminator cannot take the data's 1×16×16 images"):
        task.check_data((1, 16, 16))


# --- configs and train() --------------------------------------------------------------------


def test_configs_compose_without_leaking_into_classifiers(tmp_path):
    gan = compose_config(["model=gan", "model/net=mlp"], tmp_path)
    assert gan.model.generator._target_.endswith("MLPGenerator") and "net" not in gan.model
    assert gan.model.monitor is None
    with_fid = compose_config(["model=gan", "model.fid_features=x.ckpt"], tmp_path)
    assert with_fid.model.monitor == "val/fid"
    assert with_fid.model.discriminator._target_ == "dlnotes.nets.dcgan.Discriminator"
    nin = compose_config(["model=nin"], tmp_path)
    assert nin.model.net._target_ == "dlnotes.nets.nin.NIN" and "generator" not in nin.model


@pytest.mark.parametrize("net", ["dcgan", "mlp"])
def test_fast_dev_run_through_train(net, tmp_path):
    overrides = fast_overrides("debug=fdr", "model=gan", f"model/net={net}")
    _, objects = train(compose_config(overrides, tmp_path))
    assert objects["trainer"].state.finished
    assert {"val/d_real", "val/d_fake", "test/d_real", "test/d_fake"} <= set(objects["metrics"])
    assert len(list((tmp_path / "images").glob("val_samples_*.png"))) == 1


def test_train_writes_samples_and_metrics(tmp_path):
    overrides = fast_overrides("debug=limit", "logger=csv", "model=gan", "model/net=mlp")
    monitored, objects = train(compose_config(overrides, tmp_path))
    assert monitored is None  # no FID: nothing to monitor, checkpoints keep the last
    assert len(list((tmp_path / "images").glob("val_samples_*.png"))) == 2  # one per epoch
    header = (tmp_path / "metrics.csv").read_text().splitlines()[0].split(",")
    wanted = {"train/d_loss", "train/g_loss", "train/d_real", "train/d_fake", "val/d_real"}
    assert wanted | {"train/d_loss_real", "train/d_loss_fake", "test/d_fake"} <= set(header)
    model = model_from_checkpoint(tmp_path / "checkpoints" / "last.ckpt")  # as sample.py does
    draws = [model.sample(5, generator=torch.Generator().manual_seed(0)) for _ in range(2)]
    assert draws[0].shape == (5, 1, 32, 32) and torch.equal(draws[0], draws[1])
    assert draws[0].min() >= 0 and draws[0].max() <= 1


def test_mismatched_nets_fail_before_training(tmp_path):
    overrides = fast_overrides("debug=fdr", "model=gan", "model.generator.image_shape=[1,28,28]")
    with pytest.raises(ConfigError, match=r"GANTask does not fit .*1×28×28 .*1×32×32"):
        train(compose_config(overrides, tmp_path))


# --- FID (a tiny random feature net stands in for the domain classifier) ---------------------


class TinyFeatures(nn.Module):
    num_features = 4  # torchmetrics reads this instead of probing with a 3×299×299 image

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(16, 4))

    def forward(self, images):
        return self.net(images)


class CountingFID(FrechetInceptionDistance):
    def update(self, imgs, real):
        self.calls.append(("real" if real else "fake", len(imgs)))
        super().update(imgs, real)


@pytest.fixture
def counting_fid(monkeypatch):
    made = []

    def domain_fid(ckpt_path):
        metric = CountingFID(feature=TinyFeatures(), reset_real_features=False)
        metric.calls = []
        made.append(metric)
        return metric

    monkeypatch.setattr("dlnotes.tasks.gan.domain_fid", domain_fid)
    return made


def test_fid_is_monitored_and_real_features_are_computed_once(tmp_path, counting_fid):
    overrides = fast_overrides("debug=limit", "logger=csv", "model=gan", "model/net=mlp")
    cfg = compose_config([*overrides, "model.fid_features=features.ckpt"], tmp_path)
    monitored, objects = train(cfg)
    (fid,) = counting_fid
    # sanity check skipped; epoch 0: 2 real + 2 fake batches; epoch 1: 2 fake; test: 2 + 2
    assert fid.calls.count(("real", 8)) == 4 and fid.calls.count(("fake", 8)) == 6
    assert monitored is not None and monitored > 0
    assert objects["trainer"].checkpoint_callback.monitor == "val/fid"
    assert objects["metrics"]["test/fid"] > 0
    header = (tmp_path / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"val/fid", "test/fid"} <= set(header)


def test_early_stopping_without_a_monitored_metric_is_a_clear_error(tmp_path):
    cfg = compose_config(fast_overrides("model=gan", "callbacks=early_stopping"), tmp_path)
    with pytest.raises(ConfigError, match="callbacks.early_stopping needs a metric"):
        train(cfg)


@pytest.mark.parametrize("smooth", [0.0, 0.1, 0.3])
def test_task_step_hands_its_smooth_to_the_discriminator_loss(smooth, tmp_path):
    """Through a real training step: d_loss_real is BCE(D(x), 1 - smooth) on the logits D gave
    for the real batch. D's logits are shifted by +2 so that each smooth gives another loss."""
    datamodule, model = composed_parts(["model=gan", f"model.smooth={smooth}"], tmp_path)
    calls = []

    def shifted(module, inputs, logits):
        calls.append(logits.detach() + 2)
        return logits + 2

    model.discriminator.register_forward_hook(shifted)
    logged, _ = one_training_step(model, datamodule, tmp_path)
    real_logits = calls[0]  # the step's first D call is on the real batch

    def real_loss(smooth: float) -> float:
        labels = torch.full_like(real_logits, 1 - smooth)
        return F.binary_cross_entropy_with_logits(real_logits, labels).item()

    assert abs(real_loss(0.1) - real_loss(0.0)) > 0.05  # the check can tell smooth values apart
    assert logged["train/d_loss_real"] == pytest.approx(real_loss(smooth), rel=1e-5), (
        f"d_loss_real {logged['train/d_loss_real']} is not BCE(logits, {1 - smooth})"
    )
    fake_loss = F.binary_cross_entropy_with_logits(calls[1], torch.zeros_like(calls[1])).item()
    assert logged["train/d_loss_fake"] == pytest.approx(fake_loss, rel=1e-5)
