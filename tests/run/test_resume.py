"""Resume: a run killed after its first epoch and started again with `ckpt_path=last` in its
run directory ends exactly where an uninterrupted run ends (that it continues its wandb run is
checked in test_wandb.py)."""

import csv
import json
import random
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from dlnotes.callbacks.rng_state import collect_rng_states, restore_rng_states
from dlnotes.data.batches import TensorBatches
from dlnotes.errors import ConfigError
from dlnotes.train import train
from helpers.compose import compose_config, fast_overrides
from helpers.paths import ROOT
from helpers.processes import subprocess_env
from helpers.runs import RESUMED_RUN as RUN

# SIGKILL as epoch 1 starts
CRASH = "+callbacks.crash._target_=helpers.probe_callbacks.SigkillAtEpoch"


def run_train(*args: str, run_dir: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, str(ROOT / "train.py"), *args, f"hydra.run.dir={run_dir}"]
    env = subprocess_env()
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)


def test_killed_run_resumed_with_ckpt_path_last_matches_an_uninterrupted_one(tmp_path):
    run_dir = tmp_path / "run"
    crashed = run_train(*RUN, "logger=wandb", CRASH, run_dir=run_dir)
    assert crashed.returncode == -signal.SIGKILL
    assert not (run_dir / "result.json").exists()  # it never finished
    (first_wandb_run,) = (run_dir / "wandb").glob("offline-run-*")

    resumed = run_train(*RUN, "logger=wandb", CRASH, "ckpt_path=last", run_dir=run_dir)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    resumed_metrics = json.loads((run_dir / "result.json").read_text())["metrics"]

    _, uninterrupted = train(compose_config(fast_overrides(*RUN[1:], "model=nin"), tmp_path / "u"))
    expected = uninterrupted["metrics"]
    for key in ("train/loss_epoch", "val/loss", "val/acc", "test/loss", "test/acc"):
        assert resumed_metrics[key] == expected[key], key
    assert first_wandb_run.is_dir()  # the resumed run wrote beside it (test_wandb.py checks)


def test_ckpt_path_last_without_a_checkpoint_says_which_run_dir_to_give(tmp_path):
    logs = tmp_path / "logs"
    earlier = logs / "train" / "runs" / "earlier"
    (earlier / "checkpoints").mkdir(parents=True)
    (earlier / "checkpoints" / "last.ckpt").write_bytes(b"")
    cfg = compose_config(
        fast_overrides("ckpt_path=last", f"paths.log_dir={logs}"), tmp_path / "new"
    )
    with pytest.raises(ConfigError, match=f"hydra.run.dir=<that run's directory>.*{earlier}"):
        train(cfg)
    assert json.loads((tmp_path / "new" / "result.json").read_text())["status"] == "failed"


def test_missing_checkpoint_file_is_a_one_line_error(tmp_path):
    cfg = compose_config(fast_overrides(f"ckpt_path={tmp_path}/nope.ckpt"), tmp_path)
    with pytest.raises(ConfigError, match="no such checkpoint file"):
        train(cfg)


def test_rng_states_round_trip():
    torch.manual_seed(0)
    states = collect_rng_states()
    expected = (torch.rand(3), np.random.rand(3), random.random())
    torch.manual_seed(1), np.random.seed(1), random.seed(1)
    restore_rng_states(states)
    assert torch.equal(torch.rand(3), expected[0])
    assert np.array_equal(np.random.rand(3), expected[1]) and random.random() == expected[2]


def test_epoch_order_depends_on_the_epoch_not_on_how_many_epochs_ran():
    images, labels = torch.zeros(20, 1, 2, 2), torch.arange(20)

    def order(batches) -> list[int]:
        return torch.cat([y for _, y in batches]).tolist()

    straight = TensorBatches(images, labels, batch_size=4, shuffle=True, seed=3)
    epochs = [order(straight) for _ in range(3)]
    assert epochs[0] != epochs[1] != epochs[2]
    resumed = TensorBatches(images, labels, batch_size=4, shuffle=True, seed=3)
    resumed.sampler.set_epoch(2)  # what Lightning does as epoch 2 starts
    assert order(resumed) == epochs[2]


def test_resumed_run_appends_to_its_metrics_csv(tmp_path):
    run = fast_overrides("debug=limit", "logger=csv", "test=false")
    train(compose_config([*run, "trainer.max_epochs=1"], tmp_path))
    train(compose_config([*run, "trainer.max_epochs=2", "ckpt_path=last"], tmp_path))
    with open(tmp_path / "metrics.csv") as file:
        rows = list(csv.DictReader(file))
    epochs_with_val = sorted({int(row["epoch"]) for row in rows if row.get("val/acc")})
    assert epochs_with_val == [0, 1]  # epoch 0 from the first part, epoch 1 from the resumed


def test_last_ckpt_holds_every_finished_epoch_even_without_improvement(tmp_path):
    # a learning rate of 1e-12 and no BN statistics: val/acc never improves after epoch 0
    record = "+callbacks.record._target_=helpers.probe_callbacks.RecordLastCheckpoint"
    overrides = fast_overrides(
        "debug=limit",
        "trainer.max_epochs=3",
        "test=false",
        "model.net.norm=none",
        "model.optimizer.lr=1e-12",
        record,
        f"+callbacks.record.path={tmp_path}/checkpoints/last.ckpt",
    )
    _, objects = train(compose_config(overrides, tmp_path))
    assert [p.name for p in (tmp_path / "checkpoints").glob("epoch_*.ckpt")] == ["epoch_000.ckpt"]
    (recorder,) = [c for c in objects["trainer"].callbacks if hasattr(c, "epoch_in_last")]
    assert recorder.epoch_in_last == {1: 0, 2: 1}  # epoch 1 saved although not better
