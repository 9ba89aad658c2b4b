"""How close a VAE's codes are to the prior N(0, I), over a whole split.

Per dimension j, the average KL of q(z_j|x) from N(0, 1) (the latent loss, split by
dimension: near 0 means the dimension is unused), and the aggregate code: z over all images
has mean E[μ_j] and variance E[σ_j²] + Var[μ_j] (total variance); its moment-matched
Gaussian's KL from N(0, 1) says how far the codes as a whole are from the prior that samples
are drawn from.
"""

import torch
from torchmetrics import Metric

from dlnotes.metrics.kl import kl_diagonal_gaussian, kl_per_dimension_from_log_var

ACTIVE_KL = 0.01  # nats: a dimension whose average KL is below this carries no information


class LatentStatistics(Metric):
    full_state_update = False

    def __init__(self, latent_dim: int):
        super().__init__()
        self.add_state("count", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        for name in ("sum_mean", "sum_mean_sq", "sum_var", "sum_kl"):
            zeros = torch.zeros(latent_dim, dtype=torch.float64)
            self.add_state(name, zeros, dist_reduce_fx="sum")

    def update(self, z_mean: torch.Tensor, z_log_var: torch.Tensor) -> None:
        """A batch of the encoder's means and log-variances log σ²."""
        z_mean, z_log_var = z_mean.double(), z_log_var.double()
        self.count += z_mean.shape[0]
        self.sum_mean += z_mean.sum(0)
        self.sum_mean_sq += z_mean.square().sum(0)
        self.sum_var += z_log_var.exp().sum(0)
        self.sum_kl += kl_per_dimension_from_log_var(z_mean, z_log_var).sum(0)

    def kl_per_dimension(self) -> torch.Tensor:
        return self.sum_kl / self.count

    def compute(self) -> dict[str, torch.Tensor]:
        mean = self.sum_mean / self.count
        variance = self.sum_var / self.count + self.sum_mean_sq / self.count - mean.square()
        kl = self.kl_per_dimension()
        aggregate = kl_diagonal_gaussian(
            mean, variance.sqrt(), torch.zeros_like(mean), torch.ones_like(mean)
        )
        return {
            "kl_per_dim": kl.mean().float(),
            "active_dims": (kl > ACTIVE_KL).sum().float(),
            "aggregate_kl": aggregate.float(),  # KL(N(E[z], Var[z]) ‖ N(0, I)), summed
            "z_mean_abs": mean.abs().mean().float(),
            "z_var": variance.mean().float(),
        }
