"""A tiny Pascal VOC 2012 segmentation folder (VOCdevkit/VOC2012 with JPEGImages/,
SegmentationClass/ and the split lists), as VOCSegmentationDataModule reads it."""

from pathlib import Path

import numpy as np
from PIL import Image

from dlnotes.data.voc import IGNORE_INDEX

HEIGHT, WIDTH = 40, 50
TRAIN = [f"2007_00000{i}" for i in range(4)]
VAL = ["2008_000010", "2008_000011"]
# (class id, RGB colour, rows, columns) of the rectangles drawn into each image and its mask
RECTANGLES = [
    (15, (255, 0, 0), slice(4, 20), slice(3, 18)),  # person, top left
    (7, (0, 0, 255), slice(22, 36), slice(26, 46)),  # car, bottom right
]


def voc_palette() -> list[int]:
    """The 256-colour palette of VOC's SegmentationClass PNGs (class 255 is cream white)."""
    palette = []
    for index in range(256):
        r = g = b = 0
        c = index
        for bit in range(8):
            r |= ((c >> 0) & 1) << (7 - bit)
            g |= ((c >> 1) & 1) << (7 - bit)
            b |= ((c >> 2) & 1) << (7 - bit)
            c >>= 3
        palette += [r, g, b]
    return palette


def drawn_pair(height: int = HEIGHT, width: int = WIDTH) -> tuple[np.ndarray, np.ndarray]:
    """An RGB image of coloured rectangles on gray and its class mask: each class region is
    exactly its rectangle, with a 1-pixel band of 255 around it as VOC has around objects."""
    image = np.full((height, width, 3), 128, dtype=np.uint8)
    mask = np.zeros((height, width), dtype=np.uint8)
    for label, colour, rows, cols in RECTANGLES:
        band_rows = slice(rows.start - 1, rows.stop + 1)
        band_cols = slice(cols.start - 1, cols.stop + 1)
        mask[band_rows, band_cols] = IGNORE_INDEX
        image[rows, cols] = colour
        mask[rows, cols] = label
    return image, mask


def palette_png(mask: np.ndarray) -> Image.Image:
    png = Image.fromarray(mask, mode="P")
    png.putpalette(voc_palette())
    return png


def write_voc(data_dir: Path, train=TRAIN, val=VAL) -> Path:
    """data_dir/VOCdevkit/VOC2012 with JPEGImages/, SegmentationClass/ and the split lists."""
    voc = data_dir / "VOCdevkit" / "VOC2012"
    for sub in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        (voc / sub).mkdir(parents=True, exist_ok=True)
    image, mask = drawn_pair()
    for i, name in enumerate([*train, *val]):
        shift = i % 3  # not all alike
        Image.fromarray(np.roll(image, shift, axis=1)).save(
            voc / f"JPEGImages/{name}.jpg", quality=95
        )
        palette_png(np.roll(mask, shift, axis=1)).save(voc / f"SegmentationClass/{name}.png")
    for split, names in (("train", train), ("val", val)):
        (voc / f"ImageSets/Segmentation/{split}.txt").write_text("".join(f"{n}\n" for n in names))
    return voc
