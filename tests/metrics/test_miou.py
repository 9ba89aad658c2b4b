"""mIoU from one dataset-level confusion matrix, against a plain NumPy reference and by hand."""

import math

import numpy as np
import pytest
import torch
from torchmetrics.classification import MulticlassJaccardIndex

from dlnotes.metrics.miou import MeanIoU, miou_from_confusion

NAN = float("nan")


def reference(preds, target, num_classes: int, ignore_index: int | None = 255):
    """NumPy mIoU over all pixels at once: (confusion, mIoU, per-class IoU with NaN)."""
    p, t = np.asarray(preds).ravel(), np.asarray(target).ravel()
    if ignore_index is not None:
        p, t = p[t != ignore_index], t[t != ignore_index]
    confusion = np.bincount(t * num_classes + p, minlength=num_classes**2)
    confusion = confusion.reshape(num_classes, num_classes)
    tp = np.diag(confusion).astype(np.float64)
    union = confusion.sum(0) + confusion.sum(1) - tp
    iou = np.full(num_classes, np.nan)
    np.divide(tp, union, out=iou, where=union > 0)
    return confusion, np.nanmean(iou), iou


def random_case(seed: int, num_classes: int = 5, shape=(6, 7, 9)):
    """Correlated labels; class C-2 only predicted, class C-1 in neither; ~15% ignored pixels."""
    generator = torch.Generator().manual_seed(seed)
    target = torch.randint(0, num_classes - 2, shape, generator=generator)
    noise = torch.randint(0, num_classes - 1, shape, generator=generator)
    preds = torch.where(torch.rand(shape, generator=generator) < 0.6, target, noise)
    target[torch.rand(shape, generator=generator) < 0.15] = 255  # predictions there stay real
    return preds, target


def assert_matches_reference(metric: MeanIoU, preds, target, ignore_index: int | None = 255):
    confusion, miou, iou = reference(
        preds.numpy(), target.numpy(), metric.num_classes, ignore_index
    )
    assert torch.equal(metric.confusion, torch.from_numpy(confusion))
    exact_miou, exact_iou = miou_from_confusion(metric.confusion)
    np.testing.assert_allclose(exact_iou.numpy(), iou, rtol=1e-12)  # NaN where NaN
    assert math.isclose(exact_miou.item(), miou, rel_tol=1e-12)
    values = metric.compute()
    np.testing.assert_allclose(values["iou_per_class"].numpy(), iou, rtol=1e-6)
    assert math.isclose(values["miou"].item(), miou, rel_tol=1e-6)


@pytest.mark.parametrize("seed", range(5))
def test_random_batches_match_the_numpy_reference(seed):
    preds, target = random_case(seed)
    metric = MeanIoU(num_classes=5)
    for part in (slice(0, 1), slice(1, 4), slice(4, 6)):  # uneven batches, one dataset
        metric.update(preds[part], target[part])
    assert_matches_reference(metric, preds, target)
    iou = metric.compute()["iou_per_class"]
    assert iou[3] == 0 and iou[4].isnan()  # the case is built so: only predicted, absent
    assert ((iou[:3] > 0) & (iou[:3] < 1)).all()


def test_class_absent_from_both_is_left_out_and_class_only_predicted_scores_zero():
    # 4 classes; pixels (target → prediction): 0→0, 0→1, 1→1, 1→3
    target = torch.tensor([[[0, 0, 1, 1]]])
    preds = torch.tensor([[[0, 1, 1, 3]]])
    metric = MeanIoU(num_classes=4)
    metric.update(preds, target)
    values = metric.compute()
    # class 0: TP 1 (0→0), FP 0, FN 1 (0→1)            → 1 / (1 + 0 + 1) = 1/2
    # class 1: TP 1 (1→1), FP 1 (0→1), FN 1 (1→3)      → 1 / (1 + 1 + 1) = 1/3
    # class 2: in neither target nor prediction        → NaN, not in the mean
    # class 3: TP 0, FP 1 (1→3), FN 0                  → 0 / 1 = 0, in the mean
    # mIoU = (1/2 + 1/3 + 0) / 3 = 5/18
    expected = torch.tensor([1 / 2, 1 / 3, NAN, 0.0])
    torch.testing.assert_close(values["iou_per_class"], expected, equal_nan=True)
    assert math.isclose(values["miou"].item(), 5 / 18, rel_tol=1e-6)
    assert_matches_reference(metric, preds, target)


@pytest.mark.parametrize("at_ignored", [0, 1, 2])
def test_ignored_pixels_do_not_count_whatever_is_predicted_there(at_ignored):
    # 3 classes; the pixel at [0, 0, 1] is ignored (255) and its prediction varies
    target = torch.tensor([[[0, 255], [1, 1]]])
    preds = torch.tensor([[[0, at_ignored], [1, 0]]])
    metric = MeanIoU(num_classes=3)
    metric.update(preds, target)
    values = metric.compute()
    # kept pixels: 0→0, 1→1, 1→0
    # class 0: TP 1, FP 1 (1→0), FN 0  → 1/2
    # class 1: TP 1, FP 0, FN 1 (1→0)  → 1/2
    # class 2: predicted only (if at all) at the ignored pixel → NaN
    # mIoU = (1/2 + 1/2) / 2 = 1/2
    assert metric.confusion.sum() == 3
    torch.testing.assert_close(
        values["iou_per_class"], torch.tensor([0.5, 0.5, NAN]), equal_nan=True
    )
    assert values["miou"] == 0.5


def test_ignore_index_that_is_a_class_index_and_where_torchmetrics_differs():
    # 3 classes, ignore_index = 0; pixels (target → prediction): 0→2 (ignored), 1→1, 1→0, 2→2
    target = torch.tensor([[[0, 1, 1, 2]]])
    preds = torch.tensor([[[2, 1, 0, 2]]])
    metric = MeanIoU(num_classes=3, ignore_index=0)
    metric.update(preds, target)
    # class 0: TP 0, FP 1 (1→0), FN 0 → 0       (only predicted: scores 0)
    # class 1: TP 1, FP 0, FN 1 (1→0) → 1/2
    # class 2: TP 1, FP 0, FN 0       → 1       (the ignored 0→2 pixel is no FP)
    # mIoU = (0 + 1/2 + 1) / 3 = 1/2
    assert metric.compute()["miou"] == 0.5
    assert_matches_reference(metric, preds, target, ignore_index=0)
    # MulticlassJaccardIndex always drops class `ignore_index` from its mean: (1/2 + 1) / 2
    jaccard = MulticlassJaccardIndex(num_classes=3, average="macro", ignore_index=0)
    assert math.isclose(jaccard(preds, target).item(), 0.75, rel_tol=1e-6)
    # with the usual ignore_index = 255 it agrees with this module (to float32 rounding)
    preds, target = random_case(seed=7)
    metric, jaccard = MeanIoU(num_classes=5), MulticlassJaccardIndex(5, ignore_index=255)
    metric.update(preds, target)
    assert math.isclose(jaccard(preds, target).item(), metric.compute()["miou"], rel_tol=1e-6)


def test_dataset_level_not_the_mean_of_batch_mious():
    # batch 1 (target → prediction): 0→0 ×3, 1→0; batch 2: 1→1 ×4
    first = (torch.tensor([[[0, 0, 0, 0]]]), torch.tensor([[[0, 0, 0, 1]]]))
    second = (torch.tensor([[[1, 1, 1, 1]]]), torch.tensor([[[1, 1, 1, 1]]]))
    metric = MeanIoU(num_classes=2)
    metric.update(*first)
    metric.update(*second)
    # all 8 pixels: class 0 TP 3, FP 1 → 3/4; class 1 TP 4, FN 1 → 4/5; mIoU = 31/40 = 0.775
    # (per batch: (3/4 + 0) / 2 = 3/8 and 1, whose mean 11/16 = 0.6875 is not the mIoU)
    assert math.isclose(metric.compute()["miou"].item(), 31 / 40, rel_tol=1e-6)
    whole = MeanIoU(num_classes=2)
    whole.update(torch.cat([first[0], second[0]]), torch.cat([first[1], second[1]]))
    assert torch.equal(whole.confusion, metric.confusion)


@pytest.mark.parametrize("seed", [0, 1])
def test_one_batch_equals_several_batches(seed):
    preds, target = random_case(seed, num_classes=6, shape=(8, 5, 5))
    whole, batched = MeanIoU(num_classes=6), MeanIoU(num_classes=6)
    whole.update(preds, target)
    for part in torch.arange(8).split(3):
        batched.update(preds[part], target[part])
    assert torch.equal(whole.confusion, batched.confusion)
    assert whole.confusion.sum() == (target != 255).sum()
    torch.testing.assert_close(whole.compute(), batched.compute(), equal_nan=True)


def test_ddp_split_merges_into_the_whole():
    preds, target = random_case(seed=3, num_classes=5, shape=(10, 6, 6))
    whole = MeanIoU(num_classes=5)
    whole.update(preds, target)
    # two "ranks", each with half the data; DDP sums the confusion states (dist_reduce_fx="sum")
    rank0, rank1 = MeanIoU(num_classes=5), MeanIoU(num_classes=5)
    rank0.update(preds[:5], target[:5])
    rank1.update(preds[5:], target[5:])
    assert torch.equal(rank0.confusion + rank1.confusion, whole.confusion)
    # (not rank0.compute(): torchmetrics 1.9 caches it, and merge_state does not clear the cache)
    rank0_alone, _ = miou_from_confusion(rank0.confusion)
    rank0.merge_state(rank1)  # the same reduction torchmetrics applies across ranks
    assert torch.equal(rank0.confusion, whole.confusion)
    torch.testing.assert_close(rank0.compute(), whole.compute(), equal_nan=True)
    assert not math.isclose(
        rank0_alone, whole.compute()["miou"], rel_tol=1e-3
    )  # the halves alone would give another score
    assert_matches_reference(rank0, preds, target)


def test_logits_and_their_argmax_labels_agree():
    generator = torch.Generator().manual_seed(11)
    logits = torch.randn(3, 4, 6, 5, generator=generator)
    target = torch.randint(0, 4, (3, 6, 5), generator=generator)
    target[:, 0] = 255
    from_logits, from_labels = MeanIoU(num_classes=4), MeanIoU(num_classes=4)
    from_logits.update(logits, target)
    from_labels.update(logits.argmax(1), target)
    assert torch.equal(from_logits.confusion, from_labels.confusion)
    assert from_logits.confusion.sum() == 3 * 5 * 5  # the first row of each image ignored
    assert_matches_reference(from_logits, logits.argmax(1), target)


def test_everything_ignored_gives_nan_and_bad_inputs_raise():
    metric = MeanIoU(num_classes=3)
    metric.update(torch.tensor([[[0, 1]]]), torch.tensor([[[255, 255]]]))
    values = metric.compute()
    assert values["miou"].isnan() and values["iou_per_class"].isnan().all()
    with pytest.raises(ValueError, match="target"):
        MeanIoU(num_classes=3, ignore_index=None).update(
            torch.tensor([[[0, 1]]]), torch.tensor([[[0, 255]]])
        )
    with pytest.raises(ValueError, match="prediction"):
        MeanIoU(num_classes=3).update(torch.tensor([[[0, 3]]]), torch.tensor([[[0, 1]]]))
    with pytest.raises(ValueError, match="must be"):
        MeanIoU(num_classes=3).update(torch.zeros(1, 2, 3), torch.zeros(1, 2, 2, dtype=torch.long))


def test_three_averages_of_iou_over_a_test_set_differ_as_documented():
    """Image 1: classes 0, 1 perfect. Image 2: 4 pixels of class 0, one of class 2 predicted as
    0, class 3 perfect. Dataset-level: one confusion matrix; per-image mean: each image's mIoU
    then their mean; torchmetrics' MeanIoU(): the mean over (image, class) pairs present."""
    from torchmetrics.segmentation import MeanIoU as TorchmetricsMeanIoU

    from dlnotes.claims.miou_definitions import per_image_mious

    target = torch.tensor([[[0, 0, 1, 1, 1, 1]], [[0, 0, 0, 0, 2, 3]]])
    labels = torch.tensor([[[0, 0, 1, 1, 1, 1]], [[0, 0, 0, 0, 0, 3]]])
    image2 = [4 / 5, 0.0, 1.0]  # IoU of classes 0, 2, 3 in image 2
    torch.testing.assert_close(
        per_image_mious(labels, target, 4), torch.tensor([1.0, sum(image2) / 3]).double()
    )
    dataset = MeanIoU(4)
    dataset.update(labels, target)
    assert float(dataset.compute()["miou"]) == pytest.approx((6 / 7 + 1 + 0 + 1) / 4)
    tm = TorchmetricsMeanIoU(num_classes=4, input_format="index")
    tm.update(labels, target)
    assert float(tm.compute()) == pytest.approx((1 + 1 + sum(image2)) / 5)  # 5 pairs
