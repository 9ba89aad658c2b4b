"""scikit-learn's bundled handwritten digits: 1,797 images of 8×8, no download needed."""

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits

from dlnotes.data.base import InMemoryDataModule


def random_split_indices(n: int, fractions: dict[str, float], seed: int) -> dict[str, torch.Tensor]:
    """A fixed split of range(n) from `seed`; "train" takes what the other fractions leave."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    sizes = {name: round(n * frac) for name, frac in fractions.items()}
    sizes = {"train": n - sum(sizes.values()), **sizes}
    parts = torch.split(order, list(sizes.values()))
    return dict(zip(sizes, parts, strict=True))


class DigitsDataModule(InMemoryDataModule):
    """The digits upsampled to `image_size` (bilinear), values in [0, 1], one channel.

    The train/val/test split depends only on `split_seed`, so test accuracy is comparable
    across training seeds.
    """

    def __init__(
        self,
        image_size: int = 32,
        val_fraction: float = 0.1,
        test_fraction: float = 0.2,
        classes: list[int] | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.image_size = image_size
        self.classes = sorted(int(c) for c in classes) if classes else list(range(10))
        self.fractions = {"val": val_fraction, "test": test_fraction}

    def load_splits(self):
        digits = load_digits()
        images = torch.from_numpy(digits.images).float().div_(16).unsqueeze(1)
        if self.image_size != 8:
            size = (self.image_size, self.image_size)
            images = F.interpolate(images, size=size, mode="bilinear", align_corners=False)
            images = images.clamp_(0, 1)
        labels = torch.from_numpy(digits.target).long()
        if self.classes != list(range(10)):  # a subset, labelled 0..k-1 in the given order
            keep = torch.isin(labels, torch.tensor(self.classes))
            images, labels = images[keep], labels[keep]
            labels = torch.searchsorted(torch.tensor(self.classes), labels)
        parts = random_split_indices(len(labels), self.fractions, self.split_seed)
        return {name: (images[idx], labels[idx]) for name, idx in parts.items()}

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def class_names(self) -> list[str]:
        """Label i is the digit `classes[i]`."""
        return [str(digit) for digit in self.classes]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (1, self.image_size, self.image_size)
