"""KL divergence, as the notes write it."""

import torch


def kl_to_standard_normal(z_mean: torch.Tensor, z_stddev: torch.Tensor) -> torch.Tensor:
    """D(N(μ, σ²) ‖ N(0, I)) per sample, summed over the last (latent) dimension.

    notes: latent_loss = 0.5 * sum(z_mean² + z_stddev² - log(z_stddev²) - 1)
    """
    variance = z_stddev.square()
    return 0.5 * (z_mean.square() + variance - variance.log() - 1).sum(-1)
