"""SIGTERM (preemption, `kill`) and Ctrl-C save a checkpoint and print the command that
resumes; under SLURM, Lightning's SIGUSR1 requeue still saves and requeues."""

import json
import os
import shlex
import signal
import subprocess
import sys

import pytest

from dlnotes.checkpoints.load import load_checkpoint
from dlnotes.run.cli import run_cli
from dlnotes.train import train
from helpers.compose import compose_config, short_run
from helpers.paths import ROOT
from helpers.processes import pretend_slurm_job, subprocess_env

RUN = short_run(train_batches=3)


def signal_at_step(step: int, name: str) -> list[str]:
    probe = "+callbacks.signal._target_=helpers.probe_callbacks.SignalAtStep"
    return [probe, f"+callbacks.signal.step={step}", f"+callbacks.signal.signal_name={name}"]


def run(command: list[str]) -> subprocess.CompletedProcess:
    env = subprocess_env()
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)


def test_sigterm_saves_a_checkpoint_and_prints_the_command_that_resumes(tmp_path):
    run_dir = tmp_path / "run"
    args = [*RUN, *signal_at_step(4, "SIGTERM"), f"paths.log_dir={tmp_path}"]
    stopped = run([sys.executable, "train.py", *args, f"hydra.run.dir={run_dir}"])
    assert stopped.returncode == 128 + signal.SIGTERM, stopped.stderr[-3000:]
    last = run_dir / "checkpoints" / "last.ckpt"
    message = stopped.stderr.strip().splitlines()[-1]
    assert message.startswith(f"interrupted by SIGTERM at epoch 1, step 4; saved {last}; ")
    assert load_checkpoint(last)["global_step"] == 4  # saved after the signal, mid-epoch
    result = json.loads((run_dir / "result.json").read_text())
    assert result["status"] == "interrupted" and result["error"] == message

    command = shlex.split(message.split("resume with: ", 1)[1])
    assert command[:2] == ["python", "train.py"] and command[-1] == "ckpt_path=last"
    assert f"hydra.run.dir={run_dir}" in command and set(args) <= set(command)
    resumed = run([sys.executable, *command[1:]])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming from {last} (saved at epoch 1, step 4)" in resumed.stdout
    assert json.loads((run_dir / "result.json").read_text())["status"] == "completed"
    assert load_checkpoint(last)["global_step"] == 6  # 2 epochs × 3 batches


@pytest.fixture
def restore_sigint():
    """Ctrl-C raising KeyboardInterrupt, as in a fresh `python train.py`, whatever an earlier
    test left (Lightning ignores further Ctrl-C while it shuts down); then the old handler."""
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, handler)


def test_ctrl_c_saves_a_checkpoint_and_exits_130(tmp_path, capsys, restore_sigint):
    cfg = compose_config([*RUN, *signal_at_step(2, "SIGINT")], tmp_path)
    with pytest.raises(SystemExit) as stopped:
        run_cli(train, cfg)
    assert stopped.value.code == 128 + signal.SIGINT
    message = capsys.readouterr().err.strip().splitlines()[-1]
    assert message.startswith("interrupted by SIGINT at epoch 0, step 2; saved ")
    assert message.endswith(f"resume with: python train.py hydra.run.dir={tmp_path} ckpt_path=last")
    assert load_checkpoint(tmp_path / "checkpoints" / "last.ckpt")["global_step"] == 2
    assert json.loads((tmp_path / "result.json").read_text())["status"] == "interrupted"


def test_slurm_requeue_signal_saves_and_requeues_and_the_requeued_job_continues(
    tmp_path, monkeypatch
):
    bin_dir = tmp_path / "bin"  # a stand-in `scontrol` that records how it was called
    bin_dir.mkdir()
    (bin_dir / "scontrol").write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/scontrol_args\n')
    (bin_dir / "scontrol").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    pretend_slurm_job(monkeypatch, job_id="42")

    run_dir = tmp_path / "run"
    train(compose_config([*RUN, *signal_at_step(2, "SIGUSR1"), "trainer.max_epochs=1"], run_dir))
    assert (tmp_path / "scontrol_args").read_text().split() == ["requeue", "42"]
    hpc_checkpoint = run_dir / "hpc_ckpt_1.ckpt"
    assert load_checkpoint(hpc_checkpoint)["global_step"] == 2

    _, objects = train(compose_config(RUN, run_dir))
    assert objects["trainer"].ckpt_path == str(hpc_checkpoint)  # Lightning resumed from it
