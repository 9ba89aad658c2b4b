"""Your own images, one folder per class (`root/<class>/<image>.png`), read from disk per batch.

Unlike the in-memory datamodules this decodes each image in a `DataLoader` worker, so the data
need not fit in memory. The train/val/test split depends only on `split_seed`.
"""

from collections.abc import Sequence
from pathlib import Path

from torch.utils.data import Dataset, Subset
from torchvision import transforms
from torchvision.datasets import ImageFolder
from torchvision.datasets.folder import find_classes

from dlnotes.data.base import LoaderDataModule
from dlnotes.data.digits import random_split_indices
from dlnotes.errors import ConfigError


class ImageFolderDataModule(LoaderDataModule):
    """Images resized to `image_size` squared, gray (`channels=1`) or RGB, values in [0, 1]."""

    def __init__(
        self,
        root: str,
        image_size: int = 32,
        channels: int = 3,
        batch_size: int = 128,
        num_workers: int = 0,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        split_seed: int = 0,
        seed: int = 0,
        num_classes: int | None = None,
        image_shape: Sequence[int] | None = None,
    ):
        super().__init__(batch_size=batch_size, num_classes=num_classes, image_shape=image_shape)
        if channels not in (1, 3):
            raise ConfigError(f"data.channels must be 1 (gray) or 3 (RGB), got {channels!r}")
        self.root = Path(root).expanduser().resolve()
        self.image_size, self.channels = image_size, channels
        self.num_workers = num_workers
        self.fractions = {"val": val_fraction, "test": test_fraction}
        self.split_seed, self.seed = split_seed, seed
        self.classes = self._find_classes()  # cheap: one directory listing
        self.subsets: dict[str, Subset] | None = None

    def _not_an_image_folder(self, reason: str) -> ConfigError:
        return ConfigError(
            f"no images found in data.root={self.root} ({reason.strip()}): "
            "expected the layout root/<class>/<image>.png"
        )

    def _find_classes(self) -> list[str]:
        try:
            return find_classes(self.root)[0]
        except (FileNotFoundError, NotADirectoryError) as error:
            raise self._not_an_image_folder(str(error)) from error

    def setup(self, stage: str | None = None) -> None:
        if self.subsets is None:
            gray = [transforms.Grayscale(num_output_channels=1)] if self.channels == 1 else []
            size = (self.image_size, self.image_size)
            transform = transforms.Compose([*gray, transforms.Resize(size), transforms.ToTensor()])
            try:
                dataset = ImageFolder(self.root, transform=transform)
            except FileNotFoundError as error:
                raise self._not_an_image_folder(str(error)) from error
            parts = random_split_indices(len(dataset), self.fractions, self.split_seed)
            self.subsets = {name: Subset(dataset, idx.tolist()) for name, idx in parts.items()}
        self.check_declared()

    def dataset(self, name: str) -> Dataset:
        return self.subsets[name]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def class_names(self) -> list[str]:
        """The class folders' names, in label order (sorted, as `ImageFolder` numbers them)."""
        return list(self.classes)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.channels, self.image_size, self.image_size)
