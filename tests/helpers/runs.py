"""The runs that several files start, and the checks they share: the tiny DDP run
(tests/commands/test_ddp.py, test_slurm.py) and the resumable run (tests/run/test_resume.py,
test_slurm.py)."""

import csv
from pathlib import Path

import pytest
import torch

from dlnotes.checkpoints.load import model_from_checkpoint
from dlnotes.run.build import build_datamodule
from helpers.compose import compose_config, fast_overrides

DDP_TINY = [
    "trainer=ddp_cpu",
    "logger=csv",
    "trainer.max_epochs=1",
    "+trainer.limit_train_batches=3",
    "+trainer.limit_test_batches=2",
    "callbacks.progress_bar=null",
    "callbacks.model_summary=null",
    "+callbacks.ranks_agree._target_=helpers.probe_callbacks.RanksRunOneJob",
]
RESUMED_RUN = [
    "model=nin",  # dropout: the random state matters
    "trainer=cpu",
    "trainer.deterministic=true",
    "trainer.max_epochs=3",
    "+trainer.limit_train_batches=5",
    "+trainer.limit_val_batches=3",
    "+trainer.limit_test_batches=3",
    "data.batch_size=16",
    "callbacks.progress_bar=null",
    "callbacks.model_summary=null",
]


def only_rank_zero_wrote(run_dir: Path) -> None:
    """One log file, one .hydra, nothing from the child ranks."""
    assert sorted(p.name for p in run_dir.glob("*.log")) == ["config_tree.log", "train.log"]
    assert not list(run_dir.rglob("*ddp_process*"))
    log = (run_dir / "train.log").read_text()
    assert log.count("outputs in") == 1  # rank 1 logs to the console only


def last_metrics(run_dir: Path) -> dict:
    with open(run_dir / "metrics.csv") as file:
        rows = list(csv.DictReader(file))
    merged = {}
    for row in rows:
        merged |= {key: float(value) for key, value in row.items() if value}
    return merged


def assert_val_acc_is_over_the_whole_split(run_dir: Path, check_dir: Path, *data: str) -> None:
    """The logged val/acc is over the whole validation split (both ranks' halves): one process
    validating the same checkpoint on all of it (`data`: the run's data overrides) gets the
    same number."""
    logged = last_metrics(run_dir)
    saved = model_from_checkpoint(run_dir / "checkpoints" / "last.ckpt")
    cfg = compose_config(fast_overrides("logger=none", *data), check_dir)
    datamodule = build_datamodule(cfg)
    images, labels = datamodule.split("val")
    assert len(labels) % 2 == 0, "an odd split would be padded by one repeated image"
    model = saved.eval()
    with torch.no_grad():
        images, labels = datamodule.on_after_batch_transfer((images, labels), 0)
        predictions = model(images).argmax(dim=1)
    full_split_accuracy = (predictions == labels).float().mean().item()
    assert logged["val/acc"] == pytest.approx(full_split_accuracy, abs=1e-6)
