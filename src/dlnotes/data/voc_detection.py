"""Pascal VOC 2012 object detection through `torchvision.datasets.VOCDetection`.

Each sample is a JPEG and an XML annotation listing its objects: a class name (one of VOC's
20), a box and a `difficult` flag. Batches follow torchvision's detection models: `(images,
targets)`, images float32 (N, 3, S, S) in [0, 1] (S = `image_size`: every image is resized to
that square, its aspect ratio not kept, so a batch stacks), targets a list of N dicts:

- "boxes": float32 (K, 4), x1, y1, x2, y2 in pixels of the resized image. VOC writes 1-based
  inclusive pixel indices (xmin..xmax); they become pixel edges, x1 = xmin - 1 and x2 = xmax, so
  `image[:, y1:y2, x1:x2]` is the object, as in `digit_scenes`.
- "labels": int64 (K,), 1..20 (`CLASSES[label]`, as in `voc.py`); 0 is background.
- "difficult": bool (K,), VOC's flag for objects hard to recognise. They are kept by default
  (VOC's mAP ignores detections that match them, so evaluation needs them; pass the flag to
  torchmetrics' MeanAveragePrecision as `iscrowd`); `keep_difficult=False` drops them.

Training images are mirrored with probability 1/2, the boxes with them; all geometry goes
through one `torchvision.transforms.v2` pipeline on a `tv_tensors.BoundingBoxes`.
"""

from typing import Any

import torch
import torchvision.datasets as tvd
from PIL import Image
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

from dlnotes.data.voc_files import CLASSES, VOCDataModule
from dlnotes.errors import ConfigError

LABELS = {name: label for label, name in enumerate(CLASSES) if label > 0}

Target = dict[str, torch.Tensor]


def parse_objects(annotation: dict[str, Any], keep_difficult: bool = True) -> Target:
    """The objects of a `VOCDetection` annotation (its parsed XML) as {"boxes" (pixel edges),
    "labels" 1..20, "difficult"}, in the file's order."""
    info = annotation["annotation"]
    objects = info.get("object") or []
    if isinstance(objects, dict):  # torchvision wraps them in a list; a single dict if not
        objects = [objects]
    boxes, labels, difficult = [], [], []
    for obj in objects:
        name = obj["name"].strip()
        if name not in LABELS:
            raise ConfigError(
                f"Pascal VOC annotation {info.get('filename', '?')} names an unknown class "
                f"{name!r} (expected one of {', '.join(LABELS)})"
            )
        hard = obj.get("difficult", "0").strip() == "1"  # a few VOC2012 objects lack the tag
        if hard and not keep_difficult:
            continue
        box = obj["bndbox"]
        x1, y1, x2, y2 = (float(box[key]) for key in ("xmin", "ymin", "xmax", "ymax"))
        boxes.append([x1 - 1, y1 - 1, x2, y2])
        labels.append(LABELS[name])
        difficult.append(hard)
    return {
        "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
        "labels": torch.tensor(labels, dtype=torch.int64),
        "difficult": torch.tensor(difficult, dtype=torch.bool),
    }


class DetectionTransform:
    """`(PIL image, VOC annotation) -> (float image (3, H, W) in [0, 1], target dict)`.

    `geometry` is a v2 transform applied to an `Image` and its `BoundingBoxes` together, so
    resizes and flips move both alike.
    """

    def __init__(self, geometry: v2.Transform, keep_difficult: bool = True):
        self.geometry = geometry
        self.keep_difficult = keep_difficult

    def __call__(
        self, image: Image.Image, annotation: dict[str, Any]
    ) -> tuple[torch.Tensor, Target]:
        target = parse_objects(annotation, self.keep_difficult)
        pixels = tv_tensors.Image(F.pil_to_tensor(image.convert("RGB")))
        boxes = tv_tensors.BoundingBoxes(
            target["boxes"], format="XYXY", canvas_size=tuple(pixels.shape[-2:])
        )
        pixels, boxes = self.geometry(pixels, boxes)
        pixels = F.to_dtype(pixels, torch.float32, scale=True)
        target["boxes"] = boxes.as_subclass(torch.Tensor)
        return pixels.as_subclass(torch.Tensor), target


def train_transform(image_size: int, keep_difficult: bool = True) -> DetectionTransform:
    """Resized to `image_size` squared, mirrored with probability 1/2."""
    return DetectionTransform(
        v2.Compose(
            [v2.Resize((image_size, image_size), antialias=True), v2.RandomHorizontalFlip()]
        ),
        keep_difficult,
    )


def eval_transform(image_size: int, keep_difficult: bool = True) -> DetectionTransform:
    """Resized to `image_size` squared."""
    return DetectionTransform(v2.Resize((image_size, image_size), antialias=True), keep_difficult)


def collate(samples: list[tuple[torch.Tensor, Target]]) -> tuple[torch.Tensor, list[Target]]:
    """Images stacked (they share one size), targets kept as a list of dicts."""
    images, targets = zip(*samples, strict=True)
    return torch.stack(images), list(targets)


class VOCDetectionDataModule(VOCDataModule):
    """Pascal VOC 2012 detection: 5,717 train and 5,823 val images, 20 classes + background.

    `train` is VOC's Main/train list, `val` its Main/val list, `test` the val list again
    (VOCDataModule); the files are JPEGImages/, Annotations/ and ImageSets/Main/.
    """

    dataset_class = tvd.VOCDetection
    split_files = "ImageSets/Main"
    annotations = ("Annotations", ".xml")
    collate_fn = collate  # keeps the list of target dicts

    def __init__(
        self,
        data_dir: str,
        download: bool = False,
        image_size: int = 320,
        keep_difficult: bool = True,
        **loading,
    ):
        super().__init__(data_dir, download, **loading)
        if not isinstance(image_size, int) or image_size < 1:
            raise ConfigError(f"data.image_size must be a positive integer, got {image_size!r}")
        self.image_size = image_size
        self.keep_difficult = keep_difficult

    def transforms(self, split: str) -> DetectionTransform:
        make = train_transform if split == "train" else eval_transform
        return make(self.image_size, self.keep_difficult)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (3, self.image_size, self.image_size)
