"""The part R-CNN and Fast R-CNN share: proposals in, torchvision-style losses or detections out.

A subclass only says how it turns each image's proposals into features (`box_features`): R-CNN
crops the image and runs a CNN per proposal, Fast R-CNN pools a shared feature map.
"""

from collections.abc import Callable

import torch
from torch import nn

from dlnotes.detection.box_coding import FAST_RCNN_WEIGHTS, Weights
from dlnotes.detection.heads import (
    BG_IOU_LOW,
    FG_IOU,
    DetectionHead,
    losses,
    postprocess,
    sample_proposals,
)

Target = dict[str, torch.Tensor]  # {"boxes": (K, 4) float xyxy, "labels": (K,) int64 in 1..C-1}
ProposalFn = Callable[[torch.Tensor], list[torch.Tensor]]  # images → one (P, 4) per image


class ProposalDetector(nn.Module):
    """A detector on external region proposals (selective search), torchvision's API:

    `forward(images (N, C, H, W), targets)` → in training mode {"loss_classifier",
    "loss_box_reg"}; in eval mode a list of N {"boxes" (K, 4), "labels" (K,), "scores" (K,)}.
    Proposals come from `proposals(images)` (e.g. a `ProposalCache`), or are passed to forward.
    """

    def __init__(
        self,
        head: DetectionHead,
        proposals: ProposalFn | None = None,
        batch_size_per_image: int = 64,
        fg_fraction: float = 0.25,
        fg_iou: float = FG_IOU,
        bg_iou_low: float = BG_IOU_LOW,
        box_weights: Weights = FAST_RCNN_WEIGHTS,
        score_thresh: float = 0.05,
        nms_thresh: float = 0.5,
        detections_per_img: int = 100,
    ):
        super().__init__()
        self.head = head
        self.proposal_fn = proposals
        self.sampling = {
            "batch_size_per_image": batch_size_per_image,
            "fg_fraction": fg_fraction,
            "fg_iou": fg_iou,
            "bg_iou_low": bg_iou_low,
            "weights": box_weights,
        }
        self.box_weights = box_weights
        self.score_thresh, self.nms_thresh = score_thresh, nms_thresh
        self.detections_per_img = detections_per_img

    def box_features(self, images: torch.Tensor, proposals: list[torch.Tensor]) -> torch.Tensor:
        """(N, C, H, W) images and N (P_i, 4) proposals → (ΣP_i, ...) features for the head."""
        raise NotImplementedError

    def get_proposals(
        self, images: torch.Tensor, proposals: list[torch.Tensor] | None
    ) -> list[torch.Tensor]:
        """Each image's proposals as float boxes on the images' device."""
        if proposals is None:
            if self.proposal_fn is None:
                raise ValueError("no proposals: give the detector a proposal function or pass them")
            # notes: step 1 — ~2000 selective-search proposals per image
            proposals = self.proposal_fn(images)
        if len(proposals) != len(images):
            raise ValueError(f"{len(proposals)} proposal sets for {len(images)} images")
        dtype = images.dtype if images.is_floating_point() else torch.float32
        return [p.to(images.device, dtype).reshape(-1, 4) for p in proposals]

    def forward(
        self,
        images: torch.Tensor,
        targets: list[Target] | None = None,
        proposals: list[torch.Tensor] | None = None,
    ) -> dict[str, torch.Tensor] | list[dict[str, torch.Tensor]]:
        if isinstance(images, list | tuple):  # torchvision's API: a list of same-size images
            images = torch.stack(list(images))
        proposals = self.get_proposals(images, proposals)
        if self.training:
            if targets is None or len(targets) != len(images):
                raise ValueError("training mode needs one target dict per image")
            proposals, labels, regression_targets = self.training_samples(proposals, targets)
            class_logits, box_deltas = self.head(self.box_features(images, proposals))
            loss_classifier, loss_box_reg = losses(
                class_logits, box_deltas, torch.cat(labels), torch.cat(regression_targets)
            )
            return {"loss_classifier": loss_classifier, "loss_box_reg": loss_box_reg}
        class_logits, box_deltas = self.head(self.box_features(images, proposals))
        # notes: class scores and class-specific regressed boxes → NMS per class → detections
        return postprocess(
            class_logits,
            box_deltas,
            proposals,
            tuple(images.shape[-2:]),
            self.score_thresh,
            self.nms_thresh,
            self.detections_per_img,
            self.box_weights,
        )

    def training_samples(
        self, proposals: list[torch.Tensor], targets: list[Target]
    ) -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]]:
        """Per image: proposals + ground truths, sampled into labelled RoIs with box targets."""
        sampled = ([], [], [])
        for image_proposals, target in zip(proposals, targets, strict=True):
            gt_boxes = target["boxes"].to(image_proposals)
            # notes: Fast R-CNN adds the ground-truth boxes to the proposals in training
            image_proposals = torch.cat([image_proposals, gt_boxes])
            for part, value in zip(
                sampled,
                sample_proposals(image_proposals, gt_boxes, target["labels"], **self.sampling),
                strict=True,
            ):
                part.append(value)
        return sampled
