"""A trained run, as the claims' after-training measures read it: the model of its last
checkpoint and the datamodule of its own data config, and a split's batches as the model takes
them."""

from collections.abc import Iterator
from pathlib import Path

import lightning as L
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from dlnotes.checkpoints.load import model_from_checkpoint


def trained_run(
    run_dir: Path, stage: str = "fit"
) -> tuple[L.LightningModule, L.LightningDataModule]:
    """(the run's last checkpoint's model, its data config's datamodule, set up for `stage`)."""
    config = OmegaConf.load(Path(run_dir) / ".hydra" / "config.yaml")
    model = model_from_checkpoint(Path(run_dir) / "checkpoints" / "last.ckpt")
    data = instantiate(config.data)
    data.setup(stage)
    return model, data


def split_batches(data, split: str) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Split `split`'s (images, targets) batches, converted as they are for the model."""
    loader = {"train": data.train_dataloader, "test": data.test_dataloader}[split]()
    for batch in loader:
        yield data.on_after_batch_transfer(batch, 0)
