"""k-fold cross-validation over the training and validation images (`data.folds=K
data.fold=i`): the two are pooled, cut into K folds — stratified by class where each image has
one label, so every fold holds each class in its share — and fold i validates while the others
train. The test split is never touched. The cut depends on the data's split seed only, so the
K runs of one sweep see the same folds whatever their training seed.
"""

import torch

from dlnotes.errors import ConfigError

Split = tuple[torch.Tensor, torch.Tensor]


def check_fold(folds: int, fold: int) -> None:
    if folds < 2:
        raise ConfigError(f"data.folds={folds}: cross-validation needs 2 folds or more")
    if not 0 <= fold < folds:
        raise ConfigError(f"data.fold={fold} with data.folds={folds}: folds are 0 to {folds - 1}")


def fold_of_each(labels: torch.Tensor, folds: int, seed: int) -> torch.Tensor:
    """Each sample's fold: shuffled by `seed`, dealt round the folds class by class (the deal
    goes on across classes, so no fold takes every class's remainder)."""
    generator = torch.Generator().manual_seed(seed)
    assignment = torch.empty(len(labels), dtype=torch.long)
    one_label_each = labels.ndim == 1 and not labels.is_floating_point()
    groups = [labels == c for c in labels.unique()] if one_label_each else [None]
    dealt = 0
    for members in groups:
        index = members.nonzero().flatten() if members is not None else torch.arange(len(labels))
        index = index[torch.randperm(len(index), generator=generator)]
        assignment[index] = (torch.arange(len(index)) + dealt) % folds
        dealt += len(index)
    return assignment


def with_fold(splits: dict[str, Split], folds: int, fold: int, seed: int) -> dict[str, Split]:
    """`splits` with train and val re-cut: fold `fold` of the pooled two validates."""
    check_fold(folds, fold)
    images = torch.cat([splits["train"][0], splits["val"][0]])
    labels = torch.cat([splits["train"][1], splits["val"][1]])
    assignment = fold_of_each(labels, folds, seed)
    validating = assignment == fold
    return {
        **splits,
        "train": (images[~validating], labels[~validating]),
        "val": (images[validating], labels[validating]),
    }
