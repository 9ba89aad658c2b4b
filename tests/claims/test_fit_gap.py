"""Over-fitting measured as defined: training-set and test metrics of the same weights in eval
mode, on a training set small enough to over-fit (`data.train_limit`)."""

import pytest
import torch

from dlnotes.claims.fit_gap import split_metrics
from dlnotes.data.digits import DigitsDataModule


class AlwaysThree(torch.nn.Module):
    """Predicts digit 3 with certainty; dropout that eval mode must switch off."""

    device = torch.device("cpu")

    def __init__(self):
        super().__init__()
        self.dropout = torch.nn.Dropout(0.9)

    def forward(self, images):
        logits = torch.full((len(images), 10), -20.0)
        logits[:, 3] = 20.0
        return self.dropout(logits)


def test_a_train_limit_keeps_the_first_training_images_and_the_other_splits():
    full, small = DigitsDataModule(image_size=8), DigitsDataModule(image_size=8, train_limit=50)
    full.setup("fit")
    small.setup("fit")
    assert len(small.split("train")[1]) == 50
    assert torch.equal(small.split("train")[1], full.split("train")[1][:50])
    for name in ("val", "test"):
        assert torch.equal(small.split(name)[1], full.split(name)[1])


def test_split_metrics_are_in_eval_mode_over_the_whole_split():
    data = DigitsDataModule(image_size=8, train_limit=40, batch_size=16, on_device=False)
    data.setup("fit")
    model = AlwaysThree().eval()
    metrics = split_metrics(model, data, "train") | split_metrics(model, data, "test")
    for split in ("train", "test"):
        labels = data.split(split)[1]
        assert metrics[f"fit/{split}_acc"] == pytest.approx(float((labels == 3).float().mean()))
    # wrong answers cost 40 nats each (logit 20 against -20); right ones almost nothing
    expected = 40 * (1 - metrics["fit/train_acc"])
    assert metrics["fit/train_loss"] == pytest.approx(expected, rel=1e-3)
