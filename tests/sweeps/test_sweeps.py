"""Sweeps as users run them: `-m` with the basic sweeper and `hparams_search=..._optuna`.
Every job is recorded (completed or failed) in the sweep's summary; wandb gets one run per
job, grouped by sweep."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from scipy import stats

from dlnotes.sweeps.summary import write_summary
from helpers.paths import CONF, ROOT
from helpers.wandb_records import of_type, read_records

TINY = [
    "trainer=cpu",
    "trainer.max_epochs=1",
    "+trainer.limit_train_batches=3",
    "+trainer.limit_val_batches=2",
    "+trainer.limit_test_batches=2",
    "data.batch_size=16",
    "callbacks.progress_bar=null",
    "callbacks.model_summary=null",
]


def sweep(*args: str, log_dir: Path) -> tuple[subprocess.CompletedProcess, Path | None]:
    """Run `python train.py -m ARGS`; the sweep directory it made, if any (exactly one)."""
    command = [sys.executable, str(ROOT / "train.py"), "-m", *args, f"paths.log_dir={log_dir}"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    sweeps = list((log_dir / "train" / "multiruns").glob("*"))
    assert len(sweeps) <= 1, sweeps
    return result, (sweeps[0] if sweeps else None)


def summary_rows(sweep_dir: Path) -> list[dict]:
    with open(sweep_dir / "summary.csv") as file:
        return list(csv.DictReader(file))


def test_optuna_sweep_records_a_diverged_trial_as_failed_and_goes_on(tmp_path):
    # seeded TPE draws lr = 0.01, 1e9, 0.01 here; lr=1e9 sends the loss to nan
    search = ["hydra.sweeper.n_trials=3", "model.optimizer.lr=choice(0.01,0.02,1e9)"]
    fixed = ["model.optimizer.weight_decay=0.0005", "model.net.dropout=0.5"]
    result, sweep_dir = sweep(
        "hparams_search=nin_optuna", *search, *fixed, *TINY, "logger=csv", log_dir=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = summary_rows(sweep_dir)
    assert len(rows) == 3
    for row in rows:
        diverged = "model.optimizer.lr=1000000000.0" in row["overrides"]
        assert row["status"] == ("failed" if diverged else "completed"), row
        assert ("training diverged" in row["error"]) == diverged
        assert (row["val/acc"] == "") == diverged  # the optimized metric, for finished ones
    assert sorted(row["status"] for row in rows) == ["completed", "completed", "failed"]
    assert (sweep_dir / "optimization_results.yaml").is_file()  # Optuna finished the study
    table = (sweep_dir / "summary.md").read_text()
    assert table in result.stdout  # printed at the end
    assert table.count("| failed |") == 1


@pytest.fixture(scope="module")
def wandb_sweep(tmp_path_factory):
    """A basic sweep of three jobs with wandb; seed=-1 makes the third job fail."""
    log_dir = tmp_path_factory.mktemp("wandb_sweep")
    return sweep("logger=wandb", "seed=1,2,-1", *TINY, log_dir=log_dir)


def test_basic_sweep_runs_every_job_and_records_the_failed_one(wandb_sweep):
    result, sweep_dir = wandb_sweep
    assert result.returncode == 1  # Hydra's basic sweeper reports a failed job at the end
    assert "seed=-1 is not valid" in result.stderr
    rows = summary_rows(sweep_dir)
    assert [(row["job"], row["status"]) for row in rows] == [
        ("0", "completed"),
        ("1", "completed"),
        ("2", "failed"),
    ]
    assert "seed=-1 is not valid" in rows[2]["error"]
    assert all(Path(row["output_dir"]).parent == sweep_dir for row in rows)


def test_wandb_has_one_run_per_job_in_the_sweeps_group(wandb_sweep):
    _, sweep_dir = wandb_sweep
    runs = []
    for job in ("0", "1"):
        (run_dir,) = (sweep_dir / job / "wandb").glob("offline-run-*")
        (run,) = of_type(read_records(run_dir), "run")
        runs.append(run)
    assert len({run["run_id"] for run in runs}) == 2
    assert {run["run_group"] for run in runs} == {f"train-{sweep_dir.name}"}
    assert all(f"seed={seed}" in run["tags"] for run, seed in zip(runs, (1, 2), strict=True))
    assert not (sweep_dir / "2" / "wandb").exists()  # the failed job stopped before logging


def compose_hydra(overrides: list[str]):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("train", overrides=overrides, return_hydra_config=True)


@pytest.mark.parametrize(
    ("search", "model_target", "direction"),
    [
        ("nin_optuna", "ClassificationTask", "maximize"),
        ("vae_optuna", "VAETask", "minimize"),
        ("gan_optuna", "GANTask", "minimize"),
    ],
)
def test_optuna_configs_optimize_their_models_monitor(search, model_target, direction):
    extra = ["model.fid_features=x.ckpt"] if search == "gan_optuna" else []
    cfg = compose_hydra([f"hparams_search={search}", *extra])
    sweeper = cfg.hydra.sweeper
    assert cfg.model._target_.endswith(model_target)
    assert sweeper.direction == direction == {"max": "maximize", "min": "minimize"}[cfg.model.mode]
    assert cfg.model.monitor  # what train.py returns for the sweeper
    assert sweeper.sampler._target_.endswith("TPESampler") and sweeper.sampler.seed == cfg.seed
    assert sweeper.max_failure_rate == 1.0 and sweeper.params


def test_gan_sweep_without_feature_checkpoint_stops_before_its_first_trial(tmp_path):
    result, sweep_dir = sweep("hparams_search=gan_optuna", log_dir=tmp_path)
    assert result.returncode == 1
    assert "model.fid_features=<classifier checkpoint>" in result.stderr.splitlines()[-1]
    assert sweep_dir is None  # not one trial ran


def test_launcher_configs_follow_the_trainer():
    cfg = compose_hydra(
        ["hydra/launcher=slurm", "trainer=ddp", "trainer.devices=4", "trainer.num_nodes=2"]
    )
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert (launcher.nodes, launcher.gpus_per_node, launcher.tasks_per_node) == (2, 4, 4)
    cfg = compose_hydra(["hydra/launcher=parallel"])
    assert cfg.hydra.launcher._target_.endswith("JoblibLauncher") and cfg.hydra.launcher.n_jobs == 2


def write_result(job_dir: Path, job: int, status: str, **fields) -> None:
    job_dir.mkdir(parents=True)
    result = {"job": job, "output_dir": str(job_dir), "status": status, "monitor": "val/acc"}
    (job_dir / "result.json").write_text(json.dumps(result | fields))


def test_summary_lists_jobs_in_order_with_metrics_and_errors(tmp_path):
    common = ["trainer=cpu"]
    write_result(
        tmp_path / "10",
        10,
        "completed",
        overrides=[*common, "seed=3"],
        monitored=0.5,
        metrics={"test/acc": 0.4, "train/loss": 1.0},
    )
    write_result(tmp_path / "2", 2, "failed", overrides=[*common, "seed=9"], error="boom | bad")
    table, text = write_summary(tmp_path)
    assert [row["job"] for row in table] == [2, 10]  # numeric order, not 10 < 2
    assert list(table[0])[:5] == ["job", "overrides", "status", "val/acc", "test/acc"]
    assert "train/loss" not in table[0]  # only the monitor and test metrics
    assert table[1]["val/acc"] == 0.5 and table[1]["test/acc"] == 0.4
    assert "(every job: trainer=cpu)" in text
    assert "| 2 | seed=9 | failed |  |  | boom \\| bad | 2 |" in text
    assert summary_rows(tmp_path)[0]["error"] == "boom | bad"


def test_seeds_are_grouped_into_arms_with_intervals_and_a_welch_test(tmp_path):
    """Two arms × three seeds: per-arm n, mean, std, 95% CI (Student's t), and the second arm
    against the first — here 0.10 apart with a spread of 0.01: outside the noise."""
    accuracies = {"batchnorm": [0.95, 0.96, 0.97], "none": [0.85, 0.86, 0.87]}
    job = 0
    for norm, values in accuracies.items():
        for seed, value in enumerate(values, start=1):
            overrides = ["trainer=cpu", f"model.net.norm={norm}", f"seed={seed}"]
            write_result(
                tmp_path / str(job),
                job,
                "completed",
                overrides=overrides,
                monitored=value,
                metrics={"test/acc": value},
            )
            job += 1
    write_result(
        tmp_path / "6",
        6,
        "failed",
        overrides=["trainer=cpu", "model.net.norm=none", "seed=4"],
        error="boom",
    )
    _, text = write_summary(tmp_path)
    with open(tmp_path / "arms.csv") as file:
        arms = {(row["metric"], row["arm"]): row for row in csv.DictReader(file)}
    first, second = (
        arms["val/acc", "model.net.norm=batchnorm"],
        arms["val/acc", "model.net.norm=none"],
    )
    assert int(first["n"]) == int(second["n"]) == 3  # the failed job is left out
    assert float(first["mean"]) == pytest.approx(0.96) and float(first["std"]) == pytest.approx(
        0.01
    )
    half = stats.t.ppf(0.975, 2) * 0.01 / 3**0.5  # 4.303 × 0.01 / √3
    assert float(first["ci_low"]) == pytest.approx(0.96 - half)
    assert float(first["ci_high"]) == pytest.approx(0.96 + half)
    assert float(second["difference"]) == pytest.approx(-0.10)
    assert float(second["p_value"]) < 1e-3 and second["outside_noise"] == "True"
    assert first["vs"] == "" and second["vs"] == "model.net.norm=batchnorm"
    assert "| val/acc | model.net.norm=none | 3 | 0.86 | 0.01 |" in text


def test_the_folds_of_a_k_fold_sweep_are_grouped_like_seeds(tmp_path):
    """`-m data.folds=3 data.fold=0,1,2`: one arm of three repeats, its mean over the folds."""
    for fold, value in enumerate([0.90, 0.92, 0.97]):
        overrides = ["data.folds=3", f"data.fold={fold}", "model.net.norm=none"]
        write_result(tmp_path / str(fold), fold, "completed", overrides=overrides, monitored=value)
    write_summary(tmp_path)
    with open(tmp_path / "arms.csv") as file:
        (arm,) = [row for row in csv.DictReader(file) if row["metric"] == "val/acc"]
    assert arm["arm"] == "all jobs" and int(arm["n"]) == 3  # the rest is common to all
    assert float(arm["mean"]) == pytest.approx(0.93)


def test_arms_within_the_noise_are_said_to_be(tmp_path):
    for job, (arm, value) in enumerate(
        [("a", 0.5), ("a", 0.7), ("a", 0.6), ("b", 0.55), ("b", 0.75), ("b", 0.6)]
    ):
        write_result(
            tmp_path / str(job),
            job,
            "completed",
            overrides=[f"model.x={arm}", f"seed={job}"],
            monitored=value,
        )
    write_summary(tmp_path)
    with open(tmp_path / "arms.csv") as file:
        second = list(csv.DictReader(file))[1]
    assert float(second["p_value"]) > 0.5 and second["outside_noise"] == "False"


def test_a_sweep_without_repeated_seeds_has_no_arm_table(tmp_path):
    for job, lr in enumerate([0.1, 0.01]):
        write_result(
            tmp_path / str(job),
            job,
            "completed",
            overrides=[f"model.optimizer.lr={lr}"],
            monitored=0.5,
        )
    _, text = write_summary(tmp_path)
    assert not (tmp_path / "arms.csv").exists() and "Seeds grouped" not in text
