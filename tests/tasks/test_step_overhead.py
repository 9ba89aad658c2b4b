"""A classifier's training step on train.py's path reads nothing back from the device (on a GPU
each read waits for the step to finish), while the metrics users see stay: the step loss in the
progress bar and the log every `log_every_n_steps` steps, the epoch loss and accuracy."""

import csv

import lightning as L
import pytest
import torch
from torch.profiler import ProfilerActivity, profile

from dlnotes.train import train
from helpers.compose import compose_config

FIRST, LAST = 10, 17  # training steps between two logging steps (log_every_n_steps=10)


class CountHostReads(L.Callback):
    """`aten::_local_scalar_dense` (what .item(), float() and bool() of a tensor run) from the
    start of step FIRST to the start of step LAST + 1 of the first epoch: all the work of
    steps FIRST..LAST."""

    def __init__(self):
        self.profiler, self.reads = None, None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.current_epoch > 0:
            return
        if batch_idx == FIRST:
            self.profiler = profile(activities=[ProfilerActivity.CPU])
            self.profiler.__enter__()
        elif batch_idx == LAST + 1:
            self.profiler.__exit__(None, None, None)
            events = self.profiler.key_averages()
            self.reads = sum(e.count for e in events if e.key == "aten::_local_scalar_dense")


@pytest.fixture
def one_thread():
    """Tiny steps on one thread: on a busy CPU, two threads wait on each other at every op."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_training_steps_read_nothing_back_and_the_metrics_stay(tmp_path, one_thread):
    overrides = [
        "trainer=cpu",
        "logger=csv",
        "test=false",
        "callbacks.model_summary=null",
        "data=synthetic",
        "data.image_shape=[1,8,8]",
        "data.num_classes=5",  # no top-5 accuracy: torchmetrics' top-k reads back on a CPU only
        "data.train_size=96",
        "data.val_size=8",
        "data.batch_size=4",
        "trainer.max_epochs=2",
        "+trainer.limit_val_batches=1",
        "+callbacks.count_reads._target_=test_step_overhead.CountHostReads",
    ]
    _, objects = train(compose_config(overrides, tmp_path))
    trainer = objects["trainer"]
    (counter,) = [c for c in trainer.callbacks if isinstance(c, CountHostReads)]
    assert counter.reads == 0  # before: two per step (the progress bar's step loss)
    shown = trainer.progress_bar_callback.get_metrics(trainer, objects["model"])
    assert {"train/loss_step", "train/loss_epoch", "val/loss", "val/acc"} <= set(shown)
    with open(tmp_path / "metrics.csv") as file:
        rows = list(csv.DictReader(file))
    logged = {key for row in rows for key, value in row.items() if value}
    assert {"train/loss_step", "train/loss_epoch", "train/acc", "val/acc"} <= logged
    steps = [int(row["step"]) for row in rows if row.get("train/loss_step")]
    assert steps == [9, 19, 29, 39]  # every 10 steps, as before
