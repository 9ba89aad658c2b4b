"""GAN training: a generator and a discriminator, each with its own optimizer.

Two optimizers that take turns need manual optimization (Lightning's GAN example): each step
the discriminator learns on real images and detached fakes, then the generator learns through
the updated discriminator. Every validation epoch saves a grid of samples from one fixed noise
batch (the same z each epoch, so the pictures show progress) and, with `fid_features` set,
measures FID with a domain classifier's features.
"""

import math
from collections.abc import Callable
from contextlib import contextmanager

import lightning as L
import torch
from torch import nn
from torchmetrics import Metric

from dlnotes.errors import shape_text
from dlnotes.loggers.images import grid_image, log_image
from dlnotes.metrics.fid import domain_fid
from dlnotes.nets.memory_format import channels_last_batch, to_channels_last
from dlnotes.tasks.compiled import compile_in_place
from dlnotes.tasks.gan_losses import discriminator_loss, generator_loss

SAMPLE_SEED = 0  # the fixed noise behind the sample grids


class GANTask(L.LightningModule):
    """`smooth` labels real images 1 - smooth for the discriminator (one-sided smoothing).

    `gradient_clip_val` clips each net's gradient norm here, in the task: Lightning's
    `Trainer(gradient_clip_val=...)` refuses manual optimization. Schedulers (optional partials)
    step once per epoch. `monitor` is `val/fid` when FID is on, else null (keep the last).
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        g_optimizer: Callable,
        d_optimizer: Callable,
        latent_dim: int = 100,
        smooth: float = 0.1,
        g_scheduler: Callable | None = None,
        d_scheduler: Callable | None = None,
        gradient_clip_val: float | None = None,
        fid_features: str | None = None,
        monitor: str | None = None,
        mode: str = "min",
        channels_last: bool = False,
        num_sample_images: int = 64,
        compile: bool = False,
    ):
        super().__init__()
        self.automatic_optimization = False
        nets_and_partials = ["generator", "discriminator", "g_optimizer", "d_optimizer"]
        self.save_hyperparameters(
            ignore=[*nets_and_partials, "g_scheduler", "d_scheduler"], logger=False
        )
        self.generator, self.discriminator = generator, discriminator
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        self.g_scheduler, self.d_scheduler = g_scheduler, d_scheduler
        self.latent_dim, self.smooth = latent_dim, smooth
        self.gradient_clip_val = gradient_clip_val
        self.monitor, self.mode = monitor, mode
        self.channels_last = channels_last
        if channels_last:
            self.generator = to_channels_last(self.generator)
            self.discriminator = to_channels_last(self.discriminator)
        if compile:
            compile_in_place(self.generator, self.discriminator)
        seeded = torch.Generator().manual_seed(SAMPLE_SEED)
        noise = torch.randn(num_sample_images, latent_dim, generator=seeded)
        self.register_buffer("fixed_noise", noise, persistent=False)
        self.fid = build_fid(fid_features)
        self._fid_reals: str | None = None  # the stage whose real images the FID holds
        self._fid_feed_real = False

    # --- the nets -------------------------------------------------------------------------

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z)

    def noise(self, n: int) -> torch.Tensor:
        # notes: z ~ N(0, I)
        return torch.randn(n, self.latent_dim, device=self.device)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n new images, z ~ N(0, I) (`generator` seeds it), as `sample.py` asks for them."""
        return self.generate(torch.randn(n, self.latent_dim, generator=generator).to(self.device))

    @torch.no_grad()
    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """G(z) with BN in eval mode (running statistics): samples and FID do not depend on
        the batch they are drawn in. The generator's mode is restored afterwards."""
        with eval_mode(self.generator):
            return self.generator(z)

    def _images(self, batch) -> torch.Tensor:
        images = batch[0]
        if self.channels_last and images.ndim == 4:
            images = channels_last_batch(images)
        return images

    def check_data(self, image_shape: tuple[int, ...]) -> None:
        """A dry pass on zeros: G(z) must have the data's shape, D one logit per image."""
        image_shape = tuple(image_shape)
        with eval_mode(self.generator, self.discriminator), torch.no_grad():
            made = tuple(self.generator(torch.zeros(2, self.latent_dim)).shape[1:])
            if made != image_shape:
                raise ValueError(
                    f"the generator makes {shape_text(made)} images but the data's are "
                    f"{shape_text(image_shape)}: build the nets with the data's image_shape"
                )
            logits = self._discriminate(torch.zeros(2, *image_shape), image_shape)
        if tuple(logits.shape) != (2,):
            raise ValueError(
                f"the discriminator gives {shape_text(logits.shape)} outputs for 2 images of "
                f"{shape_text(image_shape)}: it must give one logit per image (shape 2)"
            )
        features = getattr(self.fid, "inception", None)  # the FID classifier's own data
        if hasattr(features, "check_image_shape"):
            features.check_image_shape(image_shape)

    def _discriminate(self, images: torch.Tensor, image_shape) -> torch.Tensor:
        try:
            return self.discriminator(images)
        except RuntimeError as error:
            reason = str(error).strip().splitlines()[0]
            raise ValueError(
                f"the discriminator cannot take the data's {shape_text(image_shape)} images: "
                f"{reason}"
            ) from None

    # --- training -------------------------------------------------------------------------

    def training_step(self, batch, batch_idx):
        real = self._images(batch)
        g_opt, d_opt = self.optimizers()
        fake = self.generator(self.noise(real.shape[0]))  # one G pass serves both steps
        d_logits_real, d_logits_fake, d_losses = self._discriminator_step(d_opt, real, fake)
        g_loss = self._generator_step(g_opt, fake)
        self.log_dict({"train/d_loss": d_losses[0], "train/g_loss": g_loss}, prog_bar=True)
        self.log_dict({"train/d_loss_real": d_losses[1], "train/d_loss_fake": d_losses[2]})
        self.log_dict(
            {
                "train/d_real": torch.sigmoid(d_logits_real).mean(),  # D(x): P(real) on reals
                "train/d_fake": torch.sigmoid(d_logits_fake).mean(),  # D(G(z)) on fakes
            }
        )

    def _discriminator_step(self, d_opt, real: torch.Tensor, fake: torch.Tensor):
        """Fakes are detached: this step's gradients stop at D and never reach G."""
        with self.toggled_optimizer(d_opt):
            d_logits_real = self.discriminator(real)
            d_logits_fake = self.discriminator(fake.detach())
            d_losses = discriminator_loss(d_logits_real, d_logits_fake, self.smooth)
            self._update(d_opt, d_losses[0])
        return d_logits_real.detach(), d_logits_fake.detach(), [t.detach() for t in d_losses]

    def _generator_step(self, g_opt, fake: torch.Tensor) -> torch.Tensor:
        """Through the just-updated D; D's parameters are frozen (toggled off) meanwhile."""
        with self.toggled_optimizer(g_opt):
            g_loss = generator_loss(self.discriminator(fake))
            self._update(g_opt, g_loss)
        return g_loss.detach()

    def _update(self, optimizer, loss: torch.Tensor) -> None:
        """backward → clip the gradient norm (if asked) → step → clear the gradients."""
        self.manual_backward(loss)
        if self.gradient_clip_val:
            self.clip_gradients(
                optimizer, gradient_clip_val=self.gradient_clip_val, gradient_clip_algorithm="norm"
            )
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def on_train_epoch_end(self):
        schedulers = self.lr_schedulers() or []  # manual optimization steps them itself
        for scheduler in schedulers if isinstance(schedulers, list) else [schedulers]:
            scheduler.step()

    def configure_optimizers(self):
        g_opt = self.g_optimizer(params=self.generator.parameters())
        d_opt = self.d_optimizer(params=self.discriminator.parameters())
        pairs = [(self.g_scheduler, g_opt), (self.d_scheduler, d_opt)]
        schedulers = [make(optimizer=opt) for make, opt in pairs if make is not None]
        return ([g_opt, d_opt], schedulers) if schedulers else [g_opt, d_opt]

    # --- validation and test ----------------------------------------------------------------

    def validation_step(self, batch, batch_idx):
        self._evaluate(batch, "val")

    def test_step(self, batch, batch_idx):
        self._evaluate(batch, "test")

    def _evaluate(self, batch, stage: str) -> None:
        """Mean D(x) on the stage's real images and D(G(z)) on as many fakes; FID updates."""
        real = self._images(batch)
        fake = self.generate(self.noise(real.shape[0]))
        d_real = torch.sigmoid(self.discriminator(real)).mean()
        d_fake = torch.sigmoid(self.discriminator(fake)).mean()
        self.log_dict({f"{stage}/d_real": d_real, f"{stage}/d_fake": d_fake}, sync_dist=True)
        if self._fid_active():
            if self._fid_feed_real:
                self.fid.update(real, real=True)
            self.fid.update(fake, real=False)

    def _fid_active(self) -> bool:
        return self.fid is not None and not self.trainer.sanity_checking

    def _fid_epoch_start(self, stage: str) -> None:
        """The real images' features do not change: computed in the stage's first epoch only.
        (The sanity check's two batches are skipped, else they would stand in for them.)"""
        if not self._fid_active():
            return
        self._fid_feed_real = self._fid_reals != stage
        if self._fid_feed_real:
            Metric.reset(self.fid)  # the base reset clears the real side too
            self._fid_reals = stage

    def _fid_epoch_end(self, stage: str) -> None:
        if not self._fid_active():
            return
        self.log(f"{stage}/fid", self.fid.compute())
        self.fid.reset()  # the fake side only (reset_real_features=False)

    def on_validation_epoch_start(self):
        self._fid_epoch_start("val")

    def on_test_epoch_start(self):
        self._fid_epoch_start("test")

    def on_validation_epoch_end(self):
        self._fid_epoch_end("val")
        if not self.trainer.sanity_checking and self.trainer.is_global_zero:
            self.save_samples()

    def on_test_epoch_end(self):
        self._fid_epoch_end("test")

    def save_samples(self) -> None:
        """The fixed noise's samples as one grid, sent to the loggers and kept as
        `<run dir>/images/val_samples_<step>.png` so a person can look at them."""
        samples = self.generate(self.fixed_noise)
        grid = grid_image(samples, nrow=max(1, math.isqrt(len(samples))))
        log_image(
            self.loggers, "val/samples", grid, self.global_step, self.trainer.default_root_dir
        )


@contextmanager
def eval_mode(*nets: nn.Module):
    """The nets in eval mode for the block (BN on running statistics), then as they were."""
    modes = [net.training for net in nets]
    for net in nets:
        net.eval()
    try:
        yield
    finally:
        for net, mode in zip(nets, modes, strict=True):
            net.train(mode)


def build_fid(fid_features: str | None):
    """FID on a domain classifier's features, or None."""
    if not fid_features:
        return None
    return domain_fid(fid_features)
