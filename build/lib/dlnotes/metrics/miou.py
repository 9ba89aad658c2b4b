"""Mean Intersection over Union for semantic segmentation, over a whole evaluation set.

notes: "mIoU (Mean Intersection over Union): the standard metric of semantic segmentation; it
computes the ratio of intersection and union of two sets, ground truth and prediction;
IoU = TP / (TP + FP + FN), averaged over classes."

Computed as the segmentation benchmarks do: one num_classes × num_classes confusion matrix summed
over every pixel of every batch (and, under DDP, every rank: the state reduces with "sum"), then
per-class IoU from it, then the mean over the classes present in the ground truth or the
predictions. A class absent from both has no IoU (NaN, left out of the mean); a class that is
only predicted scores 0. Pixels whose target is `ignore_index` are left out entirely, whatever
was predicted there. Averaging per-batch mIoUs instead would weigh small batches like big ones
and drop classes per batch, which is why the state is the confusion matrix, not a running mean.

Why not torchmetrics' `MulticlassJaccardIndex(num_classes, average="macro", ignore_index=255)`:
checked against a NumPy reference, it gives the same mean (dataset-level confusion matrix,
classes absent from both left out, ignored pixels dropped) up to float32 rounding, but it
differs when `ignore_index` is itself a class index (0 ≤ ignore_index < num_classes): it
always drops that class from the mean, even where it is predicted at kept pixels, which the
definition above scores 0. Example, 3 classes, ignore_index=0, target [0, 1, 1, 2], prediction
[2, 1, 0, 2]: the first pixel is ignored; class 0 is predicted once (FP), IoUs are 0, 1/2, 1,
so mIoU = 0.5 here and 0.75 there. It also divides in float32 (counts past 2²⁴ round), and its
per-class `average="none"` gives 0, not NaN, for absent classes.
"""

import torch
from torchmetrics import Metric


def confusion_matrix(
    labels: torch.Tensor, target: torch.Tensor, num_classes: int, ignore_index: int | None = 255
) -> torch.Tensor:
    """Counts[t, p] of pixels with target class t predicted as p; ignored pixels left out."""
    labels, target = labels.reshape(-1).long(), target.reshape(-1).long()
    if ignore_index is not None:
        keep = target != ignore_index
        labels, target = labels[keep], target[keep]
    for name, values in (("target", target), ("prediction", labels)):
        if ((values < 0) | (values >= num_classes)).any():
            raise ValueError(f"{name} has labels outside [0, {num_classes}) (and not ignored)")
    counts = torch.bincount(target * num_classes + labels, minlength=num_classes**2)
    return counts.reshape(num_classes, num_classes)


def miou_from_confusion(confusion: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(mIoU, per-class IoU) in float64; NaN for classes absent from target and prediction."""
    confusion = confusion.double()
    tp = confusion.diagonal()
    fp = confusion.sum(0) - tp  # predicted as the class, target another
    fn = confusion.sum(1) - tp  # target the class, predicted as another
    # notes: IoU = TP / (TP + FP + FN)
    union = tp + fp + fn
    iou = torch.where(union > 0, tp / union.clamp(min=1), torch.full_like(tp, float("nan")))
    # notes: averaged over classes (those in the ground truth or the predictions)
    return iou.nanmean(), iou


class MeanIoU(Metric):
    """mIoU over an evaluation set from one summed confusion matrix (see the module docstring).

    `update(preds, target)`: `preds` are logits or scores (N, C, H, W), reduced by argmax over
    C, or label maps (N, H, W); `target` is (N, H, W) class indices or `ignore_index`.
    `compute()` gives {"miou": scalar, "iou_per_class": (num_classes,), NaN for absent classes}.
    """

    full_state_update = False
    is_differentiable = False
    higher_is_better = True

    def __init__(self, num_classes: int, ignore_index: int | None = 255):
        super().__init__()
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        zeros = torch.zeros(num_classes, num_classes, dtype=torch.long)
        self.add_state("confusion", zeros, dist_reduce_fx="sum")

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        if preds.ndim == target.ndim + 1:
            preds = preds.argmax(1)
        if preds.shape != target.shape:
            raise ValueError(
                f"preds {tuple(preds.shape)} must be (N, C, H, W) logits or (N, H, W) labels "
                f"for target {tuple(target.shape)}"
            )
        self.confusion += confusion_matrix(preds, target, self.num_classes, self.ignore_index)

    def compute(self) -> dict[str, torch.Tensor]:
        miou, iou = miou_from_confusion(self.confusion)
        return {"miou": miou.float(), "iou_per_class": iou.float()}
