"""A fully convolutional segmenter (FCN, Long et al. 2015): a backbone's feature map, a 1×1
convolution giving one score map per class, upsampled to the input size.

notes: a 1×1 convolution combines the channels at each pixel — here it is the per-pixel
classifier, as in NIN's class maps. A skip branch (FCN's "skip" architecture) adds scores
from an early, high-resolution layer, so that thin strokes are not lost to the backbone's
stride.
"""

import torch
import torch.nn.functional as F
from torch import nn

from dlnotes.nets.nin import NIN
from dlnotes.nets.resnet import ResNet50

BACKBONES = ("nin", "resnet50")


def nin_parts(in_channels: int, norm: str, dropout: float) -> tuple[nn.Module, nn.Module, int, int]:
    """(early, deep, early channels, deep channels): NIN's first mlpconv (stride 1, 96) and
    the rest up to its last 3×3 mlpconv (stride 4, 192), without the class maps. Every layer
    of the first mlpconv runs at full resolution: 6× the FLOPs of the resnet50 backbone."""
    nin = NIN(in_channels=in_channels, num_classes=192, norm=norm, dropout=dropout, class_relu=True)
    early, *rest = nin.features
    return early, nn.Sequential(*rest), 96, 192


def resnet_parts(in_channels: int, norm: str) -> tuple[nn.Module, nn.Module, int, int]:
    """(early, deep, ...): ResNet50's conv1 (stride 2, 64) and max-pool + stages 2–3
    (stride 8, 512); stages 4–5 would leave a 64×64 scene 4×4 and 2×2 maps."""
    resnet = ResNet50(in_channels=in_channels, norm=norm, variant="torchvision")
    conv1 = nn.Sequential(resnet.conv1, resnet.bn_conv1, resnet.relu)
    return conv1, nn.Sequential(resnet.max_pool, resnet.stage2, resnet.stage3), 64, 512


class FCN(nn.Module):
    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 11,
        backbone: str = "nin",
        norm: str = "batchnorm",
        dropout: float = 0.1,
        skip: bool = True,
    ):
        super().__init__()
        if backbone not in BACKBONES:
            raise ValueError(f"model.net.backbone={backbone!r}: choose {' or '.join(BACKBONES)}")
        self.in_channels, self.skip = in_channels, skip
        if backbone == "nin":
            self.early, self.deep, early_ch, deep_ch = nin_parts(in_channels, norm, dropout)
        else:
            self.early, self.deep, early_ch, deep_ch = resnet_parts(in_channels, norm)
        # notes: 1×1 convolution — a linear classifier at every pixel, one map per class
        self.classifier = nn.Conv2d(deep_ch, num_classes, 1)
        self.skip_classifier = nn.Conv2d(early_ch, num_classes, 1) if skip else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) images → (N, classes, H, W) per-pixel logits."""
        early = self.early(x)
        scores = self.classifier(self.deep(early))
        scores = F.interpolate(scores, size=early.shape[-2:], mode="bilinear", align_corners=False)
        if self.skip_classifier is not None:
            scores = scores + self.skip_classifier(early)
        return F.interpolate(scores, size=x.shape[-2:], mode="bilinear", align_corners=False)

    def check_input_shape(self, image_shape: tuple[int, int, int]) -> None:
        if image_shape[0] != self.in_channels:
            shown = "×".join(map(str, image_shape))
            raise ValueError(
                f"FCN expects {self.in_channels}-channel images, data gives {shown}: "
                f"set model.net.in_channels={image_shape[0]}"
            )
