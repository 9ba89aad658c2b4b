"""The detection head R-CNN and Fast R-CNN share: per-proposal classifier + box regressor, the
training samples it learns from, its losses, and the post-processing that gives detections.
"""

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import batched_nms, box_iou, clip_boxes_to_image, remove_small_boxes

from dlnotes.detection.box_coding import FAST_RCNN_WEIGHTS, Weights, decode, encode

FG_IOU = 0.5  # Fast R-CNN paper (Girshick 2015, §2.3): IoU ≥ 0.5 → that object's class
BG_IOU_LOW = 0.1  # Fast R-CNN paper, §2.3: IoU in [0.1, 0.5) → background


class DetectionHead(nn.Module):
    """Pooled or warped proposal features → (class logits (P, C), box deltas (P, 4·C)).

    notes: "分类+回归" (classification + regression) on each proposal's features. As the Fast
    R-CNN paper (§2.1) builds it: two fully connected layers (fc6, fc7), then two sibling
    outputs — a softmax classifier over the C classes (background included) and a
    class-specific box regressor giving 4 deltas per class. Input features of any shape (P, ...)
    are flattened.
    """

    def __init__(self, in_features: int, num_classes: int, hidden: int = 256, dropout: float = 0.0):
        super().__init__()
        self.num_classes = num_classes
        self.fc = nn.Sequential(
            nn.Flatten(),
            nn.Linear(in_features, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
        )
        self.cls_score = nn.Linear(hidden, num_classes)
        self.bbox_pred = nn.Linear(hidden, 4 * num_classes)
        # Fast R-CNN's init: classifier N(0, 0.01), regressor N(0, 0.001), biases 0
        nn.init.normal_(self.cls_score.weight, std=0.01)
        nn.init.normal_(self.bbox_pred.weight, std=0.001)
        nn.init.zeros_(self.cls_score.bias)
        nn.init.zeros_(self.bbox_pred.bias)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.fc(features)
        return self.cls_score(x), self.bbox_pred(x)


def assign_labels(
    proposals: torch.Tensor,
    gt_boxes: torch.Tensor,
    gt_labels: torch.Tensor,
    fg_iou: float = FG_IOU,
    bg_iou_low: float = BG_IOU_LOW,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(labels (P,), matched gt index (P,)): the class of the best-overlapping ground truth if
    IoU ≥ fg_iou, 0 (background) if IoU in [bg_iou_low, fg_iou), −1 (not used) below.

    If no proposal falls in the background range (an empty image, or every proposal on an
    object), those below `bg_iou_low` become the background instead, so an image always gives
    negatives.
    """
    if len(gt_boxes) == 0:
        best_iou = proposals.new_zeros(len(proposals))
        matched = torch.zeros(len(proposals), dtype=torch.long, device=proposals.device)
    else:
        best_iou, matched = box_iou(proposals, gt_boxes).max(dim=1)
    labels = torch.full_like(matched, -1)
    # Fast R-CNN paper, §2.3: IoU ≥ 0.5 → foreground, labelled with the matched object's class
    foreground = best_iou >= fg_iou
    if len(gt_boxes):
        labels[foreground] = gt_labels[matched[foreground]].to(labels.dtype)
    # Fast R-CNN paper, §2.3: IoU in [0.1, 0.5) → background (label 0); below 0.1 → ignored
    background = (best_iou >= bg_iou_low) & ~foreground
    if not background.any():
        background = ~foreground
    labels[background] = 0
    return labels, matched


def sample_proposals(
    proposals: torch.Tensor,
    gt_boxes: torch.Tensor,
    gt_labels: torch.Tensor,
    batch_size_per_image: int = 64,
    fg_fraction: float = 0.25,
    fg_iou: float = FG_IOU,
    bg_iou_low: float = BG_IOU_LOW,
    weights: Weights = FAST_RCNN_WEIGHTS,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One image's training RoIs: (proposals (S, 4), labels (S,), regression targets (S, 4)).

    Fast R-CNN paper, §2.3: the mini-batch — 64 RoIs per image, at most 25% foreground
    (IoU ≥ 0.5), the rest background (IoU in [0.1, 0.5)), each drawn at random. Targets are
    `encode`d against the matched ground truth (meaningful only for foreground RoIs, which
    alone are regressed).
    """
    labels, matched = assign_labels(proposals, gt_boxes, gt_labels, fg_iou, bg_iou_low)
    fg = torch.nonzero(labels > 0).squeeze(1)
    bg = torch.nonzero(labels == 0).squeeze(1)
    num_fg = min(int(batch_size_per_image * fg_fraction), len(fg))
    num_bg = min(batch_size_per_image - num_fg, len(bg))
    fg = fg[torch.randperm(len(fg), generator=generator)[:num_fg].to(fg.device)]
    bg = bg[torch.randperm(len(bg), generator=generator)[:num_bg].to(bg.device)]
    keep = torch.cat([fg, bg])
    sampled = proposals[keep]
    if len(gt_boxes):
        targets = encode(sampled, gt_boxes[matched[keep]].to(sampled), weights)
    else:
        targets = torch.zeros_like(sampled)
    return sampled, labels[keep], targets


def losses(
    class_logits: torch.Tensor,
    box_deltas: torch.Tensor,
    labels: torch.Tensor,
    regression_targets: torch.Tensor,
    beta: float = 1.0 / 9,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(classification loss, box regression loss) over the RoIs of a batch, torchvision-style.

    Fast R-CNN paper, eq. 1: multi-task loss L = L_cls(p, u) + [u ≥ 1]·L_loc(t^u, v) —
    cross-entropy over all RoIs, smooth L1 between the true class's deltas and the targets on
    foreground RoIs only, summed and divided by the number of RoIs.
    """
    if labels.numel() == 0:  # no RoI at all: zero losses that keep the graph
        zero = class_logits.sum() * 0 + box_deltas.sum() * 0
        return zero, zero
    loss_classifier = F.cross_entropy(class_logits, labels)
    foreground = torch.nonzero(labels > 0).squeeze(1)
    deltas = box_deltas.reshape(len(box_deltas), -1, 4)[foreground, labels[foreground]]
    loss_box_reg = (
        F.smooth_l1_loss(deltas, regression_targets[foreground], beta=beta, reduction="sum")
        / labels.numel()
    )
    return loss_classifier, loss_box_reg


def postprocess(
    class_logits: torch.Tensor,
    box_deltas: torch.Tensor,
    proposals: torch.Tensor | list[torch.Tensor],
    image_size: tuple[int, int],
    score_thresh: float = 0.05,
    nms_thresh: float = 0.5,
    detections_per_img: int = 100,
    weights: Weights = FAST_RCNN_WEIGHTS,
) -> list[dict[str, torch.Tensor]]:
    """Head outputs for the proposals of each image → one {"boxes", "labels", "scores"} per image.

    `proposals` is a list of (P_i, 4) tensors whose rows follow the outputs' rows (a single
    tensor means one image). `image_size` is (H, W), shared by the batch.
    """
    if isinstance(proposals, torch.Tensor):
        proposals = [proposals]
    counts = [len(p) for p in proposals]
    num_classes = class_logits.shape[-1]
    # notes: classification + regression; each class's own regressed box (Fast R-CNN paper)
    scores = F.softmax(class_logits, dim=-1)
    boxes = decode(box_deltas.reshape(-1, num_classes, 4), torch.cat(proposals)[:, None], weights)
    boxes = clip_boxes_to_image(boxes, image_size)
    results = []
    for image_boxes, image_scores in zip(boxes.split(counts), scores.split(counts), strict=True):
        results.append(
            image_detections(
                image_boxes, image_scores, score_thresh, nms_thresh, detections_per_img
            )
        )
    return results


def image_detections(
    boxes: torch.Tensor,
    scores: torch.Tensor,
    score_thresh: float,
    nms_thresh: float,
    detections_per_img: int,
) -> dict[str, torch.Tensor]:
    """(P, C, 4) boxes and (P, C) probabilities of one image → its final detections."""
    num_classes = scores.shape[-1]
    labels = torch.arange(num_classes, device=scores.device).expand_as(scores)
    # the background column is no detection: every proposal gives one candidate per object class
    boxes, scores, labels = boxes[:, 1:].reshape(-1, 4), scores[:, 1:].flatten(), labels[:, 1:]
    labels = labels.flatten()
    keep = torch.nonzero(scores > score_thresh).squeeze(1)
    boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
    keep = remove_small_boxes(boxes, min_size=1e-2)
    boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
    # R-CNN paper, §2.2: non-maximum suppression per class, then the best detections_per_img
    keep = batched_nms(boxes, scores, labels, nms_thresh)[:detections_per_img]
    return {"boxes": boxes[keep], "labels": labels[keep], "scores": scores[keep]}
