"""KL divergence, as the notes write it: discrete, 1-D Gaussian, diagonal Gaussian.

notes: D(P‖Q) = Σ P(x) log(P(x)/Q(x)) measures how much information is lost when Q stands in
for the true P. It is asymmetric, D(P‖Q) ≠ D(Q‖P), and equals cross-entropy minus entropy,
D(P‖Q) = H(P, Q) − H(P).
"""

import torch


def kl_discrete(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """D(P‖Q) over the last dimension of two probability vectors; terms with P(x) = 0 add 0."""
    # notes: D(P‖Q) = Σ P(x) log(P(x)/Q(x))
    terms = p * (p.log() - q.log())
    return torch.where(p > 0, terms, torch.zeros_like(terms)).sum(-1)


def entropy(p: torch.Tensor) -> torch.Tensor:
    """H(P) = −Σ P(x) log P(x)."""
    return -torch.where(p > 0, p * p.log(), torch.zeros_like(p)).sum(-1)


def cross_entropy(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """H(P, Q) = −Σ P(x) log Q(x): what coding P's outcomes with Q's code costs."""
    return -torch.where(p > 0, p * q.log(), torch.zeros_like(p)).sum(-1)


def kl_gaussian(
    mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor
) -> torch.Tensor:
    """D(N(μ₁, σ₁²) ‖ N(μ₂, σ₂²)) for 1-D Gaussians, elementwise."""
    # notes: log(σ₂/σ₁) + (σ₁² + (μ₁ − μ₂)²) / (2σ₂²) − 1/2
    return (sigma2 / sigma1).log() + (sigma1**2 + (mu1 - mu2) ** 2) / (2 * sigma2**2) - 0.5


def kl_diagonal_gaussian(
    mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor
) -> torch.Tensor:
    """Diagonal multivariate Gaussians: independent dimensions, so the 1-D terms add up."""
    return kl_gaussian(mu1, sigma1, mu2, sigma2).sum(-1)


def kl_to_standard_normal(z_mean: torch.Tensor, z_stddev: torch.Tensor) -> torch.Tensor:
    """D(N(μ, σ²) ‖ N(0, I)) per sample, summed over the last (latent) dimension: the VAE's
    latent loss, the case μ₂ = 0, σ₂ = 1 of `kl_gaussian`.

    notes: latent_loss = 0.5 * sum(z_mean² + z_stddev² - log(z_stddev²) - 1)
    """
    variance = z_stddev.square()
    return 0.5 * (z_mean.square() + variance - variance.log() - 1).sum(-1)


def kl_to_standard_normal_from_log_var(z_mean: torch.Tensor, z_log_var: torch.Tensor):
    """The same latent loss from log σ² directly, as the VAE's encoder gives it: finite for any
    log-variance, where going through σ gives log(0) = −inf once σ² underflows (float32: below
    log σ² ≈ −103), and then NaN at β = 0."""
    return kl_per_dimension_from_log_var(z_mean, z_log_var).sum(-1)


def kl_per_dimension_from_log_var(z_mean: torch.Tensor, z_log_var: torch.Tensor):
    """Each latent dimension's term of the latent loss, elementwise."""
    # notes: latent_loss = 0.5 * sum(z_mean² + z_stddev² - log(z_stddev²) - 1), log σ² = z_log_var
    return 0.5 * (z_mean.square() + z_log_var.exp() - z_log_var - 1)
