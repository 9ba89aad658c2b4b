"""DDP on CPU (gloo, 2 processes), as users launch it: `trainer=ddp_cpu`, inside a sweep,
and under torchrun. Only rank 0 writes; each job runs once, with all its ranks."""

import csv
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dlnotes.config.resolvers import run_stamp
from dlnotes.run.ddp_job import child_argv
from helpers.paths import ROOT
from helpers.runs import DDP_TINY as TINY
from helpers.runs import assert_val_acc_is_over_the_whole_split, last_metrics, only_rank_zero_wrote


def run(
    *args: str, log_dir: Path, launcher=(sys.executable,), check=True
) -> subprocess.CompletedProcess:
    command = [*launcher, str(ROOT / "train.py"), *args, f"paths.log_dir={log_dir}"]
    env = os.environ | {"PYTHONPATH": str(ROOT / "tests")}
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    if check:
        assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_ddp_cpu_trains_two_processes_with_synced_metrics(tmp_path):
    result = run(*TINY, log_dir=tmp_path)
    assert "MEMBER: 2/2" in result.stdout + result.stderr  # two ranks joined the group
    (run_dir,) = (tmp_path / "train" / "runs").iterdir()
    only_rank_zero_wrote(run_dir)
    assert json.loads((run_dir / "result.json").read_text())["status"] == "completed"
    assert_val_acc_is_over_the_whole_split(run_dir, tmp_path / "check")


def test_sweep_of_ddp_jobs_gives_one_directory_per_job(tmp_path):
    # the third job diverges on both ranks: it fails alone, and the sweep goes on to its end
    result = run("-m", *TINY, "model.optimizer.lr=0.001,0.01,1e9", log_dir=tmp_path, check=False)
    assert result.returncode == 1  # the basic sweeper reports the failed job at the end
    assert not (tmp_path / "train" / "runs").exists()  # no rank wrote a run of its own
    (sweep,) = (tmp_path / "train" / "multiruns").iterdir()  # and no second sweep
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir()) == ["0", "1", "2"]
    for job, lr in (("0", 0.001), ("1", 0.01)):
        job_dir = sweep / job
        only_rank_zero_wrote(job_dir)
        result = json.loads((job_dir / "result.json").read_text())
        assert result["status"] == "completed"
        assert f"model.optimizer.lr={lr}" in result["overrides"]
        assert (job_dir / "checkpoints" / "last.ckpt").is_file()
        assert last_metrics(job_dir)["lr-SGD"] == lr
    with open(sweep / "summary.csv") as file:
        rows = list(csv.DictReader(file))
    assert [row["status"] for row in rows] == ["completed", "completed", "failed"]
    assert "training diverged" in rows[2]["error"]


def test_torchrun_ranks_share_one_run_directory(tmp_path):
    torchrun = (sys.executable, "-m", "torch.distributed.run")  # `torchrun`, without PATH
    run(*TINY, log_dir=tmp_path, launcher=(*torchrun, "--standalone", "--nproc-per-node=2"))
    (run_dir,) = (tmp_path / "train" / "runs").iterdir()
    assert run_dir.name.startswith("torchrun-")
    only_rank_zero_wrote(run_dir)
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()


def test_child_ranks_run_the_jobs_overrides_with_the_same_primary_config():
    argv = ["train.py", "-m", "-cn", "train", "--config-dir=extra", "lr=1,2", "trainer=ddp"]
    child = child_argv(argv, ["lr=2", "trainer=ddp"])
    assert child == ["train.py", "-cn", "train", "--config-dir=extra", "lr=2", "trainer=ddp"] + [
        "hydra.mode=RUN"
    ]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"TORCHELASTIC_RUN_ID": "abc"}, "torchrun-abc"),
        ({"SLURM_JOB_ID": "77", "SLURM_NTASKS": "8", "SLURM_STEP_ID": "1"}, "slurm-77-1"),
        ({"SLURM_JOB_ID": "77", "SLURM_NTASKS": "1"}, None),  # one task: a plain run
        ({"TORCHELASTIC_RUN_ID": "none"}, None),  # torchrun without a run id
    ],
)
def test_ranks_started_by_a_launcher_name_one_run_directory(monkeypatch, env, expected):
    for key in ("TORCHELASTIC_RUN_ID", "SLURM_JOB_ID", "SLURM_NTASKS", "SLURM_STEP_ID"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    stamp = run_stamp()
    if expected is None:
        assert re.fullmatch(r"\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d-\d{6}", stamp)
    else:
        assert stamp == expected


def test_a_master_that_cannot_be_reached_ends_in_one_line_within_the_timeout(tmp_path):
    """A master address that does not resolve: the ranks give up after the process-group
    timeout (trainer.strategy.timeout) with one line naming the address and what to check,
    instead of retrying for ever."""
    timeout, started = 10, time.monotonic()
    master = {"MASTER_ADDR": "no-such-node.invalid", "MASTER_PORT": "29577"}
    command = [sys.executable, str(ROOT / "train.py"), *TINY, "data.image_size=16"]
    command += [f"trainer.strategy.timeout.seconds={timeout}", f"paths.log_dir={tmp_path}"]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ | {"PYTHONPATH": str(ROOT / "tests")} | master,
    )
    assert done.returncode == 1, done.stderr[-3000:]
    assert time.monotonic() - started < timeout + 60  # ~5 s of imports a process
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert errors, done.stderr[-3000:]
    assert "could not meet at no-such-node.invalid:29577" in errors[0]
    assert "getent hosts no-such-node.invalid" in errors[0] and "firewall" in errors[0]
