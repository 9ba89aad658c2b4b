"""In-memory batching: every sample once per epoch, a new order each epoch, DDP shards."""

from types import SimpleNamespace

import torch

from dlnotes.data.batches import TensorBatches
from dlnotes.data.digits import DigitsDataModule


def make(n=10, **kwargs):
    images = torch.arange(n).float().view(n, 1, 1, 1)
    return TensorBatches(images, torch.arange(n), **kwargs)


def seen(batches) -> list[int]:
    return [int(i) for _, labels in batches for i in labels]


def test_one_epoch_covers_every_sample_once_in_order():
    batches = make(10, batch_size=4)
    assert len(batches) == 3
    assert seen(batches) == list(range(10))


def test_shuffle_changes_order_each_epoch_but_is_seeded():
    a, b = (
        make(50, batch_size=8, shuffle=True, seed=3),
        make(50, batch_size=8, shuffle=True, seed=3),
    )
    first, second = seen(a), seen(a)
    assert sorted(first) == list(range(50)) and first != second
    assert seen(b) == first


def test_drop_last():
    batches = make(10, batch_size=4, drop_last=True)
    assert len(batches) == 2 and len(seen(batches)) == 8


def test_ranks_take_disjoint_equal_shares_of_one_permutation():
    shards = [seen(make(11, batch_size=3, shuffle=True, rank=r, world_size=3)) for r in range(3)]
    assert all(len(s) == 4 for s in shards)  # 11 padded to 12
    assert set().union(*shards) == set(range(11))
    assert sum(len(s) for s in shards) - len(set().union(*shards)) == 1


def gpu_trainer():
    """What the datamodule reads of a trainer on a GPU (no GPU is needed to build it)."""
    return SimpleNamespace(
        strategy=SimpleNamespace(root_device=torch.device("cuda", 0)), global_rank=0, world_size=1
    )


def test_batches_are_indexed_on_the_training_gpu_unless_switched_off():
    data = DigitsDataModule(batch_size=16)
    data.trainer = gpu_trainer()
    assert data.batch_device() == torch.device("cuda", 0)
    data.on_device = False
    assert data.batch_device() == torch.device("cpu")
    data.trainer = None
    data.on_device = True
    assert data.batch_device() == torch.device("cpu")


def test_a_split_is_copied_to_the_device_once_and_batches_stay_there():
    data = DigitsDataModule(batch_size=16)
    meta = torch.device("meta")  # stands in for a GPU: a real device other than the CPU
    images, labels = data.split_on("train", meta)
    assert images.device == labels.device == meta
    assert data.split_on("train", meta)[0] is images  # not copied again
    assert data.split_on("train", torch.device("cpu"))[0] is data.split("train")[0]
    batches = TensorBatches(images, labels, batch_size=16, shuffle=True)
    first_images, first_labels = next(iter(batches))
    assert first_images.device == meta and first_images.shape == (16, *images.shape[1:])
