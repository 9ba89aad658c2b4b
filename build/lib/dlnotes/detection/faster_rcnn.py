"""Faster R-CNN (Ren et al. 2015) on our own ResNet50, sized for 64×64 digit scenes.

notes: Faster R-CNN — a Region Proposal Network (RPN) on the shared feature map replaces
selective search: at each position of the map, k anchors (boxes of a few sizes and aspect
ratios) are scored object/not-object and regressed to proposals; RoI pooling (here RoIAlign)
cuts each proposal's features from the same map for the Fast R-CNN head (class + box).

Built from torchvision's `FasterRCNN` with our backbone, so nothing is downloaded: no
pretrained weights at all, the whole detector trains from scratch.
"""

from collections.abc import Sequence

from torch import nn
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.ops import MultiScaleRoIAlign

from dlnotes.nets.fcn import resnet_parts

BACKBONES = ("resnet50",)
# pixel statistics of the digit scenes (black background, white strokes), values in [0, 1]
DIGIT_SCENES_MEAN, DIGIT_SCENES_STD = 0.094, 0.228


def resnet_backbone(in_channels: int = 1, norm: str = "batchnorm") -> nn.Sequential:
    """ResNet50's stages 1–3 (conv1, max-pool, stages 2–3): stride 8, 512 channels, so a
    64×64 scene gives an 8×8 map; stages 4–5 would leave 4×4 and 2×2.

    Gray images go through a 1-channel conv1 rather than being repeated to 3 channels: with
    no pretrained weights there is nothing an RGB conv1 would reuse, and 3 equal channels
    only triple conv1's input work for the same function.
    """
    early, deep, _, out_channels = resnet_parts(in_channels, norm)
    backbone = nn.Sequential(early, deep)
    backbone.out_channels = out_channels  # FasterRCNN reads this to size the RPN and the head
    return backbone


def anchor_generator(
    sizes: Sequence[Sequence[int]], aspect_ratios: Sequence[Sequence[float]]
) -> AnchorGenerator:
    """One tuple of sizes and one of aspect ratios (height/width) per feature map."""
    sizes = tuple(tuple(int(s) for s in level) for level in sizes)  # Hydra gives ListConfigs
    ratios = tuple(tuple(float(r) for r in level) for level in aspect_ratios)
    if len(sizes) != 1 or len(ratios) != 1:
        raise ValueError(
            f"one feature map here: anchor_sizes and aspect_ratios need one level each, "
            f"got {len(sizes)} and {len(ratios)}"
        )
    # notes: anchors — k = |sizes| × |ratios| reference boxes centred at each map position
    return AnchorGenerator(sizes=sizes, aspect_ratios=ratios)


def build_faster_rcnn(
    num_classes: int,
    in_channels: int = 1,
    backbone: str = "resnet50",
    image_size: int = 64,
    anchor_sizes: Sequence[Sequence[int]] = ((16, 24, 32),),
    aspect_ratios: Sequence[Sequence[float]] = ((0.5, 1.0, 2.0),),
    image_mean: Sequence[float] | None = None,
    image_std: Sequence[float] | None = None,
    norm: str = "batchnorm",
    representation_size: int = 1024,
    rpn_post_nms_top_n_train: int = 300,
    rpn_post_nms_top_n_test: int = 100,
    box_batch_size_per_image: int = 128,
    box_detections_per_img: int = 20,
    **kwargs,
) -> FasterRCNN:
    """torchvision's FasterRCNN on `resnet_backbone`, for `image_size`-pixel square images.

    `num_classes` counts the background (label 0). Images arrive as floats in [0, 1]; the
    detector's own transform normalizes them with `image_mean`/`image_std` (one value per
    channel; the digit scenes' statistics by default) and keeps their size (min_size =
    max_size = image_size, where torchvision would resize to 800). The proposal and sampling
    counts are cut from torchvision's COCO values (2000/1000 proposals, 512 RoIs per image)
    for scenes of 2–4 digits. Other FasterRCNN arguments pass through `kwargs`.
    """
    if backbone not in BACKBONES:
        raise ValueError(f"model.net.backbone={backbone!r}: choose {' or '.join(BACKBONES)}")
    body = resnet_backbone(in_channels, norm)
    mean = list(image_mean) if image_mean is not None else [DIGIT_SCENES_MEAN] * in_channels
    std = list(image_std) if image_std is not None else [DIGIT_SCENES_STD] * in_channels
    if len(mean) != in_channels or len(std) != in_channels:
        raise ValueError(f"image_mean and image_std need {in_channels} values (one a channel)")
    # notes: RoIAlign cuts a fixed 7×7 grid of features from the map for every proposal
    roi_pool = MultiScaleRoIAlign(featmap_names=["0"], output_size=7, sampling_ratio=2)
    resolution = roi_pool.output_size[0]
    # notes: Fast R-CNN head — two fully connected layers, then class scores and per-class boxes
    box_head = TwoMLPHead(body.out_channels * resolution**2, representation_size)
    return FasterRCNN(
        body,
        min_size=image_size,
        max_size=image_size,
        image_mean=mean,
        image_std=std,
        rpn_anchor_generator=anchor_generator(anchor_sizes, aspect_ratios),
        box_roi_pool=roi_pool,
        box_head=box_head,
        box_predictor=FastRCNNPredictor(representation_size, num_classes),
        rpn_post_nms_top_n_train=rpn_post_nms_top_n_train,
        rpn_post_nms_top_n_test=rpn_post_nms_top_n_test,
        box_batch_size_per_image=box_batch_size_per_image,
        box_detections_per_img=box_detections_per_img,
        **kwargs,
    )
