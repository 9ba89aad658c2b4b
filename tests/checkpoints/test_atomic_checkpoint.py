"""Checkpoints are replaced all at once: a process killed while writing last.ckpt leaves the
previous one whole, and `ckpt_path=last` resumes from it."""

import contextlib
import logging
import signal
import subprocess
import sys
import time

import pytest
from hydra.utils import instantiate
from lightning.fabric.plugins.environments import SLURMEnvironment

from dlnotes.checkpoints.atomic_file import replaced_atomically
from dlnotes.checkpoints.atomic_io import AtomicCheckpointIO
from dlnotes.checkpoints.load import load_checkpoint
from dlnotes.train import train
from helpers.compose import compose_config, fast_overrides, short_run
from helpers.paths import ROOT
from helpers.processes import pretend_slurm_job, subprocess_env

RUN = short_run(train_batches=2)
STALL = "trainer.plugins=[{_target_:helpers.probe_checkpoint_io.StallsReplacingLast}]"


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "last.ckpt"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="disk full"), replaced_atomically(target) as file:
        file.write(b"half of the new")
        raise RuntimeError("disk full")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]
    with replaced_atomically(target) as file:
        file.write(b"new")
    assert target.read_bytes() == b"new"


@pytest.mark.parametrize("trainer", ["default", "cpu", "ddp_cpu"])
def test_every_trainer_config_writes_checkpoints_atomically(trainer, tmp_path):
    cfg = compose_config(fast_overrides(f"trainer={trainer}"), tmp_path)
    built = instantiate(cfg.trainer, logger=False)
    assert isinstance(built.strategy.checkpoint_io, AtomicCheckpointIO)


def test_slurm_auto_requeue_stays_on_with_our_trainer_configs(tmp_path, monkeypatch):
    pretend_slurm_job(monkeypatch, job_id="7")
    cfg = compose_config(fast_overrides(), tmp_path)
    built = instantiate(cfg.trainer, logger=False)
    environment = built._accelerator_connector.cluster_environment
    assert isinstance(environment, SLURMEnvironment) and environment.auto_requeue
    assert isinstance(built.strategy.checkpoint_io, AtomicCheckpointIO)


def run_train(*args: str, run_dir) -> subprocess.Popen:
    command = [sys.executable, str(ROOT / "train.py"), *args, f"hydra.run.dir={run_dir}"]
    env = subprocess_env()
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)


def replacing_last(checkpoints) -> bool:
    """A last.ckpt exists and a temporary file that will replace it holds some bytes."""
    if not (checkpoints / "last.ckpt").exists():  # checked first: it appears as a write ends
        return False
    for temporary in checkpoints.glob(".last.ckpt.*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            if temporary.stat().st_size > 0:
                return True
    return False


def wait_until_replacing_last(checkpoints, process, timeout_s: float = 120) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        if replacing_last(checkpoints):
            return True
        time.sleep(0.02)
    return False


def test_killed_while_writing_last_ckpt_leaves_the_previous_one_to_resume_from(tmp_path, caplog):
    run_dir = tmp_path / "run"
    process = run_train(*RUN, STALL, run_dir=run_dir)
    try:
        caught_writing = wait_until_replacing_last(run_dir / "checkpoints", process)
    finally:
        process.send_signal(signal.SIGKILL)
        output = process.communicate()[0].decode()
    assert caught_writing, output[-3000:]
    last = run_dir / "checkpoints" / "last.ckpt"
    assert load_checkpoint(last)["epoch"] == 0  # the whole previous checkpoint, not half a new

    with caplog.at_level(logging.INFO, logger="dlnotes"):
        train(compose_config([*RUN, "ckpt_path=last"], run_dir))
    assert f"resuming from {last} (saved at epoch 0, step 2)" in caplog.text
    assert load_checkpoint(last)["epoch"] == 1
