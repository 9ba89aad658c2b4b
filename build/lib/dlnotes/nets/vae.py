"""Encoders and decoders for the VAE, convolutional and fully connected.

notes: the encoder gives two vectors, a mean and a standard deviation. Here it outputs the
mean and the log-variance log σ²: z_stddev = exp(log_var / 2) is positive by construction,
and the latent loss takes log(z_stddev²) as log_var itself, never as the log of a σ² that
has underflowed to 0 (float32: below log σ² ≈ −103).
The decoder returns logits; the image is sigmoid(logits), in [0, 1] like the data.
"""

import math

import torch
from torch import nn


class GaussianHead(nn.Module):
    """features → (z_mean, z_log_var)."""

    def __init__(self, in_features: int, latent_dim: int):
        super().__init__()
        self.linear = nn.Linear(in_features, 2 * latent_dim)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z_mean, z_log_var = self.linear(h).chunk(2, dim=-1)
        return z_mean, z_log_var


class ConvEncoder(nn.Module):
    """Two stride-2 convs (H → H/4), a hidden layer, then the Gaussian head."""

    def __init__(self, image_shape, latent_dim: int = 16, channels=(32, 64), hidden: int = 256):
        super().__init__()
        c, h, w = image_shape
        self.image_shape = tuple(image_shape)
        c1, c2 = channels
        self.body = nn.Sequential(
            nn.Conv2d(c, c1, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(c1, c2, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Flatten(),
            nn.Linear(c2 * (h // 4) * (w // 4), hidden),
            nn.LeakyReLU(0.2),
        )
        self.head = GaussianHead(hidden, latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head(self.body(x))


class ConvDecoder(nn.Module):
    """The encoder mirrored: hidden layer, a (C2, H/4, W/4) map, two stride-2 transposed convs."""

    def __init__(self, image_shape, latent_dim: int = 16, channels=(32, 64), hidden: int = 256):
        super().__init__()
        c, h, w = image_shape
        c1, c2 = channels
        self.body = nn.Sequential(
            nn.Linear(latent_dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, c2 * (h // 4) * (w // 4)),
            nn.ReLU(),
            nn.Unflatten(1, (c2, h // 4, w // 4)),
            nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(c1, c, 4, stride=2, padding=1),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z)


class MLPEncoder(nn.Module):
    """Flatten → hidden layer → Gaussian head: a fully connected encoder as in Kingma &
    Welling 2014 (appendix C; the notebook gives only the two output vectors)."""

    def __init__(self, image_shape, latent_dim: int = 16, hidden: int = 512):
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.body = nn.Sequential(
            nn.Flatten(), nn.Linear(math.prod(image_shape), hidden), nn.ReLU()
        )
        self.head = GaussianHead(hidden, latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head(self.body(x))


class MLPDecoder(nn.Module):
    """z → hidden layer → one logit per pixel, reshaped to the image."""

    def __init__(self, image_shape, latent_dim: int = 16, hidden: int = 512):
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(latent_dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, math.prod(image_shape)),
            nn.Unflatten(1, tuple(image_shape)),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z)
