"""Random images of any shape and random labels, for speed benchmarks (no files, no download).

Nothing here can be learned: it measures the machine and the framework, not a model's accuracy.
"""

import torch

from dlnotes.data.base import InMemoryDataModule


class SyntheticDataModule(InMemoryDataModule):
    """`train_size` / `val_size` / `test_size` uint8 images of `image_shape` (C, H, W) and labels
    in [0, num_classes), drawn from `data_seed`."""

    def __init__(
        self,
        image_shape=(3, 224, 224),
        num_classes: int = 1000,
        train_size: int = 2048,
        val_size: int = 256,
        test_size: int = 256,
        data_seed: int = 0,
        **kwargs,
    ):
        super().__init__(num_classes=num_classes, image_shape=image_shape, **kwargs)
        self.sizes = {"train": train_size, "val": val_size, "test": test_size}
        self.data_seed = data_seed

    def load_splits(self):
        generator = torch.Generator().manual_seed(self.data_seed)
        shape, classes = self.image_shape, self.num_classes
        return {
            name: (
                torch.randint(0, 256, (n, *shape), dtype=torch.uint8, generator=generator),
                torch.randint(0, classes, (n,), generator=generator),
            )
            for name, n in self.sizes.items()
        }

    @property
    def num_classes(self) -> int:
        return self.declared_num_classes

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.declared_image_shape
