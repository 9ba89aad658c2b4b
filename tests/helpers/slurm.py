"""Jobs on the real Slurm cluster that `scripts/slurm_cluster.sh` starts: submitting the
sbatch script or a launcher sweep, reading a job's fields, waiting for it to end."""

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers.paths import ROOT
from helpers.processes import subprocess_env
from helpers.runs import DDP_TINY, RESUMED_RUN

PARTITION = os.environ.get("DLNOTES_SLURM_PARTITION", "debug")
# test_ddp's tiny run on any trainer, and test_resume's run that a requeue must not change
TINY = [*DDP_TINY[1:], "data.image_size=16"]
RESUMABLE = [o for o in RESUMED_RUN if o != "trainer=cpu"] + ["data.image_size=16", "logger=csv"]
COMPARED = ("train/loss_epoch", "val/loss", "val/acc", "test/loss", "test/acc")


def ready_nodes() -> list[str]:
    """The partition's nodes that take jobs (skips, a failure under CI=true, without Slurm)."""
    if shutil.which("sinfo") is None:
        pytest.skip("no Slurm here: start a cluster with sudo scripts/slurm_cluster.sh nodes=2")
    shown = subprocess.run(
        ["sinfo", "--noheader", "--Node", "--partition", PARTITION, "--format", "%N %T"],
        capture_output=True,
        text=True,
    ).stdout.split("\n")
    rows = [line.split() for line in shown if line.strip()]
    return sorted({n for n, state in rows if state.startswith(("idle", "mixed", "allocated"))})


def sweep(*overrides: str, log_dir: Path) -> subprocess.CompletedProcess:
    """`python train.py -m hydra/launcher=slurm OVERRIDES`, its logs under `log_dir`."""
    command = [
        sys.executable,
        str(ROOT / "train.py"),
        "-m",
        "hydra/launcher=slurm",
        f"hydra.launcher.partition={PARTITION}",
        *overrides,
        f"paths.log_dir={log_dir}",
    ]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=600, env=subprocess_env()
    )


def summary_rows(log_dir: Path) -> tuple[Path, list[dict]]:
    (sweep_dir,) = (log_dir / "train" / "multiruns").iterdir()
    with open(sweep_dir / "summary.csv") as file:
        return sweep_dir, list(csv.DictReader(file))


def sbatch(*options: str, overrides: list[str], log_dir: Path) -> str:
    """Submit scripts/slurm_ddp.sbatch; returns the job id."""
    command = [
        "sbatch",
        "--parsable",
        f"--partition={PARTITION}",
        f"--chdir={ROOT}",
        f"--output={log_dir}/slurm-%j.out",
        *options,
        "scripts/slurm_ddp.sbatch",
        *overrides,
        f"paths.log_dir={log_dir}",
    ]
    result = subprocess.run(command, capture_output=True, text=True, env=subprocess_env())
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().split(";")[0]


def job_field(job_id: str, field: str) -> str:
    shown = subprocess.run(
        ["scontrol", "show", "job", "-o", job_id], capture_output=True, text=True
    ).stdout
    match = re.search(rf"\b{field}=(\S+)", shown)
    return match.group(1) if match else ""


def wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def wait_for_end(job_id: str, log_dir: Path, seconds: float = 300) -> str:
    """Waits until the job has ended; a requeued job is released at once (Slurm would hold
    it 120 s first). Returns its final state."""

    def ended() -> bool:
        if job_field(job_id, "Reason") == "BeginTime":  # requeued, held
            subprocess.run(["scontrol", "update", f"jobid={job_id}", "StartTime=now"])
        return job_field(job_id, "JobState") in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT")

    wait_until(ended, seconds, f"Slurm job {job_id} (log: {log_dir}/slurm-{job_id}.out)")
    return job_field(job_id, "JobState")


def paused_job(tmp_path: Path, overrides: list[str], *options: str) -> tuple[str, Path]:
    """A job of the sbatch script (`options`: its allocation) that pauses as its second epoch
    starts; (its id, its run directory)."""
    marker = tmp_path / "paused"
    pause = [
        "+callbacks.pause._target_=helpers.probe_callbacks.PauseAtEpoch",
        f"+callbacks.pause.marker={marker}",
    ]
    job = sbatch(*options, overrides=[*overrides, *pause], log_dir=tmp_path)
    wait_until(marker.exists, 120, f"job {job} to reach its second epoch")
    return job, tmp_path / "train" / "runs" / f"slurm-{job}"


def assert_continued_to_the_uninterrupted_end(
    job: str, run_dir: Path, tmp_path: Path, expected: dict
) -> None:
    output = (tmp_path / f"slurm-{job}.out").read_text()
    assert job_field(job, "Restarts") == "1", output
    assert "resuming from" in (run_dir / "train.log").read_text()  # from checkpoints/last.ckpt
    resumed = json.loads((run_dir / "result.json").read_text())
    assert resumed["status"] == "completed"
    for key in COMPARED:
        assert resumed["metrics"][key] == expected[key], key
