"""Pictures of boxes and masks, drawn the same way in a run's logged images and in predict.py's
outputs: true boxes green, predicted boxes red with class and score; masks in distinct colors
over the image (background black, ignored pixels white)."""

import matplotlib
import torch
from torchvision.utils import draw_bounding_boxes

TRUE_COLOR, PREDICTED_COLOR = (0, 255, 0), (255, 64, 64)


def rgb_uint8_batch(images: torch.Tensor, scale: int = 1) -> torch.Tensor:
    """(N, C, H, W) floats in [0, 1] → (N, 3, scale·H, scale·W) uint8 (pixels as blocks)."""
    images = images.detach().float().cpu().clamp(0, 1)
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    if scale > 1:
        images = images.repeat_interleave(scale, dim=2).repeat_interleave(scale, dim=3)
    return images.mul(255).round().to(torch.uint8)


def draw_detections(
    image: torch.Tensor,
    target: dict,
    prediction: dict,
    names: list[str],
    scale: int = 1,
    score_threshold: float = 0.5,
) -> torch.Tensor:
    """One (3, H, W) uint8 image: true boxes in green, predictions ≥ threshold in red with
    their class and score; boxes are in the image's pixels before `scale`."""
    kept = prediction["scores"] >= score_threshold
    true_boxes = target["boxes"].detach().float().cpu() * scale
    boxes = prediction["boxes"][kept].detach().float().cpu() * scale
    captions = [
        f"{_name(names, int(label))} {score:.2f}"
        for label, score in zip(prediction["labels"][kept], prediction["scores"][kept], strict=True)
    ]
    if len(true_boxes):
        image = draw_bounding_boxes(image, true_boxes, colors=TRUE_COLOR, width=1)
    if len(boxes):
        image = draw_bounding_boxes(image, boxes, labels=captions, colors=PREDICTED_COLOR, width=1)
    return image


def _name(names: list[str], label: int) -> str:
    return names[label] if 0 <= label < len(names) else str(label)


def color_masks(masks: torch.Tensor, num_classes: int, ignore_index: int) -> torch.Tensor:
    """(N, H, W) labels → (N, 3, H, W) colors in [0, 1]: background black, ignored white."""
    palette = torch.tensor(
        [[0, 0, 0]] + [list(c) for c in _distinct_colors(num_classes - 1)], dtype=torch.float32
    )
    valid = masks != ignore_index
    colored = palette.to(masks.device)[masks.clamp(0, num_classes - 1)]
    colored[~valid] = 1.0
    return colored.permute(0, 3, 1, 2)


def _distinct_colors(n: int) -> list[tuple[float, float, float]]:
    cmap = matplotlib.colormaps["tab10" if n <= 10 else "tab20"]
    return [tuple(cmap(i % cmap.N)[:3]) for i in range(n)]


def overlay(images: torch.Tensor, colors: torch.Tensor, alpha: float = 0.6) -> torch.Tensor:
    """Masks in color over the (gray or RGB) images; background pixels show the image."""
    rgb = images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images
    painted = colors.sum(1, keepdim=True) > 0
    return torch.where(painted, (1 - alpha) * rgb + alpha * colors, rgb)
