"""The VAE's latent statistics: KL per dimension and the codes' distance from N(0, I)."""

import torch

from dlnotes.metrics.latent import LatentStatistics


def test_codes_that_are_the_prior_are_at_distance_zero():
    metric = LatentStatistics(3)
    metric.update(torch.zeros(10, 3), torch.zeros(10, 3))  # μ = 0, log σ² = 0
    values = metric.compute()
    assert values["kl_per_dim"] == 0 and values["aggregate_kl"] == 0
    assert values["active_dims"] == 0 and values["z_var"] == 1


def test_batches_add_up_to_the_whole_split_and_match_sampled_codes():
    generator = torch.Generator().manual_seed(0)
    z_mean = torch.randn(4000, 2, generator=generator) * torch.tensor([0.5, 0.0]) + 0.3
    z_stddev = torch.rand(4000, 2, generator=generator) * 0.5 + torch.tensor([0.2, 1.0])
    metric = LatentStatistics(2)
    for chunk in range(4):
        part = slice(chunk * 1000, (chunk + 1) * 1000)
        metric.update(z_mean[part], z_stddev[part].square().log())
    values = metric.compute()

    per_dim = torch.distributions.kl_divergence(
        torch.distributions.Normal(z_mean.double(), z_stddev.double()),
        torch.distributions.Normal(0.0, 1.0),
    ).mean(0)
    assert torch.allclose(metric.kl_per_dimension(), per_dim, atol=1e-9)
    assert values["active_dims"] == 2

    # the aggregate code: z = μ + σ·ε over all images, its moment-matched Gaussian vs N(0, I)
    z = z_mean + z_stddev * torch.randn(50, 4000, 2, generator=generator)
    sampled = torch.distributions.kl_divergence(
        torch.distributions.Normal(z.mean((0, 1)), z.std((0, 1))),
        torch.distributions.Normal(0.0, 1.0),
    ).sum()
    assert abs(values["aggregate_kl"] - sampled) < 0.01
