"""Over-fitting as it is defined: how much better a trained classifier does on the images it
was trained on than on images it has not seen, both measured the same way — in eval mode
(dropout off, BN's running statistics), with the same weights (the run's last checkpoint).

A training run's own train/acc is the epoch mean in training mode (dropout on, the weights
changing under it), so it cannot be compared with val/acc (eval mode, end of the epoch).
"""

from pathlib import Path

import torch
import torch.nn.functional as F

from dlnotes.claims.trained_run import split_batches, trained_run


@torch.no_grad()
def split_metrics(model, data, split: str) -> dict[str, float]:
    """Accuracy and mean cross-entropy of `model` (eval mode) over `split`."""
    correct, loss, count = 0, 0.0, 0
    for images, labels in split_batches(data, split):
        logits = model(images.to(model.device))
        labels = labels.to(logits.device)
        correct += int((logits.argmax(1) == labels).sum())
        loss += float(F.cross_entropy(logits.float(), labels, reduction="sum"))
        count += len(labels)
    return {f"fit/{split}_acc": correct / count, f"fit/{split}_loss": loss / count}


def fit_gap(run_dir: Path) -> dict[str, float]:
    """{"fit/train_acc", "fit/train_loss", "fit/test_acc", "fit/test_loss"} of a classifier's
    run, its last checkpoint in eval mode, on its data config's train and test splits."""
    model, data = trained_run(run_dir)
    model.eval()
    return split_metrics(model, data, "train") | split_metrics(model, data, "test")
