"""Fast R-CNN (Girshick 2015): the whole image through the backbone once; each proposal's
features pooled from the shared feature map by RoI pooling, then the detection head.

notes: Fast R-CNN's steps — (1) ~2000 selective-search proposals per image; (2) the whole
image through the CNN once → a feature map; (3) each proposal projected onto the feature map
(coordinates × 1/stride) and its patch max-pooled to a fixed grid (RoI pooling, a one-level
SPP); (4) fully connected layers → softmax classifier + box regressor, trained jointly.
It is faster than R-CNN because the convolutions are shared by all proposals.
"""

import torch
from torch import nn
from torchvision.ops import roi_align, roi_pool

from dlnotes.detection.detector import ProposalDetector, ProposalFn
from dlnotes.detection.heads import DetectionHead
from dlnotes.detection.rcnn import conv_layers, rois_from_proposals
from dlnotes.nets.fcn import nin_parts, resnet_parts

BACKBONES = ("resnet50", "nin", "conv_stack")
CONV_STACK_WIDTHS = (32, 64, 128)  # R-CNN's CNN (conf/model/rcnn.yaml)
POOLS = ("roi_pool", "roi_align")


def make_backbone(
    name: str, in_channels: int, norm: str = "batchnorm", dropout: float = 0.1
) -> tuple[nn.Module, int, int]:
    """(backbone, out channels, stride), cut as in fcn.py: ResNet50's conv1 + stages 2–3
    (512 channels, stride 8), NIN's mlpconvs without the class maps (192, stride 4), or R-CNN's
    own CNN without its global pool (128, stride 8): R-CNN and Fast R-CNN like for like."""
    if name == "resnet50":
        early, deep, _, channels = resnet_parts(in_channels, norm)
        return nn.Sequential(early, deep), channels, 8
    if name == "nin":
        early, deep, _, channels = nin_parts(in_channels, norm, dropout)
        return nn.Sequential(early, deep), channels, 4
    if name == "conv_stack":
        return conv_layers(in_channels, CONV_STACK_WIDTHS), CONV_STACK_WIDTHS[-1], 8
    raise ValueError(f"backbone {name!r}: choose {' or '.join(BACKBONES)}")


class FastRCNN(ProposalDetector):
    """Images → `backbone` (out_channels maps at 1/stride) → RoI pooling of each proposal to
    pool_size × pool_size (spatial_scale = 1/stride) → DetectionHead.

    `pool="roi_pool"` is the paper's max pooling over quantized bins; "roi_align" (bilinear,
    aligned=True) avoids the quantization. Remaining keyword arguments go to ProposalDetector.
    """

    def __init__(
        self,
        backbone: nn.Module,
        out_channels: int,
        stride: int,
        num_classes: int,
        proposals: ProposalFn | None = None,
        pool_size: int = 7,
        pool: str = "roi_pool",
        hidden: int = 256,
        dropout: float = 0.0,
        **detector_kwargs,
    ):
        if pool not in POOLS:
            raise ValueError(f"pool {pool!r}: choose {' or '.join(POOLS)}")
        head = DetectionHead(out_channels * pool_size**2, num_classes, hidden, dropout)
        super().__init__(head, proposals, **detector_kwargs)
        self.backbone = backbone
        self.stride, self.pool_size, self.pool = stride, pool_size, pool

    def box_features(self, images, proposals):
        # notes: the whole image through the CNN once → a shared feature map
        feature_map = self.backbone(images)
        rois = rois_from_proposals(proposals).to(feature_map.dtype)
        # notes: each proposal mapped onto the feature map (× 1/stride) and pooled to a grid
        if self.pool == "roi_pool":
            if feature_map.dtype == torch.bfloat16 and feature_map.device.type == "cpu":
                # torchvision's CPU roi_pool has no bfloat16 kernel (trainer.precision=bf16-mixed)
                feature_map, rois = feature_map.float(), rois.float()
            return roi_pool(feature_map, rois, self.pool_size, spatial_scale=1.0 / self.stride)
        return roi_align(
            feature_map,
            rois,
            self.pool_size,
            spatial_scale=1.0 / self.stride,
            sampling_ratio=2,
            aligned=True,
        )


def reduce_channels(backbone: nn.Module, channels: int, reduced: int) -> nn.Module:
    """`backbone` followed by a 1×1 conv (+ ReLU) from `channels` to `reduced` maps.
    notes: 1×1 convolutions reduce depth cheaply; here they make RoI pooling and the head's
    first fully connected layer, which run once per proposal, `channels / reduced` times cheaper.
    """
    return nn.Sequential(backbone, nn.Conv2d(channels, reduced, 1), nn.ReLU(inplace=True))


def build_fast_rcnn(
    num_classes: int,
    in_channels: int = 1,
    backbone: str = "resnet50",
    reduced_channels: int | None = None,
    **kwargs,
) -> FastRCNN:
    """FastRCNN on `make_backbone(backbone)` (a config can name it; the rest goes to FastRCNN),
    with a 1×1 reduction to `reduced_channels` maps when it is given."""
    module, out_channels, stride = make_backbone(backbone, in_channels)
    if reduced_channels:
        module, out_channels = (
            reduce_channels(module, out_channels, reduced_channels),
            reduced_channels,
        )
    return FastRCNN(module, out_channels, stride, num_classes, **kwargs)
