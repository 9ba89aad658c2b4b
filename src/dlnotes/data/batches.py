"""Batches by indexing tensors that are already in memory.

A per-sample `DataLoader` calls `__getitem__` and collates once per image; for datasets that
fit in memory that costs more than the model on small nets. Here a batch is one index
operation. Under DDP each rank takes an equal, disjoint share of one shared permutation,
as `DistributedSampler` does.
"""

import math

import torch


class TensorBatches:
    """An iterable of `(images, labels)` batches over in-memory tensors."""

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ):
        self.images, self.labels = images, labels
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.seed, self.rank, self.world_size = seed, rank, world_size
        self.epoch = 0

    @property
    def num_samples(self) -> int:
        """Samples this rank sees per epoch (the shared permutation is padded to split evenly)."""
        return math.ceil(len(self.labels) / self.world_size)

    def __len__(self) -> int:
        if self.drop_last:
            return self.num_samples // self.batch_size
        return math.ceil(self.num_samples / self.batch_size)

    def _indices(self) -> torch.Tensor:
        n = len(self.labels)
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(n, generator=generator)
        else:
            order = torch.arange(n)
        padded = self.num_samples * self.world_size
        if padded > n:  # repeat the first indices so every rank gets the same count
            order = torch.cat([order, order[: padded - n]])
        return order[self.rank : padded : self.world_size]

    def __iter__(self):
        indices = self._indices()
        self.epoch += 1
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            batch = indices[start : start + self.batch_size]
            yield self.images[batch], self.labels[batch]
