"""Reconstruction error against the simplest baseline: predicting the mean image."""

import torch
from torchmetrics import Metric


class ReconstructionVsMean(Metric):
    """Per-pixel MSE of reconstructions, and of the evaluation set's own mean image.

    The baseline's error is the per-pixel variance of the set: a model that ignores its input
    cannot do better. `compute()` gives both and their ratio; the sums reduce over DDP ranks.
    """

    full_state_update = False

    def __init__(self, image_shape: tuple[int, ...]):
        super().__init__()
        zeros = torch.zeros(image_shape, dtype=torch.float64)
        self.add_state(
            "squared_error", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum"
        )
        self.add_state("count", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("pixel_sum", zeros.clone(), dist_reduce_fx="sum")
        self.add_state("pixel_square_sum", zeros.clone(), dist_reduce_fx="sum")

    def update(self, reconstruction: torch.Tensor, target: torch.Tensor) -> None:
        target = target.double()
        self.squared_error += (reconstruction.double() - target).square().sum()
        self.pixel_sum += target.sum(0)
        self.pixel_square_sum += target.square().sum(0)
        self.count += target.shape[0]

    def compute(self) -> dict[str, torch.Tensor]:
        n = self.count.double()
        mse = self.squared_error / (n * self.pixel_sum.numel())
        mean_image = self.pixel_sum / n
        baseline = (self.pixel_square_sum / n - mean_image.square()).mean()
        ratio = mse / baseline
        return {
            "recon_mse": mse.float(),
            "baseline_mse": baseline.float(),
            "recon_ratio": ratio.float(),
        }
