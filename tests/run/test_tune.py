"""Lightning's tuners before training (`tune=lr_find|batch_size`): the learning-rate finder's
suggestion trains, its curve is saved and reaches wandb, and the batch-size finder stops at
the first batch that does not fit; models that step their own optimizers are refused in one
line."""

import functools

import pytest
import torch

from dlnotes.data.digits import DigitsDataModule
from dlnotes.errors import ConfigError
from dlnotes.run import tune as tuning
from dlnotes.run.tune import with_lr
from dlnotes.train import train
from helpers.compose import compose_config, fast_overrides
from helpers.wandb_records import history_items, logged_config, read_records

# NIN on 16-pixel digits, one epoch of 60 steps: the learning test's classifier case, whose bar
# (the majority class + 0.4) its permuted-labels twin stays under (tests/commands/test_learning.py)
SHORT = ["data.image_size=16", "trainer.max_epochs=1", "+trainer.limit_train_batches=60"]


def learning_bar() -> float:
    test_labels = DigitsDataModule().split("test")[1]
    return torch.bincount(test_labels).max().item() / len(test_labels) + 0.4


def test_lr_find_suggests_a_rate_that_trains_and_saves_its_curve(tmp_path):
    overrides = fast_overrides(*SHORT, "tune=lr_find", "tune.num_training=60", "tune.apply=true")
    cfg = compose_config(overrides, tmp_path)
    _, objects = train(cfg)
    assert (tmp_path / "lr_find.png").stat().st_size > 0
    lr = objects["model"].optimizer.keywords["lr"]
    assert lr != cfg.model.optimizer.lr and 1e-6 <= lr <= 1.0  # the suggestion, applied
    assert objects["metrics"]["test/acc"] > learning_bar()  # trained at it, it learns


def test_lr_find_reports_to_wandb_without_applying_unless_asked(tmp_path, monkeypatch):
    """Not applied: the run trains at its configured rate; the suggestion and the curve still
    reach the run's wandb records (config `tune.lr`, image `tune/lr_find`)."""
    overrides = fast_overrides(*SHORT, "tune=lr_find", "tune.num_training=30", "logger=wandb")
    cfg = compose_config(overrides, tmp_path)
    monkeypatch.setenv("WANDB_DATA_DIR", str(tmp_path / "wandb_data"))
    _, objects = train(cfg)
    assert objects["model"].optimizer.keywords["lr"] == cfg.model.optimizer.lr
    (run_dir,) = (tmp_path / "wandb").glob("offline-run-*")
    records = read_records(run_dir)
    config, items = logged_config(records), history_items(records)
    assert 1e-6 <= config["tune"]["lr"] <= 1.0 and config["tune"]["lr"] != cfg.model.optimizer.lr
    assert items["tune/lr_find._type"] == "images/separated"


class FitsUpTo(torch.nn.Module):
    """A net that runs out of memory (as CUDA says it) above `limit` images a batch."""

    def __init__(self, net, limit: int):
        super().__init__()
        self.net, self.limit = net, limit

    def forward(self, images):
        if len(images) > self.limit:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.net(images)


def test_batch_size_finder_stops_at_the_first_batch_that_does_not_fit(tmp_path, monkeypatch):
    overrides = [
        "data.image_size=8",
        "tune=batch_size",
        "tune.apply=true",
        "+trainer.fast_dev_run=1",
    ]
    cfg = compose_config(fast_overrides(*overrides), tmp_path)
    original = tuning.find_batch_size

    def capped(tuner, settings, model, datamodule):
        model.net = FitsUpTo(model.net, limit=40)
        try:
            return original(tuner, settings, model, datamodule)
        finally:
            model.net = model.net.net

    monkeypatch.setattr(tuning, "find_batch_size", capped)
    _, objects = train(cfg)
    assert objects["datamodule"].batch_size == 32  # 2, 4, ..., 32 fit; 64 does not


def test_a_gan_and_an_unknown_mode_are_refused_in_one_line(tmp_path):
    gan = compose_config(
        fast_overrides("model=gan", "data.image_size=16", "tune=lr_find"), tmp_path
    )
    with pytest.raises(ConfigError, match="tune=lr_find: this model steps its optimizers itself"):
        train(gan)
    unknown = compose_config(fast_overrides("tune=lr_find", "tune.mode=fastest"), tmp_path / "u")
    with pytest.raises(ConfigError, match="tune.mode=fastest: choose tune=lr_find or"):
        train(unknown)


def test_with_lr_keeps_every_other_setting():
    sgd = functools.partial(torch.optim.SGD, lr=0.1, momentum=0.9)
    changed = with_lr(sgd, 0.01)
    assert changed.keywords == {"lr": 0.01, "momentum": 0.9} and changed.func is torch.optim.SGD
