"""How much a GAN's discriminator has memorised its training images: D(x) on the real images it
was trained on against real images it never saw, from the same weights (the run's last
checkpoint, eval mode).

The notes smooth D's real labels "为更好泛化" (to generalise better). A discriminator that
generalises scores a held-out real digit as it scores a training one; one that memorised
scores its training images higher. The area under the ROC curve of D's logit, training images
against held-out ones, says how well D tells them apart: 0.5 is not at all. It does not depend
on where D's outputs sit (smoothing moves D(x) on reals from near 1 to near 0.9), only on
their order.
"""

from pathlib import Path

import torch
from torchmetrics.functional.classification import binary_auroc

from dlnotes.claims.trained_run import split_batches, trained_run


@torch.no_grad()
def discriminator_logits(model, data, split: str) -> torch.Tensor:
    """D's logit for each real image of `split` (the GAN task's `discriminator`, eval mode)."""
    logits = []
    for images, _ in split_batches(data, split):
        logits.append(model.discriminator(images.to(model.device)).float().flatten())
    return torch.cat(logits)


def discriminator_fit(run_dir: Path) -> dict[str, float]:
    """{"fit/d_train", "fit/d_test": mean D(x) = P(real) on the training and the held-out real
    images, "fit/d_auc": how well D's logit tells the training images from the held-out ones}."""
    model, data = trained_run(run_dir)
    model.eval()
    return memorisation(*(discriminator_logits(model, data, s) for s in ("train", "test")))


def memorisation(seen: torch.Tensor, unseen: torch.Tensor) -> dict[str, float]:
    """Mean D(x) on images D was trained on (`seen` logits) and on others (`unseen`), and the
    area under the ROC curve of the logit telling the first from the second."""
    logits = torch.cat([seen, unseen])
    is_seen = torch.cat([torch.ones_like(seen), torch.zeros_like(unseen)]).long()
    return {
        "fit/d_train": float(torch.sigmoid(seen).mean()),
        "fit/d_test": float(torch.sigmoid(unseen).mean()),
        "fit/d_auc": float(binary_auroc(logits, is_seen)),
    }
