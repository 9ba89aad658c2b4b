"""What every image datamodule exposes: `num_classes` and `image_shape` (C, H, W).

Model configs read them through `${data.num_classes}` and `${data.image_shape}`; a data config
may leave them null and `train.py` fills them in from the datamodule.
"""

from collections.abc import Sequence

import lightning as L
import torch
import torch.utils.data

from dlnotes.data.batches import TensorBatches
from dlnotes.data.folds import check_fold, with_fold
from dlnotes.errors import ConfigError


class ImageDataModule(L.LightningDataModule):
    """Holds the declared shape and checks it against what the data really is."""

    def __init__(
        self,
        batch_size: int = 128,
        num_classes: int | None = None,
        image_shape: Sequence[int] | None = None,
    ):
        super().__init__()
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"data.batch_size must be a positive integer, got {batch_size!r}")
        self.batch_size = batch_size
        self.declared_num_classes = num_classes
        self.declared_image_shape = tuple(image_shape) if image_shape is not None else None

    @property
    def num_classes(self) -> int:
        raise NotImplementedError

    @property
    def image_shape(self) -> tuple[int, int, int]:
        raise NotImplementedError

    def check_declared(self) -> None:
        """The config's num_classes/image_shape, where given, must match the data."""
        name = type(self).__name__
        if self.declared_num_classes not in (None, self.num_classes):
            raise ConfigError(
                f"data.num_classes={self.declared_num_classes} but {name} has "
                f"{self.num_classes} classes: set data.num_classes={self.num_classes} or null"
            )
        if self.declared_image_shape not in (None, self.image_shape):
            raise ConfigError(
                f"data.image_shape={list(self.declared_image_shape)} but {name} gives "
                f"{list(self.image_shape)}: set data.image_shape to null or match it"
            )


class LoaderDataModule(ImageDataModule):
    """Datasets read per sample through a `DataLoader` (workers, seeded shuffling).

    Subclasses set `batch_size`, `num_workers`, `seed`, and implement `dataset(name)` for
    "train" | "val" | "test"; `collate_fn` may replace the default collation.
    """

    collate_fn = None

    def dataset(self, name: str) -> torch.utils.data.Dataset:
        raise NotImplementedError

    def _loader(self, name: str, shuffle: bool) -> torch.utils.data.DataLoader:
        self.setup()
        return torch.utils.data.DataLoader(
            self.dataset(name),
            batch_size=self.batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            collate_fn=type(self).collate_fn,
            generator=torch.Generator().manual_seed(self.seed) if shuffle else None,
        )

    def train_dataloader(self):
        return self._loader("train", shuffle=True)

    def val_dataloader(self):
        return self._loader("val", shuffle=False)

    def test_dataloader(self):
        return self._loader("test", shuffle=False)


class InMemoryDataModule(ImageDataModule):
    """Datasets that fit in memory: the splits are tensors, batches come by indexing.

    Subclasses implement `load_splits()` returning {"train"|"val"|"test": (images, labels)};
    images are uint8 (converted to float in [0, 1] after the batch reaches its device) or float
    in [0, 1], shape (N, C, H, W).

    `on_device`: when training on a GPU, each split is copied to it once and batches are indexed
    there, so no batch crosses the bus (uint8 MNIST is 47 MB, CIFAR-10 150 MB).

    `split_seed` draws the train/val/test split (where the subclass draws one) and the k-fold
    folds, apart from the training `seed`: the same split whatever the run's seed.
    """

    def __init__(
        self,
        batch_size: int = 128,
        seed: int = 0,
        split_seed: int = 0,
        on_device: bool = True,
        train_limit: int | None = None,
        folds: int | None = None,
        fold: int = 0,
        **shape,
    ):
        super().__init__(batch_size=batch_size, **shape)
        self.seed, self.split_seed = seed, split_seed
        self.train_limit = train_limit  # the first N training images: a set small to over-fit
        self.folds, self.fold = folds, fold  # k-fold cross-validation (data/folds.py)
        if folds is not None:
            check_fold(folds, fold)  # before any data is read
        self.on_device = on_device
        self.splits: dict[str, tuple[torch.Tensor, torch.Tensor]] | None = None
        self.device_splits: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def load_splits(self) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        raise NotImplementedError

    def setup(self, stage: str | None = None) -> None:
        if self.splits is None:  # generated once, kept for fit, validate and test alike
            self.splits = self.load_splits()
            if self.folds is not None:  # the data's own split seed: the same folds every run
                self.splits = with_fold(self.splits, self.folds, self.fold, self.split_seed)
            if self.train_limit is not None:  # val and test stay as they were
                images, labels = self.splits["train"]
                self.splits["train"] = (images[: self.train_limit], labels[: self.train_limit])
            self.check_declared()

    def split(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        self.setup()
        return self.splits[name]

    def batch_device(self) -> torch.device:
        """Where batches are indexed: the training GPU (with `on_device`), else the CPU."""
        trainer = self.trainer
        device = trainer.strategy.root_device if trainer is not None else torch.device("cpu")
        return device if self.on_device and device.type == "cuda" else torch.device("cpu")

    def split_on(self, name: str, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Split `name`'s tensors on `device`, copied there once."""
        if device.type == "cpu":
            return self.split(name)
        if name not in self.device_splits:
            self.device_splits[name] = tuple(t.to(device) for t in self.split(name))
        return self.device_splits[name]

    batch_type = TensorBatches  # what batches `batch_data`'s (images, labels)

    def batch_data(self, name: str):
        """What split `name`'s batches index: its (images, labels), on the batch device."""
        return self.split_on(name, self.batch_device())

    def _batches(self, name: str, shuffle: bool) -> TensorBatches:
        images, labels = self.batch_data(name)
        trainer = self.trainer
        return self.batch_type(
            images,
            labels,
            self.batch_size,
            shuffle=shuffle,
            seed=self.seed,
            rank=trainer.global_rank if trainer else 0,
            world_size=trainer.world_size if trainer else 1,
        )

    def train_dataloader(self) -> TensorBatches:
        return self._batches("train", shuffle=True)

    def val_dataloader(self) -> TensorBatches:
        return self._batches("val", shuffle=False)

    def test_dataloader(self) -> TensorBatches:
        return self._batches("test", shuffle=False)

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        images, labels = batch
        if images.dtype == torch.uint8:  # stored compactly, converted on the device
            images = images.float().div_(255)
        return images, labels
