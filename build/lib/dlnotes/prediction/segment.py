"""A segmenter's predictions, each at the image's own size: a mask PNG (palette image whose
pixel values are the class numbers), the mask over the image, and each class's share of the
image in areas.csv."""

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from dlnotes.prediction.inputs import ImageBatch, InputImage
from dlnotes.prediction.outputs import Outputs, write_csv
from dlnotes.tasks.drawing import color_masks, overlay

AREAS_FILE = "areas.csv"
PALETTE_SIZE = 256  # a palette PNG holds class numbers 0..255


def upsampled_labels(logits: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(H, W) labels: the argmax of the (C, h, w) logits resized bilinearly to `size` (H, W).

    One class's map is resized at a time, keeping the running maximum, so a large photo needs
    three maps of its size in memory rather than C.
    """
    labels = torch.zeros(size, dtype=torch.long, device=logits.device)
    best = None
    for index, scores in enumerate(logits.float()):
        resized = F.interpolate(scores[None, None], size, mode="bilinear", align_corners=False)
        resized = resized[0, 0]
        if best is None:
            best = resized
            continue
        better = resized > best  # ties keep the lower class, as argmax does
        best = torch.where(better, resized, best)
        labels[better] = index
    return labels


def palette(num_classes: int, ignore_index: int) -> list[int]:
    """The colours the training pictures use (background black), flat RGB for `putpalette`."""
    classes = torch.arange(num_classes).view(1, 1, num_classes)
    colors = color_masks(classes, num_classes, ignore_index)[0, :, 0].T  # (classes, 3)
    return colors.mul(255).round().to(torch.uint8).flatten().tolist()


def mask_image(labels: torch.Tensor, colors: list[int] | None) -> Image.Image:
    """A palette PNG when the classes fit in one (class k is pixel value k), else 16-bit gray."""
    array = labels.cpu().numpy()
    if colors is None:
        return Image.fromarray(array.astype(np.uint16))
    image = Image.fromarray(array.astype(np.uint8))
    image.putpalette(colors)
    return image


class SegmenterOutputs(Outputs):
    keeps_originals = True

    def __init__(self, model, out_dir, names, cfg):
        super().__init__(model, out_dir, names, cfg)
        self.ignore_index = int(getattr(model, "ignore_index", 255))
        fits = len(names) <= PALETTE_SIZE
        self.colors = palette(len(names), self.ignore_index) if fits else None
        self.rows: list[list] = []

    def write(self, images: torch.Tensor, batch: ImageBatch, inputs: list[InputImage]) -> None:
        logits = self.model(images)
        for item, scores, original in zip(inputs, logits, batch.originals, strict=True):
            size = (item.height, item.width)
            labels = upsampled_labels(scores, size).cpu()
            mask_image(labels, self.colors).save(self.path("masks", item.stem))
            painted = color_masks(labels[None], len(self.names), self.ignore_index)
            over = overlay(original[None].float() / 255, painted)[0]
            picture = over.clamp(0, 1).mul(255).round().to(torch.uint8).permute(1, 2, 0)
            Image.fromarray(picture.numpy()).save(self.path("overlays", item.stem))
            counts = torch.bincount(labels.flatten(), minlength=len(self.names))
            shares = (counts.double() / labels.numel()).tolist()
            self.rows.append([item.name, item.width, item.height, *(round(s, 6) for s in shares)])

    def close(self) -> list[Path]:
        header = ["file", "width", "height", *self.names]
        return [write_csv(self.out_dir / AREAS_FILE, header, self.rows)]
