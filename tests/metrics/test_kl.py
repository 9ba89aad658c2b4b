"""KL divergence against torch.distributions, a Monte-Carlo estimate and the notes' identities."""

import torch
from torch.distributions import Categorical, Normal, kl_divergence

from dlnotes.metrics.kl import (
    cross_entropy,
    entropy,
    kl_diagonal_gaussian,
    kl_discrete,
    kl_gaussian,
    kl_to_standard_normal,
)


def random_distributions(*shape, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, generator=generator, dtype=torch.float64).softmax(-1)


def test_discrete_kl_equals_torch_and_is_asymmetric():
    p, q = random_distributions(6, 5, seed=0), random_distributions(6, 5, seed=1)
    expected = kl_divergence(Categorical(probs=p), Categorical(probs=q))
    torch.testing.assert_close(kl_discrete(p, q), expected)
    assert not torch.allclose(kl_discrete(p, q), kl_discrete(q, p))
    assert (kl_discrete(p, q) > 0).all() and kl_discrete(p, p).abs().max() < 1e-12


def test_kl_is_cross_entropy_minus_entropy():
    p, q = random_distributions(4, 7, seed=2), random_distributions(4, 7, seed=3)
    torch.testing.assert_close(kl_discrete(p, q), cross_entropy(p, q) - entropy(p))


def test_zero_probabilities_contribute_nothing():
    p = torch.tensor([0.5, 0.5, 0.0], dtype=torch.float64)
    q = torch.tensor([0.25, 0.25, 0.5], dtype=torch.float64)
    assert kl_discrete(p, q).item() == torch.log(torch.tensor(2.0, dtype=torch.float64)).item()


def test_gaussian_closed_form_equals_torch_and_monte_carlo():
    mu1, s1, mu2, s2 = (torch.tensor(v, dtype=torch.float64) for v in (0.7, 0.5, -0.3, 1.8))
    expected = kl_divergence(Normal(mu1, s1), Normal(mu2, s2))
    torch.testing.assert_close(kl_gaussian(mu1, s1, mu2, s2), expected)
    generator = torch.Generator().manual_seed(0)
    x = mu1 + s1 * torch.randn(400_000, generator=generator, dtype=torch.float64)
    monte_carlo = (Normal(mu1, s1).log_prob(x) - Normal(mu2, s2).log_prob(x)).mean()
    assert abs(monte_carlo.item() - expected.item()) < 0.01


def test_diagonal_gaussian_equals_torch_independent_normals():
    generator = torch.Generator().manual_seed(4)
    mu1, mu2 = torch.randn(2, 3, 8, generator=generator, dtype=torch.float64)
    s1, s2 = torch.rand(2, 3, 8, generator=generator, dtype=torch.float64) + 0.1
    expected = kl_divergence(Normal(mu1, s1), Normal(mu2, s2)).sum(-1)
    torch.testing.assert_close(kl_diagonal_gaussian(mu1, s1, mu2, s2), expected)
    zeros, ones = torch.zeros_like(mu1), torch.ones_like(s1)
    torch.testing.assert_close(
        kl_to_standard_normal(mu1, s1), kl_diagonal_gaussian(mu1, s1, zeros, ones)
    )


def test_against_the_unit_gaussian_the_minimum_is_at_mu_0_sigma_1():
    mus = torch.linspace(-2, 2, 81, dtype=torch.float64)
    sigmas = torch.linspace(0.2, 3, 57, dtype=torch.float64)
    grid = kl_gaussian(mus[:, None], sigmas[None, :], torch.tensor(0.0), torch.tensor(1.0))
    best = torch.nonzero(grid == grid.min())[0]
    assert abs(mus[best[0]].item()) < 1e-12 and abs(sigmas[best[1]].item() - 1.0) < 1e-12
    assert abs(grid.min().item()) < 1e-12  # zero up to rounding
