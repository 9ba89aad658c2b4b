"""Three ways to average IoU over a test set, computed on one trained segmenter's predictions.

notes: "在每个类上计算IoU, 之后平均" — IoU computed for each class, then averaged. Over a test
set that sentence can mean:
- dataset-level (ours, `metrics/miou.py`; torchmetrics' `MulticlassJaccardIndex(average=
  "macro")`): one confusion matrix over every pixel of every image, each class's IoU from it,
  then the mean over classes — every pixel weighs the same;
- the mean of per-image mIoUs: each image's IoU per class present in it (target or
  prediction), averaged over those classes, then over images — every image weighs the same,
  and a digit class missed on one small glyph scores 0 for that image;
- torchmetrics' `segmentation.MeanIoU(num_classes, input_format="index")` with its defaults:
  the IoU of every (image, class) pair with the class in that image's target or prediction,
  summed and divided by the number of such pairs (torchmetrics 1.9: its `score` and
  `num_batches` states) — a per-image mean in which an image with more classes weighs more.
  It has no ignore_index.
"""

from pathlib import Path

import torch
from torchmetrics.classification import MulticlassJaccardIndex
from torchmetrics.segmentation import MeanIoU as TorchmetricsMeanIoU

from dlnotes.claims.trained_run import split_batches, trained_run
from dlnotes.metrics.miou import MeanIoU, confusion_matrix, miou_from_confusion


def per_image_mious(
    labels: torch.Tensor, target: torch.Tensor, num_classes: int, ignore_index: int | None = 255
) -> torch.Tensor:
    """(N,) each image's mIoU over the classes in its target or its prediction."""
    return torch.stack(
        [
            miou_from_confusion(confusion_matrix(p, t, num_classes, ignore_index))[0]
            for p, t in zip(labels, target, strict=True)
        ]
    )


@torch.no_grad()
def test_set_predictions(run_dir: Path) -> tuple[torch.Tensor, torch.Tensor, int, int | None]:
    """A trained segmenter's predicted labels and the targets on its data config's test split,
    with its num_classes and ignore_index."""
    model, data = trained_run(run_dir, "test")
    labels, targets = [], []
    for images, masks in split_batches(data, "test"):
        labels.append(model(images.to(model.device)).argmax(1).cpu())
        targets.append(masks)
    return torch.cat(labels), torch.cat(targets), model.num_classes, model.ignore_index


def miou_definitions(run_dir: Path) -> dict[str, float]:
    """{"miou/dataset", "miou/jaccard_macro", "miou/per_image_mean", "miou/torchmetrics_meaniou"}
    of a segmenter's run, on its test split."""
    labels, target, num_classes, ignore_index = test_set_predictions(run_dir)
    dataset = MeanIoU(num_classes, ignore_index)
    dataset.update(labels, target)
    jaccard = MulticlassJaccardIndex(num_classes, average="macro", ignore_index=ignore_index)
    tm_mean = TorchmetricsMeanIoU(num_classes=num_classes, input_format="index")
    tm_mean.update(labels, target)
    ignored = ignore_index is not None and bool((target == ignore_index).any())
    return {
        "miou/dataset": float(dataset.compute()["miou"]),
        "miou/jaccard_macro": float(jaccard(labels, target)),
        "miou/per_image_mean": float(
            per_image_mious(labels, target, num_classes, ignore_index).mean()
        ),
        # it has no ignore_index: with ignored pixels in the targets it cannot be compared
        "miou/torchmetrics_meaniou": float("nan") if ignored else float(tm_mean.compute()),
    }
