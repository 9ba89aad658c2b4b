"""The notebook's GAN losses, on discriminator logits (BCE with logits: stable for any logit).

One-sided label smoothing: real images are labelled 1 - smooth (0.9 for smooth=0.1), so the
discriminator is not pushed to ever more confident logits on real data; fakes stay labelled 0.
"""

import torch
import torch.nn.functional as F


def discriminator_loss(
    d_logits_real: torch.Tensor, d_logits_fake: torch.Tensor, smooth: float = 0.1
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(d_loss, d_loss_real, d_loss_fake), each the mean over the batch."""
    ones, zeros = torch.ones_like(d_logits_real), torch.zeros_like(d_logits_fake)
    # notes: d_loss_real = BCE(d_logits_real, ones * (1 - smooth))
    d_loss_real = F.binary_cross_entropy_with_logits(d_logits_real, ones * (1 - smooth))
    # notes: d_loss_fake = BCE(d_logits_fake, zeros)
    d_loss_fake = F.binary_cross_entropy_with_logits(d_logits_fake, zeros)
    # notes: d_loss = d_loss_real + d_loss_fake
    return d_loss_real + d_loss_fake, d_loss_real, d_loss_fake


def generator_loss(d_logits_fake: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss: make the discriminator call the fakes real."""
    # notes: g_loss = BCE(d_logits_fake, ones)
    return F.binary_cross_entropy_with_logits(d_logits_fake, torch.ones_like(d_logits_fake))
