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
from pathlib import Path

import torch
import torchvision.datasets as tvd
from PIL import Image
from torch.utils.data import Dataset
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

from dlnotes.data.base import LoaderDataModule
from dlnotes.data.torchvision_sets import _one_line
from dlnotes.utils.errors import ConfigError

IGNORE_INDEX = 255
CLASSES = (
    "background",
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
)
VOC_SUBFOLDER = "VOCdevkit/VOC2012"  # where torchvision looks below data_dir
SPLIT_FILES = "ImageSets/Segmentation"
SPLITS = {"train": "train", "val": "val", "test": "val"}  # VOC's test masks are not public


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


class VOCSegmentationDataModule(LoaderDataModule):
    """Pascal VOC 2012 segmentation: 1,464 train and 1,449 val images, 21 classes, 255 ignored.

    `train` is VOC's train list, `val` its val list; `test` is the val list again, because the
    masks of VOC's test images are not public (results on them come only from the evaluation
    server). Evaluation looks at the central `crop_size` square of each image, its shorter side
    resized to `crop_size`, not at the whole image.

    The files are read from `data_dir/VOCdevkit/VOC2012`; `download=True` fetches and unpacks
    VOCtrainval_11-May-2012.tar (about 2 GB) there when they are missing.
    """

    ignore_index = IGNORE_INDEX
    classes = CLASSES

    def __init__(
        self,
        data_dir: str,
        download: bool = False,
        crop_size: int = 256,
        scale: Sequence[float] = (0.25, 1.0),
        batch_size: int = 16,
        num_workers: int = 0,
        seed: int = 0,
        num_classes: int | None = None,
        image_shape: Sequence[int] | None = None,
    ):
        super().__init__(batch_size=batch_size, num_classes=num_classes, image_shape=image_shape)
        if not isinstance(crop_size, int) or crop_size < 1:
            raise ConfigError(f"data.crop_size must be a positive integer, got {crop_size!r}")
        scale = tuple(scale)
        if len(scale) != 2 or not 0 < scale[0] <= scale[1] <= 1:
            raise ConfigError(f"data.scale must be [low, high] with 0 < low <= high <= 1: {scale}")
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.download = download
        self.crop_size, self.scale = crop_size, scale
        self.num_workers = num_workers
        self.seed = seed
        self.datasets: dict[str, Dataset] | None = None

    @property
    def folder(self) -> Path:
        return self.data_dir / VOC_SUBFOLDER

    def _expected(self) -> list[str]:
        """What must be under `folder`, relative to it."""
        split_files = [f"{SPLIT_FILES}/{name}.txt" for name in sorted(set(SPLITS.values()))]
        return ["JPEGImages/", "SegmentationClass/", *split_files]

    def _absent(self) -> list[str]:
        return [part for part in self._expected() if not (self.folder / part).exists()]

    def _missing(self, absent: list[str], download_error: Exception | None = None) -> ConfigError:
        expected = ", ".join(self._expected())
        if absent != self._expected():  # only some of it there
            expected += f"; missing {', '.join(absent)}"
        if download_error is not None:
            expected += f"; download failed: {_one_line(download_error)}"
        return ConfigError(
            f"Pascal VOC 2012 not found in {self.folder} (expected {expected}): "
            f"unpack VOCtrainval_11-May-2012.tar into {self.data_dir}, "
            "or set data.data_dir=... to the folder holding VOCdevkit/, "
            "or run with network and data.download=true (about 2 GB)"
        )

    def prepare_data(self) -> None:
        """Download if allowed and needed, then check the files, so a missing dataset stops the
        run before the trainer starts (Lightning calls this on one process per node)."""
        absent = self._absent()
        if absent and self.download:
            try:
                tvd.VOCSegmentation(str(self.data_dir), year="2012", download=True)
            except Exception as failure:
                raise self._missing(absent, failure) from failure
        self._check()

    def _check(self) -> None:
        """The folders and split lists are there, and so is every file that the lists name."""
        absent = self._absent()
        if absent:
            raise self._missing(absent)
        for image_set in sorted(set(SPLITS.values())):
            self._check_listed(image_set)

    def _check_listed(self, image_set: str) -> None:
        """Every image and mask that the split file names must exist."""
        split_file = self.folder / SPLIT_FILES / f"{image_set}.txt"
        names = split_file.read_text().split()
        wanted = [f"JPEGImages/{n}.jpg" for n in names] + [
            f"SegmentationClass/{n}.png" for n in names
        ]
        absent = [path for path in wanted if not (self.folder / path).is_file()]
        if names and not absent:
            return
        problem = (
            f"{len(absent)} of the {len(wanted)} files it lists are missing (first: {absent[0]})"
            if absent
            else "it lists no images"
        )
        raise ConfigError(
            f"Pascal VOC 2012 in {self.folder} is incomplete: {SPLIT_FILES}/{image_set}.txt: "
            f"{problem}; unpack VOCtrainval_11-May-2012.tar again"
        )

    def _dataset(self, image_set: str, transforms: PairedTransform) -> tvd.VOCSegmentation:
        try:
            return tvd.VOCSegmentation(
                str(self.data_dir), year="2012", image_set=image_set, transforms=transforms
            )
        except (RuntimeError, OSError) as error:  # "Dataset not found or corrupted", no list
            if isinstance(error, RuntimeError) and "Dataset not found" not in str(error):
                raise
            raise self._missing(self._absent() or [f"{SPLIT_FILES}/{image_set}.txt"]) from error

    def setup(self, stage: str | None = None) -> None:
        if self.datasets is None:
            self._check()  # never downloads: prepare_data does, on one process
            train = self._dataset(SPLITS["train"], train_transform(self.crop_size, self.scale))
            val = self._dataset(SPLITS["val"], eval_transform(self.crop_size))
            self.datasets = {"train": train, "val": val, "test": val}
        self.check_declared()

    def dataset(self, name: str) -> Dataset:
        return self.datasets[name]

    @property
    def num_classes(self) -> int:
        return len(CLASSES)

    @property
    def class_names(self) -> list[str]:
        return list(CLASSES)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (3, self.crop_size, self.crop_size)
