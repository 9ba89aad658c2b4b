"""A fully connected GAN: one hidden layer in each net.

The notebook gives the GAN's losses and its two optimizers, not the nets. These follow the
original GAN's multilayer perceptrons (Goodfellow et al. 2014) with leaky ReLU (as in Radford
et al. 2016): generator z → hidden (leaky ReLU) → one value per pixel → sigmoid; discriminator
flatten → hidden (leaky ReLU) → one logit. The sigmoid stays out of the discriminator, as in the
notes' code: the losses take logits (`sigmoid_cross_entropy_with_logits`, d_logits_real/fake).
"""

import math
from collections.abc import Sequence

import torch
from torch import nn


def hidden_layer(in_features: int, hidden: int, dropout: float) -> list[nn.Module]:
    """Linear → LeakyReLU(0.2) (→ dropout when asked)."""
    layers = [nn.Linear(in_features, hidden), nn.LeakyReLU(0.2, inplace=True)]
    return layers + ([nn.Dropout(dropout)] if dropout > 0 else [])


class MLPGenerator(nn.Module):
    """z (N, latent_dim) → image (N, C, H, W) in [0, 1]."""

    def __init__(
        self, latent_dim: int, image_shape: Sequence[int], hidden: int = 128, dropout: float = 0.0
    ):
        super().__init__()
        self.latent_dim = latent_dim
        self.image_shape = tuple(int(s) for s in image_shape)
        self.body = nn.Sequential(
            *hidden_layer(latent_dim, hidden, dropout),
            nn.Linear(hidden, math.prod(self.image_shape)),
            nn.Sigmoid(),
            nn.Unflatten(1, self.image_shape),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z)


class MLPDiscriminator(nn.Module):
    """image (N, C, H, W) → one real-vs-fake logit per image, shape (N,)."""

    def __init__(self, image_shape: Sequence[int], hidden: int = 128, dropout: float = 0.0):
        super().__init__()
        self.image_shape = tuple(int(s) for s in image_shape)
        self.body = nn.Sequential(
            nn.Flatten(),
            *hidden_layer(math.prod(self.image_shape), hidden, dropout),
            nn.Linear(hidden, 1),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(images).flatten()
