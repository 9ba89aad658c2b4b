"""Variational autoencoder, as the notes define it.

notes: the encoder gives a mean vector and a standard-deviation vector; z = z_mean + z_stddev * eps
with eps ~ N(0, I) (the reparameterization: the sample stays differentiable in both vectors);
loss = generation_loss + latent_loss, the latent loss being the KL divergence of N(z_mean,
z_stddev²) from the unit Gaussian. New images come from z ~ N(0, I) through the decoder.
"""

from collections.abc import Callable

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dlnotes.loggers.images import grid_image, log_image
from dlnotes.metrics.kl import kl_to_standard_normal_from_log_var
from dlnotes.metrics.latent import LatentStatistics
from dlnotes.metrics.reconstruction import ReconstructionVsMean
from dlnotes.tasks.compiled import compile_in_place
from dlnotes.tasks.optim import build_optimizers

RECONSTRUCTIONS = ("mse", "bce")
PIXEL_REDUCTIONS = ("sum", "mean")


def reparameterize(z_mean: torch.Tensor, z_stddev: torch.Tensor) -> torch.Tensor:
    # notes: sampled_z = z_mean + (z_stddev * samples), samples ~ N(0, I)
    return z_mean + z_stddev * torch.randn_like(z_stddev)


def generation_loss(
    logits: torch.Tensor, images: torch.Tensor, kind: str, over_pixels: str = "sum"
) -> torch.Tensor:
    """Per image, summed over pixels — the same per-image scale as the latent loss's sum over
    latent dimensions, so that beta = 1 weighs them as the ELBO does. `over_pixels="mean"` is
    the notes' literal `mean(square(...))`: the generation loss shrinks by the pixel count
    while the latent loss stays a sum (docs/notes.md measures what that does)."""
    if kind == "mse":
        # notes: generation_loss = mean(square(generated_image - real_image))
        per_pixel = (torch.sigmoid(logits) - images).square()
    else:  # Bernoulli likelihood: -log p(x|z) in nats
        per_pixel = F.binary_cross_entropy_with_logits(logits, images, reduction="none")
    per_image = per_pixel.flatten(1)
    return per_image.mean(1) if over_pixels == "mean" else per_image.sum(1)


class VAETask(L.LightningModule):
    """`loss = generation_loss + beta * latent_loss`, both per image, averaged over the batch."""

    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module,
        optimizer: Callable,
        latent_dim: int,
        image_shape: tuple[int, int, int],
        reconstruction: str = "mse",
        beta: float = 1.0,
        generation_over_pixels: str = "sum",
        scheduler: Callable | None = None,
        monitor: str = "val/loss",
        mode: str = "min",
        num_sample_images: int = 64,
        compile: bool = False,
    ):
        super().__init__()
        if reconstruction not in RECONSTRUCTIONS:
            raise ValueError(f"model.reconstruction={reconstruction!r}: choose mse or bce")
        if generation_over_pixels not in PIXEL_REDUCTIONS:
            raise ValueError(
                f"model.generation_over_pixels={generation_over_pixels!r}: choose sum or mean"
            )
        self.save_hyperparameters(
            ignore=["encoder", "decoder", "optimizer", "scheduler"], logger=False
        )
        self.encoder, self.decoder = encoder, decoder
        if compile:
            compile_in_place(self.encoder, self.decoder)
        self.optimizer, self.scheduler = optimizer, scheduler
        self.latent_dim, self.image_shape = latent_dim, tuple(image_shape)
        self.reconstruction, self.beta = reconstruction, beta
        self.generation_over_pixels = generation_over_pixels
        self.monitor, self.mode = monitor, mode
        self.val_recon = ReconstructionVsMean(self.image_shape)
        self.test_recon = ReconstructionVsMean(self.image_shape)
        self.val_latent = LatentStatistics(latent_dim)
        self.test_latent = LatentStatistics(latent_dim)
        noise = torch.randn(
            num_sample_images, latent_dim, generator=torch.Generator().manual_seed(0)
        )
        self.register_buffer("fixed_noise", noise, persistent=False)
        self.first_val_images: torch.Tensor | None = None

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """The deterministic reconstruction: decode the mean of q(z|x)."""
        z_mean, _ = self.encoder(images)
        return torch.sigmoid(self.decoder(z_mean))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """notes: samples come from the unit Gaussian through the decoder."""
        z = torch.randn(n, self.latent_dim, generator=generator).to(self.device)
        return torch.sigmoid(self.decoder(z))

    def _step(self, batch, stage: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The loss, and the encoder's z_mean and z_log_var (log σ²) for the batch."""
        images, _ = batch
        z_mean, z_log_var = self.encoder(images)
        z_stddev = torch.exp(0.5 * z_log_var)
        logits = self.decoder(reparameterize(z_mean, z_stddev))
        generation = generation_loss(
            logits, images, self.reconstruction, self.generation_over_pixels
        )
        latent = kl_to_standard_normal_from_log_var(z_mean, z_log_var)  # notes: latent_loss
        loss = (generation + self.beta * latent).mean()  # notes: loss = generation + latent
        values = {"loss": loss, "generation_loss": generation.mean(), "latent_loss": latent.mean()}
        if self.reconstruction == "bce" and self.generation_over_pixels == "sum":  # -ELBO, nats
            values["neg_elbo"] = (generation + latent).mean()
        on_step = stage == "train"
        self.log_dict(
            {f"{stage}/{k}": v for k, v in values.items()},
            on_step=on_step,
            on_epoch=True,
            sync_dist=True,  # under DDP the epoch means are over all ranks
        )
        return loss, z_mean, z_log_var

    def training_step(self, batch, batch_idx):
        return self._step(batch, "train")[0]

    def validation_step(self, batch, batch_idx):
        _, z_mean, z_log_var = self._step(batch, "val")
        self.val_latent.update(z_mean, z_log_var)
        self.val_recon.update(self(batch[0]), batch[0])
        if batch_idx == 0:
            self.first_val_images = batch[0][:32]

    def test_step(self, batch, batch_idx):
        _, z_mean, z_log_var = self._step(batch, "test")
        self.test_latent.update(z_mean, z_log_var)
        self.test_recon.update(self(batch[0]), batch[0])

    def _log_reconstruction(self, metric: ReconstructionVsMean, stage: str) -> None:
        self.log_dict({f"{stage}/{k}": v for k, v in metric.compute().items()})
        metric.reset()

    def _log_latent(self, metric: LatentStatistics, stage: str) -> None:
        """KL per dimension, active dimensions, and the codes' distance from N(0, I)."""
        self.log_dict({f"{stage}/{k}": v for k, v in metric.compute().items()})
        metric.reset()

    def on_validation_epoch_end(self):
        self._log_reconstruction(self.val_recon, "val")
        self._log_latent(self.val_latent, "val")
        if not self.trainer.sanity_checking:
            self.log_pictures()

    def on_test_epoch_end(self):
        self._log_reconstruction(self.test_recon, "test")
        self._log_latent(self.test_latent, "test")

    @torch.no_grad()
    def log_pictures(self) -> None:
        """Input/reconstruction row pairs, samples from a fixed N(0, I) batch, and the 2-D
        latent manifold when latent_dim == 2."""
        pictures = {"val/samples": grid_image(torch.sigmoid(self.decoder(self.fixed_noise)))}
        if self.first_val_images is not None:
            pictures["val/reconstructions"] = reconstruction_pairs(self.first_val_images, self)
        if self.latent_dim == 2:
            pictures["val/latent_manifold"] = grid_image(self.latent_manifold(15), nrow=15)
        for key, picture in pictures.items():
            log_image(self.loggers, key, picture, self.global_step, self.trainer.default_root_dir)

    def latent_manifold(self, steps: int) -> torch.Tensor:
        """Decode a grid of z whose coordinates are Gaussian quantiles 0.05 … 0.95."""
        quantiles = torch.linspace(0.05, 0.95, steps, device=self.device)
        values = torch.distributions.Normal(0.0, 1.0).icdf(quantiles)
        z = torch.cartesian_prod(values.flip(0), values)[:, [1, 0]]  # rows: z₂ high → low
        return torch.sigmoid(self.decoder(z))

    def check_data(self, image_shape: tuple[int, int, int]) -> None:
        if tuple(image_shape) != self.image_shape:
            raise ValueError(f"nets built for {self.image_shape}, data gives {tuple(image_shape)}")
        with torch.no_grad():
            z_mean, _ = self.encoder(torch.zeros(2, *image_shape))
            out = self.decoder(z_mean)
        if tuple(out.shape[1:]) != tuple(image_shape) or z_mean.shape != (2, self.latent_dim):
            raise ValueError(
                f"the decoder gives {tuple(out.shape[1:])} images for {tuple(image_shape)} input "
                "(the conv nets need sides divisible by 4: set data.image_size)"
            )

    def configure_optimizers(self):
        return build_optimizers(self.parameters(), self.optimizer, self.scheduler, self.monitor)


def reconstruction_pairs(images: torch.Tensor, model: VAETask, per_row: int = 8) -> np.ndarray:
    """Rows alternate: 8 inputs, then their 8 reconstructions."""
    recon = model(images)
    n = (len(images) // per_row) * per_row
    rows = torch.stack(
        [
            images[:n].view(-1, per_row, *images.shape[1:]),
            recon[:n].view(-1, per_row, *images.shape[1:]),
        ],
        dim=1,
    )
    return grid_image(rows.flatten(0, 2), nrow=per_row)
