"""A user's image converted as the model's training data was: channels, size and values.

Every datamodule here gives float images in [0, 1] with no mean/std normalization (a detector
that normalizes does it inside itself), of the checkpoint's `data.image_shape` (C, H, W):

- channels: gray (1) with PIL's ITU-R 601-2 luma, as torchvision's `Grayscale` (image_folder)
  converts; or RGB (3). A gray image given to an RGB model has its value in all three.
- size: resized to H×W, bilinear and antialiased, the aspect ratio not kept (as image_folder
  and voc_detection resize); outputs are mapped back to the image's own pixels.
- values: 8-bit modes divided by 255; 16-bit gray ("I;16", and "I", as which older Pillow opens
  16-bit PNGs) by 65535, where Pillow's own `convert("L")` would clip every value above 255
  to white; 32-bit float ("F") taken as already in [0, 1].
- transparency (RGBA, LA, palette or RGB with a transparent colour): laid over a uniform
  `background` (black by default, the background of the digits and the scenes).
- orientation: the EXIF orientation is applied, so the image is the way a viewer shows it.
"""

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageOps
from torchvision.transforms.v2 import functional as F

SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")
ALPHA_MODES = ("RGBA", "LA", "PA", "La", "RGBa")


def has_alpha(image: Image.Image) -> bool:
    return image.mode in ALPHA_MODES or "transparency" in image.info


def over_background(image: Image.Image, background: float) -> Image.Image:
    """An RGB image: the image's colours where it is opaque, `background` (in [0, 1]) where
    it is transparent, blended in between."""
    if not has_alpha(image):
        return image.convert("RGB")
    level = round(background * 255)
    base = Image.new("RGBA", image.size, (level, level, level, 255))
    return Image.alpha_composite(base, image.convert("RGBA")).convert("RGB")


def to_float(image: Image.Image, channels: int, background: float = 0.0) -> torch.Tensor:
    """(channels, height, width) float32 in [0, 1] at the image's own size."""
    if image.mode in SIXTEEN_BIT_MODES or image.mode == "F":
        scale = 1.0 if image.mode == "F" else 65535.0
        gray = torch.from_numpy(np.asarray(image, dtype=np.float32) / scale).clamp_(0, 1)
        return gray.unsqueeze(0).expand(channels, -1, -1).contiguous()
    rgb = over_background(image, background)
    converted = rgb.convert("L") if channels == 1 else rgb
    return F.pil_to_tensor(converted).float().div_(255)


def to_rgb_uint8(image: Image.Image, background: float = 0.0) -> torch.Tensor:
    """(3, height, width) uint8 at the image's own size: what pictures draw on."""
    return to_float(image, 3, background).mul(255).round().to(torch.uint8)


@dataclass(frozen=True)
class ImageConversion:
    """PIL image → the model's input: (channels, height, width) float32 in [0, 1]."""

    channels: int
    height: int
    width: int
    background: float = 0.0

    @classmethod
    def from_data_config(cls, data: Mapping, background: float = 0.0) -> "ImageConversion":
        """From a checkpoint's saved data config (its resolved `image_shape`)."""
        channels, height, width = (int(size) for size in data["image_shape"])
        return cls(channels, height, width, background)

    def __call__(self, image: Image.Image) -> torch.Tensor:
        pixels = to_float(image, self.channels, self.background)
        resized = F.resize(pixels, [self.height, self.width], antialias=True)
        return resized.clamp_(0, 1)

    def as_dict(self) -> dict:
        """The preprocessing as data, for code outside PyTorch (exported models)."""
        return {
            "channels": self.channels,
            "color": "gray (ITU-R 601-2 luma)" if self.channels == 1 else "RGB",
            "size": [self.height, self.width],
            "resize": "bilinear, antialiased, to height × width (aspect ratio not kept)",
            "scale": "pixel / 255 (16-bit: / 65535), so values lie in [0, 1]",
            "mean": [0.0] * self.channels,
            "std": [1.0] * self.channels,
        }


def read_image(path) -> Image.Image:
    """The decoded image, turned upright by its EXIF orientation. Raises `OSError`,
    `ValueError` (PIL's errors: not an image, truncated, unsupported, too large)."""
    with Image.open(path) as image:
        image.load()
        return ImageOps.exif_transpose(image)
