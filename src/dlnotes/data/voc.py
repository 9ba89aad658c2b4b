"""Pascal VOC 2012 semantic segmentation through `torchvision.datasets.VOCSegmentation`.

Each sample is a JPEG and a palette PNG whose pixel values are class ids: 0 is background, 1-20
the object classes, 255 the unlabelled band around each object, which losses and metrics must
ignore (`ignore_index`). Images and masks are decoded in `DataLoader` workers and go through one
paired `torchvision.transforms.v2` pipeline, so every crop, resize and flip moves both alike;
masks are always resized with nearest-neighbour interpolation, so no new label values appear.

Batches are `(images, masks)`: float32 (N, 3, S, S) in [0, 1] (no mean/std normalization, as for
every other datamodule here: a model with a pretrained backbone normalizes inside itself) and
int64 (N, S, S), S = `crop_size`.
"""

from collections.abc import Sequence

import torch
import torchvision.datasets as tvd
from PIL import Image
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

from dlnotes.data.voc_files import VOCDataModule
from dlnotes.errors import ConfigError

IGNORE_INDEX = 255


class PairedTransform:
    """`(PIL image, PIL mask) -> (float image (3, H, W) in [0, 1], int64 mask (H, W))`.

    `geometry` is a v2 transform applied to an `Image` and a `Mask` together: both get the same
    random parameters, and v2 resizes a `Mask` with nearest-neighbour interpolation whatever the
    image's interpolation is.
    """

    def __init__(self, geometry: v2.Transform):
        self.geometry = geometry
        self.to_dtype = v2.ToDtype(
            {tv_tensors.Image: torch.float32, tv_tensors.Mask: torch.int64, "others": None},
            scale=True,
        )

    def __call__(self, image: Image.Image, mask: Image.Image) -> tuple[torch.Tensor, torch.Tensor]:
        image = tv_tensors.Image(F.pil_to_tensor(image.convert("RGB")))
        mask = tv_tensors.Mask(F.pil_to_tensor(mask)[0])  # "P" mode: the palette indices
        image, mask = self.to_dtype(*self.geometry(image, mask))
        return image.as_subclass(torch.Tensor), mask.as_subclass(torch.Tensor)


def train_transform(crop_size: int, scale: Sequence[float] = (0.25, 1.0)) -> PairedTransform:
    """A random crop of `scale` × the area (aspect 3:4 to 4:3) resized to `crop_size` squared,
    mirrored with probability 1/2."""
    return PairedTransform(
        v2.Compose(
            [
                v2.RandomResizedCrop(crop_size, scale=tuple(scale), antialias=True),
                v2.RandomHorizontalFlip(),
            ]
        )
    )


def eval_transform(crop_size: int) -> PairedTransform:
    """The shorter side resized to `crop_size`, then the central `crop_size` squared."""
    return PairedTransform(
        v2.Compose([v2.Resize(crop_size, antialias=True), v2.CenterCrop(crop_size)])
    )


class VOCSegmentationDataModule(VOCDataModule):
    """Pascal VOC 2012 segmentation: 1,464 train and 1,449 val images, 21 classes, 255 ignored.

    `test` is the val list again (VOCDataModule). Evaluation looks at the central `crop_size`
    square of each image, its shorter side resized to `crop_size`, not at the whole image.
    """

    dataset_class = tvd.VOCSegmentation
    split_files = "ImageSets/Segmentation"
    annotations = ("SegmentationClass", ".png")
    ignore_index = IGNORE_INDEX

    def __init__(
        self,
        data_dir: str,
        download: bool = False,
        crop_size: int = 256,
        scale: Sequence[float] = (0.25, 1.0),
        **loading,
    ):
        super().__init__(data_dir, download, **loading)
        if not isinstance(crop_size, int) or crop_size < 1:
            raise ConfigError(f"data.crop_size must be a positive integer, got {crop_size!r}")
        scale = tuple(scale)
        if len(scale) != 2 or not 0 < scale[0] <= scale[1] <= 1:
            raise ConfigError(f"data.scale must be [low, high] with 0 < low <= high <= 1: {scale}")
        self.crop_size, self.scale = crop_size, scale

    def transforms(self, split: str) -> PairedTransform:
        if split == "train":
            return train_transform(self.crop_size, self.scale)
        return eval_transform(self.crop_size)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (3, self.crop_size, self.crop_size)
