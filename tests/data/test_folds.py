"""k-fold cross-validation: the folds are disjoint, cover train + val, keep each class's share,
leave the test split alone, and do not move with the training seed."""

import pytest
import torch

from dlnotes.data.digits import DigitsDataModule
from dlnotes.data.folds import fold_of_each
from dlnotes.data.synthetic import SyntheticDataModule
from dlnotes.errors import ConfigError


def splits(**options) -> dict:
    data = DigitsDataModule(image_size=8, on_device=False, **options)
    data.setup("fit")
    return data.splits


def test_folds_are_disjoint_cover_train_and_val_and_leave_test_alone():
    plain = splits()
    pooled = torch.cat([plain["train"][0], plain["val"][0]]).flatten(1)
    seen = []
    for fold in range(5):
        cut = splits(folds=5, fold=fold)
        assert torch.equal(cut["test"][0], plain["test"][0])
        assert len(cut["train"][1]) + len(cut["val"][1]) == len(pooled)
        seen.append(cut["val"][0].flatten(1))
    every = torch.cat(seen)
    assert len(every) == len(pooled) and len(torch.unique(every, dim=0)) == len(
        torch.unique(pooled, dim=0)
    )  # each pooled image validates exactly once over the 5 folds


def test_each_fold_keeps_every_class_s_share():
    labels = torch.tensor([0] * 50 + [1] * 30 + [2] * 20)
    assignment = fold_of_each(labels, folds=5, seed=0)
    for fold in range(5):
        counts = torch.bincount(labels[assignment == fold], minlength=3)
        assert counts.tolist() == [10, 6, 4]


def test_folds_follow_the_split_seed_not_the_training_seed():
    a, b = splits(folds=3, fold=1, seed=1), splits(folds=3, fold=1, seed=2)
    assert torch.equal(a["val"][1], b["val"][1])


def test_split_seed_draws_the_folds_of_data_without_a_split_of_its_own():
    """Synthetic data has fixed splits (its `data_seed`): only `split_seed` moves its folds."""

    def fold_images(split_seed: int) -> torch.Tensor:
        sizes = {"train_size": 60, "val_size": 30, "test_size": 10}
        data = SyntheticDataModule((1, 4, 4), 3, **sizes, folds=3, split_seed=split_seed)
        data.setup("fit")
        return data.splits["val"][0]

    assert torch.equal(fold_images(0), fold_images(0))
    assert not torch.equal(fold_images(0), fold_images(1))


@pytest.mark.parametrize(
    ("folds", "fold", "message"), [(5, 5, "folds are 0 to 4"), (1, 0, "2 folds")]
)
def test_bad_folds_are_one_line(folds, fold, message):
    with pytest.raises(ConfigError, match=message):
        DigitsDataModule(image_size=8, folds=folds, fold=fold)
