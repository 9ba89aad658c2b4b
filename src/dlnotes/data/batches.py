"""Batches by indexing tensors that are already in memory.

A per-sample `DataLoader` calls `__getitem__` and collates once per image; for datasets that
fit in memory that costs more than the model on small nets. Here a batch is one index
operation. Under DDP each rank takes an equal, disjoint share of one shared permutation,
as `DistributedSampler` does.
"""

import math

import torch


class EpochOrder:
    """The sample order of each epoch: a permutation seeded by (seed, epoch), this rank's share.

    Like `DistributedSampler` it has `set_epoch`, which Lightning calls as each epoch starts
    (through `TensorBatches.sampler`): a run resumed at epoch e sees epoch e's order.
    """

    def __init__(self, n: int, shuffle: bool, seed: int, rank: int, world_size: int):
        self.n, self.shuffle, self.seed = n, shuffle, seed
        self.rank, self.world_size = rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    @property
    def num_samples(self) -> int:
        """Samples this rank sees per epoch (the shared permutation is padded to split evenly)."""
        return math.ceil(self.n / self.world_size)

    def indices(self) -> torch.Tensor:
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(self.n, generator=generator)
        else:
            order = torch.arange(self.n)
        padded = self.num_samples * self.world_size
        if padded > self.n:  # repeat the first indices so every rank gets the same count
            order = torch.cat([order, order[: padded - self.n]])
        return order[self.rank : padded : self.world_size]


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
        self.batch_size, self.drop_last = batch_size, drop_last
        # DataLoader's attributes that Lightning looks at: the order, and no batch sampler
        self.sampler = EpochOrder(len(labels), shuffle, seed, rank, world_size)
        self.batch_sampler = None

    def __len__(self) -> int:
        if self.drop_last:
            return self.sampler.num_samples // self.batch_size
        return math.ceil(self.sampler.num_samples / self.batch_size)

    def __iter__(self):
        indices = self.sampler.indices().to(self.images.device)  # one copy an epoch
        self.sampler.epoch += 1  # the next epoch's order, also when no trainer sets it
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            yield self.take(indices[start : start + self.batch_size])

    def take(self, batch: torch.Tensor):
        """The batch of samples at indices `batch`."""
        return self.images[batch], self.labels[batch]
