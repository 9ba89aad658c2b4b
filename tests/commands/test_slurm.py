"""Against a real Slurm cluster (`scripts/slurm_cluster.sh` starts a one-node one; `.ci/run`
does): launcher sweeps for a DDP and a one-process trainer, the sbatch script over an
allocation, `scontrol requeue` and the preemption signal. Each run is a real Slurm job."""

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
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from optuna.trial import TrialState

from dlnotes.train import train
from helpers.compose import compose_config, fast_overrides
from helpers.paths import ROOT
from helpers.processes import subprocess_env
from helpers.runs import (
    DDP_TINY,
    RESUMED_RUN,
    assert_val_acc_is_over_the_whole_split,
    only_rank_zero_wrote,
)
from helpers.studies import LEARNS_THEN_STUCK, TRIAL, journal_study

PARTITION = os.environ.get("DLNOTES_SLURM_PARTITION", "debug")
# test_ddp's tiny run on any trainer, and test_resume's run that a requeue must not change
TINY = [*DDP_TINY[1:], "data.image_size=16"]
RESUMABLE = [o for o in RESUMED_RUN if o != "trainer=cpu"] + ["data.image_size=16", "logger=csv"]
COMPARED = ("train/loss_epoch", "val/loss", "val/acc", "test/loss", "test/acc")


@pytest.fixture(scope="module")
def slurm() -> str:
    """The partition jobs go to; skips (a failure under CI=true) without a cluster."""
    if shutil.which("sinfo") is None:
        pytest.skip("no Slurm here: start a one-node cluster with sudo scripts/slurm_cluster.sh")
    state = subprocess.run(
        ["sinfo", "--noheader", "--partition", PARTITION, "--format", "%T"],
        capture_output=True,
        text=True,
    ).stdout.split()
    if not state or not state[0].startswith(("idle", "mixed", "allocated")):
        pytest.skip(
            f"Slurm partition {PARTITION!r} is not up (sinfo: {state}): run "
            "sudo scripts/slurm_cluster.sh"
        )
    return PARTITION


def sweep(*overrides: str, log_dir: Path) -> subprocess.CompletedProcess:
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


def slurm_jobs_of(sweep_dir: Path) -> set[str]:
    """The Slurm jobs (array tasks `<array id>_<job>`) submitit ran the sweep's jobs as."""
    return {p.name for p in (sweep_dir / ".submitit").iterdir() if re.fullmatch(r"\d+_\d+", p.name)}


def test_launcher_sweep_of_ddp_jobs_records_the_failed_one(slurm, tmp_path):
    """trainer=ddp_cpu: each sweep job one Slurm job of two tasks (ranks); the diverging one is
    reported failed while the other completes."""
    result = sweep("trainer=ddp_cpu", *TINY, "model.optimizer.lr=0.05,1e9", log_dir=tmp_path)
    assert result.returncode == 1, result.stderr[-3000:]  # the basic sweeper reports the failure
    sweep_dir, rows = summary_rows(tmp_path)
    assert [row["status"] for row in rows] == ["completed", "failed"]
    assert float(rows[0]["test/acc"]) >= 0 and "training diverged" in rows[1]["error"]
    assert len(slurm_jobs_of(sweep_dir)) == 2
    only_rank_zero_wrote(sweep_dir / "0")
    for job in ("0", "1"):
        ranks = list((sweep_dir / ".submitit").glob(f"*_{job}/*_{job}_*_log.out"))
        assert len(ranks) == 2, ranks  # one log per task: two ranks


def test_optuna_sweep_of_one_process_jobs_prunes_through_a_shared_journal(slurm, tmp_path):
    """Each trial a one-process Slurm job (trainer=cpu): the stuck trial reports to the study's
    journal from its job and is pruned there, before its last epoch."""
    journal = tmp_path / "study.log"
    pruner = ["hydra/sweeper/pruner=median", "hydra.sweeper.pruner.n_startup_trials=1"]
    args = [*TRIAL, LEARNS_THEN_STUCK, *pruner, f"hydra.sweeper.storage={journal}"]
    result = sweep(*args, "hydra.sweeper.n_trials=2", log_dir=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep_dir, rows = summary_rows(tmp_path)
    assert [row["status"] for row in rows] == ["completed", "pruned"]
    assert all(0 <= float(row["test/acc"]) <= 1 for row in rows)  # a pruned trial is tested too
    assert {p.name for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit()} == {"0", "1"}
    learns, stuck = journal_study(journal).trials
    assert learns.state == TrialState.COMPLETE and stuck.state == TrialState.PRUNED
    assert stuck.user_attrs["pruned_at_epoch"] < 2
    submitted = [p for p in (sweep_dir / ".submitit").iterdir() if p.name.isdigit()]
    assert len(submitted) == 2  # one trial at a time (n_jobs=1): one plain Slurm job each


# --- the sbatch script ----------------------------------------------------------------------


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


def test_sbatch_script_runs_one_training_over_the_allocation(slurm, tmp_path):
    """1 node × 2 tasks: two ranks, one run directory, metrics over both ranks."""
    job = sbatch(
        "--nodes=1", "--ntasks-per-node=2", "--cpus-per-task=1", overrides=TINY, log_dir=tmp_path
    )
    assert wait_for_end(job, tmp_path) == "COMPLETED", (tmp_path / f"slurm-{job}.out").read_text()
    (run_dir,) = (tmp_path / "train" / "runs").iterdir()
    assert run_dir.name == f"slurm-{job}"
    only_rank_zero_wrote(run_dir)
    assert json.loads((run_dir / "result.json").read_text())["status"] == "completed"
    assert "1 node(s) × 2 task(s), trainer=ddp_cpu" in (tmp_path / f"slurm-{job}.out").read_text()
    assert_val_acc_is_over_the_whole_split(run_dir, tmp_path / "check", "data.image_size=16")


def paused_job(tmp_path: Path) -> tuple[str, Path]:
    """A one-task job of RESUMABLE that pauses as its second epoch starts."""
    marker = tmp_path / "paused"
    pause = [
        "+callbacks.pause._target_=helpers.probe_callbacks.PauseAtEpoch",
        f"+callbacks.pause.marker={marker}",
    ]
    job = sbatch(
        "--nodes=1", "--ntasks-per-node=1", overrides=[*RESUMABLE, *pause], log_dir=tmp_path
    )
    wait_until(marker.exists, 120, f"job {job} to reach its second epoch")
    return job, tmp_path / "train" / "runs" / f"slurm-{job}"


@pytest.fixture(scope="module")
def uninterrupted_metrics(tmp_path_factory) -> dict:
    """The final metrics of RESUMABLE run without a break (once for both requeue tests)."""
    out = tmp_path_factory.mktemp("uninterrupted")
    _, objects = train(compose_config(fast_overrides(*RESUMABLE), out))
    return objects["metrics"]


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


def test_requeued_job_continues_and_ends_as_an_uninterrupted_run(
    slurm, uninterrupted_metrics, tmp_path
):
    job, run_dir = paused_job(tmp_path)
    subprocess.run(["scontrol", "requeue", job], check=True)
    assert wait_for_end(job, tmp_path) == "COMPLETED"
    assert_continued_to_the_uninterrupted_end(job, run_dir, tmp_path, uninterrupted_metrics)


def test_preemption_signal_saves_requeues_and_continues(slurm, uninterrupted_metrics, tmp_path):
    """SIGUSR1, as `#SBATCH --signal=SIGUSR1@120` sends before the time limit: Lightning saves
    hpc_ckpt_1.ckpt and requeues the job itself; the job comes back and finishes."""
    job, run_dir = paused_job(tmp_path)
    subprocess.run(["scancel", "--signal=USR1", job], check=True)
    assert wait_for_end(job, tmp_path) == "COMPLETED"
    assert (run_dir / "hpc_ckpt_1.ckpt").is_file()
    assert_continued_to_the_uninterrupted_end(job, run_dir, tmp_path, uninterrupted_metrics)


# --- what the launcher asks Slurm for (no cluster needed) -------------------------------------


def launcher_request(*overrides: str) -> dict:
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("train", ["hydra/launcher=slurm", *overrides], return_hydra_config=True)
    launcher = cfg.hydra.launcher
    keys = ("nodes", "tasks_per_node", "gpus_per_node", "cpus_per_task")
    return {key: launcher[key] for key in keys}


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["trainer=cpu"], (1, 1, None)),
        (["trainer=default"], (1, 1, None)),  # accelerator auto: no GPU request
        (["trainer=ddp_cpu"], (1, 2, None)),
        (["trainer=gpu"], (1, 1, 1)),
        (["trainer=ddp", "trainer.devices=4", "trainer.num_nodes=2"], (2, 4, 4)),
    ],
)
def test_launcher_asks_for_gpus_only_for_gpu_trainers(overrides, expected):
    request = launcher_request(*overrides)
    assert (request["nodes"], request["tasks_per_node"], request["gpus_per_node"]) == expected
    assert request["cpus_per_task"] == 1


def test_launcher_needs_a_device_count():
    with pytest.raises(Exception, match=r"trainer.devices=-1: a Slurm job needs a number"):
        launcher_request("trainer=ddp")  # devices: -1, all visible GPUs
