"""Batch-wise augmentation on the device: one indexing op per batch, no loop over images.

Per-sample torchvision transforms run on the CPU inside a `DataLoader`; the in-memory datamodules
have no per-sample step, so they augment whole batches after the transfer. Both functions take
(N, C, H, W) of any dtype and return the same shape and dtype.
"""

import torch
import torch.nn.functional as F


def _random_ints(high: int, n: int, like: torch.Tensor, generator: torch.Generator | None):
    """`n` ints in [0, high), drawn where `generator` lives, returned on `like`'s device."""
    device = generator.device if generator is not None else like.device
    return torch.randint(high, (n,), generator=generator, device=device).to(like.device)


def random_crop(
    images: torch.Tensor, padding: int = 4, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Shift each image by up to `padding` pixels each way, filling with zeros.

    The batch is padded once, then each image's window is gathered at its own offset.
    """
    n, channels, height, width = images.shape
    padded = F.pad(images, (padding, padding, padding, padding))
    top = _random_ints(2 * padding + 1, n, images, generator)
    left = _random_ints(2 * padding + 1, n, images, generator)
    rows = top[:, None] + torch.arange(height, device=images.device)  # (N, H)
    cols = left[:, None] + torch.arange(width, device=images.device)  # (N, W)
    batch = torch.arange(n, device=images.device)[:, None, None, None]
    channel = torch.arange(channels, device=images.device)[None, :, None, None]
    return padded[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]


def random_hflip(
    images: torch.Tensor, p: float = 0.5, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Mirror each image left-right with probability `p`."""
    device = generator.device if generator is not None else images.device
    flip = torch.rand(len(images), generator=generator, device=device).to(images.device) < p
    return torch.where(flip[:, None, None, None], images.flip(-1), images)
