"""The notes' 1×1 convolution claims as modules to inspect side by side.

notes: "a 500×500 image of depth 100 through 20 filters of 1×1 gives 500×500×20" (dimension
reduction), and ResNet50's bottleneck (1×1 reduce → 3×3 → 1×1 expand) against a plain block of
two 3×3 convolutions at the same width.
"""

import torch
from torch import nn

from dlnotes.nets.resnet import STAGES, IdentityBlock

STAGE_SIZE_AT_224 = {2: 56, 3: 28, 4: 14, 5: 7}  # feature-map side in each stage for 224×224


def notes_example() -> tuple[dict[str, nn.Module], torch.Tensor]:
    """20 filters of 1×1, 3×3 and 5×5 on the notes' 500×500×100 input (same-size output)."""
    convs = {f"{k}×{k} conv, 20 filters": nn.Conv2d(100, 20, k, padding=k // 2) for k in (1, 3, 5)}
    return convs, torch.zeros(1, 100, 500, 500)


class PlainBlock(nn.Module):
    """Two 3×3 convs (with BN) and the identity shortcut, at `width` channels throughout."""

    def __init__(self, width: int):
        super().__init__()
        self.main_path = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.main_path(x) + x)


def bottleneck_vs_plain(stage: int) -> tuple[dict[str, nn.Module], torch.Tensor]:
    """ResNet50's identity block of `stage` and a plain 3×3 block of the same width (4·F1)."""
    filters = STAGES[stage][0]
    width, size = filters[-1], STAGE_SIZE_AT_224[stage]
    blocks = {
        f"stage {stage} bottleneck 1×1-3×3-1×1": IdentityBlock(f"{stage}b", filters),
        f"stage {stage} plain 3×3-3×3": PlainBlock(width),
    }
    return blocks, torch.zeros(1, width, size, size)
