"""MNIST, Fashion-MNIST, CIFAR-10/100 and SVHN through `torchvision.datasets`, held in memory.

Each file is decoded once into uint8 tensors; torchvision's dataset objects (which build one PIL
image per `__getitem__`) are dropped straight after. Validation is carved from the official train
split by `split_seed`; the official test split is `test`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torchvision.datasets as tvd

from dlnotes.data.augment import random_crop, random_hflip
from dlnotes.data.base import InMemoryDataModule
from dlnotes.data.digits import random_split_indices
from dlnotes.errors import ConfigError

Arrays = tuple[torch.Tensor, torch.Tensor]


def _idx_arrays(dataset) -> Arrays:
    """MNIST-style: `.data` is an (N, H, W) uint8 tensor, `.targets` int64."""
    return dataset.data.unsqueeze(1), dataset.targets


def _cifar_arrays(dataset) -> Arrays:
    """CIFAR: `.data` is an (N, H, W, C) uint8 array, `.targets` a list."""
    images = torch.from_numpy(dataset.data).permute(0, 3, 1, 2).contiguous()
    return images, torch.tensor(dataset.targets, dtype=torch.long)


def _svhn_arrays(dataset) -> Arrays:
    """SVHN: `.data` is already (N, C, H, W) uint8, the labels are in `.labels`."""
    return torch.from_numpy(dataset.data), torch.from_numpy(dataset.labels).long()


def _train_flag(train: bool) -> dict:
    return {"train": train}


def _split_name(train: bool) -> dict:
    return {"split": "train" if train else "test"}


IDX_FILES = ", ".join(
    f"{split}-{kind}(.gz)"
    for split in ("train", "t10k")
    for kind in ("images-idx3-ubyte", "labels-idx1-ubyte")
)


@dataclass(frozen=True)
class DatasetSpec:
    """How to read one torchvision dataset and where it keeps its files."""

    title: str
    dataset_class: type
    split_kwargs: Callable[[bool], dict]  # train? -> the constructor's split argument
    arrays: Callable[..., Arrays]  # dataset object -> (uint8 N×C×H×W images, int64 labels)
    subfolder: str  # where under data_dir torchvision looks for the files
    expected_files: str
    num_classes: int
    image_shape: tuple[int, int, int]
    flip: bool  # mirroring keeps the class of objects, not of digits or house numbers


DATASETS = {
    "mnist": DatasetSpec(
        title="MNIST",
        dataset_class=tvd.MNIST,
        split_kwargs=_train_flag,
        arrays=_idx_arrays,
        subfolder="MNIST/raw",
        expected_files=IDX_FILES,
        num_classes=10,
        image_shape=(1, 28, 28),
        flip=False,
    ),
    "fashion_mnist": DatasetSpec(
        title="Fashion-MNIST",
        dataset_class=tvd.FashionMNIST,
        split_kwargs=_train_flag,
        arrays=_idx_arrays,
        subfolder="FashionMNIST/raw",
        expected_files=IDX_FILES,
        num_classes=10,
        image_shape=(1, 28, 28),
        flip=False,
    ),
    "cifar10": DatasetSpec(
        title="CIFAR-10",
        dataset_class=tvd.CIFAR10,
        split_kwargs=_train_flag,
        arrays=_cifar_arrays,
        subfolder="",
        expected_files="cifar-10-batches-py/ or cifar-10-python.tar.gz",
        num_classes=10,
        image_shape=(3, 32, 32),
        flip=True,
    ),
    "cifar100": DatasetSpec(
        title="CIFAR-100",
        dataset_class=tvd.CIFAR100,
        split_kwargs=_train_flag,
        arrays=_cifar_arrays,
        subfolder="",
        expected_files="cifar-100-python/ or cifar-100-python.tar.gz",
        num_classes=100,
        image_shape=(3, 32, 32),
        flip=True,
    ),
    "svhn": DatasetSpec(
        title="SVHN",
        dataset_class=tvd.SVHN,
        split_kwargs=_split_name,
        arrays=_svhn_arrays,
        subfolder="",
        expected_files="train_32x32.mat, test_32x32.mat",
        num_classes=10,
        image_shape=(3, 32, 32),
        flip=False,
    ),
}


class TorchvisionDataModule(InMemoryDataModule):
    """One of `DATASETS`, chosen by the subclass's `spec`, as uint8 tensors in memory.

    `augment=True` crops (4-pixel zero padding) and, where `spec.flip`, mirrors each training
    batch on its device; validation and test batches are left as they are.
    """

    spec: DatasetSpec

    def __init__(
        self,
        data_dir: str,
        download: bool = True,
        val_fraction: float = 0.1,
        augment: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.download = download
        self.val_fraction = val_fraction
        self.augment = augment
        self.names: list[str] | None = None  # the dataset's class names, once read

    def prepare_data(self) -> None:
        """Download if needed and load, so missing files stop the run before the trainer starts.

        Lightning calls this on one process per node before `setup`; the tensors are kept, and
        the other processes read the files that this one made sure of.
        """
        self.setup()

    def load_splits(self):
        images, labels = self._read(train=True)
        fractions = {"val": self.val_fraction}
        parts = random_split_indices(len(labels), fractions, self.split_seed)
        splits = {name: (images[idx], labels[idx]) for name, idx in parts.items()}
        splits["test"] = self._read(train=False)
        return splits

    def _read(self, train: bool) -> Arrays:
        """One official split as tensors, downloading first where allowed and needed."""
        try:
            dataset = self._dataset(train, download=False)
        except RuntimeError as error:
            if "Dataset not found" not in str(error):
                raise self._unreadable(error) from error
            if not self.download:
                raise self._missing(str(error)) from error
            try:
                dataset = self._dataset(train, download=True)
            except Exception as failure:
                raise self._missing(str(error), failure) from failure
        except Exception as error:  # a truncated or garbled file
            raise self._unreadable(error) from error
        self.names = getattr(dataset, "classes", None)  # CIFAR reads them from its meta file
        return self.spec.arrays(dataset)

    def _dataset(self, train: bool, download: bool):
        kwargs = self.spec.split_kwargs(train)
        return self.spec.dataset_class(str(self.data_dir), download=download, **kwargs)

    @property
    def folder(self) -> Path:
        return self.data_dir / self.spec.subfolder

    def _missing(self, reason: str, download_error: Exception | None = None) -> ConfigError:
        state = "not found or corrupted" if "corrupted" in reason else "not found"
        expected = self.spec.expected_files
        if download_error is not None:
            expected += f"; download failed: {_one_line(download_error)}"
        return ConfigError(
            f"{self.spec.title} {state} in {self.folder} (expected {expected}): "
            "put them there (archives are unpacked only with data.download=true), "
            "or run with network and data.download=true"
        )

    def _unreadable(self, error: Exception) -> ConfigError:
        return ConfigError(
            f"{self.spec.title} files in {self.folder} could not be read: {_one_line(error)}; "
            "delete them and download again"
        )

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        images, labels = super().on_after_batch_transfer(batch, dataloader_idx)
        if self.augment and self.trainer is not None and self.trainer.training:
            images = random_crop(images, padding=4)
            if self.spec.flip:
                images = random_hflip(images)
        return images, labels

    @property
    def num_classes(self) -> int:
        return self.spec.num_classes

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.spec.image_shape

    @property
    def class_names(self) -> list[str]:
        """torchvision's names for the classes (`classes`); the label numbers where it has none
        (SVHN: label d is the digit d)."""
        self.setup()
        return list(self.names or (str(label) for label in range(self.num_classes)))


def _one_line(error: Exception) -> str:
    """The last non-empty line of an error (torchvision's download errors end with the cause)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


class MNISTDataModule(TorchvisionDataModule):
    """Handwritten digits, 28×28 gray: 60,000 train, 10,000 test."""

    spec = DATASETS["mnist"]


class FashionMNISTDataModule(TorchvisionDataModule):
    """Clothing in 10 classes, 28×28 gray: 60,000 train, 10,000 test."""

    spec = DATASETS["fashion_mnist"]


class CIFAR10DataModule(TorchvisionDataModule):
    """Objects in 10 classes, 32×32 color: 50,000 train, 10,000 test."""

    spec = DATASETS["cifar10"]


class CIFAR100DataModule(TorchvisionDataModule):
    """Objects in 100 classes, 32×32 color: 50,000 train, 10,000 test."""

    spec = DATASETS["cifar100"]


class SVHNDataModule(TorchvisionDataModule):
    """House-number digits from Street View, 32×32 color: 73,257 train, 26,032 test."""

    spec = DATASETS["svhn"]
