"""The Optuna sweeper as users run it (`python train.py hparams_search=...`): studies kept in
sqlite or a journal file and continued, a killed sweep continued, pruning through the study's
storage (basic and joblib launchers here; Slurm in tests/commands/test_slurm.py), several
objectives, pictures, and bad search spaces refused in one line before any trial."""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from dlnotes.sweeps.search_space import SearchSpaceError, split_arguments
from helpers.paths import ROOT
from helpers.processes import subprocess_env, train_in_process
from helpers.studies import (
    LEARNS,
    LEARNS_THEN_STUCK,
    QUICK_TRIAL,
    STUCK,
    TRIAL,
    journal_study,
)
from helpers.wandb_records import history_rows, of_type, read_records


def command(*args: str, log_dir: Path) -> list[str]:
    return [sys.executable, str(ROOT / "train.py"), *args, f"paths.log_dir={log_dir}"]


def sweep(*args: str, log_dir: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(
        command(*args, log_dir=log_dir),
        capture_output=True,
        text=True,
        timeout=300,
        env=subprocess_env(),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def sweep_here(*args: str, log_dir: Path) -> None:
    """The same command in this process (the basic launcher runs its trials here too)."""
    assert train_in_process(*args, f"paths.log_dir={log_dir}") == 0


def sweep_dirs(log_dir: Path) -> list[Path]:
    return sorted((log_dir / "train" / "multiruns").iterdir())


def summary(sweep_dir: Path) -> list[dict]:
    with open(sweep_dir / "summary.csv") as file:
        return list(csv.DictReader(file))


def test_sqlite_study_is_created_then_continued_with_only_the_missing_trials(tmp_path, monkeypatch):
    """The README's command (a relative sqlite path), then n_trials=4: two more trials."""
    first = ["hydra.sweeper.storage=sqlite:///optuna.db", *QUICK_TRIAL]
    monkeypatch.chdir(tmp_path)  # where the command runs: sqlite:///optuna.db is there
    sweep_here(*first, "hydra.sweeper.n_trials=2", log_dir=tmp_path)
    sweep_here(*first, "hydra.sweeper.n_trials=4", log_dir=tmp_path)
    study = optuna.load_study(study_name="nin_optuna", storage=f"sqlite:///{tmp_path}/optuna.db")
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 4
    params = [tuple(t.params.items()) for t in study.trials]
    assert len(set(params)) == 4  # the continued seeded sampler does not repeat the first draws
    earlier, later = sweep_dirs(tmp_path)
    assert [row["trial"] for row in summary(later)] == ["0", "1", "2", "3"]
    assert [Path(row["output_dir"]).parent for row in summary(later)] == [earlier] * 2 + [later] * 2
    assert all(row["status"] == "completed" and row["val/acc"] for row in summary(later))
    results = (later / "optimization_results.yaml").read_text()
    assert f"best_trial: {study.best_trial.number}" in results
    for picture in ("optimization_history", "param_importances", "slice"):
        assert (later / f"{picture}.png").stat().st_size > 5_000, picture


def test_killed_sweep_continues_and_records_its_running_trial_as_failed(tmp_path):
    journal = tmp_path / "study.log"
    args = [*TRIAL, f"hydra.sweeper.storage={journal}", "hydra.sweeper.n_trials=2"]
    process = subprocess.Popen(
        command(*args, log_dir=tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=subprocess_env(),
        start_new_session=True,
    )

    def states():
        return [t.state for t in journal_study(journal).trials] if journal.exists() else []

    deadline = time.monotonic() + 120
    while states() != [TrialState.COMPLETE, TrialState.RUNNING]:  # killed inside trial 1
        assert time.monotonic() < deadline and process.poll() is None, states()
        time.sleep(0.2)
    time.sleep(1.0)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    sweep_here(*args, log_dir=tmp_path)  # the same command again
    trials = journal_study(journal).trials
    complete, failed = TrialState.COMPLETE, TrialState.FAIL
    assert [t.state for t in trials] == [complete, failed, complete]  # 2 that count, as asked
    assert trials[2].params == trials[1].params  # the interrupted trial runs again first
    assert trials[2].user_attrs["retry_of"] == 1
    rows = summary(sweep_dirs(tmp_path)[-1])
    assert [row["status"] for row in rows] == ["completed", "interrupted", "completed"]


@pytest.fixture(scope="module")
def pruned_and_unpruned(tmp_path_factory):
    """The same 2-trial sweep (lr 0.02, then 1e-12) with a median pruner and without."""
    runs = {}
    for pruner in ("median", "none"):
        log_dir = tmp_path_factory.mktemp(pruner)
        # max_failure_rate=0: a pruned trial counted as a failure would stop the sweep (exit 1)
        args = [*TRIAL, LEARNS_THEN_STUCK, "hydra.sweeper.n_trials=2"]
        args += ["hydra.sweeper.max_failure_rate=0"]
        args += [f"hydra/sweeper/pruner={pruner}", "hydra.sweeper.pruner.n_startup_trials=1"]
        if pruner == "none":
            args = args[:-1]
        sweep_here(*args, log_dir=log_dir)
        (sweep_dir,) = sweep_dirs(log_dir)
        runs[pruner] = sweep_dir, journal_study(sweep_dir / "optuna.log")
    return runs


def test_median_pruner_stops_the_worse_trial_before_its_last_epoch(pruned_and_unpruned):
    sweep_dir, study = pruned_and_unpruned["median"]
    learns, stuck = study.trials
    assert learns.params["model.optimizer.lr"] == float(LEARNS)
    assert learns.state == TrialState.COMPLETE and sorted(learns.intermediate_values) == [0, 1, 2]
    assert stuck.state == TrialState.PRUNED
    stopped = stuck.user_attrs["pruned_at_epoch"]
    assert stopped < 2 and sorted(stuck.intermediate_values) == list(range(stopped + 1))
    rows = summary(sweep_dir)
    assert [row["status"] for row in rows] == ["completed", "pruned"]
    assert rows[1]["pruned_at_epoch"] == str(stopped)


def test_without_a_pruner_the_same_trial_runs_to_its_last_epoch(pruned_and_unpruned):
    sweep_dir, study = pruned_and_unpruned["none"]
    learns, stuck = study.trials
    assert stuck.params["model.optimizer.lr"] == float(STUCK)
    assert stuck.state == TrialState.COMPLETE and sorted(stuck.intermediate_values) == [0, 1, 2]
    assert [row["status"] for row in summary(sweep_dir)] == ["completed", "completed"]


def test_joblib_trials_share_a_journal_and_several_objectives_give_a_pareto_front(tmp_path):
    """Two trials at once in joblib workers, reporting to one journal; two objectives (the
    Pareto front in the summary); with wandb, the sweep's own run holds pictures and table."""
    journal = tmp_path / "shared" / "study.log"
    args = [*QUICK_TRIAL, "hydra/launcher=parallel", "hydra.sweeper.n_jobs=2", "logger=wandb"]
    args += ["hydra.sweeper.direction=[maximize,minimize]", f"hydra.sweeper.storage={journal}"]
    args += ["hydra.sweeper.objectives=[val/acc,duration_s]", "hydra.sweeper.n_trials=2"]
    sweep(*args, log_dir=tmp_path)
    study = journal_study(journal)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2
    assert all(sorted(t.intermediate_values) == [] for t in study.trials)  # no pruning: 2 goals
    assert all("output_dir" in t.user_attrs for t in study.trials)  # set from the workers
    (sweep_dir,) = sweep_dirs(tmp_path)
    rows = summary(sweep_dir)
    front = {t.number for t in study.best_trials}
    assert {int(row["trial"]) for row in rows if row["pareto"] == "yes"} == front
    assert all(float(row["duration_s"]) > 0 for row in rows)
    assert (sweep_dir / "pareto_front.png").stat().st_size > 5_000
    assert "pareto_front:" in (sweep_dir / "optimization_results.yaml").read_text()
    (run_dir,) = (sweep_dir / "wandb").glob("offline-run-*")  # the sweep's own run
    records = read_records(run_dir)
    (run,) = of_type(records, "run")
    assert run["run_group"] == f"train-{sweep_dir.name}" and run["job_type"] == "sweep"
    # the logged keys (`sweep/summary._type` is a part of `sweep/summary`)
    logged = {key.split(".")[0] for row in history_rows(records) for key in row}
    assert {"sweep/summary", "sweep/pareto_front", "sweep/slice_val_acc"} <= logged, logged


@pytest.mark.parametrize(
    "bad, message",
    [
        ("model.optimizer.lrr=interval(0.1,0.2)", "Could not override 'model.optimizer.lrr'"),
        ("model.optimizer.lr=interval(0.2,0.1)", "interval(0.2, 0.1) is empty"),
        ("model.optimizer.lr=tag(log,interval(0,0.1))", "needs bounds above 0 for a log scale"),
        ("hydra.sweeper.sampler._target_=optuna.samplers.Nope", "hydra.sweeper.sampler: cannot"),
        ("hydra.sweeper.pruner._target_=optuna.pruners.Nope", "hydra.sweeper.pruner: cannot"),
        ("hydra.sweeper.direction=up", "'up' is neither maximize nor minimize"),
    ],
)
def test_bad_search_space_fails_in_one_line_before_any_trial(bad, message, tmp_path, capsys):
    code = train_in_process("hparams_search=nin_optuna", bad, f"paths.log_dir={tmp_path}")
    error = capsys.readouterr().err.strip()
    assert code == 1
    assert error.startswith("error: ") and message in error and "\n" not in error, error
    assert not list(tmp_path.rglob("result.json"))  # no trial ran


def test_a_choice_without_options_in_a_config_is_refused():
    """On the command line Hydra's own parser refuses `choice()`; in a config's params, this."""
    with pytest.raises(SearchSpaceError, match="data.batch_size has no options"):
        split_arguments({"data.batch_size": "choice()"}, [])
