"""Against a real Slurm cluster (`scripts/slurm_cluster.sh` starts a one-node one; `.ci/run`
does): launcher sweeps for a DDP and a one-process trainer, the sbatch script over an
allocation, `scontrol requeue` and the preemption signal. Each run is a real Slurm job."""

import json
import re
import subprocess
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from optuna.trial import TrialState

from dlnotes.train import train
from helpers.compose import compose_config, fast_overrides
from helpers.paths import ROOT
from helpers.runs import (
    assert_val_acc_is_over_the_whole_split,
    only_rank_zero_wrote,
)
from helpers.slurm import (
    PARTITION,
    RESUMABLE,
    TINY,
    assert_continued_to_the_uninterrupted_end,
    paused_job,
    ready_nodes,
    sbatch,
    summary_rows,
    sweep,
    wait_for_end,
)
from helpers.studies import LEARNS_THEN_STUCK, TRIAL, journal_study


@pytest.fixture(scope="module")
def slurm() -> str:
    """The partition jobs go to; skips (a failure under CI=true) without a cluster."""
    if not ready_nodes():
        pytest.skip(f"Slurm partition {PARTITION!r} is not up: run sudo scripts/slurm_cluster.sh")
    return PARTITION


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


@pytest.fixture(scope="module")
def uninterrupted_metrics(tmp_path_factory) -> dict:
    """The final metrics of RESUMABLE run without a break (once for both requeue tests)."""
    out = tmp_path_factory.mktemp("uninterrupted")
    _, objects = train(compose_config(fast_overrides(*RESUMABLE), out))
    return objects["metrics"]


def test_requeued_job_continues_and_ends_as_an_uninterrupted_run(
    slurm, uninterrupted_metrics, tmp_path
):
    job, run_dir = paused_job(tmp_path, RESUMABLE, "--nodes=1", "--ntasks-per-node=1")
    subprocess.run(["scontrol", "requeue", job], check=True)
    assert wait_for_end(job, tmp_path) == "COMPLETED"
    assert_continued_to_the_uninterrupted_end(job, run_dir, tmp_path, uninterrupted_metrics)


def test_preemption_signal_saves_requeues_and_continues(slurm, uninterrupted_metrics, tmp_path):
    """SIGUSR1, as `#SBATCH --signal=SIGUSR1@120` sends before the time limit: Lightning saves
    hpc_ckpt_1.ckpt and requeues the job itself; the job comes back and finishes."""
    job, run_dir = paused_job(tmp_path, RESUMABLE, "--nodes=1", "--ntasks-per-node=1")
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
