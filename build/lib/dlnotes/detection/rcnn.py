"""R-CNN (Girshick et al. 2014): every proposal cropped from the image, warped to a fixed size
and sent through a CNN on its own; the CNN's features go to the detection head.

notes: R-CNN's steps — (1) ~2000 selective-search proposals per image; (2) each proposal's
image patch warped to the same size and put through the CNN for a feature vector; (3) a
classifier decides the class (the paper: one linear SVM per class; here a softmax, as in Fast
R-CNN); (4) a box regressor refines the box. The CNN runs once per proposal: that is its cost.
"""

import torch
from torch import nn
from torchvision.ops import roi_align

from dlnotes.detection.detector import ProposalDetector, ProposalFn
from dlnotes.detection.heads import DetectionHead


def conv_layers(in_channels: int, widths: tuple[int, ...] = (32, 64, 128)) -> nn.Sequential:
    """[3×3 conv → BN → ReLU → 2×2 max-pool] per width: widths[-1] maps at stride
    2 ** len(widths). Fast R-CNN can share it (`backbone=conv_stack`): the same CNN for both."""
    layers: list[nn.Module] = []
    for width in widths:
        layers += [
            nn.Conv2d(in_channels, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        ]
        in_channels = width
    return nn.Sequential(*layers)


def conv_stack(in_channels: int, widths: tuple[int, ...] = (32, 64, 128)) -> nn.Sequential:
    """A tiny CNN for warped crops: `conv_layers`, then a global average pool and flatten →
    (N, widths[-1])."""
    return nn.Sequential(*conv_layers(in_channels, widths), nn.AdaptiveAvgPool2d(1), nn.Flatten())


@torch.no_grad()
def output_features(cnn: nn.Module, in_channels: int, warp_size: int) -> int:
    """Width of the CNN's flattened output for one warped crop, by a dry run in eval mode."""
    was_training = cnn.training
    cnn.eval()
    try:
        out = cnn(torch.zeros(1, in_channels, warp_size, warp_size))
    finally:
        cnn.train(was_training)
    return out.flatten(1).shape[1]


def rois_from_proposals(proposals: list[torch.Tensor]) -> torch.Tensor:
    """N (P_i, 4) boxes → (ΣP_i, 5) rows (image index, x1, y1, x2, y2) for torchvision.ops."""
    index = torch.cat(
        [
            torch.full((len(p), 1), i, dtype=p.dtype, device=p.device)
            for i, p in enumerate(proposals)
        ]
    )
    return torch.cat([index, torch.cat(proposals)], dim=1)


class RCNN(ProposalDetector):
    """Proposals → image crops warped to warp_size × warp_size (roi_align, aligned=True) → `cnn`
    → DetectionHead. `cnn` maps (R, in_channels, warp, warp) crops to (R, F) (or (R, ...),
    flattened); F is measured if `cnn_out_features` is not given.

    At most `chunk_size` crops go through the CNN at once (eval runs every proposal).
    Remaining keyword arguments (sampling, box weights, NMS) go to ProposalDetector.
    """

    def __init__(
        self,
        cnn: nn.Module,
        num_classes: int,
        proposals: ProposalFn | None = None,
        in_channels: int = 1,
        warp_size: int = 32,
        cnn_out_features: int | None = None,
        hidden: int = 256,
        dropout: float = 0.0,
        chunk_size: int = 512,
        **detector_kwargs,
    ):
        if cnn_out_features is None:
            cnn_out_features = output_features(cnn, in_channels, warp_size)
        head = DetectionHead(cnn_out_features, num_classes, hidden, dropout)
        super().__init__(head, proposals, **detector_kwargs)
        self.cnn = cnn
        self.warp_size, self.chunk_size = warp_size, chunk_size

    def warp(self, images: torch.Tensor, proposals: list[torch.Tensor]) -> torch.Tensor:
        """notes: each proposal's image patch warped to the same size (R-CNN: 227×227)."""
        return roi_align(
            images.float(),
            rois_from_proposals(proposals).float(),
            output_size=self.warp_size,
            spatial_scale=1.0,
            sampling_ratio=2,
            aligned=True,
        )

    def box_features(self, images: torch.Tensor, proposals: list[torch.Tensor]) -> torch.Tensor:
        crops = self.warp(images, proposals)
        if len(crops) == 0:
            return crops.new_zeros(0, self.head.fc[1].in_features)
        # notes: each warped patch through the CNN on its own — one forward per proposal
        return torch.cat([self.cnn(chunk).flatten(1) for chunk in crops.split(self.chunk_size)])


def build_rcnn(
    num_classes: int, in_channels: int = 1, widths: tuple[int, ...] = (32, 64, 128), **kwargs
) -> RCNN:
    """RCNN with a `conv_stack` CNN of these widths (the rest goes to RCNN)."""
    return RCNN(
        conv_stack(in_channels, tuple(widths)), num_classes, in_channels=in_channels, **kwargs
    )
