"""Input pipeline: in-memory batches by indexing, against a per-sample DataLoader.

    python benchmarks/input_pipeline.py [epochs=2] [batch_size=128] [batches=all] [bf16=false]
        [HYDRA DATA OVERRIDES ...]     (batches=N: the first N batches of each epoch)

Trains NIN (the model config's net, optimizer) for `epochs` on the training split three ways and
times, separately, the wait for each batch and the step (forward, backward, optimizer):
  ours     — the datamodule's `train_dataloader()`: one index into uint8 tensors per batch,
             converted to float once per batch (what train.py uses);
  loader   — `torch.utils.data.DataLoader` over a per-sample dataset of the same tensors
             (float conversion per sample, default collation), num_workers=0;
  torchvision — the same, with torchvision's MNIST dataset and `ToTensor` (a PIL image per
             sample), where the data is MNIST.
`bf16=true` runs the steps under bf16 autocast, as `trainer.precision=bf16-mixed` does: shorter
steps, so a larger share for the data. Prints the data wait as a share of the step time for
each, and the speed-up of ours over the others' data time (median per batch).
"""

import statistics
import sys
import time
from itertools import islice

import lightning as L
import torch
import torch.nn.functional as F
from harness import MNIST, MNIST_OVERRIDES, compose_train_config, machine, split_args
from hydra.utils import instantiate

from dlnotes.run.build import build_datamodule

DEFAULTS = {"epochs": "2", "batch_size": "128", "batches": "all", "bf16": "false"}


class PerSample(torch.utils.data.Dataset):
    """The split's tensors read one sample at a time, as a map-style dataset is."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor):
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        image = self.images[i]
        return image.float() / 255 if image.dtype == torch.uint8 else image, int(self.labels[i])


def ours(datamodule):
    """The datamodule's batches, converted as Lightning would after the transfer."""
    for batch in datamodule.train_dataloader():
        yield datamodule.on_after_batch_transfer(batch, 0)


def torchvision_mnist(batch_size: int, generator: torch.Generator):
    import torchvision.datasets as tvd
    from torchvision.transforms import ToTensor

    dataset = tvd.MNIST(str(MNIST), train=True, download=False, transform=ToTensor())
    return torch.utils.data.DataLoader(dataset, batch_size, shuffle=True, generator=generator)


def timed_training(
    cfg, batches_per_epoch, epochs: int, limit: int | None, bf16: bool
) -> tuple[list[float], float]:
    """(seconds waiting for each batch, seconds in steps) of NIN trained on the batches."""
    L.seed_everything(cfg.seed)
    net = instantiate(cfg.model.net).to(memory_format=torch.channels_last)
    optimizer = instantiate(cfg.model.optimizer)(params=net.parameters())
    waits, compute = [], 0.0
    for _ in range(epochs):
        iterator = islice(batches_per_epoch(), limit)
        while True:
            start = time.perf_counter()
            batch = next(iterator, None)
            fetched = time.perf_counter()
            if batch is None:
                break
            images, labels = batch
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):  # as bf16-mixed
                loss = F.cross_entropy(
                    net(images.contiguous(memory_format=torch.channels_last)), labels
                )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            compute += time.perf_counter() - fetched
            waits.append(fetched - start)
    return waits, compute


def main(argv: list[str]) -> dict[str, float]:
    args, overrides = split_args(argv, DEFAULTS)
    epochs, batch_size = int(args["epochs"]), int(args["batch_size"])
    limit = None if args["batches"] == "all" else int(args["batches"])
    is_mnist = not any(o.startswith("data=") for o in overrides)
    overrides = ["model=nin", *(MNIST_OVERRIDES if is_mnist else []), *overrides]
    overrides.append(f"data.batch_size={batch_size}")
    cfg = compose_train_config(overrides, "unused")
    datamodule = build_datamodule(cfg)
    images, labels = datamodule.split("train")
    generator = torch.Generator().manual_seed(0)
    pipelines = {
        "ours": lambda: ours(datamodule),
        "loader": lambda: torch.utils.data.DataLoader(
            PerSample(images, labels), batch_size, shuffle=True, generator=generator
        ),
    }
    if is_mnist:
        pipelines["torchvision"] = lambda: torchvision_mnist(batch_size, generator)
    print(
        f"{machine()}\n{len(labels)} training images {tuple(images.shape[1:])}, batch {batch_size}"
    )
    share, per_batch = {}, {}
    for name, batches in pipelines.items():
        waits, compute = timed_training(cfg, batches, epochs, limit, args["bf16"] == "true")
        share[name], per_batch[name] = sum(waits) / compute, statistics.median(waits)
        step_ms = 1000 * compute / len(waits)
        print(
            f"{name:12s} data {1000 * per_batch[name]:7.3f} ms/batch (median; mean "
            f"{1000 * statistics.mean(waits):.3f}), step {step_ms:7.2f} ms/batch: "
            f"data wait = {100 * share[name]:5.2f}% of the step time"
        )
    for name in pipelines:
        if name != "ours":
            print(
                f"data time per batch (median), {name} / ours: "
                f"{per_batch[name] / per_batch['ours']:.1f}×"
            )
    return share


if __name__ == "__main__":
    main(sys.argv[1:])
