"""In-memory batching: every sample once per epoch, a new order each epoch, DDP shards."""

import torch

from dlnotes.data.batches import TensorBatches


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
