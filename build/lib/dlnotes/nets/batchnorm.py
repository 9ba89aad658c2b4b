"""Batch Normalization (Ioffe & Szegedy 2015) written from the notes' four steps.

notes: normalize each channel with the mean and variance of the current mini-batch, then let the
network undo it where useful with a learned scale γ and shift β. At test time there is no batch
to average over, so the running averages of the training statistics take its place.

Written with plain tensor ops (no `F.batch_norm`) so the steps stay visible and autograd
differentiates them; the buffers and parameters carry torch's names, so the state dict of an
`nn.BatchNorm1d`/`nn.BatchNorm2d` loads into it and back.
"""

import torch
from torch import nn


class NotesBatchNorm(nn.Module):
    """BN over (N, C) or (N, C, H, W): statistics per channel (dim 1), over every other dim.

    `momentum` is PyTorch's: `running = (1 − momentum) · running + momentum · batch_stat`.
    Keras writes the same update with the weight on the old value, so Keras' momentum 0.99 is
    PyTorch's 0.01.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.weight = nn.Parameter(torch.ones(num_features))  # γ
        self.bias = nn.Parameter(torch.zeros(num_features))  # β
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() not in (2, 4):
            raise ValueError(f"NotesBatchNorm expects (N, C) or (N, C, H, W), got {tuple(x.shape)}")
        if x.shape[1] != self.num_features:
            raise ValueError(
                f"NotesBatchNorm expects {self.num_features} channels, got {x.shape[1]}"
            )
        dims = [0] if x.dim() == 2 else [0, 2, 3]
        shape = [1, -1] + [1] * (x.dim() - 2)  # broadcasts per-channel vectors over x

        if self.training:
            m = x.numel() // x.shape[1]  # values per channel in this batch
            # notes: step 1 — batch mean μ_B = (1/m) Σ x_i
            mean = x.mean(dim=dims)
            # notes: step 2 — batch variance σ²_B = (1/m) Σ (x_i − μ_B)²
            var = ((x - mean.view(shape)) ** 2).mean(dim=dims)
            with torch.no_grad():
                # the running variance estimates the population's, hence unbiased: m/(m−1)
                unbiased = var * m / max(m - 1, 1)
                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)
                self.running_var.mul_(1 - self.momentum).add_(self.momentum * unbiased)
                self.num_batches_tracked.add_(1)
        else:
            mean, var = self.running_mean, self.running_var

        # notes: step 3 — normalize x̂_i = (x_i − μ_B) / sqrt(σ²_B + ε)
        x_hat = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + self.eps)
        # notes: step 4 — scale and shift y_i = γ x̂_i + β
        return self.weight.view(shape) * x_hat + self.bias.view(shape)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"
