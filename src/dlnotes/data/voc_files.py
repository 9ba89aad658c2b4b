"""What the Pascal VOC 2012 datamodules share: where the files are, the checks that a missing
or incomplete copy gets one line naming what to do, the optional download, and the splits.

`train` is VOC's train list and `val` its val list; `test` is the val list again, because the
annotations of VOC's test images are not public. Subclasses name their torchvision dataset, the
split-list folder, the per-image annotation files, and `transforms(split)`.
"""

from pathlib import Path

import torchvision.datasets as tvd
from torch.utils.data import Dataset

from dlnotes.data.base import LoaderDataModule
from dlnotes.data.torchvision_sets import _one_line
from dlnotes.errors import ConfigError

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
SPLITS = {"train": "train", "val": "val", "test": "val"}  # VOC's test labels are not public


class VOCDataModule(LoaderDataModule):
    """Pascal VOC 2012 read from `data_dir/VOCdevkit/VOC2012`; `download=True` fetches and
    unpacks VOCtrainval_11-May-2012.tar (about 2 GB) there when files are missing."""

    dataset_class: type  # tvd.VOCSegmentation | tvd.VOCDetection
    split_files: str  # the folder of the split lists, below the VOC folder
    annotations: tuple[str, str]  # (folder, suffix) of each image's annotation file
    classes = CLASSES

    def __init__(
        self,
        data_dir: str,
        download: bool = False,
        batch_size: int = 16,
        num_workers: int = 0,
        seed: int = 0,
        **shape,
    ):
        super().__init__(batch_size=batch_size, **shape)
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.download = download
        self.num_workers = num_workers
        self.seed = seed
        self.datasets: dict[str, Dataset] | None = None

    def transforms(self, split: str):
        """The paired image/annotation transform of `split` ("train" or "val")."""
        raise NotImplementedError

    @property
    def folder(self) -> Path:
        return self.data_dir / VOC_SUBFOLDER

    def _expected(self) -> list[str]:
        """What must be under `folder`, relative to it."""
        split_files = [f"{self.split_files}/{name}.txt" for name in sorted(set(SPLITS.values()))]
        return ["JPEGImages/", f"{self.annotations[0]}/", *split_files]

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
                self.dataset_class(str(self.data_dir), year="2012", download=True)
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
        """Every image and annotation that the split file names must exist."""
        split_file = f"{self.split_files}/{image_set}.txt"
        names = (self.folder / split_file).read_text().split()
        folder, suffix = self.annotations
        wanted = [f"JPEGImages/{n}.jpg" for n in names] + [f"{folder}/{n}{suffix}" for n in names]
        absent = [path for path in wanted if not (self.folder / path).is_file()]
        if names and not absent:
            return
        problem = (
            f"{len(absent)} of the {len(wanted)} files it lists are missing (first: {absent[0]})"
            if absent
            else "it lists no images"
        )
        raise ConfigError(
            f"Pascal VOC 2012 in {self.folder} is incomplete: {split_file}: "
            f"{problem}; unpack VOCtrainval_11-May-2012.tar again"
        )

    def _dataset(self, image_set: str, transforms) -> tvd.VisionDataset:
        try:
            return self.dataset_class(
                str(self.data_dir), year="2012", image_set=image_set, transforms=transforms
            )
        except (RuntimeError, OSError) as error:  # "Dataset not found or corrupted", no list
            if isinstance(error, RuntimeError) and "Dataset not found" not in str(error):
                raise
            listed = f"{self.split_files}/{image_set}.txt"
            raise self._missing(self._absent() or [listed]) from error

    def setup(self, stage: str | None = None) -> None:
        if self.datasets is None:
            self._check()  # never downloads: prepare_data does, on one process
            train = self._dataset(SPLITS["train"], self.transforms("train"))
            val = self._dataset(SPLITS["val"], self.transforms("val"))
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
